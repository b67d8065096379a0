"""Argument checks shared by the dataset loaders (one clear ValueError per bad argument)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = ["check_count", "check_float_dtype", "check_splits"]


def check_count(name: str, value: Any) -> int:
    """``value`` as a non-negative int; bools and floats are refused (``2.5`` rows is a bug)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value}")
    return int(value)


def check_float_dtype(dtype: Any) -> np.dtype[Any]:
    """``dtype`` as a NumPy floating dtype (the features are scaled, so ints make no sense)."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as err:
        raise ValueError(f"dtype must be a NumPy floating type, got {dtype!r}") from err
    if resolved.kind != "f":
        raise ValueError(f"dtype must be a NumPy floating type, got {resolved}")
    return resolved


def check_splits(
    num_training: Any, num_validation: Any, num_test: Any, *, n_train: int, n_test: int
) -> tuple[int, int, int]:
    """Check the sizes of the three splits against the rows available.

    Args:
        num_training, num_validation: rows taken from the training set, in that order.
        num_test: rows taken from the test set.
        n_train, n_test: how many training and test rows exist.

    Returns:
        The three counts as ints.
    """
    n_tr = check_count("num_training", num_training)
    n_val = check_count("num_validation", num_validation)
    n_te = check_count("num_test", num_test)
    if n_tr + n_val > n_train:
        raise ValueError(
            f"num_training + num_validation = {n_tr} + {n_val} = {n_tr + n_val} exceeds the "
            f"{n_train} training rows available"
        )
    if n_te > n_test:
        raise ValueError(f"num_test = {n_te} exceeds the {n_test} test rows available")
    return n_tr, n_val, n_te
