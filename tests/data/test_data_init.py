"""The package surface: exports, the error hierarchy and load_dataset."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import layerwise.data as data_pkg
from layerwise.data import (
    DATASETS,
    ChecksumError,
    CorruptFileError,
    DatasetError,
    MissingDataError,
    UnsafePickleError,
    load_dataset,
)


def test_public_names_are_exported() -> None:
    for name in data_pkg.__all__:
        assert hasattr(data_pkg, name), name
    for name in (
        "load_CIFAR_batch",
        "load_CIFAR10",
        "get_CIFAR10_data",
        "load_mnist",
        "get_MNIST_data",
        "load_digits_data",
        "read_idx",
        "REGISTRY",
        "DATASETS",
    ):
        assert name in data_pkg.__all__


def test_every_error_is_a_dataset_error() -> None:
    for error in (ChecksumError, CorruptFileError, MissingDataError, UnsafePickleError):
        assert issubclass(error, DatasetError)
        assert not issubclass(DatasetError, error)
    assert issubclass(DatasetError, Exception)


def test_unknown_dataset_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'; expected one of") as info:
        load_dataset("imagenet")
    for name in DATASETS:
        assert name in str(info.value)


def test_load_dataset_digits_in_the_requested_dtype() -> None:
    data = load_dataset("digits", dtype=np.float64)
    assert data["X_train"].dtype == np.float64 and data["X_train"].shape == (1257, 64)
    assert data["y_train"].dtype == np.int64


def test_load_dataset_val_size_moves_examples_between_train_and_val() -> None:
    default = load_dataset("digits")
    data = load_dataset("digits", val_size=300)
    assert data["X_val"].shape == (300, 64) and data["y_val"].shape == (300,)
    assert len(data["X_train"]) == 1797 - 360 - 300  # test split unchanged
    assert np.array_equal(data["X_test"], default["X_test"])


@pytest.mark.parametrize("bad", [0, -5, True, 2.5, "100"])
def test_load_dataset_rejects_a_bad_val_size(bad: object) -> None:
    expected = r"val_size must be a positive integer .*got " + re.escape(repr(bad))
    with pytest.raises(ValueError, match=expected):
        load_dataset("digits", val_size=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "n_train"), [("mnist", 60_000), ("cifar10", 50_000)])
def test_load_dataset_val_size_must_leave_training_examples(
    name: str, n_train: int, tmp_path: Path
) -> None:
    # Refused before any file is read: the folder is empty.
    with pytest.raises(ValueError, match=f"val_size {n_train} leaves no training examples"):
        load_dataset(name, data_dir=tmp_path, val_size=n_train)


def test_check_val_size_gives_the_split_without_reading_files() -> None:
    from layerwise.data import check_val_size

    assert check_val_size("mnist", None) is None
    assert check_val_size("mnist", 1000) == (59_000, 1000)
    assert check_val_size("cifar10", 12_000) == (38_000, 12_000)
    assert check_val_size("digits", 300) == (1137, 300)
    with pytest.raises(ValueError, match="val_size 1437 leaves no training examples"):
        check_val_size("digits", 1437)
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        check_val_size("imagenet", 10)


def test_load_dataset_passes_folder_and_dtype_to_cifar10(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    def fake(**kwargs: Any) -> dict[str, np.ndarray]:
        seen.update(kwargs)
        return {}

    monkeypatch.setattr(data_pkg, "get_CIFAR10_data", fake)
    load_dataset("cifar10", data_dir=tmp_path, dtype=np.float32)
    assert seen == {
        "data_dir": tmp_path,
        "dtype": np.float32,
        "accept_sha256": None,
        "num_training": 49_000,
        "num_validation": 1_000,
        "num_test": 10_000,  # the whole official test set, not the seed's first 1,000
        "return_mean": False,
    }


def test_load_dataset_mnist_offline_without_files_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match=r"train-images-idx3-ubyte\.gz"):
        load_dataset("mnist", data_dir=tmp_path)


def test_load_dataset_real_mnist(mnist_dir: Path) -> None:
    data = load_dataset("mnist", data_dir=mnist_dir)
    assert data["X_train"].shape == (55000, 784) and data["X_train"].dtype == np.float32
    assert data["X_test"].shape == (10000, 784)
    assert data["y_val"].dtype == np.int64
