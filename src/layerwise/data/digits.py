"""The embedded default dataset: scikit-learn's bundled 8x8 digits (1,797 images, offline).

The images are split once, deterministically and stratified by class, into test, validation and
training rows, so every class appears in every split in about its overall proportion.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from layerwise.errors import ConfigError
from layerwise.validation import check_float_dtype, check_int

__all__ = ["load_digits_data"]

_N_CLASSES = 10
_N_IMAGES = 1797  # scikit-learn's digits
_N_TEST = 360  # the default test split
_MAX_PIXEL = 16.0  # the digits are 4-bit counts, 0..16


def _check_seed(seed: Any) -> int:
    value = check_int("seed", seed)
    if value >= 2**32:
        raise ConfigError(f"seed must be below 2**32, got {value}")
    return value


def _split_off(
    rows: np.ndarray, labels: np.ndarray, count: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(rest, taken): ``count`` of ``rows`` taken stratified by ``labels``."""
    if count == 0:
        return rows, rows[:0]
    # Imported here: scikit-learn takes about a second to import and only this loader needs it.
    from sklearn.model_selection import train_test_split

    rest, taken = train_test_split(rows, test_size=count, stratify=labels, random_state=seed)
    return np.asarray(rest), np.asarray(taken)


def load_digits_data(
    num_validation: int = 180,
    num_test: int = _N_TEST,
    dtype: Any = np.float32,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """scikit-learn's 8x8 digits, scaled to [0, 1], flattened and split three ways.

    Args:
        num_validation: validation rows (0, or at least 10: one per class).
        num_test: test rows (0, or at least 10).
        dtype: floating type of the images.
        seed: fixes the split (the same seed always gives the same rows).

    Returns:
        ``X_train`` (m_train, 64) with m_train = 1797 - num_validation - num_test (1257 by
        default), ``y_train`` (m_train,), ``X_val`` (num_validation, 64), ``y_val``,
        ``X_test`` (num_test, 64), ``y_test``; X in ``dtype``, C-contiguous, in [0, 1];
        y int64 in 0..9. The three splits are disjoint.
    """
    from sklearn.datasets import load_digits

    dtype = check_float_dtype(dtype, any_float=True)
    n_val = check_int("num_validation", num_validation)
    n_te = check_int("num_test", num_test)
    seed = _check_seed(seed)
    for name, count in (("num_validation", n_val), ("num_test", n_te)):
        if 0 < count < _N_CLASSES:
            raise ConfigError(
                f"{name} must be 0 or at least {_N_CLASSES} (a stratified split takes one "
                f"row per class), got {count}"
            )

    digits = load_digits()
    images = np.asarray(digits.data)  # (1797, 64) float64, 0..16
    labels = np.asarray(digits.target, dtype=np.int64)
    n = len(labels)
    if n - n_val - n_te < _N_CLASSES:
        raise ConfigError(
            f"num_validation + num_test = {n_val + n_te} leaves {n - n_val - n_te} of the {n} "
            f"digits for training; at least {_N_CLASSES} are needed"
        )

    rest, test = _split_off(np.arange(n), labels, n_te, seed)
    train, val = _split_off(rest, labels[rest], n_val, seed)

    def features(rows: np.ndarray) -> np.ndarray:
        # Fancy indexing copies already, so the cast (and the scaling) may reuse that copy.
        out = images[rows].astype(dtype, copy=False)
        out /= _MAX_PIXEL
        return out

    return {
        "X_train": features(train),
        "y_train": labels[train],
        "X_val": features(val),
        "y_val": labels[val],
        "X_test": features(test),
        "y_test": labels[test],
    }
