"""The embedded default: scikit-learn's digits, split deterministically and stratified."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits

from layerwise.data import load_digits_data

KEYS = ["X_train", "y_train", "X_val", "y_val", "X_test", "y_test"]


@pytest.fixture(scope="module")
def digits() -> dict[str, np.ndarray]:
    return load_digits_data()


def test_shapes_dtypes_and_ranges(digits: dict[str, np.ndarray]) -> None:
    assert list(digits) == KEYS
    assert digits["X_train"].shape == (1257, 64)
    assert digits["X_val"].shape == (180, 64)
    assert digits["X_test"].shape == (360, 64)
    for split in ("train", "val", "test"):
        X, y = digits[f"X_{split}"], digits[f"y_{split}"]
        assert X.dtype == np.float32 and X.flags.c_contiguous
        assert y.dtype == np.int64 and y.shape == (len(X),)
        assert 0.0 <= X.min() and X.max() <= 1.0
        assert set(np.unique(y)) == set(range(10))  # stratified: every class everywhere
    assert digits["X_train"].max() == 1.0  # scaled by 16, the largest pixel value


def _sorted_rows(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    table = np.column_stack([X.astype(np.float64), y])
    return table[np.lexsort(table.T[::-1])]


def test_the_splits_partition_the_dataset(digits: dict[str, np.ndarray]) -> None:
    """Together the three splits are exactly the 1,797 digits, each used once."""
    source = load_digits()
    X = np.concatenate([digits["X_train"], digits["X_val"], digits["X_test"]])
    y = np.concatenate([digits["y_train"], digits["y_val"], digits["y_test"]])
    np.testing.assert_array_equal(_sorted_rows(X * 16, y), _sorted_rows(source.data, source.target))


def test_the_splits_are_stratified(digits: dict[str, np.ndarray]) -> None:
    overall = np.bincount(load_digits().target) / 1797
    for split, size in (("val", 180), ("test", 360)):
        counts = np.bincount(digits[f"y_{split}"], minlength=10)
        assert np.all(np.abs(counts - overall * size) <= 1.0), (split, counts)


def test_same_seed_same_split_other_seed_other_split(digits: dict[str, np.ndarray]) -> None:
    again = load_digits_data()
    for key in KEYS:
        np.testing.assert_array_equal(again[key], digits[key])
    other = load_digits_data(seed=1)
    assert not np.array_equal(other["y_test"], digits["y_test"])


def test_custom_sizes_and_dtype() -> None:
    data = load_digits_data(num_validation=0, num_test=100, dtype=np.float64, seed=7)
    assert data["X_train"].shape == (1697, 64) and data["X_train"].dtype == np.float64
    assert data["X_val"].shape == (0, 64) and data["y_val"].shape == (0,)
    assert data["y_val"].dtype == np.int64
    assert data["X_test"].shape == (100, 64)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"num_validation": -1}, "num_validation must be a non-negative integer; got -1"),
        ({"num_test": 5}, "num_test must be 0 or at least 10"),
        ({"num_test": "360"}, "num_test must be a non-negative integer; got '360'"),
        ({"num_validation": 900, "num_test": 890}, "leaves 7 of the 1797"),
        ({"dtype": int}, "dtype must be a NumPy floating type"),
        ({"seed": -1}, "seed must be a non-negative integer; got -1"),
        ({"seed": 2**32}, "seed must be below 2\\*\\*32"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        load_digits_data(**kwargs)
