"""The :class:`Tabular` dataset: what :func:`read_csv` and :func:`read_npz` return, checked,
ready to be split and encoded.

It sits above the encoder (it makes one configured for its data) and below the readers and the
splits, which build and take it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .encoder import TabularEncoder


@dataclass
class Tabular:
    """A dataset read from a file, checked, ready to be split and encoded.

    Attributes:
        source: the file, as given (every message names it).
        features: the feature columns as read, one row per example, not yet encoded: from a CSV
            file a pandas DataFrame (numeric columns float64 with NaN where missing,
            categorical columns of stripped text; its index is the file's line numbers, named
            ``"line"``), from an NPZ file the float64 array ``X`` (n, d).
        y: the targets (see the package docstring for shapes and dtypes); None when the file
            was read without a target.
        feature_names: the feature columns, before one-hot encoding (``x0 ..`` for NPZ).
        target_names: the target columns (NPZ: ``["y"]``, or ``y0 ..`` for a (n, k) ``y``).
        classes: for classification, the distinct original labels, sorted: ``y`` holds their
            indices. None for the other tasks.
        task: ``"classification"``, ``"regression"``, ``"multilabel"``; None without a target.
        impute: how missing feature values are to be filled (``"mean"``, ``"median"``) or None;
            :meth:`encoder` passes it on.
        features_test, y_test: an NPZ file's own test split (``X_test``, ``y_test``), or None.
    """

    source: str
    features: Any
    y: np.ndarray | None
    feature_names: list[str]
    target_names: list[str]
    classes: list[Any] | None
    task: str | None
    impute: str | None = None
    features_test: Any = None
    y_test: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        """Examples in ``features`` (the test split aside)."""
        return len(self.features)

    def rows(self, index: Any) -> Any:
        """``features`` of the rows at positions ``index`` (``iloc`` for a DataFrame)."""
        index = np.asarray(index, dtype=np.int64)
        if isinstance(self.features, np.ndarray):
            return self.features[index]
        return self.features.iloc[index]

    def encoder(self, standardize: bool = True) -> TabularEncoder:
        """An unfitted :class:`TabularEncoder` configured for this data (its ``impute``)."""
        return TabularEncoder(impute=self.impute, standardize=standardize)

    def target_info(self) -> dict[str, Any]:
        """``target_names``, ``classes`` and ``task`` as a JSON-serialisable dict: with the
        encoder's :meth:`~TabularEncoder.to_dict`, what reading new data the same way needs."""
        return {
            "target_names": list(self.target_names),
            "classes": None if self.classes is None else list(self.classes),
            "task": self.task,
        }
