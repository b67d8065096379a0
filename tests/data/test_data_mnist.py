"""MNIST: loading small official-format copies, the splits, and the real files."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from layerwise.data import (
    ChecksumError,
    CorruptFileError,
    MissingDataError,
    get_MNIST_data,
    load_mnist,
)
from layerwise.data.checksum import verify
from layerwise.data.registry import MNIST_FILES

if TYPE_CHECKING:  # annotations only: "conftest" is ambiguous at run time
    from dataset_files import SmallMnist


def _check_loaded(small: SmallMnist, loaded: tuple[np.ndarray, ...]) -> None:
    X_train, y_train, X_test, y_test = loaded
    assert X_train.dtype == np.uint8 and X_train.shape == small.X_train.shape
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    np.testing.assert_array_equal(X_train, small.X_train)
    np.testing.assert_array_equal(y_train, small.y_train)
    np.testing.assert_array_equal(X_test, small.X_test)
    np.testing.assert_array_equal(y_test, small.y_test)


def test_load_mnist_reads_the_four_gz_files(small_mnist: SmallMnist) -> None:
    _check_loaded(small_mnist, load_mnist(small_mnist.folder, verify=False))


def test_load_mnist_reads_raw_files_and_a_parent_with_an_mnist_subfolder(
    small_mnist: SmallMnist,
) -> None:
    for name in small_mnist.names:
        path = small_mnist.folder / name
        path.with_suffix("").write_bytes(gzip.decompress(path.read_bytes()))
        path.unlink()
    _check_loaded(small_mnist, load_mnist(small_mnist.folder, verify=False))
    _check_loaded(small_mnist, load_mnist(small_mnist.folder.parent, verify=False))


def test_load_mnist_uses_the_environment_folder(
    small_mnist: SmallMnist, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAYERWISE_DATA_DIR", str(small_mnist.folder))
    _check_loaded(small_mnist, load_mnist(verify=False))


def test_load_mnist_verifies_checksums_by_default(small_mnist: SmallMnist) -> None:
    with pytest.raises(ChecksumError, match=r"(?s)train-images-idx3-ubyte\.gz.*ba891046e6505d7a"):
        load_mnist(small_mnist.folder)


def test_load_mnist_passes_verification_for_matching_registry_entries(
    small_mnist: SmallMnist, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a registry whose digests are those of the small files, verify=True loads them."""
    import dataclasses

    from layerwise.data import mnist as mnist_module

    files = tuple(
        dataclasses.replace(
            remote,
            size=None,
            sha256=hashlib.sha256(
                gzip.decompress((small_mnist.folder / remote.name).read_bytes())
            ).hexdigest(),
        )
        for remote in MNIST_FILES
    )
    monkeypatch.setattr(mnist_module, "MNIST", dataclasses.replace(mnist_module.MNIST, files=files))
    _check_loaded(small_mnist, load_mnist(small_mnist.folder))


def test_offline_error_lists_every_missing_mnist_file(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    with pytest.raises(MissingDataError) as info:
        load_mnist(folder)
    message = str(info.value)
    assert str(folder / "mnist") in message
    for remote in MNIST_FILES:
        assert remote.name in message
        assert remote.sha256 in message
        for url in remote.urls:
            assert url in message
    assert not folder.exists()  # nothing created when nothing can be downloaded


def test_labels_must_match_the_images(
    small_mnist: SmallMnist, idx_writer: Callable[..., Path]
) -> None:
    idx_writer(small_mnist.folder / "train-labels-idx1-ubyte.gz", small_mnist.y_train[:-1], gz=True)
    with pytest.raises(CorruptFileError, match="29 labels for the 30 images"):
        load_mnist(small_mnist.folder, verify=False)
    idx_writer(
        small_mnist.folder / "train-labels-idx1-ubyte.gz",
        np.full(30, 10, dtype=np.uint8),
        gz=True,
    )
    with pytest.raises(CorruptFileError, match=r"labels must lie in 0\.\.9, found 10"):
        load_mnist(small_mnist.folder, verify=False)


def test_images_and_labels_swapped_are_caught_by_the_magic(small_mnist: SmallMnist) -> None:
    images = small_mnist.folder / "t10k-images-idx3-ubyte.gz"
    labels = small_mnist.folder / "t10k-labels-idx1-ubyte.gz"
    images_bytes = images.read_bytes()
    images.write_bytes(labels.read_bytes())
    labels.write_bytes(images_bytes)
    with pytest.raises(CorruptFileError, match="0x00000801, expected 0x00000803"):
        load_mnist(small_mnist.folder, verify=False)


def test_images_must_be_28_by_28(small_mnist: SmallMnist, idx_writer: Callable[..., Path]) -> None:
    idx_writer(
        small_mnist.folder / "t10k-images-idx3-ubyte.gz", np.zeros((12, 8, 8), np.uint8), gz=True
    )
    with pytest.raises(CorruptFileError, match=r"N x 28 x 28, got shape \(12, 8, 8\)"):
        load_mnist(small_mnist.folder, verify=False)


def test_truncated_gz_training_images_are_corrupt(small_mnist: SmallMnist) -> None:
    path = small_mnist.folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CorruptFileError, match=r"train-images-idx3-ubyte\.gz"):
        load_mnist(small_mnist.folder, verify=False)
    with pytest.raises(CorruptFileError, match="truncated or corrupt gzip"):
        load_mnist(small_mnist.folder)  # the checksum pass reports it too


# --------------------------------------------------------------------------- get_MNIST_data


def test_get_mnist_data_splits_scales_and_flattens(small_mnist: SmallMnist) -> None:
    data = get_MNIST_data(20, 6, 5, data_dir=small_mnist.folder, verify=False)
    expected = {
        "X_train": small_mnist.X_train[:20],
        "X_val": small_mnist.X_train[20:26],
        "X_test": small_mnist.X_test[:5],
    }
    for key, images in expected.items():
        X = data[key]
        assert X.dtype == np.float32 and X.flags.c_contiguous
        assert X.shape == (len(images), 784)
        np.testing.assert_allclose(X, images.reshape(len(images), -1) / 255.0, rtol=1e-6)
        assert 0.0 <= X.min() and X.max() <= 1.0
    np.testing.assert_array_equal(data["y_train"], small_mnist.y_train[:20])
    np.testing.assert_array_equal(data["y_val"], small_mnist.y_train[20:26])
    np.testing.assert_array_equal(data["y_test"], small_mnist.y_test[:5])
    assert all(data[k].dtype == np.int64 for k in ("y_train", "y_val", "y_test"))


def test_get_mnist_data_validation_rows_follow_the_training_rows(
    small_mnist: SmallMnist,
) -> None:
    data = get_MNIST_data(25, 5, 12, data_dir=small_mnist.folder, verify=False)
    # Like the defaults 55,000 + 5,000 of 60,000: the validation rows are the last ones.
    np.testing.assert_array_equal(data["y_val"], small_mnist.y_train[-5:])


def test_get_mnist_data_unflattened_float64(small_mnist: SmallMnist) -> None:
    data = get_MNIST_data(
        10, 0, 3, data_dir=small_mnist.folder, dtype=np.float64, flatten=False, verify=False
    )
    assert data["X_train"].shape == (10, 1, 28, 28)
    assert data["X_val"].shape == (0, 1, 28, 28)
    assert data["X_test"].dtype == np.float64
    np.testing.assert_array_equal(data["X_test"][:, 0], small_mnist.X_test[:3] / 255.0)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"num_training": -1}, "num_training must be a non-negative integer; got -1"),
        ({"num_validation": 2.5}, "num_validation must be a non-negative integer; got 2.5"),
        ({"num_test": True}, "num_test must be a non-negative integer; got True"),
        ({"num_training": 59_000, "num_validation": 1_001}, "60001 exceeds the 60000"),
        ({"num_test": 10_001}, "num_test = 10001 exceeds the 10000"),
        ({"dtype": np.int32}, "dtype must be a NumPy floating type; got int32"),
        ({"dtype": "nonsense"}, "dtype must be a NumPy floating type"),
        ({"flatten": "yes"}, "flatten must be True or False, got 'yes'"),
    ],
)
def test_get_mnist_data_rejects_bad_arguments_before_reading(
    tmp_path: Path, kwargs: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment.replace(".", r"\.")):
        get_MNIST_data(data_dir=tmp_path, **kwargs)  # the folder is empty: nothing is read


def test_get_mnist_data_checks_the_rows_the_files_hold(small_mnist: SmallMnist) -> None:
    with pytest.raises(ValueError, match="exceeds the 30 training rows available"):
        get_MNIST_data(data_dir=small_mnist.folder, verify=False)


# --------------------------------------------------------------------------- the real files

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


_REAL_CACHE: dict[Path, tuple[np.ndarray, ...]] = {}


@pytest.fixture
def real_mnist(mnist_dir: Path) -> tuple[np.ndarray, ...]:
    # Loaded once per folder, whatever the scope of mnist_dir (a shared fixture).
    if mnist_dir not in _REAL_CACHE:
        _REAL_CACHE[mnist_dir] = load_mnist(mnist_dir)
    return _REAL_CACHE[mnist_dir]


def test_real_mnist_checksums_pass(mnist_dir: Path) -> None:
    from layerwise.data.download import find_local

    for remote in MNIST_FILES:
        path = find_local(remote, mnist_dir)
        assert path is not None, remote.name
        verify(path, remote, use_cache=False)


def test_loading_never_writes_into_the_data_folder(mnist_dir: Path) -> None:
    before = sorted(p.name for p in mnist_dir.iterdir())
    load_mnist(mnist_dir)  # verifies, and records the result in the (private) user cache
    assert sorted(p.name for p in mnist_dir.iterdir()) == before


def test_real_mnist_shapes_and_label_counts(real_mnist: tuple[np.ndarray, ...]) -> None:
    X_train, y_train, X_test, y_test = real_mnist
    assert X_train.shape == (60000, 28, 28) and X_train.dtype == np.uint8
    assert X_test.shape == (10000, 28, 28) and X_test.dtype == np.uint8
    assert np.bincount(y_train, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test, minlength=10).tolist() == TEST_COUNTS
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert X_train.min() == 0 and X_train.max() == 255


def test_real_mnist_default_splits(mnist_dir: Path) -> None:
    data = get_MNIST_data(data_dir=mnist_dir)
    shapes = {key: value.shape for key, value in data.items()}
    assert shapes == {
        "X_train": (55000, 784),
        "y_train": (55000,),
        "X_val": (5000, 784),
        "y_val": (5000,),
        "X_test": (10000, 784),
        "y_test": (10000,),
    }
    assert data["y_train"][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert float(data["X_train"].max()) == 1.0 and float(data["X_train"].min()) == 0.0


def test_real_mnist_val_size_splits_all_60000_training_images(
    mnist_dir: Path, real_mnist: tuple[np.ndarray, ...]
) -> None:
    from layerwise.data import load_dataset

    _, y_all, _, y_test = real_mnist
    data = load_dataset("mnist", data_dir=mnist_dir, val_size=1000)
    assert data["X_train"].shape == (59_000, 784) and data["X_val"].shape == (1000, 784)
    assert np.array_equal(data["y_train"], y_all[:59_000])
    assert np.array_equal(data["y_val"], y_all[59_000:])  # the last 1,000 training images
    assert np.array_equal(data["y_test"], y_test)
