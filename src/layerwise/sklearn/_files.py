"""Saving a fitted estimator without pickle, and loading it back.

The network goes through :func:`layerwise.io.save_model` (the ``.npz`` arrays and the
``.json`` model); the estimator (its parameters, ``classes_`` with their dtype, the fitted
attributes) is added to that JSON under ``"estimator"``. Loading uses
``np.load(allow_pickle=False)``, so a file cannot run code. The optimizer's state is not saved.
"""

from __future__ import annotations

import math
import numbers
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from layerwise.io import (
    ModelFileError,
    PathLike,
    load_model,
    read_json,
    save_model,
    to_jsonable,
    write_json,
)
from layerwise.sklearn._training import snapshot

Array = np.ndarray
#: Version of the ``"estimator"`` entry that :func:`save` writes into the model's JSON.
SAVE_VERSION = 1
#: The fitted attributes written as they are (JSON types already).
FITTED_JSON = (
    "n_features_in_",
    "n_outputs_",
    "n_layers_",
    "out_activation_",
    "n_iter_",
    "t_",
    "loss_",
    "loss_curve_",
    "best_loss_",
    "validation_scores_",
    "best_validation_score_",
    "recipe_",
    "_no_improvement_count",
    "_architecture",
)


def save(est: Any, path: PathLike) -> Path:
    """Write the fitted ``est`` to ``path`` (``.npz``, or a folder -> ``model.npz``) and the
    JSON beside it; returns the ``.npz`` path."""
    check_is_fitted(est, "model_")
    params: dict[str, Any] = {}
    replaced: list[str] = []
    for name, value in est.get_params(deep=False).items():
        if name == "class_weight" and isinstance(value, dict):
            value = {"pairs": [[to_jsonable(k), float(v)] for k, v in value.items()]}
        elif name == "hidden_layer_sizes" and not isinstance(value, numbers.Integral):
            value = [int(h) for h in value]
        elif name == "dtype":
            value = np.dtype(value).name
        try:
            to_jsonable(value)
        except TypeError:
            replaced.append(name)
            continue
        if isinstance(value, float) and not math.isfinite(value):
            value = {"float": repr(value)}  # n_iter_no_change=np.inf
        params[name] = value
    if replaced:
        warnings.warn(
            f"{type(est).__name__}.save: the parameter(s) {replaced} cannot be written to "
            "JSON; the loaded estimator has their defaults (they only affect training)",
            UserWarning,
            stacklevel=3,  # the caller of est.save
        )
    fitted = {k: getattr(est, k) for k in FITTED_JSON if hasattr(est, k)}
    if hasattr(est, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(f) for f in est.feature_names_in_]
    if hasattr(est, "classes_"):
        fitted["classes_"] = _classes_to_json(est.classes_)
    fitted.update(est._layout_to_json())
    entry = {
        "class": type(est).__name__,
        "version": SAVE_VERSION,
        "params": params,
        "fitted": fitted,
    }
    to_jsonable(entry)  # fails (TypeError) before any file is written
    npz_path = save_model(est.model_, path)
    json_path = npz_path.with_suffix(".json")
    meta = read_json(json_path)
    meta["estimator"] = entry
    write_json(json_path, meta)
    return npz_path


def load(cls: Any, path: PathLike) -> Any:
    """Read an estimator of class ``cls`` written by :func:`save`."""
    model = load_model(path)
    npz_path = Path(path)
    if npz_path.is_dir():
        npz_path = npz_path / "model.npz"
    json_path = npz_path.with_suffix(".json")
    entry = read_json(json_path).get("estimator")
    if not isinstance(entry, dict) or entry.get("version") != SAVE_VERSION:
        raise ModelFileError(
            f"{json_path} holds a layerwise model but no {cls.__name__} (write it with "
            f"{cls.__name__}.save)"
        )
    if entry.get("class") != cls.__name__:
        raise ModelFileError(f"{json_path} holds a {entry.get('class')}, not a {cls.__name__}")
    params, fitted = entry.get("params"), entry.get("fitted")
    known = set(cls().get_params(deep=False))
    if not (isinstance(params, dict) and isinstance(fitted, dict)) or set(params) - known:
        raise ModelFileError(
            f"{json_path}: the estimator entry is damaged (expected 'params' with names "
            f"among {sorted(known)} and 'fitted')"
        )
    params = dict(params)
    if isinstance(params.get("class_weight"), dict):
        params["class_weight"] = {k: v for k, v in params["class_weight"]["pairs"]}
    if isinstance(params.get("hidden_layer_sizes"), list):
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    for name, value in params.items():
        if isinstance(value, dict) and set(value) == {"float"}:
            params[name] = float(value["float"])
    est = cls(**params)
    fitted = dict(fitted)
    if "feature_names_in_" in fitted:
        est.feature_names_in_ = np.asarray(fitted.pop("feature_names_in_"), dtype=object)
    if "classes_" in fitted:
        est.classes_ = _classes_from_json(fitted.pop("classes_"))
    est._layout_from_json(fitted)
    for name in FITTED_JSON:
        if name in fitted:
            setattr(est, name, fitted[name])
    if est.early_stopping:
        est.best_loss_ = None
        if est.best_validation_score_ is None:
            est.best_validation_score_ = -np.inf
    elif est.best_loss_ is None:
        est.best_loss_ = np.inf
    est.model_ = model
    est._best_state = snapshot(model)
    return est


def _classes_to_json(classes: Array) -> dict[str, Any]:
    values = classes.tolist()
    ok = all(isinstance(v, (str, bool, int, float)) for v in values)
    if not ok:
        raise TypeError(
            f"save: classes_ of dtype {classes.dtype} hold values JSON cannot store "
            f"({values[:3]!r}...); use pickle for such labels"
        )
    return {"values": values, "dtype": classes.dtype.str}


def _classes_from_json(entry: dict[str, Any]) -> Array:
    dtype = np.dtype(entry["dtype"])
    if dtype.kind == "O":
        out = np.empty(len(entry["values"]), dtype=object)
        out[:] = entry["values"]
        return out
    return np.asarray(entry["values"], dtype=dtype)
