"""Primitive layers and losses, each forward beside its backward.

A layer is a pair of functions in the style of the CS231n assignments:

- ``xxx_forward(x, ...) -> (out, cache)``: compute the output and keep what the backward pass
  needs in ``cache``;
- ``xxx_backward(dout, cache) -> grads``: given the upstream derivative ``dout`` (shaped like
  ``out``), return the derivative of the loss with respect to each input.

Losses return ``(loss, dx)`` directly, because they are always the last layer.
Shapes use ``m`` for the batch size, as in the seed notebook.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray
AffineCache = tuple[Array, Array, Array]


# --------------------------------------------------------------------------------------------
# Affine (fully connected)
# --------------------------------------------------------------------------------------------


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
    x = np.asarray(x)
    if x.ndim < 1 or theta.ndim != 2:
        raise ValueError(
            f"affine_forward expects x of shape (m, d_1, ..., d_k) and theta of shape (d, h); "
            f"got x {x.shape} and theta {theta.shape}"
        )
    m = x.shape[0]
    x_rows = x.reshape(m, -1)
    if x_rows.shape[1] != theta.shape[0]:
        raise ValueError(
            f"affine_forward: x flattens to {x_rows.shape} but theta has shape {theta.shape}; "
            f"expected theta of shape ({x_rows.shape[1]}, h)"
        )
    out = x_rows @ theta
    out += theta0  # in place: no second (m, h) temporary
    return out, (x, theta, theta0)


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
    x, theta, theta0 = cache
    m = x.shape[0]
    x_rows = x.reshape(m, -1)
    dtheta = x_rows.T @ dout
    dtheta0 = _sum_to_shape(dout, np.shape(theta0))
    dx = (dout @ theta.T).reshape(x.shape)
    return dx, dtheta, dtheta0


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


def relu_forward(x: Array) -> tuple[Array, Array]:
    """ReLU, ``max(x, 0)``. x: any shape. Returns (out shaped like x, cache = x)."""
    x = np.asarray(x)
    return np.maximum(x, 0), x


def relu_backward(dout: Array, cache: Array) -> Array:
    """Backward pass of :func:`relu_forward`. dout and cache (x): the same shape. Returns dx."""
    x = cache
    _check_same_shape("relu_backward", dout, x)
    # The subgradient at exactly 0 is taken as 0, as in the seed (dout * (x > 0)).
    return np.where(x > 0, dout, 0)


def sigmoid_forward(x: Array) -> tuple[Array, Array]:
    """Logistic sigmoid ``1 / (1 + exp(-x))``, computed without overflow for any x.

    x: any shape. Returns (out shaped like x, cache = out).
    """
    x = np.asarray(x)
    # exp(-|x|) never overflows; the two branches are the same function rearranged so that
    # neither divides by an infinite value.
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)
    return out, out


def sigmoid_backward(dout: Array, cache: Array) -> Array:
    """Backward pass of :func:`sigmoid_forward`: ``dx = dout * s * (1 - s)``."""
    s = cache
    _check_same_shape("sigmoid_backward", dout, s)
    return dout * s * (1 - s)


def tanh_forward(x: Array) -> tuple[Array, Array]:
    """Hyperbolic tangent (NumPy's ``tanh`` saturates to +-1 without overflow).

    x: any shape. Returns (out shaped like x, cache = out).
    """
    out = np.tanh(np.asarray(x))
    return out, out


def tanh_backward(dout: Array, cache: Array) -> Array:
    """Backward pass of :func:`tanh_forward`: ``dx = dout * (1 - tanh(x)**2)``."""
    t = cache
    _check_same_shape("tanh_backward", dout, t)
    return dout * (1 - t * t)


def _check_same_shape(where: str, dout: Array, ref: Array) -> None:
    if np.shape(dout) != np.shape(ref):
        raise ValueError(
            f"{where}: dout has shape {np.shape(dout)} but the forward input had shape "
            f"{np.shape(ref)}; they must match"
        )


# --------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------


def _check_scores_labels(where: str, x: Array, y: Any) -> tuple[Array, Array]:
    """Validate class scores (m, C) and integer labels (m,) with 0 <= y[i] < C."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{where}: scores must have shape (m, C); got shape {x.shape}")
    y = np.asarray(y)
    if y.shape != (x.shape[0],):
        raise ValueError(
            f"{where}: labels must have shape ({x.shape[0]},) to match scores {x.shape}; "
            f"got shape {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        if y.size and np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
            y = y.astype(np.intp)
        else:
            raise ValueError(f"{where}: labels must be integers; got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= x.shape[1]):
        bad = y[(y < 0) | (y >= x.shape[1])][0]
        raise ValueError(f"{where}: label {bad} is outside the valid range 0..{x.shape[1] - 1}")
    return x, y


def softmax_loss(x: Array, y: Array) -> tuple[float, Array]:
    """Softmax (cross-entropy) loss, averaged over the batch.

    Inputs:
    - x: class scores, of shape (m, C); x[i, j] is the score of class j for example i.
    - y: integer labels, of shape (m,), with 0 <= y[i] < C.

    Returns (loss, dx): the scalar loss and its gradient with respect to x, of shape (m, C).
    """
    x, y = _check_scores_labels("softmax_loss", x, y)
    m = x.shape[0]
    rows = np.arange(m)
    # Shift by the row maximum so exp never overflows; work in log space so that a
    # confident wrong answer gives a large finite loss instead of log(0) = -inf.
    shifted = x - x.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_norm
    loss = -float(log_probs[rows, y].sum()) / m
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    dx /= m
    return loss, dx


def svm_loss(x: Array, y: Array) -> tuple[float, Array]:
    """Multiclass SVM (hinge) loss with margin 1, averaged over the batch.

    ``loss_i = sum_{j != y_i} max(0, x[i, j] - x[i, y_i] + 1)``.

    Inputs: x (m, C) class scores; y (m,) integer labels with 0 <= y[i] < C.
    Returns (loss, dx) with dx of shape (m, C).
    """
    x, y = _check_scores_labels("svm_loss", x, y)
    m = x.shape[0]
    rows = np.arange(m)
    correct = x[rows, y][:, None]
    margins = np.maximum(0, x - correct + 1)
    margins[rows, y] = 0
    loss = float(margins.sum()) / m
    positive = (margins > 0).astype(x.dtype)
    dx = positive
    dx[rows, y] -= positive.sum(axis=1)
    dx /= m
    return loss, dx
