"""The scikit-learn estimator checks the estimators fail by design, each with its reason."""

from __future__ import annotations

from typing import Any

import numpy as np

from layerwise.sklearn._base import _BaseMLP

_FLOAT32_REASON = "float32 (the default dtype) rounds at ~1e-7 relative, the check's tolerance: "
_FLOAT32_CHECKS = {
    "check_methods_subset_invariance": _FLOAT32_REASON
    + "BLAS sums a 1-row product in another order than a 20-row one",
    "check_sample_weight_equivalence_on_dense_data": _FLOAT32_REASON
    + "a weighted mean and a mean over repeated rows round differently",
    "check_sample_weight_equivalence_on_sparse_data": _FLOAT32_REASON
    + "a weighted mean and a mean over repeated rows round differently",
}


def expected_failed_checks(estimator: Any) -> dict[str, str]:
    """The scikit-learn estimator checks an estimator fails by design, each with its reason:
    for ``parametrize_with_checks(..., expected_failed_checks=expected_failed_checks)``.

    None with ``dtype='float64'``. With float32 (the default) three, which compare results
    at float64's precision; they pass with ``dtype='float64'``.
    """
    if isinstance(estimator, _BaseMLP) and np.dtype(estimator.dtype) == np.float32:
        return dict(_FLOAT32_CHECKS)
    return {}
