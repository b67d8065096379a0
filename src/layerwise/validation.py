"""The one set of argument checks: each returns the value normalised or raises ConfigError.

Every public entry point (models, Solver, schedules, recipes, the options table) checks its
arguments with these, so the same mistake gets the same message everywhere: the name of the
argument, the bad value, and what is allowed.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from layerwise.errors import ConfigError

__all__ = [
    "DTYPES",
    "IEEE",
    "check_bool",
    "check_callable",
    "check_choice",
    "check_fits_in_memory",
    "check_float_dtype",
    "check_int",
    "check_number",
    "check_positive_int",
    "check_probability",
    "check_seed",
    "check_splits",
]

#: The floating types a model, its data and its training can use, by name.
DTYPES: tuple[str, ...] = ("float32", "float64")

#: What is NOT checked, by design: arithmetic on finite numbers. Inputs are checked (real,
#: finite, right shape); the results then follow IEEE 754, as documented in docs/DESIGN.md: a
#: value too large for its dtype becomes +-inf (so does x / 0), and inf - inf or 0 * inf becomes
#: NaN, silently.
#: Checking every output would cost a pass over each array per layer, and a NumPy warning per
#: layer per step helps nobody: the Solver looks at the loss and the parameters once a step and
#: stops such a run as diverged (``stopped_by.kind == "diverged"``). Use it as a decorator:
#: each call enters a fresh ``np.errstate``, so nesting is fine (``with IEEE:`` is not: one
#: errstate object cannot be entered twice).
IEEE = np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(name: str, value: Any, low: int = 0) -> int:
    """``value`` as an int >= ``low``; bools and floats are refused (``2.5`` rows is a bug)."""
    if not _is_int(value) or value < low:
        expected = {0: "a non-negative integer", 1: "a positive integer"}.get(
            low, f"an integer >= {low}"
        )
        raise ConfigError(f"{name} must be {expected}; got {value!r}", name)
    return int(value)


def check_positive_int(name: str, value: Any) -> int:
    """``value`` as an int >= 1."""
    return check_int(name, value, 1)


def check_splits(
    num_training: Any, num_validation: Any, num_test: Any, *, n_train: int, n_test: int
) -> tuple[int, int, int]:
    """Check a dataset's three split sizes against the rows available; return them as ints.

    num_training, num_validation: rows taken from the training set, in that order;
    num_test: rows taken from the test set; n_train, n_test: how many rows exist.
    """
    n_tr = check_int("num_training", num_training)
    n_val = check_int("num_validation", num_validation)
    n_te = check_int("num_test", num_test)
    if n_tr + n_val > n_train:
        raise ConfigError(
            f"num_training + num_validation = {n_tr} + {n_val} = {n_tr + n_val} exceeds the "
            f"{n_train} training rows available",
            "num_training",
        )
    if n_te > n_test:
        raise ConfigError(f"num_test = {n_te} exceeds the {n_test} test rows available", "num_test")
    return n_tr, n_val, n_te


def check_number(
    name: str,
    value: Any,
    low: float | None = 0.0,
    strict: bool = False,
    high: float | None = None,
    high_strict: bool = False,
) -> float:
    """``value`` as a finite float in the given interval (default: >= 0).

    low/high: the bounds (None: unbounded); strict/high_strict: exclude the bound itself.
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    try:
        ok = ok and math.isfinite(value)
    except OverflowError:  # an int too large for a float
        ok = False
    if ok and low is not None:
        ok = value > low if strict else value >= low
    if ok and high is not None:
        ok = value < high if high_strict else value <= high
    if not ok:
        parts = []
        if low is not None:
            parts.append(f"{'>' if strict else '>='} {low:g}")
        if high is not None:
            parts.append(f"{'<' if high_strict else '<='} {high:g}")
        expected = "a finite number" + (" " + " and ".join(parts) if parts else "")
        raise ConfigError(f"{name} must be {expected}; got {value!r}", name)
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a bool: True, False (NumPy's too), or the integers 1 and 0.

    Anything else is refused rather than read by its truth value (``verbose="no"`` is true).
    """
    if isinstance(value, (bool, np.bool_)) or (_is_int(value) and value in (0, 1)):
        return bool(value)
    raise ConfigError(f"{name} must be True or False; got {value!r}", name)


def check_callable(name: str, fn: Any, *args: str) -> Any:
    """``fn`` if it can be called with the positional arguments named ``args``, else
    ConfigError with the signature that was expected: a wrong signature is told at set-up,
    not as a TypeError from inside training."""
    expected = f"{name}({', '.join(args)})"
    if not callable(fn):
        raise ConfigError(f"{name} must be callable, as {expected}; got {fn!r}", name)
    try:
        inspect.signature(fn).bind(*args)
    except TypeError:
        raise ConfigError(
            f"{name} must accept {len(args)} positional argument(s), as {expected}; got "
            f"{getattr(fn, '__name__', fn)!s}{inspect.signature(fn)}",
            name,
        ) from None
    except ValueError:  # a builtin without a signature: it will tell for itself
        pass
    return fn


def check_probability(name: str, value: Any) -> float:
    """A probability in [0, 1) (dropout's: 1 would drop every unit)."""
    return check_number(name, value, 0.0, high=1.0, high_strict=True)


def check_seed(name: str, seed: Any) -> int | None:
    """``seed`` as a non-negative int, or None."""
    if seed is None:
        return None
    if not _is_int(seed) or seed < 0:
        raise ConfigError(f"{name} must be a non-negative integer or None; got {seed!r}", name)
    return int(seed)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices`` (compared with ==), else ConfigError listing them."""
    allowed = list(choices)
    try:
        ok = value in allowed
    except TypeError:  # an unhashable or incomparable value
        ok = False
    if not ok:
        shown = ", ".join(repr(c) for c in allowed)
        raise ConfigError(f"{name} must be one of {shown}; got {value!r}", name)
    return value


def memory_bytes() -> int | None:
    """This machine's physical memory in bytes (None where the OS does not say)."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def check_fits_in_memory(what: str, nbytes: int, field: str = "hidden") -> int:
    """Refuse, before allocating, ``nbytes`` for ``what`` when they exceed the machine's
    memory, with the size that was asked for."""
    total = memory_bytes()
    if total is not None and nbytes > total:
        whole = nbytes // 2**30
        # (past 10**300 an int no longer converts to a float: give its order of magnitude)
        gib = f"{nbytes / 2**30:,.1f}" if whole < 10**15 else f"about 10^{len(str(whole)) - 1}"
        raise ConfigError(
            f"{what} would need {gib} GiB, more than this machine's "
            f"{total / 2**30:,.1f} GiB of memory; make it smaller",
            field,
        )
    return nbytes


def check_float_dtype(dtype: Any, name: str = "dtype", any_float: bool = False) -> np.dtype:
    """``dtype`` as a NumPy dtype named in :data:`DTYPES` (float32 or float64).

    any_float: accept every floating type (the data loaders: features are scaled numbers).
    """
    expected = "a NumPy floating type" if any_float else "float32 or float64"
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be {expected}; got {dtype!r}", name) from None
    if (dt.kind != "f") if any_float else (dt.name not in DTYPES):
        raise ConfigError(f"{name} must be {expected}; got {dt}", name)
    return dt
