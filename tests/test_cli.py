"""The ``layerwise`` command end to end: train, evaluate, plot, gradcheck and its error handling."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import layerwise
from layerwise import cli
from layerwise.data import load_dataset
from layerwise.gradient_report import gradient_report, layers
from layerwise.io import load_model, save_model
from layerwise.options import DEFAULTS as OPTION_DEFAULTS
from layerwise.runs import epoch_rows

SRC = Path(layerwise.__file__).resolve().parent.parent
EPOCHS = 3
TRAIN_ARGS = ["--epochs", str(EPOCHS), "--hidden", "32", "--print-every", "5"]
RUN_FILES = {
    ".run.lock",  # claimed when the folder was made; locked while a process trains in it
    "config.json",
    "metrics.json",
    "metrics.csv",
    "model.npz",
    "model.json",
    "curves.png",
    "cost.png",
    "predictions_correct.png",
    "predictions_wrong.png",
    "weights.png",
    "confusion.png",
    "checkpoints",  # the latest checkpoint, for --resume (also after Ctrl-C)
    "pixels.npz",  # how the pixels became inputs, for predict on new images
}


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    run = tmp_path_factory.mktemp("cli") / "run"
    rc, out, err = _run(["train", "--out", str(run), *TRAIN_ARGS])
    assert rc == 0, err
    return {
        "run": run,
        "stdout": out,
        "config": json.loads((run / "config.json").read_text()),
        "metrics": json.loads((run / "metrics.json").read_text()),
    }


@pytest.fixture(scope="module")
def digits() -> dict[str, np.ndarray]:
    return load_dataset("digits", dtype=np.float32)


def _accuracy_by_hand(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(model.loss(X), axis=1) == y))


# --------------------------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------------------------


def test_run_folder_content(trained: dict[str, Any]) -> None:
    run: Path = trained["run"]
    assert {p.name for p in run.iterdir()} == RUN_FILES
    for name in sorted(n for n in RUN_FILES if n.endswith(".png")):
        assert (run / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), name


def test_config_is_fully_resolved(trained: dict[str, Any]) -> None:
    config = trained["config"]
    d = dict(OPTION_DEFAULTS)
    expected = {
        "command": "train",
        "dataset": "digits",
        "data_dir": None,
        "model": "two-layer",
        "model_class": "TwoLayerNet",
        "hidden": [32],
        "input_dim": 64,
        "num_classes": 10,
        "epochs": EPOCHS,
        "batch_size": d["batch_size"],
        "update_rule": d["update_rule"],
        "learning_rate": d["lr"],
        "lr_decay": d["lr_decay"],
        "reg": d["reg"],
        "weight_scale": d["weight_scale"],
        "dtype": "float32",
        "seed": 0,
        "print_every": 5,
        "layerwise_version": layerwise.__version__,
    }
    assert {k: config[k] for k in expected} == expected
    assert config["model_config"]["hidden_dim"] == 32
    assert config["model_config"]["dtype"] == "float32"
    assert config["num_train"] + config["num_val"] + config["num_test"] == 1797


def test_metrics_agree_with_the_saved_model(
    trained: dict[str, Any], digits: dict[str, np.ndarray]
) -> None:
    m = trained["metrics"]
    model = load_model(trained["run"])
    # Final accuracies are those of the saved (best) parameters, recomputed independently.
    assert m["test_acc"] == _accuracy_by_hand(model, digits["X_test"], digits["y_test"])
    assert m["val_acc"] == _accuracy_by_hand(model, digits["X_val"], digits["y_val"])
    # The Solver scores the whole validation set, so the best epoch's val acc is the saved one.
    assert m["val_acc"] == m["best_val_acc"] == max(m["val_acc_history"])
    assert m["stopped_reason"] is None and m["train_seconds"] > 0


def test_metrics_per_epoch_rows(trained: dict[str, Any]) -> None:
    m = trained["metrics"]
    ipe = m["iterations_per_epoch"]
    assert ipe == 1257 // OPTION_DEFAULTS["batch_size"]
    assert len(m["loss_history"]) == m["num_iterations"] == EPOCHS * ipe
    rows = m["epochs"]
    assert [r["epoch"] for r in rows] == list(range(EPOCHS + 1))
    assert rows[0]["train_loss"] is None
    for r in rows[1:]:
        chunk = m["loss_history"][(r["epoch"] - 1) * ipe : r["epoch"] * ipe]
        assert r["train_loss"] == pytest.approx(np.mean(chunk), rel=1e-12)
    assert [r["train_acc"] for r in rows] == m["train_acc_history"]
    assert [r["val_acc"] for r in rows] == m["val_acc_history"]
    # Training made progress: the loss of the last epoch is below that of the first.
    assert rows[-1]["train_loss"] < rows[1]["train_loss"]

    with open(trained["run"] / "metrics.csv", newline="") as f:
        csv_rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in csv_rows] == [str(r["epoch"]) for r in rows]
    assert csv_rows[0]["train_loss"] == ""
    for c, r in zip(csv_rows[1:], rows[1:], strict=True):
        assert float(c["train_loss"]) == r["train_loss"]
        assert float(c["val_acc"]) == r["val_acc"]


def test_saved_model(trained: dict[str, Any]) -> None:
    meta = json.loads((trained["run"] / "model.json").read_text())
    assert meta["class"] == "TwoLayerNet"
    model = load_model(trained["run"] / "model.npz")
    assert model.get_config() == trained["config"]["model_config"]
    assert all(p.dtype == np.float32 for p in model.params.values())


def test_train_output(trained: dict[str, Any]) -> None:
    out = trained["stdout"]
    n_iter = trained["metrics"]["num_iterations"]
    assert re.search(rf"^\(Iteration 1 / {n_iter}\) loss: \d+\.\d{{6}}$", out, re.M)
    assert re.search(
        rf"^\(Epoch {EPOCHS} / {EPOCHS}\) train acc: [\d.]+; val_acc: [\d.]+$", out, re.M
    )
    assert f"test accuracy: {trained['metrics']['test_acc']:f}" in out
    assert str(trained["run"]) in out.splitlines()[-1]


def test_same_seed_same_run(trained: dict[str, Any], tmp_path: Path) -> None:
    rc, _, _ = _run(["train", "--out", str(tmp_path / "again"), "--quiet", *TRAIN_ARGS])
    assert rc == 0
    again = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert again["loss_history"] == trained["metrics"]["loss_history"]
    a, b = load_model(trained["run"]), load_model(tmp_path / "again")
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])


def test_other_seed_other_run(trained: dict[str, Any], tmp_path: Path) -> None:
    rc, _, _ = _run(["train", "--out", str(tmp_path / "r"), "--quiet", "--seed", "1", *TRAIN_ARGS])
    assert rc == 0
    other = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert other["loss_history"] != trained["metrics"]["loss_history"]


def test_default_recipe_reaches_095_on_digits(tmp_path: Path) -> None:
    rc, out, err = _run(["train", "--out", str(tmp_path / "run"), "--quiet"])
    assert rc == 0, err
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test_acc"] >= 0.95
    assert out.splitlines()[0] == f"val accuracy: {metrics['val_acc']:f}"  # --quiet: results only


def test_three_layer_float64(tmp_path: Path) -> None:
    argv = ["train", "--out", str(tmp_path / "r"), "--quiet", "--model", "three-layer"]
    rc, _, err = _run([*argv, "--hidden", "20,10", "--epochs", "1", "--dtype", "float64"])
    assert rc == 0, err
    model = load_model(tmp_path / "r")
    assert type(model).__name__ == "ThreeLayerNet"
    assert (model.params["theta1"].shape, model.params["theta2"].shape) == ((64, 20), (20, 10))
    assert model.params["theta1"].dtype == np.float64


def test_one_iteration_per_epoch(tmp_path: Path) -> None:
    # A batch of the whole training set (1257 digits; a larger one is refused): one iteration
    # per epoch, and the Solver's first accuracy record is then the end of epoch 1. Rows must
    # still be labelled by epoch.
    argv = ["train", "--out", str(tmp_path / "r"), "--quiet", "--batch-size", "1257"]
    assert _run([*argv, "--epochs", "3"])[0] == 0
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert m["iterations_per_epoch"] == 1 and len(m["loss_history"]) == 3
    rows = m["epochs"]
    assert rows[-1]["epoch"] == 3 and len(rows) == len(m["val_acc_history"])
    for r in rows:
        if r["epoch"] > 0:
            assert r["train_loss"] == pytest.approx(m["loss_history"][r["epoch"] - 1], rel=1e-12)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's overflow warnings on the way
def test_diverged_run_is_recorded(tmp_path: Path) -> None:
    argv = ["train", "--out", str(tmp_path / "r"), "--quiet", "--epochs", "2"]
    rc, _, err = _run([*argv, "--lr", "1e30", "--weight-scale", "10"])
    assert rc == 3  # diverged: the run folder is complete, with the best parameters
    text = (tmp_path / "r" / "metrics.json").read_text()
    m = json.loads(text)  # strict JSON: a NaN would have been written as null
    assert "NaN" not in text and "Infinity" not in text
    assert m["stopped_reason"] and m["stopped_reason"] in err
    assert len(m["loss_history"]) < 2 * m["iterations_per_epoch"]
    assert {p.name for p in (tmp_path / "r").iterdir()} == RUN_FILES


def test_epoch_rows_validates() -> None:
    with pytest.raises(ValueError, match="same length"):
        epoch_rows([1.0], [0.1, 0.2], [0.1], 1, last_epoch=1)
    with pytest.raises(ValueError, match="cannot end at epoch 0"):
        epoch_rows([1.0], [0.1, 0.2], [0.1, 0.2], 1, last_epoch=0)


def test_default_run_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert _run(["train", "--epochs", "1", "--quiet"])[0] == 0
    made = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(made) == 2
    assert all(re.fullmatch(r"\d{8}-\d{6}-digits-two-layer(-2)?", n) for n in made)


# --------------------------------------------------------------------------------------------
# evaluate
# --------------------------------------------------------------------------------------------


def test_evaluate_matches_train(
    trained: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    m = trained["metrics"]
    assert cli.main(["evaluate", str(trained["run"])]) == 0
    assert capsys.readouterr().out == f"test accuracy: {m['test_acc']:f}\n"
    assert cli.main(["evaluate", str(trained["run"]), "--split", "val"]) == 0
    assert capsys.readouterr().out == f"val accuracy: {m['val_acc']:f}\n"


def test_val_size_sets_the_split_for_train_and_evaluate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    argv = ["train", "--val-size", "300", "--epochs", "1", "--out", str(run), "--quiet"]
    assert cli.main(argv) == 0
    config = json.loads((run / "config.json").read_text())
    assert (config["val_size"], config["num_val"], config["num_train"]) == (300, 300, 1137)
    metrics = json.loads((run / "metrics.json").read_text())
    capsys.readouterr()
    assert cli.main(["evaluate", str(run), "--split", "val"]) == 0  # the run's own split
    assert capsys.readouterr().out == f"val accuracy: {metrics['val_acc']:f}\n"


def test_evaluate_train_split(
    trained: dict[str, Any], digits: dict[str, np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["evaluate", str(trained["run"]), "--split", "train"]) == 0
    expected = _accuracy_by_hand(load_model(trained["run"]), digits["X_train"], digits["y_train"])
    assert capsys.readouterr().out == f"train accuracy: {expected:f}\n"


# --------------------------------------------------------------------------------------------
# plot
# --------------------------------------------------------------------------------------------


def _copy_run(run: Path, dest: Path) -> Path:
    dest.mkdir()
    for p in run.iterdir():
        if p.is_file():
            (dest / p.name).write_bytes(p.read_bytes())
    return dest


def test_plot_redraws_the_figures_of_train(trained: dict[str, Any], tmp_path: Path) -> None:
    # From the files alone (model.npz, metrics.json, config.json), `plot` draws exactly the
    # figures `train` drew from the live Solver and model.
    copy = _copy_run(trained["run"], tmp_path / "run")
    pngs = sorted(n for n in RUN_FILES if n.endswith(".png"))
    drawn_by_train = {name: (copy / name).read_bytes() for name in pngs}
    for name in pngs:
        (copy / name).unlink()
    rc, out, err = _run(["plot", str(copy)])
    assert (rc, err) == (0, "")
    assert sorted(Path(line).name for line in out.splitlines()) == pngs
    for name in pngs:
        assert (copy / name).read_bytes() == drawn_by_train[name], name


def test_plot_show_without_a_display(
    trained: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = _copy_run(trained["run"], tmp_path / "run")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    rc, out, err = _run(["plot", str(copy), "--show"])
    assert rc == 0 and len(out.splitlines()) == 6
    assert err == f"layerwise: note: no display to show figures on; they are in {copy}\n"


def test_plot_show_without_a_window_backend(
    trained: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib

    matplotlib.use("Agg")  # what matplotlib falls back to when no GUI toolkit is installed
    copy = _copy_run(trained["run"], tmp_path / "run")
    monkeypatch.setenv("DISPLAY", ":0")
    rc, _, err = _run(["plot", str(copy), "--show"])
    assert rc == 0
    assert re.fullmatch(
        r"layerwise: note: matplotlib has no window backend here \(agg\); .*\n", err, re.I
    )


def test_plot_errors(trained: dict[str, Any], tmp_path: Path) -> None:
    _assert_one_line_error(*_run(["plot", str(tmp_path / "nope")]), r"'.*nope' does not exist")
    copy = _copy_run(trained["run"], tmp_path / "run")
    (copy / "metrics.json").write_text('{"epochs": []}')
    _assert_one_line_error(
        *_run(["plot", str(copy)]), r"cannot draw the figures of .*: history is missing"
    )
    (copy / "metrics.json").unlink()
    _assert_one_line_error(*_run(["plot", str(copy)]), r"metrics\.json' does not exist")
    (copy / "model.npz").unlink()
    _assert_one_line_error(*_run(["plot", str(copy)]), r"model\.npz' does not exist")


# --------------------------------------------------------------------------------------------
# gradcheck
# --------------------------------------------------------------------------------------------


def test_gradcheck_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    rows = [ln for ln in lines if re.search(r"\d\.\d\de[-+]\d\d\s+(ok|FAIL)$", ln)]
    n = len(gradient_report())
    assert len(rows) == n and all(r.endswith("ok") for r in rows)
    assert any(r.startswith("relu dx") for r in rows)
    assert any(r.startswith("FullyConnectedNet(batchnorm") for r in rows)
    assert lines[-1].startswith(f"PASS: all {n}")


def test_gradcheck_fails_on_broken_backward(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(layers, "sigmoid_backward", lambda dout, s: dout * s)
    assert cli.main(["gradcheck"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^sigmoid dx\s+\S+\s+FAIL$", out, re.M)
    assert out.splitlines()[-1].startswith(f"FAIL: 1 of {len(gradient_report())}")


# --------------------------------------------------------------------------------------------
# Errors: one line, exit status 2, no traceback
# --------------------------------------------------------------------------------------------


def _assert_one_line_error(rc: int, out: str, err: str, match: str) -> None:
    assert rc == 2
    assert "Traceback" not in out + err
    assert err.count("\n") == 1 and err.startswith("layerwise: error: "), err
    assert re.search(match, err), err


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["train", "--dataset", "imagenet"], r"csv:PATH or npz:PATH, got 'imagenet'"),
        (["train", "--hidden", "10,x"], r"--hidden: .*'10,x'"),
        (["train", "--hidden", "0"], r"--hidden: hidden sizes must be >= 1"),
        (["train", "--hidden", "10,10"], r"two-layer needs 1 hidden size\(s\), got 2"),
        (["train", "--model", "three-layer", "--hidden", "10"], r"needs 2 hidden size"),
        (["train", "--lr", "-1"], r"--lr: expected a number > 0, got '-1'"),
        (["train", "--lr", "nan"], r"--lr: expected a finite number"),
        (["train", "--lr", "fast"], r"--lr: expected a number, got 'fast'"),
        (["train", "--lr-decay", "1.5"], r"--lr-decay: expected a factor in \(0, 1\]"),
        (["train", "--reg", "-0.1"], r"--reg: expected a number >= 0"),
        (["train", "--weight-scale", "0"], r"--weight-scale: expected a number > 0"),
        (["train", "--epochs", "0"], r"--epochs: expected an integer >= 1, got '0'"),
        (["train", "--batch-size", "2.5"], r"--batch-size: expected an integer"),
        (["train", "--seed", "-3"], r"--seed: expected an integer >= 0"),
        (["train", "--update-rule", "newton"], r"--update-rule: invalid choice: 'newton'"),
        (["train", "--dtype", "float16"], r"--dtype: invalid choice"),
        (["train", "--model", "resnet"], r"--model: invalid choice"),
        (["train", "--bogus"], r"unrecognized arguments: --bogus"),
        (["frobnicate"], r"invalid choice: 'frobnicate'"),
        (["evaluate"], r"required: RUN"),
        (["evaluate", "/no/such/run"], r"run folder '/no/such/run' does not exist"),
        (["gradcheck", "--seed", "x"], r"--seed: expected an integer"),
        (["train", "--dropout", "1"], r"--dropout: expected a probability in \[0, 1\)"),
        (["train", "--activation", "gelu"], r"--activation: invalid choice: 'gelu'"),
        (
            ["train", "--norm", "batchnorm"],
            r"--norm: norm 'batchnorm': only model fc normalises, not two-layer",
        ),
        (["train", "--weight-init", "he"], r"--weight-init: weight_init 'he': only model fc"),
        (["train", "--lr-schedule", "linear"], r"--lr-schedule: expected cosine"),
        (["train", "--lr-schedule", "step:0"], r"step_size must be a positive integer"),
        (["train", "--early-stopping", "0"], r"--early-stopping: expected an integer >= 1"),
        (["train", "--val-size", "0"], r"--val-size: expected an integer >= 1"),
        (["train", "--val-size", "1437"], r"val_size 1437 leaves no training examples"),
        (["train", "--resume", "/no/such/run"], r"--resume: '/no/such/run' holds no config"),
    ],
)
def test_bad_options(
    argv: list[str], match: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _assert_one_line_error(*_run(argv), match)
    assert list(tmp_path.iterdir()) == []  # no runs/ folder appeared


def test_existing_out_is_never_overwritten(trained: dict[str, Any]) -> None:
    run: Path = trained["run"]
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    _assert_one_line_error(*_run(["train", "--out", str(run)]), r"already exists and is not empty")
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_missing_dataset_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dataset: str
) -> None:
    monkeypatch.setenv("LAYERWISE_OFFLINE", "1")  # never try the network from the tests
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    out = tmp_path / "run"
    argv = ["train", "--dataset", dataset, "--data-dir", str(data_dir), "--out", str(out)]
    _assert_one_line_error(*_run(argv), r"layerwise: error: \S")
    assert not out.exists()  # the run never started: no empty folder left behind


def test_a_non_official_archive_needs_its_digest_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-packed CIFAR-10 archive is refused with the flag that accepts it; given that
    digest it is read, with one warning line naming the file (this small archive then has
    too few rows for the default splits: the error says so, so the file was read)."""
    import hashlib
    import shutil

    from dataset_files import make_small_cifar

    monkeypatch.setenv("LAYERWISE_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    small = make_small_cifar(tmp_path / "made")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    archive = Path(shutil.copy(small.archive, data_dir / "cifar-10-python.tar.gz"))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    argv = ["train", "--dataset", "cifar10", "--data-dir", str(data_dir), "--quiet"]
    out = ["--out", str(tmp_path / "run")]
    _assert_one_line_error(*_run([*argv, *out]), f"--accept-sha256 {digest}")
    rc, _, err = _run([*argv, *out, "--accept-sha256", digest])
    lines = err.splitlines()
    assert rc == 2 and len(lines) == 2, err
    assert lines[0].startswith("layerwise: warning: ") and str(archive) in lines[0], err
    assert digest in lines[0] and "50 training rows available" in lines[1], err
    _assert_one_line_error(
        *_run([*argv, *out, "--accept-sha256", "abc"]),
        r"--accept-sha256: .*'abc' is not a SHA-256 digest",
    )
    assert not (tmp_path / "run").exists()


def test_data_dir_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    argv = ["train", "--dataset", "mnist", "--data-dir", str(tmp_path / "f")]
    argv += ["--out", str(tmp_path / "run")]
    _assert_one_line_error(*_run(argv), r"is a file")


def test_evaluate_not_a_run_folder(tmp_path: Path) -> None:
    _assert_one_line_error(*_run(["evaluate", str(tmp_path)]), r"config\.json' does not exist")


def test_evaluate_corrupt_model(trained: dict[str, Any], tmp_path: Path) -> None:
    copy = tmp_path / "run"
    copy.mkdir()
    for p in trained["run"].iterdir():
        if p.is_file():
            (copy / p.name).write_bytes(p.read_bytes())
    meta = json.loads((copy / "model.json").read_text())
    meta["param_shapes"]["theta1"] = [64, 33]
    (copy / "model.json").write_text(json.dumps(meta))
    _assert_one_line_error(*_run(["evaluate", str(copy)]), r"'theta1' has shape \(64, 32\)")
    (copy / "model.npz").unlink()
    _assert_one_line_error(*_run(["evaluate", str(copy)]), r"model\.npz' does not exist")


def test_evaluate_missing_dataset(
    trained: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAYERWISE_OFFLINE", "1")
    copy = tmp_path / "run"
    copy.mkdir()
    for p in trained["run"].iterdir():
        if p.is_file():
            (copy / p.name).write_bytes(p.read_bytes())
    config = json.loads((copy / "config.json").read_text())
    config["recipe"]["dataset"] = "mnist"  # the recipe is what rebuilds the run
    (copy / "config.json").write_text(json.dumps(config))
    (tmp_path / "empty").mkdir()
    argv = ["evaluate", str(copy), "--data-dir", str(tmp_path / "empty")]
    _assert_one_line_error(*_run(argv), r"layerwise: error: \S")


# --------------------------------------------------------------------------------------------
# Help and the module entry point
# --------------------------------------------------------------------------------------------


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: layerwise") and all(
        c in out for c in ("train", "evaluate", "gradcheck")
    )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"layerwise {layerwise.__version__}"


def _python_m(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-m", "layerwise", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_python_m_help() -> None:
    proc = _python_m("--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: layerwise")
    proc = _python_m("train", "--help")
    assert proc.returncode == 0 and "--weight-scale" in proc.stdout
    assert f"(default: {OPTION_DEFAULTS['lr']})" in proc.stdout


def test_python_m_bad_option() -> None:
    proc = _python_m("train", "--lr", "-1")
    assert proc.returncode == 2
    assert proc.stderr == "layerwise: error: argument --lr: expected a number > 0, got '-1'\n"


# --------------------------------------------------------------------------------------------
# Deeper networks and the training toolkit from the command line


def _load_params(run: Path) -> dict[str, np.ndarray]:
    with np.load(run / "model.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def test_fc_with_dropout_batchnorm_schedule_and_early_stopping(tmp_path: Path) -> None:
    run = tmp_path / "fc"
    argv = ["train", "--model", "fc", "--hidden", "64,48,32", "--activation", "leaky_relu",
            "--dropout", "0.1", "--norm", "batchnorm", "--weight-init", "he",
            "--update-rule", "adam", "--lr", "1e-3", "--lr-schedule", "cosine",
            "--epochs", "30", "--early-stopping", "2", "--min-delta", "0.5", "--quiet",
            "--out", str(run)]  # fmt: skip
    rc, out, err = _run(argv)
    assert rc == 0, err
    config = json.loads((run / "config.json").read_text())
    assert config["model_class"] == "FullyConnectedNet"
    assert config["model_config"]["hidden_dims"] == [64, 48, 32]
    assert config["model_config"]["normalization"] == "batchnorm"
    metrics = json.loads((run / "metrics.json").read_text())
    # A gain of 0.5 happens at most once (from chance level): patience 2 stops long before 30.
    stopped_at = int(re.search(r"early stopping at epoch (\d+)", metrics["stopped_reason"])[1])
    assert stopped_at <= 5
    assert [row["epoch"] for row in metrics["epochs"]] == list(range(stopped_at + 1))
    assert all(row["val_loss"] > 0 for row in metrics["epochs"])
    assert metrics["test_acc"] > 0.8
    assert "running_mean1" in json.loads((run / "model.json").read_text())["buffer_shapes"]
    rc, out, _ = _run(["evaluate", str(run)])
    assert rc == 0 and f"test accuracy: {metrics['test_acc']:f}" in out


def test_resume_with_more_epochs_equals_a_straight_run(tmp_path: Path) -> None:
    common = ["--model", "fc", "--hidden", "32", "--dropout", "0.2", "--update-rule", "adam",
              "--lr", "1e-3", "--quiet"]  # fmt: skip
    assert _run(["train", *common, "--epochs", "4", "--out", str(tmp_path / "a")])[0] == 0
    assert _run(["train", *common, "--epochs", "2", "--out", str(tmp_path / "b")])[0] == 0
    rc, _, err = _run(["train", "--resume", str(tmp_path / "b"), "--epochs", "4"])
    assert rc == 0, err
    a, b = _load_params(tmp_path / "a"), _load_params(tmp_path / "b")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    ma = json.loads((tmp_path / "a" / "metrics.json").read_text())
    mb = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert ma["loss_history"] == mb["loss_history"]
    # A finished run has nothing to resume unless --epochs grows.
    _assert_one_line_error(*_run(["train", "--resume", str(tmp_path / "b")]), "already finished")


def test_ctrl_c_then_resume_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    common = ["train", "--epochs", "150", "--hidden", "64", "--print-every", "1"]
    straight = _python_m(*common, "--quiet", "--out", str(tmp_path / "straight"))
    assert straight.returncode == 0, straight.stderr

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    run = tmp_path / "interrupted"
    proc = subprocess.Popen(
        [sys.executable, "-m", "layerwise", *common, "--out", str(run)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until training is under way (epoch 3 or later)
        if line.startswith("(Epoch 3 /"):
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    assert (run / "checkpoints" / "ckpt_latest.npz").exists()
    assert not (run / "model.npz").exists()

    resumed = _python_m("train", "--resume", str(run), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    a, b = _load_params(tmp_path / "straight"), _load_params(run)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_evaluate_refuses_a_model_that_does_not_fit_its_dataset(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    from layerwise.models import TwoLayerNet

    copy = _copy_run(trained["run"], tmp_path / "run")
    save_model(TwoLayerNet(input_dim=10, hidden_dim=4, num_classes=10), copy / "model.npz")
    _assert_one_line_error(*_run(["evaluate", str(copy)]), r"takes 10 features .* has 64")
    save_model(TwoLayerNet(input_dim=64, hidden_dim=4, num_classes=3), copy / "model.npz")
    _assert_one_line_error(*_run(["evaluate", str(copy)]), r"has 3 classes, .* up to 9")


@pytest.mark.parametrize(
    "change",
    ["nan", "complex", "strings", "huge-hidden"],
)
def test_evaluate_refuses_a_damaged_model_file(
    trained: dict[str, Any], tmp_path: Path, change: str
) -> None:
    copy = _copy_run(trained["run"], tmp_path / "run")
    with np.load(copy / "model.npz") as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads((copy / "model.json").read_text())
    if change == "nan":
        arrays["theta1"] = arrays["theta1"] * np.nan
    elif change == "complex":
        arrays["theta1"] = arrays["theta1"].astype(complex)
    elif change == "strings":
        arrays["theta1_0"] = np.array(["x"] * len(arrays["theta1_0"]))
    else:
        meta["config"]["hidden_dim"] = 10**12
        (copy / "model.json").write_text(json.dumps(meta))
    np.savez(copy / "model.npz", **arrays)
    _assert_one_line_error(*_run(["evaluate", str(copy)]), r"model|memory|theta")


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--hidden", "1000000000"], r"--hidden: TwoLayerNet .* would need [\d.,]+ GiB, more than"),
        (["--batch-size", str(10**12)], r"--batch-size: batch_size 1000000000000 is larger than"),
        (["--dataset", "digits", "--data-dir", "/no/such/dir"], r"--data-dir: data_dir"),
    ],
)
def test_sizes_and_folders_that_cannot_work_are_refused_before_anything_is_written(
    tmp_path: Path, argv: list[str], match: str
) -> None:
    _assert_one_line_error(*_run(["train", *argv, "--out", str(tmp_path / "r")]), match)
    assert not (tmp_path / "r").exists()


def test_resume_refuses_options_that_would_change_the_run(trained: dict[str, Any]) -> None:
    run = trained["run"]
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    _assert_one_line_error(
        *_run(["train", "--resume", str(run), "--lr", "0.1", "--hidden", "8"]),
        r"--resume: --hidden, --lr cannot change a run that exists",
    )
    _assert_one_line_error(*_run(["train", "--resume", str(run)]), r"already finished")
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
