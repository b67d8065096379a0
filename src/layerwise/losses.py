"""Losses: the last step of a network, forward and gradient together.

A loss compares a network's outputs ``x`` (shape (m, k): one row per example) with the
targets ``y`` and returns ``(loss, dx)``, in the style of the CS231n assignments:

- ``loss``: one float, the mean over the m examples of a per-example loss ``l_i``;
- ``dx``: d loss / d x, shaped like x and in x's float dtype (float32 stays float32).

Forward and backward come as one call because a loss is always the last layer: nothing
downstream needs a cache, and the gradient reuses the forward's intermediates.

Every loss takes ``weights=None`` or per-example weights ``w`` of shape (m,) (finite, >= 0,
not all zero). The loss is then the weighted mean ``sum_i w_i * l_i / sum_i w_i`` and row i of
dx is scaled by ``w_i / sum(w)`` instead of ``1 / m``. Only the weights' ratios matter: weights
all equal to c give the unweighted result exactly, and a zero weight drops its example.

Where an example has several outputs (regression targets, multi-label logits), ``l_i`` is the
mean over its k outputs rather than their sum (scikit-learn's squared error does the same; its
multi-label log-loss sums), so the loss's scale (and a good learning rate) does not depend on k.

==========================  ==========================================  ===================
name in :data:`LOSSES`      function; per-example loss ``l_i``          targets y
==========================  ==========================================  ===================
softmax                     :func:`softmax_loss`;                       (m,) integer labels
                            ``-log softmax(x_i)[y_i]``                  0 <= y_i < C
svm                         :func:`svm_loss`;                           (m,) integer labels
                            ``sum_{j != y_i} max(0, x_ij - x_iy_i + 1)``
mse                         :func:`mse_loss`;                           (m, k) real, or (m,)
                            ``0.5 * mean_k (x_ik - y_ik)^2``            when k == 1
mae                         :func:`mae_loss`; ``mean_k |x_ik - y_ik|``  as mse
huber                       :func:`huber_loss`; ``mean_k h(x_ik - y_ik)``  as mse
                            (quadratic within delta, then linear)
sigmoid_cross_entropy       :func:`sigmoid_cross_entropy_loss`;         (m, k) in [0, 1],
                            ``mean_k BCE(sigmoid(x_ik), y_ik)``         or (m,) when k == 1
==========================  ==========================================  ===================

:func:`get_loss` looks one up by name. Bad input raises :class:`~layerwise.errors.ConfigError`
naming the argument (``x``, ``y``, ``weights``, ``delta``; ``scores`` and ``labels`` for the two
classification losses) and what was expected. Outputs ``x`` are not required to be finite: a
diverging network's inf or NaN flows through (IEEE 754, :data:`layerwise.validation.IEEE`) and
the Solver stops the run; the targets and weights, which are data, must be finite.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from layerwise.errors import ConfigError

# The array checks every layer uses, so a loss refuses the same junk with the same words.
# (This module imports layers, never the reverse: layers only re-exports the two classifier
# losses lazily, for code written when they lived there.)
from layerwise.layers import _float_numbers, _numbers
from layerwise.validation import IEEE, check_number

__all__ = [
    "LOSSES",
    "get_loss",
    "huber_loss",
    "mae_loss",
    "mse_loss",
    "sigmoid_cross_entropy_loss",
    "softmax_loss",
    "svm_loss",
]

Array = np.ndarray
LossFn = Callable[..., tuple[float, Array]]


# --------------------------------------------------------------------------------------------
# Checks shared by the losses
# --------------------------------------------------------------------------------------------


def _first_bad(bad: Array) -> tuple[int, ...]:
    """Index of the first True of ``bad``, for a message that points at one value."""
    return tuple(int(i) for i in np.argwhere(bad)[0])


def _check_weights(where: str, weights: Any, m: int, dtype: np.dtype[Any]) -> Array:
    """Per-example weights (m,), checked, as an array of ``dtype`` whose largest value is 1.

    Refused (ConfigError naming ``weights``): anything but real numbers, a shape other than
    (m,), NaN or inf, a negative weight, all weights zero (the weighted mean would be 0 / 0).

    Why rescale: the weighted mean only depends on ratios, and dividing by the largest weight
    (exactly, in float64, before the cast) keeps huge weights from overflowing ``sum(w)`` and
    makes weights all equal to c exactly 1.0, so they reproduce the unweighted result bit for
    bit.
    """
    w = _numbers(where, "weights", weights)
    if w.shape != (m,):
        raise ConfigError(
            f"{where}: weights must have shape ({m},), one per example, or be None; "
            f"got shape {w.shape}",
            "weights",
        )
    raw = w
    w = w.astype(np.float64)  # check in float64: a float32 cast could hide an overflow
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = _first_bad(bad)[0]
        raise ConfigError(
            f"{where}: weights must be finite numbers >= 0; got weights[{i}] = {raw[i].item()!r}",
            "weights",
        )
    top = float(w.max())
    if top == 0:
        raise ConfigError(
            f"{where}: weights are all zero; at least one example needs a weight > 0",
            "weights",
        )
    return (w / top).astype(dtype)


def _check_outputs(where: str, x: Any, what: str) -> Array:
    """The network's outputs ``x`` as a float array of shape (m, k) with m, k >= 1.

    ``what`` says what the columns are (predictions, logits) in the message.
    """
    x = _float_numbers(where, "x", x)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ConfigError(
            f"{where}: x ({what}) must have shape (m, k) with m, k >= 1; got shape {x.shape} "
            "(for one output per example, pass x.reshape(-1, 1))",
            "x",
        )
    return x


def _check_targets(
    where: str,
    x: Array,
    y: Any,
    low: float | None = None,
    high: float | None = None,
    bools: bool = False,
) -> Array:
    """Targets ``y`` shaped like x (m, k), or (m,) when k == 1, as an (m, k) array of x's
    dtype: finite real numbers, within [low, high] when given; ``bools``: a boolean array is
    taken as 0/1 (multi-label indicators; elsewhere a boolean array is refused as a likely
    mix-up, like every layer's input).

    Why in x's dtype: float64 targets against float32 outputs would otherwise promote the
    residual, the loss and dx to float64.
    """
    if bools and not isinstance(y, (str, bytes)) and y is not None:
        try:
            y = np.asarray(y)
        except (ValueError, TypeError):  # ragged: left to _numbers, which says so
            pass
        else:
            y = y.astype(np.uint8) if y.dtype.kind == "b" else y
    y = _numbers(where, "y", y)
    m, k = x.shape
    if y.shape == (m,) and k == 1:
        y = y.reshape(m, 1)
    if y.shape != x.shape:
        also = f", or ({m},)" if k == 1 else ""
        raise ConfigError(
            f"{where}: y (targets) must have shape {x.shape} like x{also}; got shape {y.shape}",
            "y",
        )
    if low is not None and high is not None:
        # Written so that NaN, which fails every comparison, is out of range too.
        bad = ~((y >= low) & (y <= high))
        expected = f"within [{low:g}, {high:g}]"
    else:
        bad = ~np.isfinite(y)
        expected = "finite numbers"
    if bad.any():
        i = _first_bad(bad)
        raise ConfigError(
            f"{where}: y (targets) must be {expected}; got y[{i[0]}, {i[1]}] = {y[i].item()!r}",
            "y",
        )
    yc = y.astype(x.dtype)
    if not np.isfinite(yc).all():  # finite in float64, too large for float32 (or float16)
        i = _first_bad(~np.isfinite(yc))
        raise ConfigError(
            f"{where}: y (targets) must be finite in {x.dtype}, the dtype of x; "
            f"got y[{i[0]}, {i[1]}] = {y[i].item()!r}",
            "y",
        )
    return yc


def _mean_over_examples(per_example: Array, dx: Array, w: Array | None) -> tuple[float, Array]:
    """The (weighted) mean of ``per_example`` (m,), and dx (m, k) scaled to match, in place.

    dx arrives holding each example's own gradient d l_i / d x_i; the mean multiplies row i
    by 1/m, or by w_i / sum(w). ``w`` comes from :func:`_check_weights` (largest weight 1).
    With w all 1.0 every operation below reproduces the unweighted branch exactly (x * 1.0
    is x, and sum(w) is m), which is what makes equal weights bit-identical to none.
    """
    m = per_example.shape[0]
    if w is None:
        loss = float(per_example.sum()) / m
        dx /= m
        return loss, dx
    total = w.sum()
    loss = float((w * per_example).sum()) / float(total)
    dx *= w[:, None]
    dx /= total
    return loss, dx


# --------------------------------------------------------------------------------------------
# Classification: integer labels
# --------------------------------------------------------------------------------------------


def _check_scores_labels(where: str, x: Array, y: Any) -> tuple[Array, Array]:
    """Validate class scores (m, C) and integer labels (m,) with 0 <= y[i] < C."""
    x = _float_numbers(where, "scores", x)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ConfigError(
            f"{where}: scores must have shape (m, C) with m, C >= 1; got shape {x.shape}"
        )
    y = _numbers(where, "labels", y)
    if y.shape != (x.shape[0],):
        raise ConfigError(
            f"{where}: labels must have shape ({x.shape[0]},) to match scores {x.shape}; "
            f"got shape {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        if y.size and np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
            y = y.astype(np.intp)
        else:
            raise ConfigError(f"{where}: labels must be integers; got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= x.shape[1]):
        bad = y[(y < 0) | (y >= x.shape[1])][0]
        raise ConfigError(f"{where}: label {bad} is outside the valid range 0..{x.shape[1] - 1}")
    return x, y


@IEEE
def softmax_loss(x: Array, y: Array, weights: Array | None = None) -> tuple[float, Array]:
    """Softmax (cross-entropy) loss, averaged over the batch.

    Inputs:
    - x: class scores, of shape (m, C); x[i, j] is the score of class j for example i.
    - y: integer labels, of shape (m,), with 0 <= y[i] < C.
    - weights: None, or per-example weights of shape (m,): the loss is their weighted mean.

    Returns (loss, dx): the scalar loss and its gradient with respect to x, of shape (m, C).
    Per example, ``l_i = -log p_i[y_i]`` with ``p_i = softmax(x_i)``, and
    ``d l_i / d x_i = p_i - onehot(y_i)``.
    """
    x, y = _check_scores_labels("softmax_loss", x, y)
    m = x.shape[0]
    w = None if weights is None else _check_weights("softmax_loss", weights, m, x.dtype)
    rows = np.arange(m)
    # Shift by the row maximum so exp never overflows; work in log space so that a
    # confident wrong answer gives a large finite loss instead of log(0) = -inf.
    shifted = x - x.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_norm
    if w is None:
        # The unweighted path, operation for operation as it always was: seeded training
        # runs are recorded bit for bit (tests/test_seeded_runs.py).
        loss = -float(log_probs[rows, y].sum()) / m
        dx = np.exp(log_probs)
        dx[rows, y] -= 1
        dx /= m
        return loss, dx
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    return _mean_over_examples(-log_probs[rows, y], dx, w)


@IEEE
def svm_loss(x: Array, y: Array, weights: Array | None = None) -> tuple[float, Array]:
    """Multiclass SVM (hinge) loss with margin 1, averaged over the batch.

    ``l_i = sum_{j != y_i} max(0, x[i, j] - x[i, y_i] + 1)``.

    Inputs: x (m, C) class scores; y (m,) integer labels with 0 <= y[i] < C; weights None or
    (m,) per-example weights (the loss is their weighted mean).
    Returns (loss, dx) with dx of shape (m, C). The hinge's kink (a margin of exactly 0)
    gets the subgradient 0.
    """
    x, y = _check_scores_labels("svm_loss", x, y)
    m = x.shape[0]
    w = None if weights is None else _check_weights("svm_loss", weights, m, x.dtype)
    rows = np.arange(m)
    correct = x[rows, y][:, None]
    margins = np.maximum(0, x - correct + 1)
    margins[rows, y] = 0
    if w is None:
        # Unchanged operation for operation, like softmax_loss's (bit-identical runs).
        loss = float(margins.sum()) / m
        positive = (margins > 0).astype(x.dtype)
        dx = positive
        dx[rows, y] -= positive.sum(axis=1)
        dx /= m
        return loss, dx
    positive = (margins > 0).astype(x.dtype)
    dx = positive
    dx[rows, y] -= positive.sum(axis=1)
    # Weight the (m, C) margins and sum them in one pass, in the same order as the unweighted
    # margins.sum(): with w all 1.0 the result is that sum exactly.
    loss = float((w[:, None] * margins).sum()) / float(w.sum())
    dx *= w[:, None]
    dx /= w.sum()
    return loss, dx


# --------------------------------------------------------------------------------------------
# Regression: real targets
# --------------------------------------------------------------------------------------------


@IEEE
def mse_loss(x: Array, y: Array, weights: Array | None = None) -> tuple[float, Array]:
    """Half mean squared error: ``l_i = 0.5 * mean_k (x_ik - y_ik)^2``.

    Inputs:
    - x: predictions, of shape (m, k).
    - y: targets, finite, of shape (m, k), or (m,) when k == 1.
    - weights: None, or per-example weights of shape (m,).

    Returns (loss, dx) with dx = (x - y) / k per example (the 0.5 cancels the square's 2), then
    averaged, of shape (m, k). Unweighted, the loss is scikit-learn's
    ``mean_squared_error(y, x) / 2`` (its MLP's ``squared_loss``).
    """
    x = _check_outputs("mse_loss", x, "predictions")
    y = _check_targets("mse_loss", x, y)
    w = None if weights is None else _check_weights("mse_loss", weights, x.shape[0], x.dtype)
    k = x.shape[1]
    r = x - y
    per_example = 0.5 * (r * r).mean(axis=1)
    return _mean_over_examples(per_example, r / k, w)


@IEEE
def mae_loss(x: Array, y: Array, weights: Array | None = None) -> tuple[float, Array]:
    """Mean absolute error: ``l_i = mean_k |x_ik - y_ik|``.

    Inputs: x predictions (m, k); y finite targets (m, k), or (m,) when k == 1; weights None
    or (m,).

    Returns (loss, dx) with dx of shape (m, k): per example ``sign(x - y) / k``. |r| has no
    derivative at r = 0; there dx is exactly 0, a subgradient (any value in [-1/k, 1/k]
    would be one), the choice that leaves a perfect prediction where it is.
    """
    x = _check_outputs("mae_loss", x, "predictions")
    y = _check_targets("mae_loss", x, y)
    w = None if weights is None else _check_weights("mae_loss", weights, x.shape[0], x.dtype)
    k = x.shape[1]
    r = x - y
    per_example = np.abs(r).mean(axis=1)
    return _mean_over_examples(per_example, np.sign(r) / k, w)


@IEEE
def huber_loss(
    x: Array, y: Array, weights: Array | None = None, delta: float = 1.0
) -> tuple[float, Array]:
    """Huber loss: squared near the target, absolute far from it.

    With r = x - y: ``h(r) = 0.5 r^2`` if ``|r| <= delta``, else ``delta * (|r| - delta / 2)``
    (the two pieces meet with equal value and slope at |r| = delta); ``l_i = mean_k h(r_ik)``.

    Inputs: x predictions (m, k); y finite targets (m, k), or (m,) when k == 1; weights None
    or (m,); delta: the threshold, a finite number > 0.

    Returns (loss, dx) with dx of shape (m, k): per example ``clip(r, -delta, delta) / k``, so
    an outlier pulls with a force of at most delta instead of its whole residual.
    """
    x = _check_outputs("huber_loss", x, "predictions")
    y = _check_targets("huber_loss", x, y)
    w = None if weights is None else _check_weights("huber_loss", weights, x.shape[0], x.dtype)
    try:
        delta = check_number("delta", delta, 0.0, strict=True)
    except ConfigError as e:
        raise ConfigError(f"huber_loss: {e}", "delta") from None
    # delta in x's dtype, so a Python float does not decide the precision; one too large for
    # float16 becomes inf, which correctly leaves every residual on the quadratic piece.
    d = x.dtype.type(delta)
    k = x.shape[1]
    r = x - y
    a = np.abs(r)
    h = np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))
    return _mean_over_examples(h.mean(axis=1), np.clip(r, -d, d) / k, w)


# --------------------------------------------------------------------------------------------
# Multi-label: independent 0/1 targets
# --------------------------------------------------------------------------------------------


@IEEE
def sigmoid_cross_entropy_loss(
    x: Array, y: Array, weights: Array | None = None
) -> tuple[float, Array]:
    """Binary cross-entropy of each logit against its own target, for multi-label outputs.

    ``l_i = mean_k [-y log s(x) - (1 - y) log(1 - s(x))]`` with the sigmoid s, computed as
    ``max(x, 0) - x * y + log1p(exp(-|x|))``: the same value rearranged so that exp never
    overflows and no log sees 0, so logits of +-1e4 give a finite loss without a warning.

    Inputs:
    - x: logits, of shape (m, k); column j is label j's own yes/no.
    - y: targets in [0, 1] (normally 0/1 indicators, booleans too; soft targets are
      allowed), of shape (m, k), or (m,) when k == 1.
    - weights: None, or per-example weights of shape (m,).

    Returns (loss, dx) with dx of shape (m, k): per example ``(s(x) - y) / k``.
    """
    where = "sigmoid_cross_entropy_loss"
    x = _check_outputs(where, x, "logits")
    y = _check_targets(where, x, y, low=0.0, high=1.0, bools=True)
    w = None if weights is None else _check_weights(where, weights, x.shape[0], x.dtype)
    k = x.shape[1]
    e = np.exp(-np.abs(x))  # in (0, 1]: shared by the loss and the sigmoid, never overflows
    per_example = (np.maximum(x, 0) - x * y + np.log1p(e)).mean(axis=1)
    # The stable sigmoid of layers.sigmoid_forward: two arrangements of 1 / (1 + exp(-x)),
    # each used on the side where it divides by a number in [1, 2].
    s = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return _mean_over_examples(per_example, (s - y) / k, w)


# --------------------------------------------------------------------------------------------
# By name
# --------------------------------------------------------------------------------------------

#: Every loss by the name a model, a recipe or the command line uses for it.
LOSSES: dict[str, LossFn] = {
    "softmax": softmax_loss,
    "svm": svm_loss,
    "mse": mse_loss,
    "mae": mae_loss,
    "huber": huber_loss,
    "sigmoid_cross_entropy": sigmoid_cross_entropy_loss,
}


def get_loss(name: str) -> LossFn:
    """The loss function called ``name`` in :data:`LOSSES`, or ConfigError listing them."""
    if isinstance(name, str) and name in LOSSES:
        return LOSSES[name]
    raise ConfigError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}", "loss")
