"""``read_csv``: a CSV file with a header row checked and turned into a
:class:`~layerwise.data.tabular.table.Tabular`, every message naming its line.

pandas reads the cells (it is imported here only, when a file is read, so the rest of the
package needs only NumPy); the file is then re-read with :mod:`csv` to learn the line each row
starts on, which pandas does not keep.
"""

from __future__ import annotations

import csv
import importlib
import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from layerwise.errors import ConfigError
from layerwise.validation import check_choice

from ..errors import DatasetError
from .cells import (
    MISSING_FEATURE,
    column_kind,
    parse_cells,
    parse_numbers,
    refuse_infinite,
    refuse_missing,
)
from .encoder import IMPUTE
from .messages import Cell, absent_features, shown_list, source_prefix
from .table import Tabular
from .targets import TargetColumn, check_task_args, resolve_targets

#: How to install pandas, which reading a CSV file needs.
INSTALL_HINT = "pip install 'layerwise[tabular]'"


class PandasMissing(DatasetError, ImportError):
    """pandas, which reading a CSV file needs, is not installed; the message says how to fix it."""


def _pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise PandasMissing(
            f"reading a CSV file needs pandas, which is not installed; install it with: "
            f"{INSTALL_HINT}"
        ) from None


def _read_cells(pd: Any, source: str) -> Any:
    """Every cell of the file as text (the header row included), or DatasetError."""
    try:
        return pd.read_csv(
            source,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            on_bad_lines="error",
            encoding="utf-8",
        )
    except FileNotFoundError:
        raise DatasetError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise DatasetError(f"{source}: is a folder, not a CSV file") from None
    except pd.errors.EmptyDataError:
        raise DatasetError(
            f"{source}: the file is empty; expected a header row naming the columns, then one "
            "row per example"
        ) from None
    except pd.errors.ParserError as e:
        message = str(e)
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
        if m:
            expected, line, saw = m.groups()
            raise DatasetError(
                f"{source}: line {line} has {saw} fields, but the header has {expected}; "
                "every row needs one value per column"
            ) from None
        m = re.search(r"line (\d+)", message)
        where = f"line {m.group(1)}: " if m else ""
        detail = message.split("C error: ")[-1].strip()
        hint = "; is a quote left unclosed?" if "inside string" in detail else ""
        raise DatasetError(f"{source}: {where}not a valid CSV file ({detail}){hint}") from None
    except UnicodeDecodeError as e:
        raise DatasetError(
            f"{source}: not UTF-8 text (byte {e.start} is {e.object[e.start : e.start + 1]!r}); "
            "save the file as UTF-8"
        ) from None
    except OSError as e:
        raise DatasetError(f"{source}: cannot be read ({e.strerror or e})") from None


def _record_lines(source: str, width: int, rows: int) -> np.ndarray | None:
    """The line on which each data row starts; DatasetError for a row with fewer (or more)
    fields than the header, which pandas pads silently. None where the file cannot be
    re-read the same way (the messages then count data rows instead)."""
    lines: list[int] = []
    try:
        with open(source, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            previous, header_seen = 0, False
            for record in reader:
                start, previous = previous + 1, reader.line_num
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue  # a blank line, skipped as pandas skips it
                if len(record) != width:
                    raise DatasetError(
                        f"{source}: line {start} has {len(record)} field"
                        f"{'s' if len(record) != 1 else ''}, but the header has {width}; every "
                        "row needs one value per column"
                    )
                if header_seen:
                    lines.append(start)
                header_seen = True
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return np.asarray(lines, dtype=np.int64) if len(lines) == rows else None


def _check_header(source: str, header: list[str]) -> None:
    """DatasetError for a header that is not one: only numbers (the file has none), or a
    column name empty or repeated."""
    # The cells as they are: parse_cells would take a column named "NA" for a missing cell.
    cells = np.asarray(header, dtype=object)
    numbers_, missing = parse_numbers(cells, np.zeros(len(header), dtype=bool))
    if not missing.any() and not np.isnan(numbers_).any():
        shown = ",".join(header[:6]) + (",..." if len(header) > 6 else "")
        raise DatasetError(
            f"{source}: needs a header row naming the columns; its first line ({shown}) holds "
            "only numbers. Add a first line such as: "
            + ",".join(f"x{j}" for j in range(min(len(header), 6)))
            + (",..." if len(header) > 6 else "")
        )
    for j, name in enumerate(header):
        if not name:
            raise DatasetError(
                f"{source}: header row: column {j + 1} has no name; every column needs one"
            )
    seen: dict[str, int] = {}
    for j, name in enumerate(header):
        if name in seen:
            raise DatasetError(
                f"{source}: header row: the column name {name!r} appears twice (columns "
                f"{seen[name] + 1} and {j + 1}); column names must be distinct"
            )
        seen[name] = j


def _columns_hint(header: list[str]) -> str:
    """The columns, for a message about one not found; a file split by ; or tabs (read as a
    single column) says so."""
    hint = ""
    if len(header) == 1 and any(sep in header[0] for sep in (";", "\t", "|")):
        hint = " (one column only: is the file separated by commas?)"
    return f"the columns are {shown_list(header, 30)}{hint}"


def _target_names(target: Any) -> list[str]:
    """``target`` as a list of stripped column names (ConfigError for anything else)."""
    if target is None:
        return []
    names = [target] if isinstance(target, str) else target
    if not isinstance(names, Sequence) or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(
            f"target must be a column name or a list of them; got {target!r}", "target"
        )
    names = [n.strip() for n in names]
    if len(set(names)) != len(names):
        raise ConfigError(f"target names a column twice: {target!r}", "target")
    return names


def _in_column(cell: Cell, name: str) -> Cell:
    """``cell`` naming the column too: a target's place, "line 5, column 'y'"."""

    def located(i: int) -> str:
        return f"{cell(i)}, column {name!r}"

    return located


def read_csv(
    path: str | os.PathLike[str],
    target: str | Sequence[str] | None,
    task: str | None = None,
    impute: str | None = None,
    *,
    features: Sequence[str] | None = None,
    classes: Sequence[Any] | None = None,
) -> Tabular:
    """Read a CSV file with a header row into a :class:`Tabular` dataset (needs pandas).

    Args:
        path: the file (UTF-8, comma-separated, first line a header).
        target: the target column, or several (multilabel or multi-output regression); None
            reads features only (predicting on new data).
        task: ``"classification"``, ``"regression"``, ``"multilabel"``, or None to infer it
            (package docstring); a given task is checked against the values.
        impute: None (missing feature values are refused), ``"mean"`` or ``"median"``.
        features: the feature columns, in this order (an encoder's ``columns_``); other
            columns are ignored. None: every column that is not a target.
        classes: the classes a model was trained with (its ``classes``): the labels are mapped
            to their indices, and one not among them is refused. Implies classification.

    Returns:
        The dataset: ``features`` a DataFrame indexed by line number, numeric columns float64
        (NaN where missing), categorical ones text.

    Raises:
        DatasetError: the file is missing, empty, headerless, ragged, or a value is missing or
            of the wrong kind (the message names the line, column and value).
        PandasMissing: pandas is not installed (a DatasetError and an ImportError).
        ConfigError: a bad argument.
    """
    source = os.fspath(path)
    task, classes = check_task_args(task, classes)
    if impute is not None:
        check_choice("impute", impute, IMPUTE)
    targets = _target_names(target)
    if classes is not None and len(targets) != 1:
        raise ConfigError("classes are for one target column", "classes")
    if features is not None:
        if isinstance(features, str) or not all(isinstance(f, str) for f in features):
            raise ConfigError(f"features must be a list of column names; got {features!r}")
        if set(features) & set(targets):
            raise ConfigError(
                f"a column cannot be both a feature and a target: "
                f"{shown_list(sorted(set(features) & set(targets)))}",
                "features",
            )
    pd = _pandas()
    raw = _read_cells(pd, source)
    header = [str(h).strip() for h in raw.iloc[0].tolist()]
    _check_header(source, header)
    body = raw.iloc[1:]
    if len(body) == 0:
        raise DatasetError(f"{source}: has a header row ({shown_list(header, 8)}) but no data rows")
    lines = _record_lines(source, len(header), len(body))
    if lines is None:  # count data rows instead
        index, cell_name = np.arange(1, len(body) + 1), "data row"
    else:
        index, cell_name = lines, "line"

    def cell(i: int) -> str:
        return f"{cell_name} {index[i]}"

    for name in targets:
        if name not in header:
            raise DatasetError(f"{source}: no target column {name!r}; {_columns_hint(header)}")
    if features is None:
        feature_names = [h for h in header if h not in targets]
    else:
        absent = [f for f in features if f not in header]
        if absent:
            raise DatasetError(
                f"{source}: {absent_features(absent, 'the model was trained on')}; "
                f"{_columns_hint(header)}"
            )
        feature_names = list(features)
    if not feature_names:
        raise DatasetError(f"{source}: no feature columns: every column is a target")

    at = source_prefix(source)
    position = {h: j for j, h in enumerate(header)}

    def parsed(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return parse_cells(body.iloc[:, position[name]].to_numpy(dtype=object))

    columns: dict[str, np.ndarray] = {}
    for name in feature_names:
        texts, numbers_, missing = parsed(name)
        kind = column_kind(name, texts, missing, numbers_, cell, at)
        if missing.any() and impute is None:
            refuse_missing(name, texts, missing, cell, at, MISSING_FEATURE)
        if kind == "numeric":
            refuse_infinite(name, texts, numbers_, cell, at)
            columns[name] = numbers_
        else:
            values = texts.copy()
            values[missing] = None
            columns[name] = values
    frame = pd.DataFrame(columns, index=pd.Index(index, name=cell_name))
    frame.attrs["source"] = source

    y, found, inferred = None, None, None
    if targets:
        cols = []
        for name in targets:
            texts, numbers_, missing = parsed(name)
            if missing.any():
                refuse_missing(name, texts, missing, cell, at, "every row needs a target value")
            cols.append(
                TargetColumn(
                    name,
                    f"column {name!r}",
                    texts,
                    numbers_,
                    _in_column(cell, name),
                )
            )
        y, found, inferred = resolve_targets(cols, task, classes, at)
    return Tabular(
        source=source,
        features=frame,
        y=y,
        feature_names=feature_names,
        target_names=targets,
        classes=found,
        task=inferred,
        impute=impute,
    )
