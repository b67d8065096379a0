"""Helpers for the framework-twin tests (imported as ``twin_helpers``)."""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

import numpy as np
import pytest


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


def need(module: str) -> ModuleType:
    """Import ``module``; outside CI skip the calling test module when it is missing."""
    if under_ci():
        return importlib.import_module(module)  # CI must have it: a missing one fails
    return pytest.importorskip(module)


def quiet_tensorflow() -> Any:
    tf = need("tensorflow")
    tf.get_logger().setLevel("ERROR")  # e.g. "retracing" notes: each test builds new twins
    return tf


class QueueRng:
    """Stands in for a model's ``np.random.Generator``: hands out given uniform draws in order,
    so a layerwise model uses exactly the dropout masks a twin used."""

    def __init__(self, draws: list[np.ndarray]) -> None:
        self.draws = list(draws)

    def random(self, shape: tuple[int, ...]) -> np.ndarray:
        u = self.draws.pop(0)
        assert u.shape == tuple(shape), (u.shape, shape)
        return u


def rel_error(a: Any, b: Any, scale: float = 0.0) -> float:
    """max |a - b| / max(|a|, |b|, scale): relative error, with a floor for arrays that are ~0.

    (A bias followed by batch norm has a gradient of exactly zero in exact arithmetic: both
    engines return rounding noise there, which is compared against ``scale``.)
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denom = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), scale, 1e-300)
    return float(np.max(np.abs(a - b))) / denom


TOL = {"float32": 1e-5, "float64": 1e-9}
