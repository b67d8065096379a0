"""Cells: text, missing values, numbers, a column's kind, and the refusal of missing and
infinite values.

Shared by :func:`read_csv` and the encoder, which both meet columns of text cells (the encoder
also takes frames built by hand), so both read a cell the same way; NumPy only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import DatasetError
from .messages import Cell

#: Cell texts that mean "missing" (pandas' defaults), besides the empty cell.
NA_STRINGS = frozenset(
    {
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    }
)
#: Why a missing feature value is refused (the end of every such message).
MISSING_FEATURE = (
    "missing feature values are refused unless imputed: impute 'mean' or 'median' fills "
    "numeric columns (categorical columns take their most frequent category)"
)


def _is_missing_object(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return type(value).__name__ in ("NAType", "NaTType")  # pandas.NA, pandas.NaT


def clean(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """(texts, missing): each value as stripped text (None where absent) and whether it is
    missing (absent, NaN, or one of :data:`NA_STRINGS`)."""
    values = np.asarray(values, dtype=object).ravel()
    texts = np.empty(len(values), dtype=object)
    missing = np.zeros(len(values), dtype=bool)
    for i, value in enumerate(values):
        if _is_missing_object(value):
            missing[i] = True
            continue
        text = str(value).strip()
        texts[i] = text
        missing[i] = text in NA_STRINGS
    return texts, missing


def parse_numbers(texts: np.ndarray, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(numbers, missing): the texts as float64 (NaN where missing or not a number), and the
    missing mask grown by the cells that read as NaN (``NAN``, ``+nan``: missing too)."""
    numbers_ = np.full(len(texts), np.nan)
    parsed = np.zeros(len(texts), dtype=bool)
    present = ~missing
    if present.any():
        try:  # fast: NumPy parses a whole column of numbers at once
            numbers_[present] = np.array(texts[present].tolist(), dtype=np.float64)
            parsed[present] = True
        except ValueError:  # some text: each distinct cell parsed once
            seen: dict[str, float | None] = {}
            for i in np.flatnonzero(present):
                text = texts[i]
                if text not in seen:
                    try:
                        seen[text] = float(text)
                    except ValueError:
                        seen[text] = None
                value = seen[text]
                if value is not None:
                    numbers_[i] = value
                    parsed[i] = True
    return numbers_, missing | (parsed & np.isnan(numbers_))


def parse_cells(values: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(texts, numbers, missing): :func:`clean` then :func:`parse_numbers`."""
    texts, missing = clean(values)
    numbers_, missing = parse_numbers(texts, missing)
    return texts, numbers_, missing


def column_kind(
    name: str, texts: np.ndarray, missing: np.ndarray, numbers_: np.ndarray, cell: Cell, at: str
) -> str:
    """``"numeric"`` or ``"categorical"`` by the rule of the package docstring; DatasetError
    naming the first cell of the rarer kind when the column mixes numbers and text."""
    present = ~missing
    is_number = present & ~np.isnan(numbers_)
    is_text = present & np.isnan(numbers_)
    n_numbers, n_texts = int(is_number.sum()), int(is_text.sum())
    if n_texts == 0:
        return "numeric"
    if n_numbers == 0:
        return "categorical"
    total = n_numbers + n_texts
    if n_numbers >= n_texts:
        i = int(np.flatnonzero(is_text)[0])
        raise DatasetError(
            f"{at}{cell(i)}, column {name!r}: {texts[i]!r} is not a number, yet {n_numbers} of "
            f"the column's {total} values are; a column is numeric when every value is a "
            "number and categorical when none is: fix the cell (or empty it and impute it)"
        )
    i = int(np.flatnonzero(is_number)[0])
    raise DatasetError(
        f"{at}{cell(i)}, column {name!r}: {texts[i]!r} is a number, yet {n_texts} of the "
        f"column's {total} values are text; a column is categorical when none of its values is "
        "a number: write the category as text (e.g. 'c3') or fix the cell"
    )


def refuse_missing(
    name: str, texts: np.ndarray, missing: np.ndarray, cell: Cell, at: str, what: str
) -> None:
    """DatasetError naming the column's first missing cell (and how many there are); ``what``
    ends the message: why it is refused."""
    i = int(np.flatnonzero(missing)[0])
    text = texts[i]
    if text is None:
        shown = "is missing"
    else:
        shown = "is empty" if not text else f"holds {text!r}, a missing value"
    n = int(missing.sum())
    more = f" ({n} missing values in the column)" if n > 1 else ""
    raise DatasetError(f"{at}{cell(i)}, column {name!r} {shown}{more}; {what}")


def refuse_infinite(
    name: str, texts: np.ndarray, numbers_: np.ndarray, cell: Cell, at: str
) -> None:
    """DatasetError naming the column's first infinite number, if it has one."""
    bad = np.isinf(numbers_)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        shown = texts[i] if texts[i] is not None else str(numbers_[i])
        raise DatasetError(
            f"{at}{cell(i)}, column {name!r}: {shown!r} is infinite; expected a finite number"
        )
