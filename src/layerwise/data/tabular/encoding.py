"""The encoder's column steps: a DataFrame or 2-D array taken apart into named columns, and
those columns encoded (checked, filled, one-hot) as the unstandardised float64 matrix.

They are functions of the learned state rather than methods so that :meth:`fit` can encode
with the state it is about to keep, and :meth:`transform` with the state it kept, alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DatasetError
from .cells import MISSING_FEATURE, clean, parse_cells, refuse_infinite, refuse_missing
from .messages import Cell, absent_features, shown_list


def table_columns(
    data: Any, at: str, expected: list[str] | None
) -> tuple[list[str], dict, int, Cell]:
    """(names, columns, rows, cell) of a DataFrame or a 2-D array; ``expected``: the columns
    wanted (others ignored; a missing one refused)."""
    if not hasattr(data, "columns") or not hasattr(data, "iloc"):  # an array
        try:
            a = np.asarray(data)
        except (TypeError, ValueError) as e:
            raise DatasetError(f"{at}the features are not an array ({e})") from None
        if a.ndim != 2:
            raise DatasetError(
                f"{at}the features must be a DataFrame or a 2-D array (n, d); got shape {a.shape}"
            )
        if expected is not None and a.shape[1] != len(expected):
            raise DatasetError(
                f"{at}the features have {a.shape[1]} columns; the encoder was fitted on "
                f"{len(expected)} ({shown_list(expected)})"
            )
        names = list(expected) if expected is not None else [f"x{j}" for j in range(a.shape[1])]

        def array_cell(i: int) -> str:
            return f"row {i}"

        return names, {n: a[:, j] for j, n in enumerate(names)}, a.shape[0], array_cell
    names = list(data.columns)
    bad = [c for c in names if not isinstance(c, str)]
    if bad:
        raise DatasetError(f"{at}column names must be text; got {shown_list(bad)}")
    if len(set(names)) != len(names):
        twice = sorted({c for c in names if names.count(c) > 1})
        raise DatasetError(f"{at}the column {twice[0]!r} appears twice")
    wanted = names if expected is None else list(expected)
    absent = [c for c in wanted if c not in names]
    if absent:
        raise DatasetError(
            f"{at}{absent_features(absent, 'the encoder was fitted on')}; "
            f"the columns are {shown_list(names, 30)}"
        )
    labels = np.asarray(data.index)
    label = data.index.name

    def frame_cell(i: int) -> str:
        return f"{label} {labels[i]}" if isinstance(label, str) and label else f"row {labels[i]}"

    return wanted, {c: np.asarray(data[c].to_numpy()) for c in wanted}, len(data), frame_cell


def column_values(values: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(numbers, texts or None, missing) of a column: a numeric dtype as float64 (no texts: NaN
    is its missing value), anything else parsed cell by cell."""
    if values.dtype.kind in "biuf":
        x = values.astype(np.float64)
        return x, None, np.isnan(x)
    texts, numbers_, missing = parse_cells(values)
    return numbers_, texts, missing


def no_texts(n: int) -> np.ndarray:
    """Texts for a column that has none (a numeric dtype): the refusals then show the number."""
    return np.full(n, None, dtype=object)


def frame_source(data: Any) -> str | None:
    """The file a :func:`read_csv` frame came from (its ``attrs["source"]``), or None."""
    attrs = getattr(data, "attrs", None)
    source = attrs.get("source") if isinstance(attrs, dict) else None
    return source if isinstance(source, str) else None


def encoded_names(
    names: list[str], kinds: dict[str, str], categories: dict[str, list[str]]
) -> list[str]:
    """The encoded columns: a numeric column's name, ``"column=category"`` for each category."""
    out: list[str] = []
    for name in names:
        if kinds[name] == "numeric":
            out.append(name)
        else:
            out.extend(f"{name}={c}" for c in categories[name])
    return out


def encode(
    names: list[str],
    kinds: dict[str, str],
    categories: dict[str, list[str]],
    fill: dict[str, Any],
    impute: str | None,
    cols: dict[str, np.ndarray],
    rows: int,
    cell: Cell,
    at: str,
) -> np.ndarray:
    """The columns as the (unstandardised) float64 matrix, checked and filled."""
    blocks = []
    for name in names:
        values = cols[name]
        if kinds[name] == "numeric":
            x, texts, missing = column_values(values)
            shown = texts if texts is not None else no_texts(rows)
            if texts is not None:
                bad = ~missing & np.isnan(x)
                if bad.any():
                    i = int(np.flatnonzero(bad)[0])
                    raise DatasetError(
                        f"{at}{cell(i)}, column {name!r}: {texts[i]!r} is not a number; the "
                        "column is numeric (it was when the encoder was fitted)"
                    )
            refuse_infinite(name, shown, x, cell, at)
            if missing.any():
                if impute is None:
                    refuse_missing(name, shown, missing, cell, at, MISSING_FEATURE)
                x = np.where(missing, fill[name], x)
            blocks.append(x[:, None])
            continue
        texts, missing = clean(values)
        if missing.any():
            if impute is None:
                refuse_missing(name, texts, missing, cell, at, MISSING_FEATURE)
            texts[missing] = fill[name]
        lookup = {c: k for k, c in enumerate(categories[name])}
        codes = np.fromiter((lookup.get(t, -1) for t in texts), dtype=np.int64, count=rows)
        block = np.zeros((rows, len(lookup)))
        seen = np.flatnonzero(codes >= 0)
        block[seen, codes[seen]] = 1.0  # an unseen category: all zeros
        blocks.append(block)
    return np.hstack(blocks) if blocks else np.zeros((rows, 0))
