"""``read_npz``: an NPZ archive (``numpy.savez``) of ``X``, ``y`` and optionally ``X_test`` and
``y_test``, checked and turned into a :class:`~layerwise.data.tabular.table.Tabular`.

The arrays are loaded without pickle (a pickle can run code), so object arrays are refused;
NumPy only.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from layerwise.errors import ConfigError

from ..errors import DatasetError
from .messages import shown_list, source_prefix
from .table import Tabular
from .targets import TargetColumn, check_task_args, resolve_targets

#: The arrays an NPZ dataset may hold; any other is refused rather than ignored.
_NPZ_ARRAYS = ("X", "y", "X_test", "y_test")


def _load_npz(source: str) -> dict[str, np.ndarray]:
    """The archive's arrays by name: X and y, and both of X_test, y_test or neither."""
    try:
        archive = np.load(source, allow_pickle=False)
    except FileNotFoundError:
        raise DatasetError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise DatasetError(f"{source}: is a folder, not an NPZ file") from None
    except (ValueError, EOFError, OSError, zipfile.BadZipFile) as e:
        raise DatasetError(
            f"{source}: not an NPZ archive of arrays ({e}); write one with "
            "numpy.savez(path, X=X, y=y)"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DatasetError(
            f"{source}: holds a single array (a .npy file); expected an NPZ archive with the "
            "arrays X and y, written by numpy.savez(path, X=X, y=y)"
        )
    arrays: dict[str, np.ndarray] = {}
    with archive:
        names = list(archive.files)
        unknown = [n for n in names if n not in _NPZ_ARRAYS]
        if unknown:
            raise DatasetError(
                f"{source}: unexpected array {shown_list(unknown)}; an NPZ dataset holds "
                "X and y, and optionally X_test and y_test"
            )
        for required in ("X", "y"):
            if required not in names:
                raise DatasetError(
                    f"{source}: no array {required!r} (it holds {shown_list(names) or 'none'}); "
                    "an NPZ dataset holds X (n, d) and y, and optionally X_test and y_test"
                )
        for name in names:
            try:
                arrays[name] = np.asarray(archive[name])
            except ValueError as e:
                if "pickle" in str(e) or "bject" in str(e):
                    raise DatasetError(
                        f"{source}: array {name!r} is an object array, which would need pickle "
                        "to load (refused: a pickle can run code); save numbers, or text "
                        "labels as a fixed-width string array (y.astype(str))"
                    ) from None
                raise DatasetError(f"{source}: array {name!r} cannot be read ({e})") from None
            except (OSError, EOFError, zipfile.BadZipFile) as e:
                raise DatasetError(f"{source}: array {name!r} is damaged ({e})") from None
    has_x, has_y = "X_test" in arrays, "y_test" in arrays
    if has_x != has_y:
        present, absent = ("X_test", "y_test") if has_x else ("y_test", "X_test")
        raise DatasetError(
            f"{source}: has {present} but no {absent}; a test split needs both (or neither)"
        )
    return arrays


def _npz_features(source: str, name: str, a: np.ndarray, width: int | None) -> np.ndarray:
    """``a`` (X or X_test) as float64 (n, d), checked finite (``width``: X's d, for X_test)."""
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise DatasetError(
            f"{source}: {name} has shape {a.shape}; expected (n, d) with n, d >= 1: one row of "
            "d features per example"
        )
    if width is not None and a.shape[1] != width:
        raise DatasetError(
            f"{source}: {name} has shape {a.shape}; expected {width} columns, as X has"
        )
    if a.dtype.kind not in "biuf":
        raise DatasetError(
            f"{source}: {name} has dtype {a.dtype}; expected numbers (text or categorical "
            "features go in a CSV file)"
        )
    x = a.astype(np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise DatasetError(
            f"{source}: {name}[{i}, {j}] is {x[i, j]}; features must be finite numbers "
            f"({int(bad.sum())} non-finite values in {name}, shape {a.shape})"
        )
    return x


def _npz_targets(
    source: str, name: str, a: np.ndarray, rows: int, of: str, k: int | None
) -> list[TargetColumn]:
    """``a`` (y or y_test) as one TargetColumn per column, checked against the ``rows`` of its
    features (``of``, for messages) and, for y_test, the ``k`` columns of y."""
    if a.ndim not in (1, 2) or a.shape[0] != rows or (a.ndim == 2 and a.shape[1] == 0):
        raise DatasetError(
            f"{source}: {name} has shape {a.shape}; expected ({rows},) or ({rows}, k): one "
            f"target per row of {of}"
        )
    width = 1 if a.ndim == 1 else a.shape[1]
    if k is not None and width != k:
        raise DatasetError(
            f"{source}: {name} has shape {a.shape}; expected {k} target column(s), as y has"
        )
    if a.dtype.kind not in "biufU":
        raise DatasetError(
            f"{source}: {name} has dtype {a.dtype}; expected numbers or strings (labels)"
        )
    table = a.reshape(rows, width)
    cols = []
    for j in range(width):
        values = table[:, j]
        col_name = name if width == 1 else f"{name}{j}"
        what = name if width == 1 else f"{name}[:, {j}]"

        def cell(i: int, j: int = j) -> str:
            return f"{name}[{i}]" if a.ndim == 1 else f"{name}[{i}, {j}]"

        if a.dtype.kind == "U":
            texts = values.astype(object)
            empty = np.flatnonzero(np.char.str_len(values) == 0)
            if len(empty):
                raise DatasetError(f"{source}: {cell(int(empty[0]))} is an empty label")
            cols.append(TargetColumn(col_name, what, texts, np.full(rows, np.nan), cell))
            continue
        numbers_ = values.astype(np.float64)
        bad = ~np.isfinite(numbers_)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DatasetError(
                f"{source}: {cell(i)} is {numbers_[i]}; targets must be finite "
                f"({int(bad.sum())} non-finite values in {name}, shape {a.shape})"
            )
        cols.append(TargetColumn(col_name, what, None, numbers_, cell))
    return cols


def read_npz(
    path: str | os.PathLike[str],
    task: str | None = None,
    *,
    classes: Sequence[Any] | None = None,
) -> Tabular:
    """Read an NPZ archive (``numpy.savez``) of ``X``, ``y`` and optionally ``X_test`` and
    ``y_test`` into a :class:`Tabular` dataset (NumPy only).

    Args:
        path: the file.
        task: as for :func:`read_csv`; None infers it from ``y``.
        classes: the classes a model was trained with: ``y`` (and ``y_test``) are mapped to
            them. None: the sorted distinct labels of ``y``.

    Returns:
        The dataset: ``features`` is ``X`` as float64 (n, d), ``features_test`` ``X_test``.

    Raises:
        DatasetError: a missing, unexpected, object, non-finite or misshapen array, or a
            ``y_test`` label not in ``y`` (each message names the array and its shape).
        ConfigError: a bad argument.
    """
    source = os.fspath(path)
    task, classes = check_task_args(task, classes)
    arrays = _load_npz(source)
    X = _npz_features(source, "X", arrays["X"], None)
    y_raw = arrays["y"]
    cols = _npz_targets(source, "y", y_raw, len(X), f"X {X.shape}", None)
    if classes is not None and len(cols) != 1:
        raise ConfigError("classes are for one target column", "classes")
    at = source_prefix(source)
    y, found, task = resolve_targets(cols, task, classes, at)
    two_d = y_raw.ndim == 2
    if two_d and task == "regression":
        y = y.reshape(len(X), -1)
    X_test = y_test = None
    if "X_test" in arrays:
        X_test = _npz_features(source, "X_test", arrays["X_test"], X.shape[1])
        test_cols = _npz_targets(
            source, "y_test", arrays["y_test"], len(X_test), f"X_test {X_test.shape}", len(cols)
        )
        if arrays["y_test"].ndim != y_raw.ndim:
            raise DatasetError(
                f"{source}: y_test has shape {arrays['y_test'].shape}, but y has "
                f"{y_raw.shape}; expected ({len(X_test)},{' k' if two_d else ''}) like y"
            )
        y_test, _, _ = resolve_targets(
            test_cols, task, found, at, unseen="that y (the training labels) does not hold"
        )
        if two_d and task == "regression":
            y_test = y_test.reshape(len(X_test), -1)
    return Tabular(
        source=source,
        features=X,
        y=y,
        feature_names=[f"x{j}" for j in range(X.shape[1])],
        target_names=[c.name for c in cols],
        classes=found,
        task=task,
        features_test=X_test,
        y_test=y_test,
    )
