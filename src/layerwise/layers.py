"""Primitive layers, each forward beside its backward.

A layer is a pair of functions in the style of the CS231n assignments:

- ``xxx_forward(x, ...) -> (out, cache)``: compute the output and keep what the backward pass
  needs in ``cache``;
- ``xxx_backward(dout, cache) -> grads``: given the upstream derivative ``dout`` (shaped like
  ``out``), return the derivative of the loss with respect to each input.

The losses, which return ``(loss, dx)`` directly, live in :mod:`layerwise.losses`;
``softmax_loss`` and ``svm_loss`` can still be imported from here (see :func:`__getattr__`).
Shapes use ``m`` for the batch size, as in the seed notebook.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from layerwise import fused
from layerwise.errors import ConfigError
from layerwise.validation import IEEE, check_number

# Listed so that ``from layerwise.layers import *`` (the seed notebook's import) still brings
# the two losses that moved to layerwise.losses: a star import looks each name of __all__ up
# with getattr, which reaches the module __getattr__ below.
__all__ = [
    "BN_MOMENTUM",
    "LEAKY_SLOPE",
    "NORM_EPS",
    "affine_backward",
    "affine_forward",
    "affine_grads",
    "affine_input_grad",
    "affine_out",
    "affine_param_grads",
    "batchnorm_backward",
    "batchnorm_forward",
    "dropout_backward",
    "dropout_forward",
    "layernorm_backward",
    "layernorm_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "softmax_loss",  # noqa: F822 (served by __getattr__, from layerwise.losses)
    "svm_loss",  # noqa: F822
    "tanh_backward",
    "tanh_forward",
]

Array = np.ndarray

#: Leaky ReLU's slope for x < 0; batch norm's running-average weight on the OLD value; both
#: norms' epsilon. The defaults below, and what every engine (the framework twins) uses.
LEAKY_SLOPE = 0.01
BN_MOMENTUM = 0.9
NORM_EPS = 1e-5
AffineCache = tuple[Array, Array, Array]


def _numbers(where: str, name: str, value: Any, min_ndim: int = 0) -> Array:
    """``value`` as an array of real numbers (float, int or unsigned), or ConfigError naming
    it: None, text, ragged lists, complex, object and boolean arrays are refused."""
    if value is None or isinstance(value, (str, bytes)):
        raise ConfigError(f"{where}: {name} must be an array of numbers; got {value!r}", name)
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:  # e.g. a ragged nested list
        raise ConfigError(f"{where}: {name} is not an array of numbers ({e})", name) from None
    if arr.dtype.kind not in "fiu":
        raise ConfigError(f"{where}: {name} must hold real numbers; got dtype {arr.dtype}", name)
    if arr.ndim < min_ndim:
        raise ConfigError(
            f"{where}: {name} must have at least {min_ndim} dimension(s); got shape {arr.shape}",
            name,
        )
    return arr


def _float_numbers(where: str, name: str, value: Any, min_ndim: int = 0) -> Array:
    """:func:`_numbers`, as floats (an integer input is computed in float64)."""
    arr = _numbers(where, name, value, min_ndim)
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


# --------------------------------------------------------------------------------------------
# Affine (fully connected)
# --------------------------------------------------------------------------------------------


@IEEE
def affine_forward(x: Array, theta: Array, theta0: Array) -> tuple[Array, AffineCache]:
    """Affine layer: ``out = x.reshape(m, d) @ theta + theta0``.

    Inputs:
    - x: input of shape (m, d_1, ..., d_k); each example is flattened to d = d_1 * ... * d_k.
    - theta: weights, of shape (d, h).
    - theta0: biases, of shape (h,) (or anything that broadcasts to (m, h)).

    Returns:
    - out: (m, h)
    - cache: (x, theta, theta0)
    """
    x = _numbers("affine_forward", "x", x)
    theta = _numbers("affine_forward", "theta", theta)
    theta0 = _numbers("affine_forward", "theta0", theta0)
    if x.ndim < 1 or theta.ndim != 2:
        raise ConfigError(
            f"affine_forward expects x of shape (m, d_1, ..., d_k) and theta of shape (d, h); "
            f"got x {x.shape} and theta {theta.shape}"
        )
    m = x.shape[0]
    if m == 0:
        raise ConfigError(
            f"affine_forward: x holds no examples (shape {x.shape}); expected m >= 1", "x"
        )
    x_rows = x.reshape(m, -1)
    if x_rows.shape[1] == 0 or theta.shape[1] == 0:
        raise ConfigError(
            f"affine_forward: x {x.shape} and theta {theta.shape} leave no features in or out; "
            f"expected x of shape (m, d) and theta (d, h) with d, h >= 1",
            "theta",
        )
    if x_rows.shape[1] != theta.shape[0]:
        raise ConfigError(
            f"affine_forward: x flattens to {x_rows.shape} but theta has shape {theta.shape}; "
            f"expected theta of shape ({x_rows.shape[1]}, h)"
        )
    try:
        fits = np.broadcast_shapes(theta0.shape, (m, theta.shape[1])) == (m, theta.shape[1])
    except ValueError:
        fits = False
    if not fits:
        raise ConfigError(
            f"affine_forward: theta0 has shape {theta0.shape}; expected ({theta.shape[1]},)",
            "theta0",
        )
    return affine_out(x_rows, theta, theta0), (x, theta, theta0)


def affine_out(x_rows: Array, theta: Array, theta0: Array) -> Array:
    """The arithmetic of :func:`affine_forward` on inputs already checked: ``x_rows (m, d) @
    theta (d, h) + theta0``. A model's training step, which checked its input and its
    parameters once, calls this (and :func:`affine_grads`) to spare the per-layer checks."""
    out = x_rows @ theta
    if out.dtype != np.result_type(out, theta0):
        out = out.astype(np.result_type(out, theta0))
    out += theta0  # in place: no second (m, h) temporary
    return out


@IEEE
def affine_backward(dout: Array, cache: AffineCache) -> tuple[Array, Array, Array]:
    """Backward pass of :func:`affine_forward`.

    Inputs:
    - dout: upstream derivative, of shape (m, h).
    - cache: (x, theta, theta0) from the forward pass.

    Returns (dx, dtheta, dtheta0):
    - dx: (m, d_1, ..., d_k), shaped like x;
    - dtheta: (d, h);
    - dtheta0: shaped like theta0, normally (h,). A bias that was broadcast in the forward pass
      (e.g. one bias row per example) gets its gradient summed back to its own shape.
    """
    dtheta, dtheta0 = affine_param_grads(dout, cache)
    return affine_input_grad(dout, cache), dtheta, dtheta0


def affine_input_grad(dout: Array, cache: AffineCache) -> Array:
    """dx of :func:`affine_backward`, ``dout @ theta.T`` shaped like x, on a ``dout`` already
    checked."""
    x, theta, _ = cache
    return (dout @ theta.T).reshape(x.shape)


@IEEE
def affine_param_grads(dout: Array, cache: AffineCache) -> tuple[Array, Array]:
    """(dtheta, dtheta0) of an affine layer, without dx.

    A network's first layer needs no input gradient; skipping it saves a third of that layer's
    matrix products during training.
    """
    x, theta, _ = cache
    dout = _numbers("affine_backward", "dout", dout)
    if dout.shape != (x.shape[0], theta.shape[1]):
        raise ConfigError(
            f"affine_backward: dout has shape {dout.shape}; the layer's output had shape "
            f"{(x.shape[0], theta.shape[1])}",
            "dout",
        )
    return affine_grads(dout, cache)


def affine_grads(dout: Array, cache: AffineCache) -> tuple[Array, Array]:
    """The arithmetic of :func:`affine_param_grads` on a ``dout`` already checked."""
    x, _, theta0 = cache
    x_rows = x.reshape(x.shape[0], -1)
    return x_rows.T @ dout, _sum_to_shape(dout, np.shape(theta0))


def _sum_to_shape(g: Array, shape: tuple[int, ...]) -> Array:
    """Sum ``g`` over the axes that broadcasting added or stretched to reach ``g.shape``."""
    if g.shape == shape:
        return g.copy()
    lead = g.ndim - len(shape)
    out = g.sum(axis=tuple(range(lead))) if lead > 0 else g
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and out.shape[i] != 1)
    if stretched:
        out = out.sum(axis=stretched, keepdims=True)
    return out.reshape(shape)


# --------------------------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------------------------


@IEEE
def relu_forward(x: Array) -> tuple[Array, Array]:
    """ReLU, ``max(x, 0)``. x: any shape. Returns (out shaped like x, cache = x)."""
    x = _numbers("relu_forward", "x", x)
    return np.maximum(x, 0), x


@IEEE
def relu_backward(dout: Array, cache: Array) -> Array:
    """Backward pass of :func:`relu_forward`. dout and cache (x): the same shape. Returns dx."""
    x = cache
    dout = _check_same_shape("relu_backward", dout, x)
    # The subgradient at exactly 0 is taken as 0, as in the seed (dout * (x > 0)).
    return np.where(x > 0, dout, 0)


@IEEE
def sigmoid_forward(x: Array) -> tuple[Array, Array]:
    """Logistic sigmoid ``1 / (1 + exp(-x))``, computed without overflow for any x.

    x: any shape. Returns (out shaped like x, cache = out).
    """
    x = _float_numbers("sigmoid_forward", "x", x)
    # exp(-|x|) never overflows; the two branches are the same function rearranged so that
    # neither divides by an infinite value.
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)
    return out, out


@IEEE
def sigmoid_backward(dout: Array, cache: Array) -> Array:
    """Backward pass of :func:`sigmoid_forward`: ``dx = dout * s * (1 - s)``."""
    s = cache
    dout = _check_same_shape("sigmoid_backward", dout, s)
    return dout * s * (1 - s)


@IEEE
def tanh_forward(x: Array) -> tuple[Array, Array]:
    """Hyperbolic tangent (NumPy's ``tanh`` saturates to +-1 without overflow).

    x: any shape. Returns (out shaped like x, cache = out).
    """
    out = np.tanh(_numbers("tanh_forward", "x", x))
    return out, out


@IEEE
def tanh_backward(dout: Array, cache: Array) -> Array:
    """Backward pass of :func:`tanh_forward`: ``dx = dout * (1 - tanh(x)**2)``."""
    t = cache
    dout = _check_same_shape("tanh_backward", dout, t)
    return dout * (1 - t * t)


@IEEE
def leaky_relu_forward(x: Array, leaky_param: dict[str, Any] | None = None) -> tuple[Array, Any]:
    """Leaky ReLU: ``x`` where x > 0, else ``slope * x``.

    Inputs: x of any shape; leaky_param: {'slope': float} (default slope 0.01).
    Returns (out shaped like x, cache = (x, slope)).
    """
    if leaky_param is not None and not isinstance(leaky_param, dict):
        raise ConfigError(f"leaky_relu: leaky_param must be a dict; got {leaky_param!r}")
    slope = (leaky_param or {}).get("slope", LEAKY_SLOPE)
    ok = isinstance(slope, (int, float, np.floating)) and not isinstance(slope, bool)
    try:
        ok = ok and bool(np.isfinite(slope)) and slope >= 0
    except (OverflowError, TypeError):  # an int too large for a float
        ok = False
    if not ok:
        raise ConfigError(f"leaky_relu: slope must be a finite number >= 0; got {slope!r}")
    slope = float(slope)
    x = _numbers("leaky_relu_forward", "x", x)
    return np.where(x > 0, x, slope * x), (x, slope)


@IEEE
def leaky_relu_backward(dout: Array, cache: Any) -> Array:
    """Backward pass of :func:`leaky_relu_forward`. Returns dx shaped like dout."""
    x, slope = cache
    dout = _check_same_shape("leaky_relu_backward", dout, x)
    return np.where(x > 0, dout, slope * dout)


def _check_same_shape(where: str, dout: Any, ref: Array) -> Array:
    """``dout`` as an array of numbers shaped like ``ref`` (the forward input), or ConfigError."""
    dout = _numbers(where, "dout", dout)
    if np.shape(dout) != np.shape(ref):
        raise ConfigError(
            f"{where}: dout has shape {np.shape(dout)} but the forward input had shape "
            f"{np.shape(ref)}; they must match"
        )
    return dout


# --------------------------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------------------------


@IEEE
def dropout_forward(x: Array, dropout_param: dict[str, Any]) -> tuple[Array, Any]:
    """Inverted dropout.

    Inputs:
    - x: input of any shape.
    - dropout_param: dict with
      - 'p': the probability of DROPPING each unit (as Keras's ``Dropout(rate)``), 0 <= p < 1;
      - 'mode': 'train' (drop, and scale the kept units by 1 / (1 - p)) or 'test' (identity);
      - 'seed' (optional int): draw the mask from ``np.random.default_rng(seed)``, so every call
        uses the same mask (what numeric gradient checks need);
      - 'rng' (optional ``np.random.Generator``): draw masks from it (reproducible training);
      without either, masks come from NumPy's global stream. The global stream is never
      re-seeded.
      From a generator (``seed`` or ``rng``) a unit is dropped when 32 random bits fall below
      ``round(p * 2**32)`` (:func:`random_bits`); from the global stream, or from any other
      object with ``.random(shape)``, when a float64 uniform falls below ``p``.

    Returns (out shaped like x, cache = (dropout_param, mask)).
    """
    if not isinstance(dropout_param, dict):
        raise ConfigError(
            f"dropout: dropout_param must be a dict with 'p' and 'mode'; got {dropout_param!r}"
        )
    p = dropout_param.get("p", 0.0)
    mode = dropout_param.get("mode", "train")
    if not isinstance(p, (int, float, np.floating)) or not 0 <= p < 1:
        raise ConfigError(f"dropout: 'p' is the drop probability and must be in [0, 1); got {p!r}")
    if mode not in ("train", "test"):
        raise ConfigError(f"dropout: 'mode' must be 'train' or 'test'; got {mode!r}")
    x = _float_numbers("dropout_forward", "x", x)  # the scale 1 / (1 - p) is no integer
    if mode == "test" or p == 0:
        return x, (dropout_param, None)
    seed, rng = dropout_param.get("seed"), dropout_param.get("rng")
    if seed is not None:
        try:
            rng = np.random.default_rng(seed)
        except (ValueError, TypeError):
            raise ConfigError(
                f"dropout: 'seed' must be a non-negative integer; got {seed!r}"
            ) from None
    elif rng is not None and not callable(getattr(rng, "random", None)):
        raise ConfigError(
            f"dropout: 'rng' must be a numpy.random.Generator (with .random); got {rng!r}"
        )
    if isinstance(rng, np.random.Generator):
        # Integer uniforms: drop a unit when its 32 random bits fall below round(p * 2**32),
        # which makes P(drop) p to within 2**-33, as float64 uniforms do to within 2**-54.
        # The bits cost a third of rng.random's doubles, and one pass turns them into the
        # mask and the output (layerwise.fused.dropout_mask).
        threshold = min(round(p * 2**32), 2**32 - 1)
        out, mask = fused.dropout_mask(x, random_bits(rng, x.size), threshold, float(1 - p))
        return out, (dropout_param, mask)
    if rng is not None:  # an object with .random(shape), such as a test's scripted stream
        u = rng.random(x.shape)
    else:
        u = np.random.random_sample(x.shape)  # an array even for 0-d x (rand() gives a float)
    mask = (u >= p).astype(x.dtype) / x.dtype.type(1 - p)
    return x * mask, (dropout_param, mask)


#: Bit generators whose raw outputs are 64 uniform bits (MT19937's are 32 bits wide).
_RAW_64 = (np.random.PCG64, np.random.PCG64DXSM, np.random.Philox, np.random.SFC64)


def random_bits(rng: np.random.Generator, n: int) -> Array:
    """``n`` uniform 32-bit integers (uint32) from ``rng``: the raw 64-bit outputs of its bit
    generator cut in halves when they are 64 uniform bits, else ``rng.integers``."""
    if isinstance(rng.bit_generator, _RAW_64):
        raw: Array = rng.bit_generator.random_raw((n + 1) // 2)
        return raw.view(np.uint32)[:n]
    return rng.integers(0, 2**32, size=n, dtype=np.uint32)


@IEEE
def dropout_backward(dout: Array, cache: Any) -> Array:
    """Backward pass of :func:`dropout_forward`. Returns dx shaped like dout."""
    _, mask = cache
    if mask is None:  # test mode: the identity
        return _numbers("dropout_backward", "dout", dout)
    return _check_same_shape("dropout_backward", dout, mask) * mask


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------


@IEEE
def batchnorm_forward(
    x: Array, gamma: Array, beta: Array, bn_param: dict[str, Any]
) -> tuple[Array, Any]:
    """Batch normalisation over the batch axis (Ioffe & Szegedy, 2015).

    Inputs:
    - x: (m, D); gamma, beta: (D,) scale and shift.
    - bn_param: dict with 'mode' ('train' or 'test', required), 'eps' (1e-5), 'momentum'
      (0.9, the weight on the OLD running value), 'running_mean' and 'running_var' ((D,), start
      at zero; updated in place in the dict during training, with the biased variance).

    Train mode normalises with the batch statistics; test mode with the running ones.
    Returns (out (m, D), cache).
    """
    if not isinstance(bn_param, dict):
        raise ConfigError(f"batchnorm: bn_param must be a dict with 'mode'; got {bn_param!r}")
    mode = bn_param.get("mode")
    if mode not in ("train", "test"):
        raise ConfigError(f"batchnorm: bn_param['mode'] must be 'train' or 'test'; got {mode!r}")
    x = _check_norm_input("batchnorm_forward", x, gamma, beta)
    eps = _norm_eps("batchnorm_forward", "bn_param", bn_param)
    momentum = check_number(
        "bn_param['momentum']", bn_param.setdefault("momentum", BN_MOMENTUM), 0.0, high=1.0
    )
    D = x.shape[1]
    running = []
    for stat in ("running_mean", "running_var"):
        value = _float_numbers(
            "batchnorm_forward",
            f"bn_param[{stat!r}]",
            bn_param.setdefault(stat, np.zeros(D, x.dtype)),
        )
        if value.shape != (D,):
            raise ConfigError(
                f"batchnorm_forward: bn_param[{stat!r}] has shape {value.shape}; expected ({D},)",
                stat,
            )
        running.append(value)
    running_mean, running_var = running
    if mode == "train":
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    else:
        mu, var = running_mean, running_var
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (x - mu) * inv_std
    out = gamma * xhat + beta
    return out, (mode, xhat, gamma, inv_std)


@IEEE
def batchnorm_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Backward pass of :func:`batchnorm_forward`. Returns (dx (m, D), dgamma (D,), dbeta (D,)).

    In train mode the batch mean and variance depend on every example, which the compact form
    ``dx = inv_std / m * (m * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))`` accounts for.
    """
    mode, xhat, gamma, inv_std = cache
    dout = _check_same_shape("batchnorm_backward", dout, xhat)
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    if mode == "test":
        return dxhat * inv_std, dgamma, dbeta
    m = dout.shape[0]
    dx = (inv_std / m) * (m * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
    return dx, dgamma, dbeta


@IEEE
def layernorm_forward(
    x: Array, gamma: Array, beta: Array, ln_param: dict[str, Any] | None = None
) -> tuple[Array, Any]:
    """Layer normalisation over the features of each example (Ba et al., 2016).

    Inputs: x (m, D); gamma, beta (D,); ln_param: {'eps': 1e-5}. The same in train and test.
    Returns (out (m, D), cache).
    """
    x = _check_norm_input("layernorm_forward", x, gamma, beta)
    if ln_param is not None and not isinstance(ln_param, dict):
        raise ConfigError(f"layernorm_forward: ln_param must be a dict or None; got {ln_param!r}")
    eps = _norm_eps("layernorm_forward", "ln_param", ln_param or {})
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (x - mu) * inv_std
    return gamma * xhat + beta, (xhat, gamma, inv_std)


@IEEE
def layernorm_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Backward pass of :func:`layernorm_forward`. Returns (dx (m, D), dgamma (D,), dbeta (D,))."""
    xhat, gamma, inv_std = cache
    dout = _check_same_shape("layernorm_backward", dout, xhat)
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    D = dout.shape[1]
    dx = (inv_std / D) * (
        D * dxhat
        - dxhat.sum(axis=1, keepdims=True)
        - xhat * (dxhat * xhat).sum(axis=1, keepdims=True)
    )
    return dx, dgamma, dbeta


def _norm_eps(where: str, name: str, param: dict[str, Any]) -> float:
    """The norm's epsilon from its param dict: a finite number > 0 (it keeps 1/sqrt finite)."""
    return check_number(f"{where}: {name}['eps']", param.get("eps", NORM_EPS), 0.0, strict=True)


def _check_norm_input(where: str, x: Any, gamma: Array, beta: Array) -> Array:
    x = _float_numbers(where, "x", x)
    _numbers(where, "gamma", gamma)
    _numbers(where, "beta", beta)
    if x.ndim == 2 and (x.shape[0] == 0 or x.shape[1] == 0):
        raise ConfigError(f"{where}: x has shape {x.shape}; expected (m, D) with m, D >= 1")
    if x.ndim != 2 or np.shape(gamma) != (x.shape[1],) or np.shape(beta) != (x.shape[1],):
        raise ConfigError(
            f"{where}: expected x of shape (m, D) with gamma and beta of shape (D,); got x "
            f"{x.shape}, gamma {np.shape(gamma)}, beta {np.shape(beta)}"
        )
    return x


# --------------------------------------------------------------------------------------------
# The losses that used to live here
# --------------------------------------------------------------------------------------------

#: Names that moved to :mod:`layerwise.losses` and are still served from this module.
_MOVED_TO_LOSSES = frozenset({"softmax_loss", "svm_loss"})


def __getattr__(name: str) -> Any:
    """``layers.softmax_loss`` and ``layers.svm_loss``: the functions of :mod:`layerwise.losses`
    (the same objects), for code written when they lived here (PEP 562).

    Why lazily, and through importlib: layerwise.losses imports this module's array checks, so
    importing it at the top would be a cycle, and a plain ``import`` statement here, even inside
    a function, would count as one for import-linter's acyclic contract (pyproject.toml). The
    dependency that matters runs one way, losses -> layers; this is only a forwarding address.
    """
    if name in _MOVED_TO_LOSSES:
        return getattr(importlib.import_module("layerwise.losses"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
