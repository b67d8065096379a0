"""Fused update rules and elementwise layers: their passes in one compiled loop (Numba, optional).

NumPy runs every operation of an update as its own pass over the parameter (Adam: twelve), so
on large layers the passes, not the arithmetic, cost the time. A compiled loop reads ``w``,
``dw`` and the rule's state once and writes them once, on every core (``prange``). The
NumPy code in :mod:`layerwise.optim` stays the readable reference and the fallback: these
kernels perform exactly its operations, in its order, in the parameter's dtype (the
scalars are rounded to it first, as NumPy rounds a Python float it multiplies a float32
array by), so their results are bit-for-bit NumPy's (``tests/test_fused.py``), and a seeded
run is the same run with or without them.

Used when Numba is installed (the ``[fast]`` extra), the arrays are C-contiguous float32 or
float64 and large enough to pay for the call (:data:`MIN_SIZE`); ``LAYERWISE_KERNELS=numpy``
turns them off. Compiled kernels are cached on disk (``cache=True``), so only the very first
run on a machine compiles.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

Array = np.ndarray

#: Parameters smaller than this take the NumPy path: their passes are cheap anyway, and a
#: small model (the default digits recipe: 6,400 weights) never imports Numba, whose import
#: alone costs about 0.4 s (benchmarks/fused_rules.py measures cold and warm starts).
MIN_SIZE = 65536
#: The environment variable that chooses: "auto" (default: Numba when installed) or "numpy".
ENV = "LAYERWISE_KERNELS"


def _load() -> dict[str, Callable[..., None]] | None:
    if os.environ.get(ENV, "auto").strip().lower() == "numpy":
        return None
    try:
        from layerwise import _kernels
    except ImportError:  # Numba is not installed: the NumPy path
        return None
    return _kernels.KERNELS


_KERNELS: dict[str, Callable[..., None]] | bool | None = False  # False: not looked up yet
#: Threads the kernels run on. One: measured on 2 cores (benchmarks/bench.py, this issue's
#: note), Numba's threads and OpenBLAS's (which spin between matrix products) fight over the
#: cores, and with the kernels on every core each workload ran 3 to 11 times slower; on one
#: thread Adam's kernel is 5x NumPy's passes and leaves the other cores to BLAS.
KERNEL_THREADS = 1
#: Which threads have pinned Numba's thread count (``done``).
_PINNED = threading.local()


def kernels() -> dict[str, Callable[..., None]] | None:
    """The compiled kernels by rule name, or None when the NumPy path is to be used."""
    global _KERNELS
    if _KERNELS is False:
        _KERNELS = _load()
    if isinstance(_KERNELS, dict):
        if not getattr(_PINNED, "done", False):
            import numba

            # Numba keeps the thread count per calling thread: pin it once in each thread.
            numba.set_num_threads(KERNEL_THREADS)
            _PINNED.done = True
        return _KERNELS
    return None


def reset() -> None:
    """Look the kernels up again (after changing :data:`ENV`; tests)."""
    global _KERNELS
    _KERNELS = False


def usable(*arrays: Array) -> bool:
    """Whether these arrays can go through a kernel: one float dtype, C-contiguous, large."""
    first = arrays[0]
    return (
        first.size >= MIN_SIZE
        and first.dtype in (np.float32, np.float64)
        and all(
            a.dtype == first.dtype and a.flags.c_contiguous and a.shape == first.shape
            for a in arrays
        )
    )


def run(name: str, arrays: tuple[Array, ...], scalars: tuple[float, ...]) -> bool:
    """Run kernel ``name`` on the flattened ``arrays`` (updated in place) with ``scalars``
    rounded to their dtype; False (nothing done) when it does not apply."""
    if not usable(*arrays):
        return False
    table = kernels()  # imports Numba on first use only
    if table is None:
        return False
    dtype: Any = arrays[0].dtype.type
    table[name](*(a.reshape(-1) for a in arrays), *(dtype(s) for s in scalars))
    return True


# --------------------------------------------------------------------------------------------
# Elementwise layers. Each function does its work with a kernel when one applies and with the
# NumPy lines in its docstring otherwise: the same values either way.


def relu_(a: Array) -> Array:
    """ReLU in place, ``np.maximum(a, 0, out=a)``; returns ``a``."""
    if not run("relu", (a,), (0,)):
        np.maximum(a, 0, out=a)
    return a


def relu_grad_(dout: Array, act: Array) -> Array:
    """ReLU's backward pass in place, ``dout *= act > 0`` (``act``: the ReLU's output, or its
    input); returns ``dout``."""
    if not run("relu_grad", (dout, act), (1, 0)):
        dout *= act > 0
    return dout


def dropout_mask(x: Array, bits: Array, threshold: int, keep: float) -> tuple[Array, Array]:
    """Inverted dropout from 32-bit uniforms ``bits`` (x.size, uint32): returns
    ``(out, mask)`` with ``mask = (bits >= threshold) / keep`` in x's dtype and
    ``out = x * mask``."""
    out = np.empty_like(x)
    mask = np.empty_like(x)
    if not (usable(x, out, mask) and _dropout(x, bits, threshold, out, mask, keep)):
        dtype: Any = x.dtype.type
        np.greater_equal(bits.reshape(x.shape), np.uint32(threshold), out=mask, casting="unsafe")
        mask /= dtype(keep)
        np.multiply(x, mask, out=out)
    return out, mask


def _dropout(x: Array, bits: Array, threshold: int, out: Array, mask: Array, keep: float) -> bool:
    table = kernels()
    if table is None:
        return False
    dtype: Any = x.dtype.type
    xf, of, mf = (a.reshape(-1) for a in (x, out, mask))
    table["dropout"](xf, bits, np.uint32(threshold), of, mf, dtype(1), dtype(0), dtype(keep))
    return True
