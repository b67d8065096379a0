"""The :class:`TabularEncoder`: what it learns from the training rows (fit), how it encodes any
rows the same way (transform), and its JSON form (to_dict, from_dict) that a saved model keeps.

The column-by-column steps are in :mod:`~layerwise.data.tabular.encoding`; this module holds
the state and decides what is learnt from it (kinds, categories, fill values, standardisation).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from layerwise.validation import check_bool, check_choice

from ..errors import DatasetError
from .cells import MISSING_FEATURE, column_kind, refuse_infinite, refuse_missing
from .encoding import column_values, encode, encoded_names, frame_source, no_texts, table_columns
from .messages import source_prefix

#: How missing feature values may be filled (None: they are refused).
IMPUTE = ("mean", "median")
# The saved form's name and version: from_dict refuses any other (a model.json of a later,
# different layout must not be read as this one).
_ENCODER_FORMAT = "layerwise.TabularEncoder"
_ENCODER_VERSION = 1


class TabularEncoder:
    """Feature columns -> a float matrix: one-hot categories, fill missing values, standardise.

    Configuration (the constructor's arguments) is kept apart from what :meth:`fit` learns
    (the attributes ending in ``_``), as in scikit-learn: fit on the training rows only, then
    :meth:`transform` the training, validation, test and any new rows the same way.

    Args:
        impute: None (a missing value is refused, naming its row and column), ``"mean"`` or
            ``"median"``: numeric columns are filled with the training mean or median,
            categorical ones with the most frequent training category.
        standardize: subtract the training mean and divide by the training standard deviation
            (1 for a constant column) of every encoded column, one-hot ones included.

    Learned by :meth:`fit`:
        columns_: the input columns, in order (a DataFrame's, or ``x0 ..`` for an array).
        kinds_: ``{column: "numeric" | "categorical"}`` (a numeric dtype is numeric; text
            follows the rule of the package docstring).
        categories_: ``{categorical column: sorted categories}``.
        fill_: ``{column: value}`` used for missing values (empty when ``impute`` is None).
        feature_names_: the encoded columns: a numeric column's name, ``"column=category"``.
        mean_, scale_: float64 (d_encoded,), the standardisation (None when not standardising).

    Input to :meth:`fit` and :meth:`transform`: a pandas DataFrame (columns by name; extra
    columns are ignored by transform, a missing one is refused) or a 2-D array (columns by
    position). Messages name the row by the frame's index (``line 7`` for :func:`read_csv`'s
    frames) or its position (``row 3``, from 0, for an array). A category unseen at fit time
    encodes as all zeros (before standardisation).
    """

    def __init__(self, impute: str | None = None, standardize: bool = True) -> None:
        if impute is not None:
            check_choice("impute", impute, IMPUTE)
        self.impute = impute
        self.standardize = check_bool("standardize", standardize)

    columns_: list[str]
    kinds_: dict[str, str]
    categories_: dict[str, list[str]]
    fill_: dict[str, Any]
    feature_names_: list[str]
    mean_: np.ndarray | None
    scale_: np.ndarray | None

    def __repr__(self) -> str:
        state = ""
        if self.fitted:
            n_cat = sum(k == "categorical" for k in self.kinds_.values())
            state = (
                f"; fitted: {len(self.columns_)} columns ({n_cat} categorical) -> "
                f"{len(self.feature_names_)} features"
            )
        return f"TabularEncoder(impute={self.impute!r}, standardize={self.standardize}{state})"

    @property
    def fitted(self) -> bool:
        """Whether :meth:`fit` (or :meth:`from_dict`) has set the learned attributes."""
        return hasattr(self, "columns_")

    @property
    def n_features(self) -> int:
        """Columns of the encoded matrix (after one-hot)."""
        self._check_fitted()
        return len(self.feature_names_)

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise DatasetError(
                "this TabularEncoder is not fitted yet: call fit(training rows) first"
            )

    # -- fitting -----------------------------------------------------------------------------

    def fit(self, data: Any, source: str | None = None) -> TabularEncoder:
        """Learn column kinds, categories, fill values and the standardisation from ``data``
        (the training rows only); returns self. ``source`` names the file in messages (a
        :func:`read_csv` frame carries it)."""
        at = source_prefix(source or frame_source(data))
        names, cols, rows, cell = table_columns(data, at, None)
        if rows == 0:
            raise DatasetError(f"{at}no rows to fit the encoder on")
        if not names:
            raise DatasetError(f"{at}no feature columns to fit the encoder on")
        kinds: dict[str, str] = {}
        categories: dict[str, list[str]] = {}
        fill: dict[str, Any] = {}
        for name in names:
            values = cols[name]
            numbers_, texts, missing = column_values(values)
            if texts is None:  # a numeric dtype
                kind = "numeric"
            else:  # text cells: the rule of the package docstring
                kind = column_kind(name, texts, missing, numbers_, cell, at)
            kinds[name] = kind
            shown = texts if texts is not None else no_texts(rows)
            if missing.any() and self.impute is None:
                refuse_missing(name, shown, missing, cell, at, MISSING_FEATURE)
            if missing.all():
                raise DatasetError(
                    f"{at}column {name!r} has no values in the {rows} rows the encoder is "
                    "fitted on: nothing to fill it from"
                )
            if kind == "numeric":
                refuse_infinite(name, shown, numbers_, cell, at)
                if self.impute is not None:
                    present = numbers_[~missing]
                    value = np.mean(present) if self.impute == "mean" else np.median(present)
                    fill[name] = float(value)
                continue
            assert texts is not None
            present_texts = texts[~missing]
            found, counts = np.unique(present_texts.astype(str), return_counts=True)
            categories[name] = [str(c) for c in found]  # np.unique sorts
            if self.impute is not None:
                fill[name] = str(found[int(np.argmax(counts))])  # ties: the first sorted
        X = encode(names, kinds, categories, fill, self.impute, cols, rows, cell, at)
        mean = scale = None
        if self.standardize:
            mean = X.mean(axis=0)
            std = X.std(axis=0)
            # A constant column (std 0, or rounding noise around 0) is divided by 1.
            tiny = std <= 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(mean))
            scale = np.where(tiny, 1.0, std)
        self.columns_, self.kinds_, self.categories_, self.fill_ = names, kinds, categories, fill
        self.feature_names_ = encoded_names(names, kinds, categories)
        self.mean_, self.scale_ = mean, scale
        return self

    def transform(self, data: Any, source: str | None = None) -> np.ndarray:
        """``data`` encoded as float64 (n, n_features): one-hot, filled, standardised as
        learned by :meth:`fit`."""
        self._check_fitted()
        at = source_prefix(source or frame_source(data))
        names, cols, rows, cell = table_columns(data, at, self.columns_)
        X = encode(
            names, self.kinds_, self.categories_, self.fill_, self.impute, cols, rows, cell, at
        )
        if self.standardize:
            assert self.mean_ is not None and self.scale_ is not None
            X = (X - self.mean_) / self.scale_
        return X

    def fit_transform(self, data: Any, source: str | None = None) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` on the same rows."""
        return self.fit(data, source).transform(data, source)

    # -- saving ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Configuration and learned state as plain JSON types (floats round-trip exactly)."""
        self._check_fitted()
        columns = []
        for name in self.columns_:
            entry: dict[str, Any] = {"name": name, "kind": self.kinds_[name]}
            if name in self.categories_:
                entry["categories"] = list(self.categories_[name])
            if name in self.fill_:
                entry["fill"] = self.fill_[name]
            columns.append(entry)
        return {
            "format": _ENCODER_FORMAT,
            "version": _ENCODER_VERSION,
            "impute": self.impute,
            "standardize": self.standardize,
            "columns": columns,
            "feature_names": list(self.feature_names_),
            "mean": None if self.mean_ is None else [float(v) for v in self.mean_],
            "scale": None if self.scale_ is None else [float(v) for v in self.scale_],
        }

    @classmethod
    def from_dict(cls, d: Any, source: str = "encoder settings") -> TabularEncoder:
        """The fitted encoder :meth:`to_dict` describes; DatasetError naming ``source`` (e.g.
        the model.json file) and the bad entry when ``d`` is not such a dict."""

        def bad(what: str) -> DatasetError:
            return DatasetError(f"{source}: not a TabularEncoder's settings: {what}")

        if not isinstance(d, dict):
            raise bad(f"expected a dict, got {type(d).__name__}")
        if d.get("format") != _ENCODER_FORMAT:
            raise bad(f"'format' is {d.get('format')!r}, expected {_ENCODER_FORMAT!r}")
        if d.get("version") != _ENCODER_VERSION:
            raise bad(
                f"'version' is {d.get('version')!r}; this layerwise reads version "
                f"{_ENCODER_VERSION}"
            )
        impute, standardize = d.get("impute"), d.get("standardize")
        if impute is not None and impute not in IMPUTE:
            raise bad(f"'impute' is {impute!r}, expected None, 'mean' or 'median'")
        if not isinstance(standardize, bool):
            raise bad(f"'standardize' is {standardize!r}, expected true or false")
        entries = d.get("columns")
        if not isinstance(entries, list) or not entries:
            raise bad("'columns' must be a non-empty list")
        names: list[str] = []
        kinds: dict[str, str] = {}
        categories: dict[str, list[str]] = {}
        fill: dict[str, Any] = {}
        for k, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise bad(f"columns[{k}] is not a dict")
            name, kind = entry.get("name"), entry.get("kind")
            if not isinstance(name, str) or not name or name in kinds:
                raise bad(f"columns[{k}] has the name {name!r}: expected a new, non-empty text")
            if kind not in ("numeric", "categorical"):
                raise bad(f"column {name!r} has the kind {kind!r}")
            names.append(name)
            kinds[name] = kind
            if kind == "categorical":
                cats = entry.get("categories")
                if (
                    not isinstance(cats, list)
                    or not cats
                    or not all(isinstance(c, str) for c in cats)
                    or len(set(cats)) != len(cats)
                ):
                    raise bad(f"column {name!r}: 'categories' must be a list of distinct texts")
                categories[name] = list(cats)
            if impute is None:
                if entry.get("fill") is not None:
                    raise bad(f"column {name!r} has a fill value, but 'impute' is None")
                continue
            value = entry.get("fill")
            if kind == "categorical" and isinstance(value, str) and value in categories[name]:
                fill[name] = value
            elif (
                kind == "numeric"
                and isinstance(value, numbers.Real)
                and not isinstance(value, bool)
                and math.isfinite(value)
            ):
                fill[name] = float(value)
            else:
                raise bad(f"column {name!r} has the fill value {value!r}")
        feature_names = encoded_names(names, kinds, categories)
        if d.get("feature_names") != feature_names:
            raise bad("'feature_names' do not match the columns and categories")
        stats: list[np.ndarray | None] = []
        for key in ("mean", "scale"):
            value = d.get(key)
            if not standardize:
                if value is not None:
                    raise bad(f"{key!r} is set, but 'standardize' is false")
                stats.append(None)
                continue
            if (
                not isinstance(value, list)
                or len(value) != len(feature_names)
                or not all(
                    isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
                    for v in value
                )
            ):
                raise bad(f"{key!r} must be {len(feature_names)} finite numbers")
            array = np.asarray(value, dtype=np.float64)
            if key == "scale" and (array <= 0).any():
                raise bad("'scale' must be positive")
            stats.append(array)
        encoder = cls(impute=impute, standardize=standardize)
        encoder.columns_, encoder.kinds_ = names, kinds
        encoder.categories_, encoder.fill_ = categories, fill
        encoder.feature_names_ = feature_names
        encoder.mean_, encoder.scale_ = stats
        return encoder
