"""Numeric gradients by centred differences, and the relative error used to compare them.

These are the checks of the seed notebook: compare an analytic gradient with
``(f(x + h) - f(x - h)) / 2h``, one coordinate at a time, in float64.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from layerwise.errors import ConfigError

Array = np.ndarray


def rel_error(x: Any, y: Any) -> float:
    """Largest elementwise relative error ``|x - y| / max(1e-8, |x| + |y|)``."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def _as_function_of_x(f: Callable[..., Any]) -> Callable[[Array], Any]:
    """Accept both ``f(x)`` and the seed's ``f = lambda: model.loss(X, y)[0]``.

    The second form reads the array through a closure; the checker changes that same array in
    place, so calling it without an argument sees the perturbed value.
    """
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature take x
        return f
    takes_arg = any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params
    )
    return f if takes_arg else (lambda _x: f())


def _check_float_array(where: str, x: Any) -> Array:
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"{where}: x must be a floating-point numpy array changed in place; got "
            f"{type(x).__name__} with dtype {getattr(x, 'dtype', None)}"
        )
    if x.dtype != np.float64:
        # Centred differences with h = 1e-5 lose most digits in float32; say so plainly.
        raise TypeError(f"{where}: gradient checks need float64 arrays; got {x.dtype}")
    return x


def _probe(fx: Callable[[Array], Any], x: Array, ix: tuple[int, ...], h: float) -> tuple[Any, Any]:
    """``(f(x + h e_ix), f(x - h e_ix))``, with x[ix] restored afterwards.

    Results are copied, since f may return a view of a buffer it reuses.
    """
    old = x[ix]
    try:
        x[ix] = old + h
        pos = np.array(fx(x), dtype=np.float64, copy=True)
        x[ix] = old - h
        neg = np.array(fx(x), dtype=np.float64, copy=True)
    finally:
        x[ix] = old
    return pos, neg


def eval_numerical_gradient(
    f: Callable[..., Any], x: Array, verbose: bool = True, h: float = 1e-5
) -> Array:
    """Numeric gradient of a scalar function ``f`` at ``x`` (changed in place, then restored).

    Inputs:
    - f: a function of x returning a scalar (or a function of no argument that reads x).
    - x: float64 array of any shape.
    Returns grad, shaped like x.
    """
    x = _check_float_array("eval_numerical_gradient", x)
    fx = _as_function_of_x(f)
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        pos, neg = _probe(fx, x, ix, h)
        grad[ix] = (float(pos) - float(neg)) / (2 * h)
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(
    f: Callable[[Array], Array], x: Array, df: Array, h: float = 1e-5
) -> Array:
    """Numeric gradient of ``sum(f(x) * df)`` at ``x``, for array-valued ``f``.

    Inputs:
    - f: a function of x returning an array shaped like df.
    - x: float64 array of any shape (changed in place, then restored).
    - df: upstream derivative, shaped like f(x).
    Returns grad, shaped like x.
    """
    x = _check_float_array("eval_numerical_gradient_array", x)
    fx = _as_function_of_x(f)
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        pos, neg = _probe(fx, x, ix, h)
        if pos.shape != np.shape(df):
            raise ConfigError(
                f"eval_numerical_gradient_array: f(x) has shape {pos.shape} but df has shape "
                f"{np.shape(df)}; they must match"
            )
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
    return grad


def grad_check_sparse(
    f: Callable[..., Any],
    x: Array,
    analytic_grad: Array,
    num_checks: int = 10,
    h: float = 1e-5,
    rng: np.random.Generator | None = None,
    verbose: bool = True,
    floor: float = 1e-12,
) -> list[float]:
    """Compare ``analytic_grad`` with numeric gradients at ``num_checks`` random coordinates.

    Prints one line per coordinate, as in CS231n (unless ``verbose=False``), and returns the
    relative errors ``|n - a| / max(floor, |n| + |a|)``; a ``floor`` above the numeric
    gradient's rounding noise (about ``eps * |f| / h``) keeps tiny gradients from reading as
    large relative errors. Coordinates come from ``rng`` when given, else from NumPy's global
    stream.
    """
    x = _check_float_array("grad_check_sparse", x)
    if np.shape(analytic_grad) != x.shape:
        raise ConfigError(
            f"grad_check_sparse: analytic_grad has shape {np.shape(analytic_grad)}, "
            f"expected x's shape {x.shape}"
        )
    if num_checks < 1:
        raise ConfigError(f"grad_check_sparse: num_checks must be >= 1; got {num_checks}")
    fx = _as_function_of_x(f)
    errors = []
    for _ in range(num_checks):
        ix = tuple(
            int(rng.integers(n)) if rng is not None else int(np.random.randint(n)) for n in x.shape
        )
        pos, neg = _probe(fx, x, ix, h)
        grad_numerical = (float(pos) - float(neg)) / (2 * h)
        grad_analytic = float(analytic_grad[ix])
        err = abs(grad_numerical - grad_analytic) / max(
            floor, abs(grad_numerical) + abs(grad_analytic)
        )
        if verbose:
            print(
                f"numerical: {grad_numerical:f} analytic: {grad_analytic:f}, "
                f"relative error: {err:e}"
            )
        errors.append(err)
    return errors
