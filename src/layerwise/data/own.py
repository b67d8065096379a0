"""Your own data by name: ``csv:PATH`` and ``npz:PATH`` beside the built-in datasets.

A recipe's ``dataset`` is a catalog name (``digits``, ``mnist``, ``cifar10``) or one of these.
:func:`load_own` reads the file (:mod:`layerwise.data.tabular`), splits it (validation: 10 %
or ``val_size`` rows; test: the NPZ file's own ``X_test``/``y_test``, else 10 %), fits the
encoder on the training rows and returns the six arrays plus what a model trained on them needs
later: ``"encoder"`` (the fitted :class:`~layerwise.data.tabular.TabularEncoder`) and
``"target"`` (target names, classes, task: JSON). Regression targets are standardised by the
training rows (``y_mean``, ``y_scale`` in ``"target"``): the network trains on unit scale, and
predictions and the MAE/MSE in ``metrics.json`` are turned back into the file's units. The
split depends only on the seed, so ``layerwise evaluate`` rebuilds the same split.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from layerwise.errors import ConfigError

#: The kinds of file a dataset name may point to, by prefix.
KINDS = ("csv", "npz")
#: The fraction of the rows held out for validation when ``val_size`` is not given.
VAL_FRACTION = 0.1


def is_own(name: Any) -> bool:
    """Whether ``name`` names a file of one's own (``csv:PATH`` or ``npz:PATH``)."""
    return isinstance(name, str) and name.partition(":")[0] in KINDS and ":" in name


def parse_own(name: str) -> tuple[str, Path]:
    """(kind, path) of ``csv:PATH`` / ``npz:PATH``; ConfigError when the path is empty."""
    kind, _, path = name.partition(":")
    if kind not in KINDS or not path:
        raise ConfigError(
            f"dataset {name!r}: expected csv:PATH or npz:PATH with a file's path", "dataset"
        )
    return kind, Path(path).expanduser()


def check_own(name: str, target: tuple[str, ...] | None, impute: str | None) -> None:
    """What can be checked without reading the file: a CSV needs its target column(s), an
    NPZ file has its ``y`` (no target), impute is for CSV cells."""
    kind, _ = parse_own(name)
    if kind == "csv" and not target:
        raise ConfigError(
            f"dataset {name!r} needs --target COLUMN[,COLUMN]: the column(s) to predict",
            "target",
        )
    if kind == "npz" and target:
        raise ConfigError(
            f"dataset {name!r}: an NPZ file's target is its array y; leave --target out",
            "target",
        )
    if kind == "npz" and impute:
        raise ConfigError("impute fills missing CSV cells; an NPZ file has none", "impute")


def read_own(
    name: str,
    target: tuple[str, ...] | None,
    task: str | None,
    impute: str | None,
) -> Any:
    """The file as a :class:`~layerwise.data.tabular.Tabular` (not yet split or encoded)."""
    from layerwise.data import tabular

    check_own(name, target, impute)
    kind, path = parse_own(name)
    if kind == "csv":
        return tabular.read_csv(path, list(target or ()), task=task, impute=impute)
    return tabular.read_npz(path, task=task)


def load_own(
    name: str,
    target: tuple[str, ...] | None = None,
    task: str | None = None,
    impute: str | None = None,
    val_size: int | None = None,
    seed: int = 0,
    dtype: Any = np.float32,
) -> dict[str, Any]:
    """The six arrays of a CSV or NPZ file, encoded, plus ``"encoder"`` and ``"target"``.

    val_size: validation rows (default :data:`VAL_FRACTION` of them); seed: the split's.
    """
    from layerwise.data.tabular import prepare

    data = read_own(name, target, task, impute)
    if val_size is None:
        fraction = VAL_FRACTION
    else:
        if val_size >= data.n_rows:
            raise ConfigError(
                f"val_size {val_size} leaves no training rows: {name} has {data.n_rows}",
                "val_size",
            )
        fraction = val_size / data.n_rows
    encoder, arrays = prepare(data, val_fraction=fraction, seed=seed, dtype=dtype)
    for split in ("train", "val", "test"):
        if len(arrays[f"X_{split}"]) == 0:
            raise ConfigError(
                f"{name} has {data.n_rows} rows: too few for a {split} split", "dataset"
            )
    info = data.target_info()
    if info["task"] == "regression":
        info.update(standardize_targets(arrays))
    return {**arrays, "encoder": encoder, "target": info}


def standardize_targets(arrays: dict[str, Any]) -> dict[str, list[float]]:
    """Standardise the regression targets of every split in place, by the training rows' mean
    and standard deviation (1 for a constant target); returns them as ``y_mean``/``y_scale``.

    A network's outputs start near 0 with unit-scale weights: targets in the hundreds would
    make the first updates huge (the default recipe diverges on prices). R² is the same on
    either scale; :func:`unstandardize` turns outputs back into the file's units.
    """
    y = arrays["y_train"]
    mean = y.mean(axis=0)
    scale = y.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    for split in ("train", "val", "test"):
        arrays[f"y_{split}"] = (arrays[f"y_{split}"] - mean) / scale
    return {"y_mean": np.atleast_1d(mean).tolist(), "y_scale": np.atleast_1d(scale).tolist()}


def unstandardize(values: np.ndarray, target: Any) -> np.ndarray:
    """Regression outputs or targets (m, k) or (m,) back in the file's units (as they are when
    ``target`` records no standardisation)."""
    if "y_scale" not in target:
        return values
    scale, mean = np.asarray(target["y_scale"]), np.asarray(target["y_mean"])
    if values.ndim == 1:
        scale, mean = scale[0], mean[0]
    return values * scale + mean
