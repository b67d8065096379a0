"""Targets, shared by :func:`read_csv` and :func:`read_npz`: the target columns checked against
a given task or the task inferred from them, and class labels mapped to their indices.

Both readers first turn their target columns into :class:`TargetColumn` (text and numbers of
each cell, and how to name a cell), so one set of rules, those of the package docstring,
decides the task and words the refusals for a CSV column and an NPZ array alike.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from layerwise.errors import ConfigError
from layerwise.validation import check_choice

from ..errors import DatasetError
from .messages import Cell, shown_list

#: The tasks a tabular target can be for (those of :mod:`layerwise.tasks`).
TASKS = ("classification", "regression", "multilabel")
#: A single whole-number target column with at most this many distinct values is inferred to
#: be a classification target; with more, a regression one.
MAX_INFERRED_CLASSES = 20


@dataclass
class TargetColumn:
    """One target column as read, before the task decides what its values mean."""

    name: str
    what: str  # the column, for messages: "column 'y'", "y_test"
    texts: np.ndarray | None  # stripped text of each cell; None for a numeric array
    numbers: np.ndarray  # float64; NaN where the cell is text
    cell: Cell  # where a value is: "line 5, column 'y'", "y_test[3]"


def _is_whole(values: np.ndarray) -> np.ndarray:
    return np.isfinite(values) & (values == np.round(values))


def _shown(col: TargetColumn, i: int) -> str:
    if col.texts is not None:
        return repr(col.texts[i])
    value = float(col.numbers[i])
    return repr(int(value)) if value.is_integer() else repr(value)


def _map_labels(
    labels: list[Any], classes: Sequence[Any], col: TargetColumn, at: str, unseen: str
) -> np.ndarray:
    index = {c: k for k, c in enumerate(classes)}
    y = np.empty(len(labels), dtype=np.int64)
    missing: dict[Any, int] = {}
    for i, label in enumerate(labels):
        k = index.get(label)
        if k is None:
            missing.setdefault(label, i)
            continue
        y[i] = k
    if missing:
        first = next(iter(missing.values()))
        raise DatasetError(
            f"{at}{col.what} holds labels {unseen}: {shown_list(list(missing))} (first at "
            f"{col.cell(first)}); the classes are {shown_list(list(classes))}"
        )
    return y


def _classify(
    col: TargetColumn, as_text: bool, classes: Sequence[Any] | None, at: str, unseen: str
) -> tuple[np.ndarray, list[Any]]:
    """(indices, classes): the column's labels as class indices."""
    if classes is not None:  # the labels must be among known classes
        as_text = all(isinstance(c, str) for c in classes)
    if as_text:
        if col.texts is None:
            raise DatasetError(
                f"{at}{col.what} holds numbers, but the classes are text labels "
                f"({shown_list(list(classes or []))})"
            )
        labels: list[Any] = list(col.texts)
    else:
        whole = _is_whole(col.numbers)
        if not whole.all():
            i = int(np.flatnonzero(~whole)[0])
            if np.isnan(col.numbers[i]):  # text (a numeric array's NaN is refused before)
                why = f"it is text, but the classes are numbers ({shown_list(list(classes or []))})"
            else:
                why = "numeric class labels are whole numbers"
            raise DatasetError(f"{at}{col.cell(i)}: {_shown(col, i)} is not a class label: {why}")
        labels = [int(v) for v in col.numbers]
    if classes is not None:
        return _map_labels(labels, classes, col, at, unseen), list(classes)
    found = sorted(set(labels))
    if len(found) < 2:
        raise DatasetError(
            f"{at}the target {col.what} holds a single class ({found[0]!r}); classification "
            "needs at least 2 classes"
        )
    return _map_labels(labels, found, col, at, unseen), found


def _first_text(col: TargetColumn) -> int | None:
    bad = np.flatnonzero(np.isnan(col.numbers))
    return int(bad[0]) if len(bad) else None


def _check_numbers(col: TargetColumn, task: str, at: str) -> None:
    """Every value a finite number (regression), or 0/1 (multilabel)."""
    i = _first_text(col)
    if i is not None:
        raise DatasetError(
            f"{at}{col.cell(i)}: {_shown(col, i)} is not a number; "
            f"{task} targets are numbers" + (" (0 or 1)" if task == "multilabel" else "")
        )
    values = col.numbers
    bad = ~np.isfinite(values) if task == "regression" else ~np.isin(values, (0.0, 1.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        expected = "a finite number" if task == "regression" else "0 or 1"
        raise DatasetError(
            f"{at}{col.cell(i)}: {_shown(col, i)} is not a {task} target; expected {expected}"
        )


def resolve_targets(
    cols: list[TargetColumn],
    task: str | None,
    classes: Sequence[Any] | None,
    at: str,
    unseen: str = "that are not among the model's classes",
) -> tuple[np.ndarray, list[Any] | None, str]:
    """(y, classes, task) from the target columns, by the rules of the package docstring."""
    if len(cols) > 1:
        if task == "classification":
            raise ConfigError(
                f"task 'classification' takes one target column; got {len(cols)} "
                f"({shown_list([c.name for c in cols])}): several 0/1 columns are a "
                "'multilabel' target",
                "task",
            )
        for col in cols:
            i = _first_text(col)
            if i is not None:
                raise DatasetError(
                    f"{at}{col.cell(i)}: {_shown(col, i)} is not a number; "
                    "several target columns must hold numbers (0/1 labels for multilabel)"
                )
        values = np.column_stack([c.numbers for c in cols])
        if task is None:
            task = "multilabel" if np.isin(values, (0.0, 1.0)).all() else "regression"
        for col in cols:
            _check_numbers(col, task, at)
        if task == "multilabel":
            return values.astype(np.int64), None, task
        return values, None, task

    (col,) = cols
    is_text = np.isnan(col.numbers) if col.texts is not None else np.zeros(len(col.numbers), bool)
    n_text = int(is_text.sum())
    if classes is not None:
        y, found = _classify(col, as_text=False, classes=classes, at=at, unseen=unseen)
        return y, found, "classification"
    if n_text == len(is_text) or (n_text and task == "classification"):
        if task not in (None, "classification"):
            i = int(np.flatnonzero(is_text)[0])
            raise DatasetError(
                f"{at}{col.cell(i)}: {_shown(col, i)} is not a number; {task} targets are "
                + ("0 or 1" if task == "multilabel" else "numbers")
            )
        y, found = _classify(col, True, None, at, unseen)
        return y, found, "classification"
    if n_text:  # numbers and text mixed, the task not classification
        mostly_numbers = n_text <= len(is_text) - n_text
        i = int(np.flatnonzero(is_text if mostly_numbers else ~is_text)[0])
        what = "is not a number" if mostly_numbers else "is a number"
        raise DatasetError(
            f"{at}{col.cell(i)}: {_shown(col, i)} {what}, but the target "
            "mixes numbers and text; fix the cell, or pass task 'classification' to take every "
            "label as text"
        )
    if task is None:
        values = col.numbers
        few = len(np.unique(values)) <= MAX_INFERRED_CLASSES if _is_whole(values).all() else False
        task = "classification" if few else "regression"
    if task == "classification":
        y, found = _classify(col, False, None, at, unseen)
        return y, found, task
    _check_numbers(col, task, at)
    if task == "multilabel":
        return col.numbers.astype(np.int64)[:, None], None, task
    return col.numbers.copy(), None, task


def check_task_args(task: Any, classes: Any) -> tuple[str | None, list[Any] | None]:
    """The readers' ``task`` and ``classes`` checked (ConfigError); given classes imply
    classification and are returned as a list of str and int labels."""
    if task is not None:
        check_choice("task", task, TASKS)
    if classes is None:
        return task, None
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence):
        raise ConfigError(f"classes must be a list of class labels; got {classes!r}", "classes")
    classes = list(classes)
    if len(classes) < 1 or not all(
        isinstance(c, str) or (isinstance(c, numbers.Integral) and not isinstance(c, bool))
        for c in classes
    ):
        raise ConfigError(
            f"classes must be a non-empty list of str or int labels; got {classes!r}", "classes"
        )
    if len(set(classes)) != len(classes):
        raise ConfigError(f"classes holds a label twice: {classes!r}", "classes")
    if task not in (None, "classification"):
        raise ConfigError(f"classes are for task 'classification', not {task!r}", "classes")
    return "classification", [c if isinstance(c, str) else int(c) for c in classes]
