"""Atomic files, model save/load and run folders (layerwise.io)."""

from __future__ import annotations

import csv
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerwise import io as lio
from layerwise.models import FullyConnectedNet, ThreeLayerNet, TwoLayerNet


def _two_layer(dtype: str = "float64", seed: int = 1) -> TwoLayerNet:
    return TwoLayerNet(
        input_dim=12, hidden_dim=7, num_classes=3, weight_scale=0.1, dtype=dtype, seed=seed
    )


def _tmp_leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------------------------
# save_model / load_model
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        _two_layer("float64"),
        _two_layer("float32", seed=5),
        ThreeLayerNet(input_dim=6, hidden_dim_1=5, hidden_dim_2=4, num_classes=3, reg=0.3, seed=2),
    ],
    ids=["two-layer-f64", "two-layer-f32", "three-layer"],
)
def test_save_load_round_trip(tmp_path: Path, model: Any) -> None:
    path = lio.save_model(model, tmp_path / "model.npz")
    loaded = lio.load_model(path)

    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    assert set(loaded.params) == set(model.params)
    for k, v in model.params.items():
        assert loaded.params[k].dtype == v.dtype
        np.testing.assert_array_equal(loaded.params[k], v)
    X = np.random.default_rng(0).standard_normal((4, loaded.dims[0]))
    np.testing.assert_array_equal(loaded.loss(X), model.loss(X))


def _batchnorm_net() -> Any:
    model = FullyConnectedNet(
        hidden_dims=[5, 4], input_dim=6, num_classes=3, normalization="batchnorm", seed=0
    )
    rng = np.random.default_rng(0)
    for _ in range(3):  # training-mode passes move the running statistics away from 0
        model.loss(rng.standard_normal((8, 6)) + 2.0, rng.integers(3, size=8))
    return model


def test_round_trip_keeps_buffers(tmp_path: Path) -> None:
    model = _batchnorm_net()
    buffers = model.get_buffers()
    assert buffers and all(np.any(v != 0) for v in buffers.values())
    lio.save_model(model, tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["buffer_shapes"] == {k: list(v.shape) for k, v in buffers.items()}

    loaded = lio.load_model(tmp_path)
    for k, v in buffers.items():
        np.testing.assert_array_equal(loaded.get_buffers()[k], v)
    X = np.random.default_rng(1).standard_normal((4, 6))
    np.testing.assert_array_equal(loaded.loss(X), model.loss(X))  # test mode: running stats


def test_missing_buffer_is_refused(tmp_path: Path) -> None:
    lio.save_model(_batchnorm_net(), tmp_path)
    with np.load(tmp_path / "model.npz") as npz:
        arrays = {k: npz[k] for k in npz.files if k != lio.BUFFER_PREFIX + "running_var2"}
    np.savez(tmp_path / "model.npz", **arrays)
    with pytest.raises(lio.ModelFileError, match="do not match"):
        lio.load_model(tmp_path)
    _edit_meta(tmp_path, lambda m: m["buffer_shapes"].pop("running_var2"))
    with pytest.raises(lio.ModelFileError, match=r"buffers .* do not match"):
        lio.load_model(tmp_path)


def test_saved_files_are_plain(tmp_path: Path) -> None:
    model = _two_layer()
    lio.save_model(model, tmp_path / "m.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.npz"]

    # The archive holds exactly the parameters and needs no pickle to read.
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(model.params)
        for k in npz.files:
            assert npz[k].dtype != object
            np.testing.assert_array_equal(npz[k], model.params[k])

    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["class"] == "TwoLayerNet"
    assert meta["format_version"] == lio.FORMAT_VERSION == 1
    assert meta["config"] == model.get_config()
    assert meta["param_shapes"] == {k: list(v.shape) for k, v in model.params.items()}


def test_load_model_from_folder(tmp_path: Path) -> None:
    model = _two_layer()
    lio.save_model(model, tmp_path)  # a folder -> folder/model.npz
    assert (tmp_path / "model.npz").is_file() and (tmp_path / "model.json").is_file()
    np.testing.assert_array_equal(lio.load_model(tmp_path).params["theta1"], model.params["theta1"])


def test_save_model_rejects_unregistered_class(tmp_path: Path) -> None:
    class Custom(TwoLayerNet):
        pass

    with pytest.raises(TypeError, match="Custom"):
        lio.save_model(Custom(input_dim=3, hidden_dim=2, num_classes=2), tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    lio.save_model(_two_layer(), tmp_path / "model.npz")
    return tmp_path


def _edit_meta(folder: Path, edit: object) -> None:
    path = folder / "model.json"
    meta = json.loads(path.read_text())
    edit(meta)  # type: ignore[operator]
    path.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda m: m.update({"class": "FourLayerNet"}), "unknown model class 'FourLayerNet'"),
        (lambda m: m.update({"format_version": 2}), "format_version 2"),
        (lambda m: m.pop("config"), r"missing key\(s\) \['config'\]"),
        (lambda m: m.pop("param_shapes"), "param_shapes"),
        (lambda m: m["param_shapes"].update({"theta1": [12, 8]}), "theta1.*expects"),
        (lambda m: m["param_shapes"].pop("theta2"), "do not match"),
        (lambda m: m["config"].update({"hidden_dim": 8}), r"theta1.*\(12, 8\)"),
        (lambda m: m["config"].update({"hidden_dim": -1}), "cannot rebuild"),
        (lambda m: m.update({"param_shapes": {"theta1": "big"}}), "param_shapes"),
    ],
    ids=[
        "unknown-class",
        "future-version",
        "no-config",
        "no-shapes",
        "shape-in-json",
        "missing-in-json",
        "config-disagrees",
        "bad-config",
        "bad-shapes",
    ],
)
def test_tampered_metadata_is_refused(saved: Path, edit: object, match: str) -> None:
    _edit_meta(saved, edit)
    with pytest.raises(lio.ModelFileError, match=match):
        lio.load_model(saved / "model.npz")


def test_missing_parameter_in_archive(saved: Path) -> None:
    with np.load(saved / "model.npz") as npz:
        arrays = {k: npz[k] for k in npz.files if k != "theta2_0"}
    np.savez(saved / "model.npz", **arrays)
    with pytest.raises(lio.ModelFileError, match="do not match"):
        lio.load_model(saved)


def test_shape_mismatch_in_archive(saved: Path) -> None:
    with np.load(saved / "model.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["theta2"] = arrays["theta2"][:, :2]
    np.savez(saved / "model.npz", **arrays)
    with pytest.raises(lio.ModelFileError, match=r"'theta2' has shape \(7, 2\)"):
        lio.load_model(saved)


def test_pickled_archive_is_refused(saved: Path) -> None:
    # An object array can only be stored by pickling; loading it must not unpickle.
    with np.load(saved / "model.npz") as npz:
        arrays: dict[str, np.ndarray] = {k: npz[k] for k in npz.files}
    arrays["theta1"] = np.array([{"evil": 1}] * 3, dtype=object)
    np.savez(saved / "model.npz", **arrays)  # type: ignore[arg-type]
    with pytest.raises(lio.ModelFileError, match="not a readable parameter archive"):
        lio.load_model(saved)


@pytest.mark.parametrize("name", ["model.npz", "model.json"])
def test_corrupt_files(saved: Path, name: str) -> None:
    (saved / name).write_bytes(b"\x00garbage{")
    with pytest.raises(lio.ModelFileError, match=re.escape(str(saved / name))):
        lio.load_model(saved)


@pytest.mark.parametrize("name", ["model.npz", "model.json"])
def test_missing_files(saved: Path, name: str) -> None:
    (saved / name).unlink()
    with pytest.raises(FileNotFoundError, match=name):
        lio.load_model(saved)


def test_model_path_must_be_npz(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"must end in \.npz"):
        lio.save_model(_two_layer(), tmp_path / "model.pkl")


# --------------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------------


def test_write_json_strict_and_converted(tmp_path: Path) -> None:
    obj = {
        "f32": np.float32(0.25),
        "i64": np.int64(7),
        "arr": np.arange(3),
        "nan": math.nan,
        "inf": [1.0, -math.inf],
        "path": tmp_path,
        "tuple": (1, 2),
        "flag": np.bool_(True),
    }
    lio.write_json(tmp_path / "x.json", obj)
    text = (tmp_path / "x.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    back = json.loads(text)
    assert back == {
        "f32": 0.25,
        "i64": 7,
        "arr": [0, 1, 2],
        "nan": None,
        "inf": [1.0, None],
        "path": str(tmp_path),
        "tuple": [1, 2],
        "flag": True,
    }
    assert _tmp_leftovers(tmp_path) == []


def test_write_json_rejects_unserialisable_and_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    lio.write_json(path, {"a": 1})
    with pytest.raises(TypeError, match="object"):
        lio.write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


def test_failed_replace_leaves_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.json"
    lio.write_json(path, {"version": 1})

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        lio.write_json(path, {"version": 2})
    with pytest.raises(OSError, match="disk on fire"):
        lio.write_bytes(tmp_path / "new.bin", b"abc")
    monkeypatch.undo()

    assert json.loads(path.read_text()) == {"version": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


def test_write_into_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        lio.write_json(tmp_path / "nope" / "x.json", {})


def test_write_csv(tmp_path: Path) -> None:
    rows = [
        {"epoch": 0, "loss": None, "acc": np.float64(0.5)},
        {"epoch": 1, "loss": 1.25, "acc": 0.75, "extra": "x"},
    ]
    lio.write_csv(tmp_path / "m.csv", rows)
    with open(tmp_path / "m.csv", newline="") as f:
        back = list(csv.DictReader(f))
    assert back == [
        {"epoch": "0", "loss": "", "acc": "0.5", "extra": ""},
        {"epoch": "1", "loss": "1.25", "acc": "0.75", "extra": "x"},
    ]
    assert _tmp_leftovers(tmp_path) == []


@pytest.mark.parametrize("rows", ["abc", [1, 2], {"a": 1}])
def test_write_csv_rejects_non_rows(tmp_path: Path, rows: object) -> None:
    with pytest.raises(TypeError, match=r"rows|row 0"):
        lio.write_csv(tmp_path / "m.csv", rows)
    assert not (tmp_path / "m.csv").exists()


def test_write_npz_rejects_object_arrays(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="pickle"):
        lio.write_npz(tmp_path / "a.npz", {"a": np.array([None, 1], dtype=object)})
    with pytest.raises(ValueError, match="non-empty"):
        lio.write_npz(tmp_path / "a.npz", {})
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# Run folders
# --------------------------------------------------------------------------------------------


def test_create_run_dir_unique_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Freeze the clock so every call wants the same name.
    monkeypatch.setattr(lio.time, "strftime", lambda fmt: "20240102-030405")
    base = tmp_path / "runs"
    made = [lio.create_run_dir(base=base, name_hint="digits-two-layer") for _ in range(3)]
    assert [p.name for p in made] == [
        "20240102-030405-digits-two-layer",
        "20240102-030405-digits-two-layer-2",
        "20240102-030405-digits-two-layer-3",
    ]
    assert all(p.is_dir() and p.parent == base for p in made)


def test_create_run_dir_real_clock(tmp_path: Path) -> None:
    p = lio.create_run_dir(base=tmp_path, name_hint="x")
    assert re.fullmatch(r"\d{8}-\d{6}-x", p.name)


def test_create_run_dir_explicit_path(tmp_path: Path) -> None:
    new = tmp_path / "a" / "b"
    assert lio.create_run_dir(new) == new and new.is_dir()
    # An empty folder may be used; one with anything in it never is.
    assert lio.create_run_dir(new) == new
    (new / "metrics.json").write_text("{}")
    with pytest.raises(lio.RunDirError, match="not empty"):
        lio.create_run_dir(new)
    assert (new / "metrics.json").read_text() == "{}"
    (tmp_path / "file").write_text("")
    with pytest.raises(lio.RunDirError, match="is a file"):
        lio.create_run_dir(tmp_path / "file")


@pytest.mark.parametrize("hint", ["", "a/b", "../x", "with space"])
def test_create_run_dir_bad_hint(tmp_path: Path, hint: str) -> None:
    with pytest.raises(ValueError, match="name_hint"):
        lio.create_run_dir(base=tmp_path, name_hint=hint)
    assert list(tmp_path.iterdir()) == []
