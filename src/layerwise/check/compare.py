"""Comparing a submission's arrays with the reference, and saying what is wrong in words.

A check calls :func:`expect_array` (or raises :class:`CheckFailed` itself); the diagnosis
names the output, its shape or dtype when those are wrong, the elements that differ, and the
likely cause where a pattern gives it away: a result off by a constant factor (the batch size,
2 or 0.5), a shape that is the batch axis left unsummed, a gradient that has not been reshaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray

#: Relative-error tolerances, by dtype, for values that should match the reference exactly
#: up to rounding (float64: the seed's 1e-9 level, with room; float32: a few ulps summed).
TOLERANCE = {"float64": 1e-7, "float32": 1e-4}


class CheckFailed(Exception):
    """A check's failure: a plain diagnosis, and the measured error and tolerance if any."""

    def __init__(self, diagnosis: str, measured: str | None = None, tolerance: str | None = None):
        super().__init__(diagnosis)
        self.diagnosis = diagnosis
        self.measured = measured
        self.tolerance = tolerance


@dataclass
class Outcome:
    """A check that passed: what was measured against which tolerance."""

    measured: str | None = None
    tolerance: str | None = None


def rel_error(x: Any, y: Any) -> float:
    """The seed's measure: max |x - y| / max(1e-8, |x| + |y|)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def _positions(mask: Array, limit: int = 3) -> str:
    where = [tuple(int(i) for i in ix) for ix in np.argwhere(mask)[:limit]]
    text = ", ".join(str(w[0]) if len(w) == 1 else str(w) for w in where)
    more = int(mask.sum()) - len(where)
    return text + (f" and {more} more" if more > 0 else "")


def _factor(got: Array, expected: Array) -> float | None:
    """k when ``got`` is ``k * expected`` everywhere that matters (None otherwise)."""
    big = np.abs(expected) > 1e-6 * max(float(np.abs(expected).max(initial=0.0)), 1e-300)
    if not big.any():
        return None
    ratios = got[big] / expected[big]
    k = float(np.median(ratios))
    if k != 0 and np.allclose(ratios, k, rtol=1e-4, atol=0):
        return k
    return None


def shape_hint(
    name: str, got: tuple[int, ...], expected: tuple[int, ...], batch: int | None
) -> str:
    """Why a shape is wrong, where the pattern says so."""
    if batch is not None and got == (batch, *expected):
        return f"; sum {name} over the batch axis (axis 0)"
    if int(np.prod(got)) == int(np.prod(expected)) and len(got) != len(expected):
        return f"; reshape {name} to {expected} (the input's shape)"
    if got == expected[::-1] and got != expected:
        return f"; {name} is transposed"
    return ""


def expect_array(
    name: str,
    got: Any,
    expected: Array,
    tolerance: float | None = None,
    batch: int | None = None,
    factor_causes: dict[float, str] | None = None,
) -> Outcome:
    """``got`` must be an array shaped, typed and valued like ``expected`` (relative error
    at most ``tolerance``, by default :data:`TOLERANCE` of expected's dtype). ``batch``: the
    batch size, to recognise an unsummed batch axis or a missing division by it;
    ``factor_causes``: more constant factors with their likely cause."""
    expected = np.asarray(expected)
    tol = TOLERANCE.get(expected.dtype.name, 1e-7) if tolerance is None else tolerance
    if got is None:
        raise CheckFailed(f"{name} is None: it was never computed (the TODO is still open?)")
    try:
        got = np.asarray(got)
    except Exception as e:  # a ragged list, an object that is no array
        raise CheckFailed(f"{name} is not an array ({type(got).__name__}: {e})") from None
    if got.dtype.kind not in "biuf":
        raise CheckFailed(f"{name} holds {got.dtype} values, expected numbers")
    if got.shape != expected.shape:
        hint = shape_hint(name, got.shape, expected.shape, batch)
        raise CheckFailed(f"{name} has shape {got.shape}, expected {expected.shape}{hint}")
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(expected)):
        bad = ~np.isfinite(got)
        raise CheckFailed(
            f"{name} is not finite at {_positions(bad)} (NaN or inf) where the reference is finite"
        )
    err = rel_error(got, expected)
    measured, limit = f"relative error {err:.2e}", f"{tol:.0e}"
    if err <= tol:
        return Outcome(measured, limit)
    diagnosis = f"{name} differs from the reference"
    k = _factor(got.astype(np.float64), expected.astype(np.float64))
    causes = {**({} if batch is None else {float(batch): f"divide by the batch size {batch}"})}
    causes.update(factor_causes or {})
    if k is not None:
        cause = next((c for f, c in causes.items() if abs(k - f) <= 1e-3 * abs(f)), None)
        diagnosis += f": it is {k:.4g} times the reference" + (f" ({cause})" if cause else "")
    else:
        wrong = ~np.isclose(got, expected, rtol=max(tol, 1e-12), atol=1e-12)
        diagnosis += f" at {int(wrong.sum())} of {wrong.size} elements ({_positions(wrong)})"
        if expected.dtype.kind == "f" and got.dtype != expected.dtype:
            diagnosis += f"; it is {got.dtype}, expected {expected.dtype}"
    raise CheckFailed(diagnosis, measured, limit)


def expect_dtype(name: str, got: Any, dtype: np.dtype) -> None:
    """float32 in, float32 out: a result promoted to float64 doubles memory and time."""
    got_dtype = np.asarray(got).dtype
    if got_dtype != dtype:
        raise CheckFailed(
            f"{name} is {got_dtype} for {dtype} inputs; keep the input's dtype (a float64 "
            "constant or np.zeros without dtype= promotes it)"
        )


def expect_tuple(name: str, value: Any, length: int, what: str) -> tuple[Any, ...]:
    """``value`` must be a tuple (or list) of ``length`` items: the documented return."""
    if not isinstance(value, (tuple, list)) or len(value) != length:
        shown = type(value).__name__ + (
            f" of {len(value)}" if isinstance(value, (tuple, list)) else ""
        )
        raise CheckFailed(f"{name} must return {what} ({length} values); it returned {shown}")
    return tuple(value)
