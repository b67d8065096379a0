"""'Sandwich' layers: an affine layer followed by an activation, as one forward/backward pair.

Each ``affine_<act>_forward(x, theta, theta0) -> (out, cache)`` has a matching
``affine_<act>_backward(dout, cache) -> (dx, dtheta, dtheta0)``.
Shapes: x (m, d_1, ..., d_k), theta (d, h), theta0 (h,), out (m, h).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from layerwise.errors import ConfigError
from layerwise.layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)

Array = np.ndarray
Forward = Callable[[Array], tuple[Array, Any]]
Backward = Callable[[Array, Any], Array]

#: The activations a sandwich layer (and a model's ``activation=``) can use, by name.
ACTIVATIONS: dict[str, tuple[Forward, Backward]] = {
    "relu": (relu_forward, relu_backward),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
}


#: The normalisations a model can put after each hidden affine layer, by name (a model's
#: ``normalization=None`` is none; the command line spells that ``none``).
NORMALIZATIONS: dict[str, tuple[Callable[..., tuple[Array, Any]], Callable[..., Any]]] = {
    "batchnorm": (batchnorm_forward, batchnorm_backward),
    "layernorm": (layernorm_forward, layernorm_backward),
}


def get_activation(name: str) -> tuple[Forward, Backward]:
    """Return the (forward, backward) pair of the activation called ``name``."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):  # TypeError: an unhashable name (a list)
        raise ConfigError(
            f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}"
        ) from None


def affine_act_forward(
    x: Array, theta: Array, theta0: Array, activation: str = "relu"
) -> tuple[Array, tuple[Any, Any]]:
    """Affine layer followed by the named activation. Returns (out (m, h), cache)."""
    forward, _ = get_activation(activation)
    a, fc_cache = affine_forward(x, theta, theta0)
    out, act_cache = forward(a)
    return out, (fc_cache, (activation, act_cache))


def affine_act_backward(dout: Array, cache: tuple[Any, Any]) -> tuple[Array, Array, Array]:
    """Backward pass of :func:`affine_act_forward`. Returns (dx, dtheta, dtheta0)."""
    fc_cache, (activation, act_cache) = cache
    _, backward = get_activation(activation)
    da = backward(dout, act_cache)
    return affine_backward(da, fc_cache)


def affine_relu_forward(x: Array, theta: Array, theta0: Array) -> tuple[Array, Any]:
    """Affine -> ReLU. Returns (out (m, h), cache)."""
    return affine_act_forward(x, theta, theta0, "relu")


def affine_relu_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Backward pass of :func:`affine_relu_forward`. Returns (dx, dtheta, dtheta0)."""
    return affine_act_backward(dout, cache)


def affine_sigmoid_forward(x: Array, theta: Array, theta0: Array) -> tuple[Array, Any]:
    """Affine -> sigmoid. Returns (out (m, h), cache)."""
    return affine_act_forward(x, theta, theta0, "sigmoid")


def affine_sigmoid_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Backward pass of :func:`affine_sigmoid_forward`. Returns (dx, dtheta, dtheta0)."""
    return affine_act_backward(dout, cache)


def affine_tanh_forward(x: Array, theta: Array, theta0: Array) -> tuple[Array, Any]:
    """Affine -> tanh. Returns (out (m, h), cache)."""
    return affine_act_forward(x, theta, theta0, "tanh")


def affine_tanh_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Backward pass of :func:`affine_tanh_forward`. Returns (dx, dtheta, dtheta0)."""
    return affine_act_backward(dout, cache)
