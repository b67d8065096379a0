"""The arrays a fit trains on: scikit-learn's input validation, the examples' weights, and
the split into training and held-out examples (early stopping)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn.utils.validation as _skvalidation
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import _check_sample_weight

from layerwise.errors import ConfigError

Array = np.ndarray
#: (X, targets, per-example weights or None)
Examples = tuple[Array, Array, Array | None]


def validate_data(est: Any, X: Any, y: Any = "no_validation", **kwargs: Any) -> Any:
    """scikit-learn's ``validate_data`` (1.6+), or the method it replaced."""
    validate = getattr(_skvalidation, "validate_data", None)
    if validate is None:  # scikit-learn < 1.6
        return est._validate_data(X, y, **kwargs)
    return validate(est, X, y, **kwargs)


def dense(X: Any) -> Array:
    """X as a dense array: sparse input is accepted, and the network is dense."""
    return X.toarray() if sp.issparse(X) else X


def training_weights(
    est: Any, X: Array, sample_weight: Any, class_weights: Array | None
) -> Array | None:
    """The per-example weights: ``sample_weight`` times the class weights (None: none)."""
    if sample_weight is not None:
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
    if sample_weight is None:
        weights = class_weights
    elif class_weights is None:
        weights = sample_weight
    else:
        weights = sample_weight * class_weights
    if weights is not None and not (isinstance(est.engine, str) and est.engine == "numpy"):
        raise ConfigError(
            "sample_weight and class_weight need engine='numpy' (the framework engines "
            "train on unweighted batches)",
            "engine",
        )
    return weights


def split(
    est: Any,
    X: Array,
    targets: Array,
    weights: Array | None,
    stratify: Array | None,
    rs: np.random.RandomState,
) -> tuple[Examples, Examples]:
    """(training, held-out) examples. With early_stopping, validation_fraction of them are
    held out (stratified by ``stratify``), the held-out ones keeping their weights for the
    score; without, every example trains, and the Solver's "validation" is the training set.
    Training examples of weight 0 are left out: they contribute nothing."""
    X_train, y_train, w_train = X, targets, weights
    X_val, y_val, w_val = X, targets, None
    if est.early_stopping:
        arrays = [X, targets] + ([] if weights is None else [weights])
        parts = train_test_split(
            *arrays,
            random_state=rs,
            test_size=est.validation_fraction,
            stratify=stratify,
        )
        X_train, X_val, y_train, y_val = parts[:4]
        if weights is not None:
            w_train, w_val = parts[4], parts[5]
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
    if w_train is not None:
        if not np.any(w_train > 0):
            raise ValueError("sample_weight: the training examples' weights are all zero")
        keep = w_train > 0  # a weight of 0 contributes nothing: leave the example out
        if not keep.all():
            X_train, y_train, w_train = X_train[keep], y_train[keep], w_train[keep]
    return (X_train, y_train, w_train), (X_val, y_val, w_val)
