"""Helpers for the ``layerwise tune`` tests: tiny nets on the embedded digits, 1-3 epochs.

The ``[tune]`` extra (optuna, dask[distributed]) is part of ``[dev]``; without it these tests
skip locally and fail under CI (``CI=true``), where they must run.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

_MISSING = [m for m in ("optuna", "distributed") if importlib.util.find_spec(m) is None]


@pytest.fixture(autouse=True)
def _tune_extra_installed() -> None:
    if _MISSING:
        message = f"the [tune] extra is not installed (missing {', '.join(_MISSING)})"
        if os.environ.get("CI", "").strip().lower() in {"true", "1"}:
            pytest.fail(message)
        pytest.skip(message)
