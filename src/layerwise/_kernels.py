"""The compiled loops of :mod:`layerwise.fused` (importing this module needs Numba).

Each kernel does, per element, exactly the operations of its update rule in
:mod:`layerwise.optim` or of its layer's NumPy lines (ReLU), in the same order and in
the arrays' dtype; the comments give the NumPy lines they fuse.
``fastmath`` stays off: it would let the compiler reorder and contract the arithmetic, and
the results would no longer be NumPy's bit for bit.

``parallel=True`` makes Numba lower each ``prange`` loop as an independent-iteration kernel,
which LLVM vectorises (a plain loop over four arrays that might alias is not: measured 9x
slower); the kernels run it on :data:`layerwise.fused.KERNEL_THREADS` threads.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit, prange

_jit = njit(parallel=True, cache=True, fastmath=False, nogil=True)


@_jit
def sgd(w, dw, lr):
    # w -= dw * lr
    for i in prange(w.size):
        w[i] -= dw[i] * lr


@_jit
def sgd_momentum(w, dw, v, lr, mu):
    # v *= mu; v -= dw * lr; w += v
    for i in prange(w.size):
        vi = v[i] * mu
        vi -= dw[i] * lr
        v[i] = vi
        w[i] += vi


@_jit
def nesterov_momentum(w, dw, v, lr, mu, one_plus_mu):
    # w -= v * mu; v *= mu; v -= dw * lr; w += v * (1 + mu)
    for i in prange(w.size):
        wi = w[i] - v[i] * mu
        vi = v[i] * mu
        vi -= dw[i] * lr
        v[i] = vi
        w[i] = wi + vi * one_plus_mu


@_jit
def rmsprop(w, dw, cache, lr, decay, one_minus_decay, eps):
    # cache *= decay; tmp = dw * dw; tmp *= 1 - decay; cache += tmp
    # tmp = sqrt(cache); tmp += eps; tmp = dw / tmp; tmp *= lr; w -= tmp
    for i in prange(w.size):
        g = dw[i]
        c = cache[i] * decay
        t = g * g
        t *= one_minus_decay
        c += t
        cache[i] = c
        t = np.sqrt(c)
        t += eps
        t = g / t
        t *= lr
        w[i] -= t


@_jit
def adam(w, dw, m, v, a1, a2, eps, step, keep):
    # tmp = dw - m; tmp *= 1 - beta1; m += tmp
    # tmp = dw * dw; tmp -= v; tmp *= 1 - beta2; v += tmp
    # tmp = sqrt(v); tmp += eps * root_c2; tmp = m / tmp; tmp *= step
    # (AdamW: w *= keep); w -= tmp
    for i in prange(w.size):
        g = dw[i]
        t = g - m[i]
        t *= a1
        mi = m[i] + t
        m[i] = mi
        t = g * g
        t -= v[i]
        t *= a2
        vi = v[i] + t
        v[i] = vi
        t = np.sqrt(vi)
        t += eps
        t = mi / t
        t *= step
        if keep != 1:
            w[i] *= keep
        w[i] -= t


# The elementwise layers. ``one`` and ``zero`` come in the arrays' dtype, so that every
# product below is the dtype's, as NumPy's with a boolean array cast to it.


@_jit
def relu(a, zero):
    # np.maximum(a, 0, out=a): NaN stays NaN, and -0.0 becomes 0.0 (as NumPy's gives)
    for i in prange(a.size):
        v = a[i]
        if not (v > zero or v != v):
            a[i] = zero


@_jit
def relu_grad(dout, act, one, zero):
    # dout *= act > 0
    for i in prange(dout.size):
        dout[i] *= one if act[i] > zero else zero


@_jit
def dropout(x, bits, threshold, out, mask, one, zero, keep):
    # mask = (bits >= threshold).astype(x.dtype); mask /= keep; out = x * mask
    for i in prange(x.size):
        mi = (one if bits[i] >= threshold else zero) / keep
        mask[i] = mi
        out[i] = x[i] * mi


KERNELS: dict[str, Callable[..., None]] = {
    "sgd": sgd,
    "sgd_momentum": sgd_momentum,
    "nesterov_momentum": nesterov_momentum,
    "rmsprop": rmsprop,
    "adam": adam,
    "relu": relu,
    "relu_grad": relu_grad,
    "dropout": dropout,
}
