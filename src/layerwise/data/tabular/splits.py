"""``split`` (train/validation/test positions, stratified for classification) and ``prepare``
(split, fit an encoder on the training rows only, encode every split).

Splitting works on row positions, before any encoding, so nothing the encoder learns can come
from the validation or test rows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from layerwise.errors import ConfigError
from layerwise.validation import check_float_dtype, check_number, check_seed

from ..errors import DatasetError
from .encoder import TabularEncoder
from .table import Tabular

#: ``prepare``'s test fraction when the file has no test split of its own.
DEFAULT_TEST_FRACTION = 0.1


def _count(fraction: float, n: int) -> int:
    """Rows for a held-out fraction: rounded half up, and at least 1 unless the fraction is 0."""
    return 0 if fraction == 0 else max(1, math.floor(fraction * n + 0.5))


def _apportion(sizes: np.ndarray, total: int, cap: np.ndarray) -> np.ndarray:
    """``total`` split over classes in proportion to ``sizes`` (largest remainders first),
    at most ``cap`` each; ``sum(cap) >= total``."""
    quotas = sizes * total / sizes.sum()
    taken = np.minimum(np.floor(quotas).astype(np.int64), cap)
    while taken.sum() < total:
        room = taken < cap
        need = np.where(room, quotas - taken, -np.inf)
        taken[int(np.argmax(need))] += 1  # ties: the first class
    return taken


def _stratified(
    labels: np.ndarray, n_val: int, n_test: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) positions (unsorted), each class shuffled and shared out in
    proportion (test first, then validation)."""
    found = np.unique(labels)
    members = [rng.permutation(np.flatnonzero(labels == c)) for c in found]
    sizes = np.asarray([len(m) for m in members], dtype=np.int64)
    # One example of each class stays in training, unless the held-out rows cannot allow it.
    keep = 1 if n_val + n_test <= int((sizes - 1).sum()) else 0
    test_c = _apportion(sizes, n_test, sizes - keep)
    val_c = _apportion(sizes, n_val, sizes - keep - test_c)
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for m, t, v in zip(members, test_c, val_c, strict=True):
        parts[2].append(m[:t])
        parts[1].append(m[t : t + v])
        parts[0].append(m[t + v :])
    train, val, test = (np.concatenate(p) for p in parts)
    return train, val, test


def split(
    data: Tabular, val_fraction: float, test_fraction: float = 0.0, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test): sorted int64 positions of ``data``'s rows (``features``, ``y``).

    ``round(fraction * n)`` rows (at least 1 for a fraction above 0) go to validation and to
    test, the rest to training. A classification target is split stratified (each class in
    about its proportion in every split, one example at least kept for training) when every
    class present has at least 2 examples; otherwise, and for the other tasks, the rows are
    shuffled. The same seed always gives the same split (None: a fresh one).
    """
    val = check_number("val_fraction", val_fraction, 0.0, high=1.0, high_strict=True)
    test = check_number("test_fraction", test_fraction, 0.0, high=1.0, high_strict=True)
    if val + test >= 1:
        raise ConfigError(
            f"val_fraction + test_fraction must be below 1, leaving rows to train on; got "
            f"{val:g} + {test:g}",
            "val_fraction",
        )
    rng = np.random.default_rng(check_seed("seed", seed))
    n = data.n_rows
    n_val, n_test = _count(val, n), _count(test, n)
    if n - n_val - n_test < 1:
        raise DatasetError(
            f"{data.source}: {n} rows are too few to hold out {n_val} for validation and "
            f"{n_test} for testing and train on the rest"
        )
    labels = data.y if data.task == "classification" else None
    counts = np.bincount(labels) if labels is not None else np.zeros(0, dtype=np.int64)
    if labels is not None and counts[counts > 0].min() >= 2:
        train, val_rows, test_rows = _stratified(labels, n_val, n_test, rng)
    else:
        order = rng.permutation(n)
        test_rows, val_rows = order[:n_test], order[n_test : n_test + n_val]
        train = order[n_test + n_val :]
    return (
        np.sort(train).astype(np.int64),
        np.sort(val_rows).astype(np.int64),
        np.sort(test_rows).astype(np.int64),
    )


def prepare(
    data: Tabular,
    val_fraction: float = 0.1,
    test_fraction: float | None = None,
    seed: int | None = 0,
    *,
    standardize: bool = True,
    dtype: Any = np.float64,
) -> tuple[TabularEncoder, dict[str, np.ndarray]]:
    """Split, fit an encoder on the training rows, encode every split.

    Args:
        data: a dataset read with its target.
        val_fraction, test_fraction, seed: as for :func:`split`. ``test_fraction`` None:
            the file's own test split (``X_test``/``y_test``) when it has one, else
            :data:`DEFAULT_TEST_FRACTION` of the rows; with an own test split it must be None
            or 0. 0 gives empty (0, d) arrays.
        standardize: the encoder's ``standardize``.
        dtype: floating type of the X arrays.

    Returns:
        (the fitted encoder, ``{"X_train", "y_train", "X_val", "y_val", "X_test", "y_test"}``).
    """
    if data.y is None:
        raise ConfigError(f"{data.source} was read without a target; prepare needs one", "target")
    dt = check_float_dtype(dtype, any_float=True)
    own_test = data.features_test is not None
    if own_test:
        if test_fraction not in (None, 0):
            raise ConfigError(
                f"{data.source} has its own test split (X_test, y_test): test_fraction must be "
                f"None or 0; got {test_fraction!r}",
                "test_fraction",
            )
        test_fraction = 0.0
    elif test_fraction is None:
        test_fraction = DEFAULT_TEST_FRACTION
    train, val, test = split(data, val_fraction, test_fraction, seed)
    encoder = data.encoder(standardize).fit(data.rows(train), source=data.source)

    def encode(rows: Any, source: str) -> np.ndarray:
        return encoder.transform(rows, source=source).astype(dt, copy=False)

    arrays = {
        "X_train": encode(data.rows(train), data.source),
        "y_train": data.y[train],
        "X_val": encode(data.rows(val), data.source),
        "y_val": data.y[val],
    }
    if own_test:
        assert data.y_test is not None
        arrays["X_test"] = encode(data.features_test, f"{data.source} (X_test)")
        arrays["y_test"] = data.y_test.copy()
    else:
        arrays["X_test"] = encode(data.rows(test), data.source)
        arrays["y_test"] = data.y[test]
    return encoder, arrays
