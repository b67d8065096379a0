"""Predictions for a file of new rows, encoded as the model's training file was.

A run trained on a file of one's own keeps ``preprocessing.json`` (the fitted encoder and the
targets: :meth:`layerwise.runs.RunFolder.write_preprocessing`). :func:`predict_file` reads a CSV
with the same feature columns (a target column may be there or not; it is not used) or an NPZ
file with an array ``X``, encodes it with that encoder, and returns one row per example:

- classification: ``prediction`` (the original label) and ``p_<class>`` for every class
  (softmax probabilities; an SVM-loss model's scores have no probabilities: none);
- regression: one column per target, named as in the training file, in its units;
- multi-label: ``<label>`` (0 or 1) and ``p_<label>`` (sigmoid) for every label.

A run trained on a built-in image dataset (digits, mnist, cifar10) predicts images instead:
:func:`predict_images` reads an NPZ file's array ``X`` of pixels, scales them as the dataset's
loader did (the run's ``pixels.npz``), applies the run's fitted ``preprocess.npz`` if it has
one, and names the classes as the dataset does (CIFAR-10's ``airplane``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from layerwise.errors import ConfigError

Row = dict[str, Any]


def read_features(path: str | Path, preprocessing: Mapping[str, Any]) -> np.ndarray:
    """The encoded feature matrix (n, d) of the CSV or NPZ file at ``path``."""
    from layerwise.data.tabular import TabularEncoder, read_csv

    path = Path(path)
    source = f"{path.name} (preprocessing.json)"
    encoder = TabularEncoder.from_dict(preprocessing["encoder"], source=source)
    target = preprocessing["target"]
    if path.suffix.lower() == ".npz":
        return encoder.transform(_npz_features(path), source=str(path))
    new = read_csv(
        path,
        None,
        task=target["task"],
        impute=encoder.impute,
        features=encoder.columns_,
    )
    return encoder.transform(new.features, source=str(path))


def _npz_features(path: Path) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as f:
            if "X" not in f.files:
                raise ConfigError(f"{path} has no array X; it holds {sorted(f.files)}", "input")
            return np.asarray(f["X"])
    except (OSError, ValueError, EOFError) as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"{path} is not a readable .npz file ({e})", "input") from None


def model_outputs(model: Any, X: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """The model's test-time outputs (N, n_out) for X, in batches."""
    return np.concatenate(
        [np.asarray(model.loss(X[i : i + batch_size])) for i in range(0, len(X), batch_size)]
    )


def predict_rows(model: Any, X: np.ndarray, target: Mapping[str, Any]) -> list[Row]:
    """One dict per example of X: the prediction and, where there are any, probabilities."""
    X = np.asarray(X, dtype=model.dtype)
    outputs = model_outputs(model, X)
    task = target["task"]
    names = [str(n) for n in (target.get("classes") or target.get("target_names") or [])]
    if task == "regression":
        from layerwise.data.own import unstandardize

        names = names or [f"y{k}" for k in range(outputs.shape[1])]
        values = unstandardize(outputs, target)
        return [dict(zip(names, map(float, row), strict=True)) for row in values]
    if task == "multilabel":
        names = names or [f"label{k}" for k in range(outputs.shape[1])]
        probs = 1 / (1 + np.exp(-np.clip(outputs, -500, 500)))
        return [
            {
                **{n: int(o > 0) for n, o in zip(names, row, strict=True)},
                **{f"p_{n}": float(p) for n, p in zip(names, prow, strict=True)},
            }
            for row, prow in zip(outputs, probs, strict=True)
        ]
    classes = target.get("classes") or list(range(outputs.shape[1]))
    rows: list[Row] = [{"prediction": classes[int(i)]} for i in np.argmax(outputs, axis=1)]
    if getattr(model, "loss_name", "softmax") == "softmax":
        shifted = outputs - outputs.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
        for row, prow in zip(rows, probs, strict=True):
            row.update({f"p_{c}": float(p) for c, p in zip(classes, prow, strict=True)})
    return rows


def predict_file(model: Any, preprocessing: Mapping[str, Any], path: str | Path) -> list[Row]:
    """:func:`predict_rows` for the rows of the file at ``path``."""
    return predict_rows(model, read_features(path, preprocessing), preprocessing["target"])


def predict_images(
    model: Any, pixels: Any, preprocessor: Any, path: str | Path, class_names: Any = None
) -> list[Row]:
    """:func:`predict_rows` for the images (an array ``X`` of pixels) of the NPZ file at
    ``path``, for a run trained on a built-in image dataset: its
    :class:`~layerwise.data.pixels.PixelScaling`, then its fitted
    :class:`~layerwise.preprocess.Preprocessor` (or None), then the model."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise ConfigError(
            f"{path}: a run trained on {pixels.dataset} predicts images from an .npz file "
            "holding an array X of pixels",
            "input",
        )
    X = pixels.transform(_npz_features(path), dtype=model.dtype, source=str(path))
    if preprocessor is not None:
        preprocessor.transform(X, inplace=True)
    classes = list(class_names) if class_names else None
    return predict_rows(model, X, {"task": "classification", "classes": classes})
