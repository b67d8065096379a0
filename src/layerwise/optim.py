"""Update rules, chosen by name.

Every rule has the signature ``rule(w, dw, config=None) -> (next_w, config)``:

- w: the current parameter (any shape); dw: the gradient of the loss, shaped like w;
- config: a dict of hyperparameters (learning rate, ...) plus the rule's running state
  (velocity, moment estimates, ...). Missing entries get their defaults with ``setdefault``,
  so the dict a rule returns holds everything needed to continue exactly.

Rules update ``w`` in place and return it (as CS231n's ``sgd`` does: no new parameter array
per step on the training hot path); ``dw`` is never modified. State arrays in ``config`` are
updated in place too. Pass ``w.copy()`` to keep the old value.

Speed: an update is a few elementwise passes over each parameter, and for Adam on large
layers they cost a third as much as the step's matrix products, so each pass counts. The
temporary a rule needs comes from :func:`_scratch`, one buffer per shape and thread reused
from step to step, instead of a fresh allocation each time (about a tenth of Adam's time on a
784 x 512 layer, measured). With Numba installed (the ``[fast]`` extra), a large parameter's
whole update runs as one compiled loop instead (:mod:`layerwise.fused`), with results equal
to these lines' bit for bit; this code is the reference and the fallback.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from layerwise import fused
from layerwise.errors import ConfigError
from layerwise.validation import IEEE, check_callable, check_int, check_number

Array = np.ndarray
Config = dict[str, Any]
UpdateRule = Callable[[Array, Array, "Config | None"], tuple[Array, Config]]


#: Every update rule's hyperparameters with their defaults: the one table that the rules
#: below, the Solver's validation of ``optim_config``, the options table and the framework
#: twins all read. ``adamw``'s ``decay_min_ndim``: decoupled weight decay applies to
#: parameters with at least this many dimensions (weights), not to biases and normalisation
#: scales (1-D), as in Keras and PyTorch practice.
DEFAULTS: dict[str, dict[str, float]] = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "nesterov_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
    "adamw": {
        "learning_rate": 1e-3,
        "beta1": 0.9,
        "beta2": 0.999,
        "epsilon": 1e-8,
        "weight_decay": 0.01,
        "decay_min_ndim": 2,
    },
}
#: The values each hyperparameter may take: (low, low excluded, high, high excluded).
RANGES: dict[str, tuple[float, bool, float | None, bool]] = {
    "learning_rate": (0.0, True, None, False),
    "momentum": (0.0, False, 1.0, True),
    "decay_rate": (0.0, False, 1.0, True),
    "beta1": (0.0, False, 1.0, True),
    "beta2": (0.0, False, 1.0, True),
    "epsilon": (0.0, True, None, False),
    "weight_decay": (0.0, False, None, False),
    "decay_min_ndim": (0.0, False, None, False),
}
#: The running state each rule keeps in its config beside the hyperparameters.
STATE: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "sgd_momentum": ("velocity",),
    "nesterov_momentum": ("velocity",),
    "rmsprop": ("cache",),
    "adam": ("m", "v", "t"),
    "adamw": ("m", "v", "t"),
}


def _defaults(config: Config | None, rule: str, w: Any, dw: Any) -> Config:
    """``config`` with the rule's defaults filled in, after checking the call's arguments.

    ``w`` must be a float array (it is updated in place) and ``dw`` an array of its shape. The
    hyperparameters and state are checked unless ``config`` is one that a step of this rule on
    ``w`` returned (:func:`_started`): so the first step checks, and the steps after it cost no
    more than a few type tests.
    """
    if not isinstance(w, np.ndarray) or w.dtype.kind != "f":
        raise ConfigError(
            f"{rule}: w must be a float ndarray (it is updated in place); got "
            f"{getattr(w, 'dtype', type(w).__name__)}",
            "w",
        )
    if not isinstance(dw, np.ndarray) or dw.shape != w.shape or dw.dtype.kind not in "fiu":
        raise ConfigError(
            f"{rule}: dw must be a real array of the shape of w {w.shape}; got "
            f"{type(dw).__name__} {getattr(dw, 'shape', '')} {getattr(dw, 'dtype', '')}".rstrip(),
            "dw",
        )
    if type(config) is dict and _started(config, rule, w):
        return config  # every step after the first
    if config is None:
        config = {}
    elif not isinstance(config, dict):
        raise ConfigError(f"{rule}: config must be a dict or None; got {config!r}", "config")
    check_config(rule, config)
    for key in STATE[rule]:
        value = config.get(key)
        if value is None:
            continue  # created on this first step
        if key == "t":
            check_int(f"{rule}: config['t']", value)
        elif not (
            isinstance(value, np.ndarray) and value.shape == w.shape and value.dtype.kind == "f"
        ):
            raise ConfigError(
                f"{rule}: config[{key!r}] must be a float array of shape {w.shape}; got "
                f"{type(value).__name__} {getattr(value, 'shape', '')}".rstrip(),
                key,
            )
    for key, value in DEFAULTS[rule].items():
        config.setdefault(key, value)
    return config


def _started(config: Config, rule: str, w: Array) -> bool:
    """Whether ``config`` is one a previous step of ``rule`` on ``w`` returned: every
    hyperparameter and state entry there (a float learning rate, state arrays of w's shape),
    nothing else."""
    if len(config) != len(DEFAULTS[rule]) + len(STATE[rule]):
        return False
    if type(config.get("learning_rate")) is not float or not all(
        k in config for k in DEFAULTS[rule]
    ):
        return False
    for key in STATE[rule]:
        value = config.get(key)
        if key == "t":
            if type(value) is not int:
                return False
        elif not isinstance(value, np.ndarray) or value.shape != w.shape or value.dtype.kind != "f":
            return False
    return True


@IEEE
def sgd(w: Array, dw: Array, config: Config | None = None) -> tuple[Array, Config]:
    """Vanilla stochastic gradient descent: ``next_w = w - learning_rate * dw``.

    config: learning_rate (default 1e-2).
    """
    config = _defaults(config, "sgd", w, dw)
    if not fused.run("sgd", (w, dw), (config["learning_rate"],)):
        w -= np.multiply(dw, config["learning_rate"], out=_scratch(w))
    return w, config


@IEEE
def sgd_momentum(w: Array, dw: Array, config: Config | None = None) -> tuple[Array, Config]:
    """SGD with momentum: ``v = momentum * v - learning_rate * dw; next_w = w + v``.

    config: learning_rate (1e-2), momentum (0.9), velocity (zeros like w).
    """
    config = _defaults(config, "sgd_momentum", w, dw)
    v = _state(config, "velocity", w)
    if fused.run("sgd_momentum", (w, dw, v), (config["learning_rate"], config["momentum"])):
        return w, config
    v *= config["momentum"]
    v -= np.multiply(dw, config["learning_rate"], out=_scratch(w))
    w += v
    return w, config


@IEEE
def nesterov_momentum(w: Array, dw: Array, config: Config | None = None) -> tuple[Array, Config]:
    """Nesterov momentum in its look-ahead form (Sutskever et al., 2013, as in CS231n):

    ``v_prev = v; v = momentum * v - learning_rate * dw;
    next_w = w - momentum * v_prev + (1 + momentum) * v``.

    config: learning_rate (1e-2), momentum (0.9), velocity (zeros like w).
    """
    config = _defaults(config, "nesterov_momentum", w, dw)
    v = _state(config, "velocity", w)
    mu = config["momentum"]
    if fused.run("nesterov_momentum", (w, dw, v), (config["learning_rate"], mu, 1 + mu)):
        return w, config
    tmp = _scratch(w)
    w -= np.multiply(v, mu, out=tmp)  # the look-ahead correction uses the previous velocity
    v *= mu
    v -= np.multiply(dw, config["learning_rate"], out=tmp)
    w += np.multiply(v, 1 + mu, out=tmp)
    return w, config


@IEEE
def rmsprop(w: Array, dw: Array, config: Config | None = None) -> tuple[Array, Config]:
    """RMSProp: ``cache = decay_rate * cache + (1 - decay_rate) * dw**2;
    next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)``.

    config: learning_rate (1e-2), decay_rate (0.99), epsilon (1e-8), cache (zeros like w).
    """
    config = _defaults(config, "rmsprop", w, dw)
    cache = _state(config, "cache", w)
    decay = config["decay_rate"]
    scalars = (config["learning_rate"], decay, 1 - decay, config["epsilon"])
    if fused.run("rmsprop", (w, dw, cache), scalars):
        return w, config
    cache *= decay
    tmp = np.multiply(dw, dw, out=_scratch(w))
    tmp *= 1 - decay
    cache += tmp
    np.sqrt(cache, out=tmp)  # one temporary array for the whole update
    tmp += config["epsilon"]
    np.divide(dw, tmp, out=tmp)
    tmp *= config["learning_rate"]
    w -= tmp
    return w, config


@IEEE
def adam(w: Array, dw: Array, config: Config | None = None) -> tuple[Array, Config]:
    """Adam (Kingma & Ba, 2015) with bias correction.

    ``t += 1; m = beta1*m + (1-beta1)*dw; v = beta2*v + (1-beta2)*dw**2;
    next_w = w - learning_rate * (m / (1-beta1**t)) / (sqrt(v / (1-beta2**t)) + epsilon)``.

    config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8),
    m and v (zeros like w), t (0).
    """
    config = _defaults(config, "adam", w, dw)
    if not _fused_adam(w, dw, config, 1.0):
        w -= _adam_step(w, dw, config)
    return w, config


@IEEE
def adamw(w: Array, dw: Array, config: Config | None = None) -> tuple[Array, Config]:
    """AdamW (Loshchilov & Hutter, 2019): Adam plus decoupled weight decay.

    ``next_w = w - learning_rate * (adam_direction + weight_decay * w)``; the decay does not pass
    through the moment estimates. Only parameters with at least ``decay_min_ndim`` dimensions
    are decayed (default 2: weights, not biases or normalisation scales).

    config: as :func:`adam`, plus weight_decay (0.01) and decay_min_ndim (2).
    """
    config = _defaults(config, "adamw", w, dw)
    decays = w.ndim >= config["decay_min_ndim"]
    keep = 1 - config["learning_rate"] * config["weight_decay"] if decays else 1.0
    if _fused_adam(w, dw, config, keep):
        return w, config
    step = _adam_step(w, dw, config)
    if decays:
        w *= keep  # the weights before the step
    w -= step
    return w, config


def _fused_adam(w: Array, dw: Array, config: Config, keep: float) -> bool:
    """Adam's (or AdamW's, ``keep = 1 - lr * weight_decay``) whole update as one kernel of
    :mod:`layerwise.fused`, with the scalars :func:`_adam_step` computes; False when the
    kernel does not apply (nothing changed then)."""
    m, v = _state(config, "m", w), _state(config, "v", w)
    if not fused.usable(w, dw, m, v) or fused.kernels() is None:
        return False
    t = config.get("t", 0) + 1
    b1, b2 = config["beta1"], config["beta2"]
    root_c2 = math.sqrt(1 - b2**t)
    step = config["learning_rate"] * root_c2 / (1 - b1**t)
    scalars = (1 - b1, 1 - b2, config["epsilon"] * root_c2, step, keep)
    fused.run("adam", (w, dw, m, v), scalars)
    config["t"] = t
    return True


def _state(config: Config, key: str, w: Array) -> Array:
    """The state array ``config[key]``, created as zeros like ``w`` on first use.

    (Not ``config.setdefault(key, np.zeros_like(w))``: that would allocate on every step.)
    """
    state = config.get(key)
    if state is None:
        state = config[key] = np.zeros_like(w)
    return state


_SCRATCH = threading.local()


def _scratch(w: Array) -> Array:
    """A temporary shaped like ``w``: the same array every call for this shape, dtype and thread.

    Its content is garbage; a rule overwrites it and is done with it before it returns (the
    step :func:`_adam_step` returns is consumed at once by its callers). Buffers of the shapes
    seen most recently are kept (at most 64, a few models' worth).
    """
    buffers: dict[tuple[Any, ...], Array] | None = getattr(_SCRATCH, "buffers", None)
    if buffers is None:
        buffers = _SCRATCH.buffers = {}
    key = (w.shape, w.dtype.str)
    buf = buffers.pop(key, None)
    if buf is None:
        if len(buffers) >= 64:
            del buffers[next(iter(buffers))]  # the least recently used
        buf = np.empty(w.shape, dtype=w.dtype)
    buffers[key] = buf  # (re)inserted last: most recently used
    return buf


def _adam_step(w: Array, dw: Array, config: Config) -> Array:
    """Update Adam's moments in place and return the step
    ``learning_rate * m_hat / (sqrt(v_hat) + epsilon)``, using one temporary array.

    Every line below is one elementwise pass over the parameter, and for Adam these passes,
    not the matrix products, are the training step's main overhead; so the moments are
    updated as ``m += (1 - beta1) * (dw - m)`` (3 passes) and the bias corrections are folded
    into two scalars, using ``sqrt(v / c2) + eps = (sqrt(v) + eps * sqrt(c2)) / sqrt(c2)``.
    """
    m = _state(config, "m", w)
    v = _state(config, "v", w)
    t = config["t"] = config.get("t", 0) + 1
    b1, b2 = config["beta1"], config["beta2"]
    root_c2 = math.sqrt(1 - b2**t)  # bias corrections c1 = 1 - beta1**t, c2 = 1 - beta2**t
    tmp = np.subtract(dw, m, out=_scratch(w))
    tmp *= 1 - b1
    m += tmp
    np.multiply(dw, dw, out=tmp)
    tmp -= v
    tmp *= 1 - b2
    v += tmp
    np.sqrt(v, out=tmp)
    tmp += config["epsilon"] * root_c2
    np.divide(m, tmp, out=tmp)
    tmp *= config["learning_rate"] * root_c2 / (1 - b1**t)
    return tmp


#: Every update rule by name, as ``Solver(update_rule=...)`` and the CLI accept them.
UPDATE_RULES: dict[str, UpdateRule] = {
    "sgd": sgd,
    "sgd_momentum": sgd_momentum,
    "nesterov_momentum": nesterov_momentum,
    "rmsprop": rmsprop,
    "adam": adam,
    "adamw": adamw,
}


def get_update_rule(rule: str | UpdateRule) -> UpdateRule:
    """Return the update rule called ``rule`` (or ``rule`` itself when it is callable)."""
    if callable(rule):
        return check_callable("update_rule", rule, "w", "dw", "config")
    try:
        return UPDATE_RULES[rule]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown update rule {rule!r}; expected one of {sorted(UPDATE_RULES)} or a callable",
            "update_rule",
        ) from None


def rule_name(rule: str | UpdateRule) -> str | None:
    """The table name of ``rule`` (a name or one of the functions above); None for others."""
    if isinstance(rule, str):
        return rule if rule in UPDATE_RULES else None
    return next((name for name, fn in UPDATE_RULES.items() if fn is rule), None)


def check_config(rule: str | UpdateRule, config: Any) -> Config:
    """``config`` checked against the rule's table entry; returns a new dict.

    For a rule in :data:`UPDATE_RULES`, every key must be one of its hyperparameters or its
    state (so ``{'lr': 0.5}`` is refused instead of silently training at the default rate),
    and each hyperparameter must be a finite number in its :data:`RANGES` (a learning rate
    > 0, a momentum or beta in [0, 1), an epsilon > 0, ...); a custom callable's config is
    passed through.
    """
    if not isinstance(config, dict):
        raise ConfigError(
            f"optim_config must be a dict; got {type(config).__name__}", "optim_config"
        )
    name = rule_name(rule)
    if name is None:
        return dict(config)
    known = (*DEFAULTS[name], *STATE[name])
    unknown = sorted((str(k) for k in set(config) - set(known)), key=repr)
    if unknown:
        raise ConfigError(
            f"optim_config for {name!r} has unknown key(s) {unknown}; it takes "
            f"{sorted(DEFAULTS[name])} (and the state {list(STATE[name])})",
            "optim_config",
        )
    for key in DEFAULTS[name]:
        if key in config:
            low, strict, high, high_strict = RANGES[key]
            check_number(f"optim_config[{key!r}]", config[key], low, strict, high, high_strict)
    return dict(config)
