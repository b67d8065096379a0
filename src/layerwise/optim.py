"""Update rules, chosen by name.

Every rule has the signature ``rule(w, dw, config=None) -> (next_w, config)``:

- w: the current parameter (any shape); dw: the gradient of the loss, shaped like w;
- config: a dict of hyperparameters (learning rate, ...) plus the rule's running state
  (velocity, moment estimates, ...). Missing entries get their defaults with ``setdefault``,
  so the dict a rule returns holds everything needed to continue exactly.

Rules update ``w`` in place and return it (as CS231n's ``sgd`` does: no new parameter array
per step on the training hot path); ``dw`` is never modified. State arrays in ``config`` are
updated in place too. Pass ``w.copy()`` to keep the old value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Array = np.ndarray
Config = dict[str, Any]
UpdateRule = Callable[[Array, Array, "Config | None"], tuple[Array, Config]]


def sgd(w: Array, dw: Array, config: Config | None = None) -> tuple[Array, Config]:
    """Vanilla stochastic gradient descent: ``next_w = w - learning_rate * dw``.

    config: learning_rate (default 1e-2).
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config


def sgd_momentum(w: Array, dw: Array, config: Config | None = None) -> tuple[Array, Config]:
    """SGD with momentum: ``v = momentum * v - learning_rate * dw; next_w = w + v``.

    config: learning_rate (1e-2), momentum (0.9), velocity (zeros like w).
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.setdefault("velocity", np.zeros_like(w))
    v *= config["momentum"]
    v -= config["learning_rate"] * dw
    w += v
    return w, config


def nesterov_momentum(w: Array, dw: Array, config: Config | None = None) -> tuple[Array, Config]:
    """Nesterov momentum in its look-ahead form (Sutskever et al., 2013, as in CS231n):

    ``v_prev = v; v = momentum * v - learning_rate * dw;
    next_w = w - momentum * v_prev + (1 + momentum) * v``.

    config: learning_rate (1e-2), momentum (0.9), velocity (zeros like w).
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.setdefault("velocity", np.zeros_like(w))
    mu = config["momentum"]
    w -= mu * v  # the look-ahead correction uses the previous velocity
    v *= mu
    v -= config["learning_rate"] * dw
    w += (1 + mu) * v
    return w, config


def rmsprop(w: Array, dw: Array, config: Config | None = None) -> tuple[Array, Config]:
    """RMSProp: ``cache = decay_rate * cache + (1 - decay_rate) * dw**2;
    next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)``.

    config: learning_rate (1e-2), decay_rate (0.99), epsilon (1e-8), cache (zeros like w).
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config.setdefault("cache", np.zeros_like(w))
    decay = config["decay_rate"]
    cache *= decay
    cache += (1 - decay) * dw * dw
    w -= config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    return w, config


def adam(w: Array, dw: Array, config: Config | None = None) -> tuple[Array, Config]:
    """Adam (Kingma & Ba, 2015) with bias correction.

    ``t += 1; m = beta1*m + (1-beta1)*dw; v = beta2*v + (1-beta2)*dw**2;
    next_w = w - learning_rate * (m / (1-beta1**t)) / (sqrt(v / (1-beta2**t)) + epsilon)``.

    config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8),
    m and v (zeros like w), t (0).
    """
    config = {} if config is None else config
    _adam_moments(w, dw, config)
    w -= _adam_step(config)
    return w, config


def adamw(w: Array, dw: Array, config: Config | None = None) -> tuple[Array, Config]:
    """AdamW (Loshchilov & Hutter, 2019): Adam plus decoupled weight decay.

    ``next_w = w - learning_rate * (adam_direction + weight_decay * w)``; the decay does not pass
    through the moment estimates. The Solver applies it to weights only (biases and
    normalisation parameters get ``weight_decay = 0``).

    config: as :func:`adam`, plus weight_decay (0.01).
    """
    config = {} if config is None else config
    config.setdefault("weight_decay", 0.01)
    _adam_moments(w, dw, config)
    step = _adam_step(config)
    w -= step + config["learning_rate"] * config["weight_decay"] * w
    return w, config


def _adam_moments(w: Array, dw: Array, config: Config) -> None:
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    m = config.setdefault("m", np.zeros_like(w))
    v = config.setdefault("v", np.zeros_like(w))
    config["t"] = config.get("t", 0) + 1
    b1, b2 = config["beta1"], config["beta2"]
    m *= b1
    m += (1 - b1) * dw
    v *= b2
    v += (1 - b2) * dw * dw


def _adam_step(config: Config) -> Array:
    """``learning_rate * m_hat / (sqrt(v_hat) + epsilon)``, in one temporary array."""
    t = config["t"]
    step: Array = np.sqrt(config["v"] / (1 - config["beta2"] ** t))
    step += config["epsilon"]
    np.divide(config["m"], step, out=step)
    step *= config["learning_rate"] / (1 - config["beta1"] ** t)
    return step


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
        return rule
    try:
        return UPDATE_RULES[rule]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown update rule {rule!r}; expected one of {sorted(UPDATE_RULES)} or a callable"
        ) from None
