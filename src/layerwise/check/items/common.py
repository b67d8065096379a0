"""What the item checks share: getting the submission's function, inputs that must stay
unchanged, random arrays of a shape."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from layerwise.check.compare import CheckFailed

Array = np.ndarray


def own(ns: dict[str, Any], name: str) -> Callable[..., Any]:
    """The submission's ``name``."""
    return ns[name]  # the runner only asks for items the submission defines


def own_or(ns: dict[str, Any], name: str, reference: Callable[..., Any]) -> Callable[..., Any]:
    """The submission's ``name`` when it defines it (its cache is its own), else layerwise's."""
    from layerwise.check.loading import MODULE_NAME

    fn = ns.get(name)
    if callable(fn) and getattr(fn, "__module__", None) == MODULE_NAME:
        return fn
    return reference


def randn(rng: np.random.Generator, *shape: int, dtype: Any = np.float64) -> Array:
    return rng.standard_normal(shape).astype(dtype)


def call_unchanged(name: str, fn: Callable[..., Any], args: Sequence[Any]) -> Any:
    """Call ``fn(*args)`` and fail when it changed one of its array arguments in place (the
    caller still needs them: x for the backward pass, the weights for the next step)."""
    before = [np.array(a, copy=True) if isinstance(a, np.ndarray) else None for a in args]
    result = fn(*args)
    for position, (arg, copy) in enumerate(zip(args, before, strict=True)):
        if copy is not None and not np.array_equal(arg, copy, equal_nan=True):
            changed = int(np.sum(arg != copy))
            raise CheckFailed(
                f"{name} changed its argument {position + 1} in place ({changed} elements): "
                "compute into a new array (e.g. np.maximum(x, 0), not x[x < 0] = 0)"
            )
    return result


def seeded(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)
