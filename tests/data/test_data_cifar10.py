"""CIFAR-10: batches as Python 2 wrote them, read from a folder or straight from the archive."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from layerwise.data import (
    ChecksumError,
    CorruptFileError,
    MissingDataError,
    get_CIFAR10_data,
    load_CIFAR10,
    load_CIFAR_batch,
)
from layerwise.data import cifar10 as cifar10_module
from layerwise.data.checksum import UnofficialDataWarning
from layerwise.data.registry import CIFAR10_ARCHIVE

if TYPE_CHECKING:  # annotations only: "conftest" is ambiguous at run time
    from conftest import LoopbackServer
    from dataset_files import SmallCifar


def channels_last(rows: np.ndarray) -> np.ndarray:
    """The seed's transform of raw rows: (N, 3072) -> (N, 32, 32, 3) float64."""
    return rows.reshape(len(rows), 3, 32, 32).transpose(0, 2, 3, 1).astype("float")


def seed_reference(
    small: SmallCifar, num_training: int, num_validation: int, num_test: int
) -> dict[str, np.ndarray]:
    """get_CIFAR10_data exactly as the seed notebook wrote it (with its typos fixed)."""
    X_train, y_train = channels_last(small.train_rows), small.train_labels
    X_test, y_test = channels_last(small.test_rows), small.test_labels
    mask = range(num_training, num_training + num_validation)
    X_val, y_val = X_train[mask], y_train[mask]
    mask = range(num_training)
    X_train, y_train = X_train[mask], y_train[mask]
    mask = range(num_test)
    X_test, y_test = X_test[mask], y_test[mask]
    mean_image = np.mean(X_train, axis=0)
    X_train -= mean_image
    X_val -= mean_image
    X_test -= mean_image
    return {
        "X_train": X_train.transpose(0, 3, 1, 2).copy(),
        "y_train": y_train,
        "X_val": X_val.transpose(0, 3, 1, 2).copy(),
        "y_val": y_val,
        "X_test": X_test.transpose(0, 3, 1, 2).copy(),
        "y_test": y_test,
    }


# --------------------------------------------------------------------------- one batch


def test_load_cifar_batch_is_channels_last_float_with_int64_labels(
    small_cifar: SmallCifar,
) -> None:
    X, Y = load_CIFAR_batch(small_cifar.batches_dir / "data_batch_1")
    rows = small_cifar.train_rows[:8]
    assert X.shape == (8, 32, 32, 3) and X.dtype == np.float64 and X.flags.c_contiguous
    np.testing.assert_array_equal(X, channels_last(rows))
    # Pixel (0, 0) of image 0 is (R, G, B) = row bytes 0, 1024 and 2048.
    assert X[0, 0, 0].tolist() == [rows[0, 0], rows[0, 1024], rows[0, 2048]]
    assert Y.dtype == np.int64
    np.testing.assert_array_equal(Y, small_cifar.train_labels[:8])


def test_load_cifar_batch_in_float32(small_cifar: SmallCifar) -> None:
    X, _ = load_CIFAR_batch(small_cifar.batches_dir / "test_batch", dtype=np.float32)
    assert X.dtype == np.float32 and X.shape == (7, 32, 32, 3)
    np.testing.assert_array_equal(X, channels_last(small_cifar.test_rows))


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        ([1, 2, 3], "expected a pickled dict with 'data' and 'labels', got list"),
        ({b"data": np.zeros((2, 3072), np.uint8)}, "expected keys 'data' and 'labels'"),
        (
            {b"data": np.zeros((2, 3071), np.uint8), b"labels": [0, 1]},
            r"'data' must have shape \(N, 3072\), got \(2, 3071\)",
        ),
        (
            {b"data": np.zeros(6144, np.uint8), b"labels": [0, 1]},
            r"'data' must be a uint8 array \(N, 3072\), got uint8 array \(6144,\)",
        ),
        (
            {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]},
            r"'labels' must be 2 ints \(one per row of 'data'\)",
        ),
        (
            {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]},
            r"labels must lie in 0\.\.9, found 0\.\.10",
        ),
        ({b"data": b"raw", b"labels": [0]}, "'data' must be a uint8 array"),
    ],
)
def test_malformed_batches_are_corrupt_naming_the_file(
    tmp_path: Path, py2_pickler: Callable[[Any], bytes], obj: Any, fragment: str
) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(py2_pickler(obj))
    with pytest.raises(CorruptFileError, match=rf"data_batch_1: {fragment}"):
        load_CIFAR_batch(path)


@pytest.mark.parametrize("data", [b"", b"\x80\x02}q\x01(U\x04data", b"not a pickle at all"])
def test_damaged_pickles_are_corrupt(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "test_batch"
    path.write_bytes(data)
    with pytest.raises(CorruptFileError, match="test_batch: not a readable CIFAR-10 batch"):
        load_CIFAR_batch(path)


def test_missing_batch_file(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match="data_batch_9: no such CIFAR-10 batch file"):
        load_CIFAR_batch(tmp_path / "data_batch_9")


# --------------------------------------------------------------------------- all of it


def _check_all(small: SmallCifar, loaded: tuple[np.ndarray, ...]) -> None:
    Xtr, Ytr, Xte, Yte = loaded
    assert Xtr.shape == (50, 32, 32, 3) and Xte.shape == (7, 32, 32, 3)
    assert Xtr.flags.c_contiguous and Xte.flags.c_contiguous
    np.testing.assert_array_equal(Xtr, channels_last(small.train_rows))
    np.testing.assert_array_equal(Xte, channels_last(small.test_rows))
    np.testing.assert_array_equal(Ytr, small.train_labels)
    np.testing.assert_array_equal(Yte, small.test_labels)
    assert Ytr.dtype == np.int64 and Yte.dtype == np.int64


def test_load_cifar10_from_the_batches_folder_its_parent_or_the_archive(
    small_cifar: SmallCifar, tmp_path: Path
) -> None:
    _check_all(small_cifar, load_CIFAR10(small_cifar.batches_dir))
    _check_all(small_cifar, load_CIFAR10(small_cifar.root))
    _check_all(small_cifar, load_CIFAR10(small_cifar.archive))
    only_archive = tmp_path / "only-archive"
    only_archive.mkdir()
    shutil.copy(small_cifar.archive, only_archive)
    _check_all(small_cifar, load_CIFAR10(str(only_archive)))


def test_load_cifar10_reports_missing_batches(small_cifar: SmallCifar) -> None:
    (small_cifar.batches_dir / "data_batch_3").unlink()
    (small_cifar.batches_dir / "test_batch").unlink()
    with pytest.raises(MissingDataError, match="batch files missing: data_batch_3, test_batch"):
        load_CIFAR10(small_cifar.batches_dir)


def test_load_cifar10_with_nothing_there(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match="no CIFAR-10 data found"):
        load_CIFAR10(tmp_path)
    with pytest.raises(MissingDataError, match="no CIFAR-10 data found"):
        load_CIFAR10(tmp_path / "does-not-exist")


@pytest.mark.parametrize("keep", [0.3, 0.7, 0.95])
def test_a_truncated_archive_is_corrupt(small_cifar: SmallCifar, keep: float) -> None:
    data = small_cifar.archive.read_bytes()
    small_cifar.archive.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CorruptFileError, match=r"cifar-10-python\.tar\.gz"):
        load_CIFAR10(small_cifar.archive)


@pytest.mark.parametrize("prefix", ["./cifar-10-batches-py/", ""])
def test_a_repacked_archive_is_read_too(
    small_cifar: SmallCifar, tmp_path: Path, prefix: str
) -> None:
    archive = tmp_path / "repacked.tar"  # uncompressed, another member prefix
    with tarfile.open(archive, "w") as tar:
        for path in sorted(small_cifar.batches_dir.iterdir()):
            tar.add(path, arcname=prefix + path.name)
    _check_all(small_cifar, load_CIFAR10(archive))


def test_an_archive_without_a_batch_is_corrupt(small_cifar: SmallCifar, tmp_path: Path) -> None:
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("data_batch_1", "data_batch_2", "test_batch"):
            tar.add(small_cifar.batches_dir / name, arcname=f"cifar-10-batches-py/{name}")
    with pytest.raises(CorruptFileError, match="archive lacks cifar-10-batches-py/data_batch_3"):
        load_CIFAR10(archive)


def test_an_unsafe_batch_inside_the_archive_is_refused(tmp_path: Path) -> None:
    from layerwise.data import UnsafePickleError

    sentinel = tmp_path / "sentinel"
    evil = tmp_path / "data_batch_1"
    evil.write_bytes(b"cos\nsystem\n(S'touch " + str(sentinel).encode() + b"'\ntR.")
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(evil, arcname="cifar-10-batches-py/data_batch_1")
    with pytest.raises(UnsafePickleError, match=r"os\.system"):
        load_CIFAR10(archive)
    assert not sentinel.exists()


# --------------------------------------------------------------------------- get_CIFAR10_data


@pytest.mark.parametrize(("n_train", "n_val", "n_test"), [(40, 10, 7), (33, 5, 4), (1, 0, 0)])
def test_get_cifar10_data_matches_the_seed_notebook(
    small_cifar: SmallCifar, n_train: int, n_val: int, n_test: int
) -> None:
    data = get_CIFAR10_data(n_train, n_val, n_test, data_dir=small_cifar.root)
    expected = seed_reference(small_cifar, n_train, n_val, n_test)
    assert list(data) == list(expected)
    for key, value in expected.items():
        assert data[key].shape == value.shape, key
        assert data[key].dtype == value.dtype, key
        np.testing.assert_array_equal(data[key], value, err_msg=key)
    for key in ("X_train", "X_val", "X_test"):
        assert data[key].flags.c_contiguous
        assert data[key].shape[1:] == (3, 32, 32)


def test_validation_rows_come_right_after_the_training_rows(small_cifar: SmallCifar) -> None:
    data = get_CIFAR10_data(20, 15, 7, subtract_mean=False, data_dir=small_cifar.batches_dir)
    # Rows 20..34 span batches 3 (rows 17..26) and 4 (27..37): the batches are concatenated.
    np.testing.assert_array_equal(data["y_val"], small_cifar.train_labels[20:35])
    rows = small_cifar.train_rows[20:35].reshape(15, 3, 32, 32)
    np.testing.assert_array_equal(data["X_val"], rows.astype(np.float64))
    np.testing.assert_array_equal(data["y_train"], small_cifar.train_labels[:20])


def test_mean_subtraction_uses_the_training_mean_for_all_three(small_cifar: SmallCifar) -> None:
    raw = get_CIFAR10_data(30, 10, 7, subtract_mean=False, data_dir=small_cifar.root)
    centred = get_CIFAR10_data(30, 10, 7, data_dir=small_cifar.root, dtype=np.float32)
    mean = raw["X_train"].mean(axis=0)
    np.testing.assert_allclose(centred["X_train"].mean(axis=0), 0.0, atol=1e-3)
    for key in ("X_train", "X_val", "X_test"):
        assert centred[key].dtype == np.float32
        np.testing.assert_allclose(centred[key], raw[key] - mean, atol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"num_training": -5}, "num_training must be a non-negative integer; got -5"),
        ({"num_validation": 1.0}, "num_validation must be a non-negative integer; got 1.0"),
        ({"num_training": 49_999, "num_validation": 2}, "50001 exceeds the 50000"),
        ({"num_test": 10_001}, "num_test = 10001 exceeds the 10000"),
        ({"num_training": 0}, "needs num_training >= 1"),
        ({"dtype": np.uint8}, "dtype must be a NumPy floating type; got uint8"),
    ],
)
def test_get_cifar10_data_rejects_bad_arguments_before_reading(
    tmp_path: Path, kwargs: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        get_CIFAR10_data(data_dir=tmp_path, **kwargs)


def test_get_cifar10_data_checks_the_rows_the_files_hold(small_cifar: SmallCifar) -> None:
    with pytest.raises(ValueError, match="exceeds the 50 training rows available"):
        get_CIFAR10_data(data_dir=small_cifar.root)
    with pytest.raises(ValueError, match="num_test = 8 exceeds the 7 test rows"):
        get_CIFAR10_data(10, 1, 8, data_dir=small_cifar.root)


def _archive_only(small: SmallCifar, folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copy(small.archive, folder / "cifar-10-python.tar.gz")
    return folder


def test_an_archive_is_checked_against_the_registry(
    small_cifar: SmallCifar, tmp_path: Path
) -> None:
    folder = _archive_only(small_cifar, tmp_path / "data")
    with pytest.raises(ChecksumError, match=CIFAR10_ARCHIVE.sha256):
        get_CIFAR10_data(10, 1, 1, data_dir=folder)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_non_official_archive_is_refused_with_its_digest_and_how_to_accept_it(
    small_cifar: SmallCifar, tmp_path: Path
) -> None:
    folder = _archive_only(small_cifar, tmp_path / "data")
    digest = _digest(folder / "cifar-10-python.tar.gz")
    with pytest.raises(ChecksumError, match=f"--accept-sha256 {digest}"):
        get_CIFAR10_data(10, 1, 1, data_dir=folder)
    other = "0" * 64  # naming another digest accepts nothing else
    with pytest.raises(ChecksumError, match=digest):
        get_CIFAR10_data(10, 1, 1, data_dir=folder, accept_sha256=other)


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_a_non_official_archive_whose_digest_is_named_is_used_with_a_warning(
    small_cifar: SmallCifar, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    folder = _archive_only(small_cifar, tmp_path / "data")
    archive = folder / "cifar-10-python.tar.gz"
    digest = _digest(archive)
    kwargs: dict[str, Any] = {}
    if how == "argument":
        kwargs["accept_sha256"] = f"{'f' * 64}, {digest.upper()}"  # a list, case ignored
    else:
        monkeypatch.setenv("LAYERWISE_ACCEPT_SHA256", digest)
    for _ in range(2):  # the second load trusts the cache record, and warns again
        with pytest.warns(UnofficialDataWarning, match=f"{archive}.*sha256 {digest}"):
            data = get_CIFAR10_data(40, 10, 7, data_dir=folder, **kwargs)
        expected = seed_reference(small_cifar, 40, 10, 7)
        np.testing.assert_array_equal(data["X_train"], expected["X_train"])
    # A changed file is hashed again and, no longer matching, refused.
    with archive.open("r+b") as f:
        f.seek(100)
        f.write(b"\x00" * 8)
    with pytest.raises((ChecksumError, CorruptFileError)):
        get_CIFAR10_data(40, 10, 7, data_dir=folder, **kwargs)


@pytest.mark.parametrize("bad", ["abc", "g" * 64, "0" * 63, ["0" * 64, 5], 7, "0" * 64 + ",xyz"])
def test_accepted_digests_must_be_sha256_digests(bad: Any, monkeypatch) -> None:
    from layerwise.data.checksum import accepted_digests
    from layerwise.errors import ConfigError

    with pytest.raises(ConfigError, match="accept_sha256"):
        accepted_digests(bad)
    if isinstance(bad, str):
        monkeypatch.setenv("LAYERWISE_ACCEPT_SHA256", bad)
        with pytest.raises(ConfigError, match="LAYERWISE_ACCEPT_SHA256"):
            accepted_digests()


def _registry_for(small: SmallCifar, *urls: str) -> Any:
    archive = dataclasses.replace(
        CIFAR10_ARCHIVE,
        urls=urls or CIFAR10_ARCHIVE.urls,
        size=small.archive.stat().st_size,
        md5=hashlib.md5(small.archive.read_bytes()).hexdigest(),
        sha256=hashlib.sha256(small.archive.read_bytes()).hexdigest(),
    )
    return dataclasses.replace(cifar10_module.CIFAR10, files=(archive,))


def test_a_verified_archive_is_read_in_place(
    small_cifar: SmallCifar, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cifar10_module, "CIFAR10", _registry_for(small_cifar))
    folder = _archive_only(small_cifar, tmp_path / "data")
    data = get_CIFAR10_data(40, 10, 7, data_dir=folder)
    expected = seed_reference(small_cifar, 40, 10, 7)
    np.testing.assert_array_equal(data["X_val"], expected["X_val"])
    # Nothing extracted, and no bookkeeping files beside the data.
    assert sorted(p.name for p in folder.iterdir()) == ["cifar-10-python.tar.gz"]


def test_offline_error_names_the_archive_its_url_checksum_and_folder(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError) as info:
        get_CIFAR10_data(data_dir=tmp_path)
    message = str(info.value)
    for fragment in (
        "cifar-10-python.tar.gz",
        CIFAR10_ARCHIVE.urls[0],
        CIFAR10_ARCHIVE.sha256,
        str(CIFAR10_ARCHIVE.md5),
        str(tmp_path / "cifar10"),
    ):
        assert fragment in message


def test_the_archive_is_downloaded_into_the_cache_when_missing(
    small_cifar: SmallCifar,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    http_server: LoopbackServer,
) -> None:
    url = http_server.serve("/cifar-10-python.tar.gz", small_cifar.archive.read_bytes())
    monkeypatch.setattr(cifar10_module, "CIFAR10", _registry_for(small_cifar, url))
    monkeypatch.setenv("LAYERWISE_OFFLINE", "0")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = get_CIFAR10_data(40, 10, 7, subtract_mean=False)
    assert (tmp_path / "cache" / "layerwise" / "cifar10" / "cifar-10-python.tar.gz").is_file()
    np.testing.assert_array_equal(data["y_test"], small_cifar.test_labels)
    assert http_server.requests == ["/cifar-10-python.tar.gz"]
