"""Losses (layerwise.losses): values by hand, numeric gradients in float64, the weighted mean,
input validation, numerical stability, dtypes, the table by name, and the old import path."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import mean_absolute_error, mean_squared_error

from layerwise import layers, losses
from layerwise.errors import ConfigError
from layerwise.gradient_check import eval_numerical_gradient, rel_error
from layerwise.losses import (
    LOSSES,
    get_loss,
    huber_loss,
    mae_loss,
    mse_loss,
    sigmoid_cross_entropy_loss,
    softmax_loss,
    svm_loss,
)

LN2, LN3, LN4_3 = np.log(2), np.log(3), np.log(4 / 3)
REGRESSION = [mse_loss, mae_loss, huber_loss]
EVERY = [softmax_loss, svm_loss, mse_loss, mae_loss, huber_loss, sigmoid_cross_entropy_loss]


def _problem(fn: Callable[..., Any], rng: np.random.Generator, m: int = 6, k: int = 4) -> Any:
    """Outputs x (m, k) and targets for ``fn``, away from every kink: residuals have
    0.2 <= |r| <= 3 and stay out of huber's 0.8 < |r| < 1.2 (delta = 1).

    Why no larger logits: a confidently right logit has a gradient ~1e-5, where a centred
    difference's rounding error (~1e-11) alone is a relative error of ~1e-6.
    """
    x = rng.standard_normal((m, k))
    if fn in (softmax_loss, svm_loss):
        return x, rng.integers(k, size=m)
    if fn is sigmoid_cross_entropy_loss:
        return x, rng.integers(2, size=(m, k)).astype(np.float64)
    size = rng.choice(np.r_[np.linspace(0.2, 0.8, 7), np.linspace(1.2, 3, 7)], size=(m, k))
    return x, x - size * rng.choice([-1.0, 1.0], size=(m, k))


# --------------------------------------------------------------------------------------------
# The classifiers, as they were in layers.py (their tests moved here with them)
# --------------------------------------------------------------------------------------------


def test_softmax_loss_matches_seed(rng):
    num_classes, num_inputs = 10, 50
    x = 0.001 * rng.standard_normal((num_inputs, num_classes))
    y = rng.integers(num_classes, size=num_inputs)
    dx_num = eval_numerical_gradient(lambda x: softmax_loss(x, y)[0], x, verbose=False)
    loss, dx = softmax_loss(x, y)
    assert abs(loss - np.log(10)) < 1e-2  # the seed prints 2.3026...
    assert rel_error(dx_num, dx) < 1e-7


def test_svm_loss_numeric(rng):
    num_classes, num_inputs = 10, 50
    x = 0.001 * rng.standard_normal((num_inputs, num_classes))
    y = rng.integers(num_classes, size=num_inputs)
    dx_num = eval_numerical_gradient(lambda x: svm_loss(x, y)[0], x, verbose=False)
    loss, dx = svm_loss(x, y)
    assert abs(loss - 9.0) < 1e-1  # tiny scores: every wrong class violates the margin by ~1
    assert rel_error(dx_num, dx) < 1e-8


def test_svm_loss_by_hand():
    x = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = np.array([0, 1, 2])
    loss, _ = svm_loss(x, y)
    # The CS231n lecture example: per-example losses 2.9, 0, 12.9.
    assert abs(loss - (2.9 + 0 + 12.9) / 3) < 1e-12


def test_softmax_loss_is_finite_for_confident_wrong_answers():
    x = np.array([[1000.0, -1000.0]])
    loss, dx = softmax_loss(x, np.array([1]))
    assert np.isfinite(loss) and abs(loss - 2000.0) < 1e-9
    assert np.all(np.isfinite(dx))


@pytest.mark.parametrize("loss_fn", [softmax_loss, svm_loss])
@pytest.mark.parametrize(
    ("y", "match"),
    [
        (np.array([0, 3]), "label 3 is outside the valid range 0..2"),
        (np.array([0, -1]), "label -1"),
        (np.array([0]), r"shape \(2,\)"),
        (np.array([0.5, 1.0]), "integers"),
    ],
)
def test_losses_validate_labels(loss_fn, y, match):
    with pytest.raises(ValueError, match=match):
        loss_fn(np.zeros((2, 3)), y)


@settings(max_examples=30, deadline=None)
@given(
    x=arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(2, 6)),
        elements=st.floats(-50, 50),
    ),
    data=st.data(),
)
def test_softmax_gradient_rows_sum_to_zero(x, data):
    y = np.array(
        data.draw(st.lists(st.integers(0, x.shape[1] - 1), min_size=len(x), max_size=len(x)))
    )
    loss, dx = softmax_loss(x, y)
    assert loss >= 0
    assert dx.shape == x.shape
    np.testing.assert_allclose(dx.sum(axis=1), 0, atol=1e-12)


def _softmax_loss_before_weights(x, y):
    """softmax_loss as layers.py had it, verbatim: the unweighted path must match it bit for
    bit (the seeded training runs, tests/test_seeded_runs.py, record hashes of weights)."""
    m = x.shape[0]
    rows = np.arange(m)
    shifted = x - x.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_norm
    loss = -float(log_probs[rows, y].sum()) / m
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    dx /= m
    return loss, dx


def _svm_loss_before_weights(x, y):
    """svm_loss as layers.py had it, verbatim."""
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("fn", "before"),
    [(softmax_loss, _softmax_loss_before_weights), (svm_loss, _svm_loss_before_weights)],
)
def test_unweighted_classifiers_are_bit_identical_to_before(rng, dtype, fn, before):
    x = (3 * rng.standard_normal((37, 10))).astype(dtype)
    y = rng.integers(10, size=37)
    loss, dx = fn(x, y)
    old_loss, old_dx = before(x.copy(), y)
    assert loss == old_loss
    assert dx.dtype == old_dx.dtype == dtype
    np.testing.assert_array_equal(dx, old_dx)


# --------------------------------------------------------------------------------------------
# Numeric gradients (float64), with and without weights
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("fn", EVERY, ids=lambda f: f.__name__)
def test_gradient_matches_numeric(rng, fn, weighted):
    x, y = _problem(fn, rng)
    w = rng.uniform(0.1, 3.0, size=len(x)) if weighted else None
    loss, dx = fn(x, y, w)
    numeric = eval_numerical_gradient(lambda v: fn(v, y, w)[0], x, verbose=False)
    assert isinstance(loss, float) and dx.shape == x.shape
    assert rel_error(dx, numeric) < 1e-7


def test_huber_gradient_matches_numeric_for_another_delta(rng):
    x = rng.standard_normal((5, 3))
    r = rng.choice([-4.0, -2.5, -0.7, -0.2, 0.3, 1.1, 2.6, 3.9], size=(5, 3))  # delta = 2
    y, w = x - r, rng.uniform(0.1, 3.0, size=5)
    _, dx = huber_loss(x, y, w, delta=2.0)
    numeric = eval_numerical_gradient(lambda v: huber_loss(v, y, w, delta=2.0)[0], x, False)
    assert rel_error(dx, numeric) < 1e-7


# --------------------------------------------------------------------------------------------
# Values by hand, on 2 x 2 examples
# --------------------------------------------------------------------------------------------

X_REG = np.array([[1.0, 2.0], [3.0, 4.0]])
Y_REG = np.array([[0.0, 2.0], [5.0, 1.0]])  # residuals x - y: [[1, 0], [-2, 3]]


def test_softmax_by_hand():
    # Row 0: p = (1/2, 1/2), label 0: -log 1/2. Row 1: p = (3/4, 1/4), label 1: -log 1/4.
    x = np.array([[0.0, 0.0], [LN3, 0.0]])
    loss, dx = softmax_loss(x, np.array([0, 1]))
    assert loss == pytest.approx((LN2 + 2 * LN2) / 2, rel=1e-14)
    # (p - onehot) / m.
    np.testing.assert_allclose(dx, [[-0.25, 0.25], [0.375, -0.375]], rtol=1e-14)
    # Weights 1 and 3: (1 * ln 2 + 3 * ln 4) / 4, rows scaled by 1/4 and 3/4.
    loss, dx = softmax_loss(x, np.array([0, 1]), np.array([1.0, 3.0]))
    assert loss == pytest.approx((LN2 + 3 * 2 * LN2) / 4, rel=1e-14)
    np.testing.assert_allclose(dx, [[-0.125, 0.125], [0.5625, -0.5625]], rtol=1e-14)


def test_svm_by_hand():
    # Row 0: margin 0.5 - 2 + 1 < 0, no loss. Row 1: 2 - 0 + 1 = 3.
    x = np.array([[2.0, 0.5], [0.0, 2.0]])
    y = np.array([0, 0])
    loss, dx = svm_loss(x, y)
    assert loss == 1.5
    np.testing.assert_array_equal(dx, [[0, 0], [-0.5, 0.5]])
    loss, dx = svm_loss(x, y, np.array([3.0, 1.0]))
    assert loss == pytest.approx(0.75, rel=1e-15)  # (3 * 0 + 1 * 3) / 4
    np.testing.assert_allclose(dx, [[0, 0], [-0.25, 0.25]], rtol=1e-15)


def test_mse_by_hand():
    loss, dx = mse_loss(X_REG, Y_REG)
    # l_0 = 0.5 * (1 + 0) / 2 = 0.25, l_1 = 0.5 * (4 + 9) / 2 = 3.25.
    assert loss == 1.75
    np.testing.assert_array_equal(dx, [[0.25, 0.0], [-0.5, 0.75]])  # r / (k m)
    # Weighted values are not exact: the weights are rescaled to [1/3, 1] first.
    loss, dx = mse_loss(X_REG, Y_REG, np.array([1.0, 3.0]))
    assert loss == pytest.approx((0.25 + 3 * 3.25) / 4, rel=1e-15)
    np.testing.assert_allclose(dx, [[0.125, 0.0], [-0.75, 1.125]], rtol=1e-15)  # r/k * w_i/4


def test_mae_by_hand():
    loss, dx = mae_loss(X_REG, Y_REG)
    assert loss == 1.5  # (0.5 + 2.5) / 2
    # sign(r) / (k m); the residual 0 has gradient exactly 0 (the subgradient chosen).
    np.testing.assert_array_equal(dx, [[0.25, 0.0], [-0.25, 0.25]])
    loss, dx = mae_loss(X_REG, Y_REG, np.array([1.0, 3.0]))
    assert loss == pytest.approx((0.5 + 3 * 2.5) / 4, rel=1e-15)
    np.testing.assert_allclose(dx, [[0.125, 0.0], [-0.375, 0.375]], rtol=1e-15)


def test_huber_by_hand():
    x = np.array([[0.5, -2.0], [3.0, 0.0]])  # targets 0: r = x
    y = np.zeros((2, 2))
    # delta 1: h = [[0.125, 1 * (2 - 0.5)], [1 * (3 - 0.5), 0]]: l = [0.8125, 1.25].
    loss, dx = huber_loss(x, y)
    assert loss == 1.03125
    np.testing.assert_array_equal(dx, [[0.125, -0.25], [0.25, 0.0]])  # clip(r, -1, 1) / 4
    # delta 2: h = [[0.125, 0.5 * 4], [2 * (3 - 1), 0]]: l = [1.0625, 2].
    loss, dx = huber_loss(x, y, delta=2.0)
    assert loss == 1.53125
    np.testing.assert_array_equal(dx, [[0.125, -0.5], [0.5, 0.0]])
    loss, _ = huber_loss(x, y, np.array([1.0, 3.0]))
    assert loss == pytest.approx((0.8125 + 3 * 1.25) / 4, rel=1e-15)


def test_huber_pieces_meet_at_delta():
    r = np.array([[1.0 - 1e-9, 1.0 + 1e-9]])
    loss, dx = huber_loss(r, np.zeros_like(r))
    assert loss == pytest.approx(0.5, abs=1e-8)
    np.testing.assert_allclose(dx, [[0.5, 0.5]], atol=1e-8)


def test_huber_with_a_huge_delta_is_mse():
    x, y = X_REG, Y_REG
    np.testing.assert_allclose(huber_loss(x, y, delta=1e6)[0], mse_loss(x, y)[0], rtol=1e-15)
    np.testing.assert_allclose(huber_loss(x, y, delta=1e6)[1], mse_loss(x, y)[1], rtol=1e-15)


def test_sigmoid_cross_entropy_by_hand():
    # sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4, sigmoid(-ln 3) = 1/4.
    x = np.array([[0.0, LN3], [-LN3, 0.0]])
    y = np.array([[1.0, 1.0], [0.0, 1.0]])
    loss, dx = sigmoid_cross_entropy_loss(x, y)
    # Each row: -log(1/2) and -log(3/4) (row 1: -log(1 - 1/4) and -log(1/2)).
    assert loss == pytest.approx((LN2 + LN4_3) / 2, rel=1e-14)
    np.testing.assert_allclose(dx, np.array([[-0.5, -0.25], [0.25, -0.5]]) / 4, rtol=1e-14)
    # 0/1 targets or soft ones: y = 1/2 at logit 0 is log 2, its minimum, gradient 0.
    loss, dx = sigmoid_cross_entropy_loss(np.zeros((1, 1)), np.array([0.5]))
    assert loss == pytest.approx(LN2, rel=1e-15) and dx[0, 0] == 0


# --------------------------------------------------------------------------------------------
# The weighted mean
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("c", [1.0, 3.7, 1e-300, 1e300, 2])
@pytest.mark.parametrize("fn", EVERY, ids=lambda f: f.__name__)
def test_equal_weights_give_the_unweighted_result_exactly(rng, fn, c):
    x, y = _problem(fn, rng, m=9, k=5)
    loss, dx = fn(x, y)
    w_loss, w_dx = fn(x, y, np.full(9, c))
    assert w_loss == loss  # bit for bit: equal weights are rescaled to exactly 1.0
    np.testing.assert_array_equal(w_dx, dx)


@pytest.mark.parametrize("fn", EVERY, ids=lambda f: f.__name__)
def test_a_zero_weight_drops_its_example(rng, fn):
    x, y = _problem(fn, rng, m=7)
    w = rng.uniform(0.5, 2.0, size=7)
    w[[1, 4]] = 0
    keep = w > 0
    loss, dx = fn(x, y, w)
    kept_loss, kept_dx = fn(x[keep], y[keep], w[keep])
    assert loss == pytest.approx(kept_loss, rel=1e-13)
    np.testing.assert_array_equal(dx[~keep], 0)
    np.testing.assert_allclose(dx[keep], kept_dx, rtol=1e-13)


@pytest.mark.parametrize("fn", EVERY, ids=lambda f: f.__name__)
def test_integer_weights_count_examples(rng, fn):
    # Weight 2 is the example given twice.
    x, y = _problem(fn, rng, m=4)
    loss, dx = fn(x, y, [2, 1, 1, 1])
    twice_loss, twice_dx = fn(np.r_[x, x[:1]], np.r_[y, y[:1]])
    assert loss == pytest.approx(twice_loss, rel=1e-13)
    np.testing.assert_allclose(dx[0], twice_dx[0] + twice_dx[4], rtol=1e-13)
    np.testing.assert_allclose(dx[1:], twice_dx[1:4], rtol=1e-13)


def test_mse_and_mae_equal_scikit_learn(rng):
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 3))
    w = rng.uniform(0.0, 2.0, size=8)
    assert mse_loss(x, y)[0] == pytest.approx(mean_squared_error(y, x) / 2, rel=1e-14)
    assert mse_loss(x, y, w)[0] == pytest.approx(
        mean_squared_error(y, x, sample_weight=w) / 2, rel=1e-14
    )
    assert mae_loss(x, y)[0] == pytest.approx(mean_absolute_error(y, x), rel=1e-14)
    assert mae_loss(x, y, w)[0] == pytest.approx(
        mean_absolute_error(y, x, sample_weight=w), rel=1e-14
    )
    # One target: (m,) targets against (m, 1) predictions.
    assert mse_loss(x[:, :1], y[:, 0])[0] == pytest.approx(
        mean_squared_error(y[:, 0], x[:, 0]) / 2, rel=1e-14
    )


def test_mse_equals_scikit_learns_mlp_squared_loss(rng):
    base = pytest.importorskip("sklearn.neural_network._base")  # private: may move
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 3))
    w = rng.uniform(0.0, 2.0, size=8)
    assert mse_loss(x, y)[0] == pytest.approx(base.squared_loss(y, x), rel=1e-14)
    assert mse_loss(x, y, w)[0] == pytest.approx(base.squared_loss(y, x, w), rel=1e-14)


def test_the_scale_does_not_depend_on_k(rng):
    # The same residuals repeated in more columns: the same loss (a mean over k, not a sum).
    x, y = rng.standard_normal((4, 1)), rng.standard_normal((4, 1))
    for fn in [*REGRESSION, sigmoid_cross_entropy_loss]:
        yy = (y > 0).astype(float) if fn is sigmoid_cross_entropy_loss else y
        one = fn(x, yy)[0]
        assert fn(np.tile(x, 5), np.tile(yy, 5))[0] == pytest.approx(one, rel=1e-14)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        (np.ones(3), r"weights must have shape \(4,\), one per example.*got shape \(3,\)"),
        (np.ones((4, 1)), r"weights must have shape \(4,\).*got shape \(4, 1\)"),
        (np.array([1.0, -0.5, 1.0, 1.0]), r"weights\[1\] = -0.5"),
        (np.array([1.0, 1.0, np.nan, 1.0]), r"finite numbers >= 0; got weights\[2\] = nan"),
        (np.array([np.inf, 1.0, 1.0, 1.0]), r"weights\[0\] = inf"),
        (np.zeros(4), "weights are all zero"),
        ([0, 0, 0, 0], "weights are all zero"),
        ("abcd", "weights must be an array of numbers; got 'abcd'"),
        (["a", "b", "c", "d"], "weights must hold real numbers"),
        (np.ones(4, dtype=complex), "weights must hold real numbers"),
        (np.ones(4, dtype=bool), "weights must hold real numbers"),
        ([[1, 2], [3]], "weights is not an array of numbers"),
    ],
)
@pytest.mark.parametrize("fn", EVERY, ids=lambda f: f.__name__)
def test_bad_weights_are_refused(rng, fn, weights, match):
    x, y = _problem(fn, rng, m=4)
    with pytest.raises(ConfigError, match=match) as info:
        fn(x, y, weights)
    assert info.value.field == "weights"
    assert str(info.value).startswith(fn.__name__ + ": ")


@pytest.mark.parametrize("fn", [*REGRESSION, sigmoid_cross_entropy_loss], ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("x", "y", "field", "match"),
    [
        (np.zeros((2, 3)), np.zeros((3, 2)), "y", r"y \(targets\) must have shape \(2, 3\)"),
        (np.zeros((2, 3)), np.zeros(2), "y", r"shape \(2, 3\) like x; got shape \(2,\)"),
        (np.zeros((2, 1)), np.zeros(3), "y", r"\(2, 1\) like x, or \(2,\); got shape \(3,\)"),
        (np.zeros((2, 2)), [[0, np.nan], [0, 0]], "y", r"y\[0, 1\] = nan"),
        (np.zeros((2, 2)), "ab", "y", "y must be an array of numbers"),
        (np.zeros(2), np.zeros(2), "x", r"x \(\w+\) must have shape \(m, k\).*got shape \(2,\)"),
        (np.zeros((0, 2)), np.zeros((0, 2)), "x", r"m, k >= 1; got shape \(0, 2\)"),
        (np.zeros((2, 0)), np.zeros((2, 0)), "x", r"m, k >= 1; got shape \(2, 0\)"),
        ([["a"]], [[0]], "x", "x must hold real numbers"),
    ],
)
def test_bad_outputs_and_targets_are_refused(fn, x, y, field, match):
    with pytest.raises(ConfigError, match=match) as info:
        fn(x, y)
    assert info.value.field == field


@pytest.mark.parametrize("fn", REGRESSION, ids=lambda f: f.__name__)
def test_regression_targets_must_be_finite(fn):
    with pytest.raises(ConfigError, match=r"finite numbers; got y\[1, 0\] = inf"):
        fn(np.zeros((2, 2)), [[0, 0], [np.inf, 0]])
    # Finite in float64 but not in the float32 of x: refused rather than turned into inf.
    with pytest.raises(ConfigError, match=r"finite in float32.*y\[0, 0\] = 1e\+39"):
        fn(np.zeros((1, 1), np.float32), np.array([1e39]))
    # Huge but finite targets are fine in float64, whatever they do to the loss.
    assert fn(np.zeros((1, 1)), np.array([1e300]))[1].dtype == np.float64


@pytest.mark.parametrize("bad", [2.0, -0.5, np.nan, np.inf])
def test_sigmoid_targets_must_be_within_0_and_1(bad):
    with pytest.raises(ConfigError, match=r"within \[0, 1\]; got y\[1, 1\] = ") as info:
        sigmoid_cross_entropy_loss(np.zeros((2, 2)), [[0, 1], [1, bad]])
    assert info.value.field == "y"


def test_sigmoid_targets_may_be_booleans_regression_targets_not():
    x = np.array([[0.5, -1.0], [2.0, 0.0]])
    y = np.array([[True, False], [False, True]])
    loss, dx = sigmoid_cross_entropy_loss(x, y)
    ref_loss, ref_dx = sigmoid_cross_entropy_loss(x, y.astype(float))
    assert loss == ref_loss
    np.testing.assert_array_equal(dx, ref_dx)
    with pytest.raises(ConfigError, match="y must hold real numbers; got dtype bool"):
        mse_loss(x, y)


@pytest.mark.parametrize("delta", [0, 0.0, -1.0, np.nan, np.inf, "1", True, None, 10**400])
def test_huber_delta_must_be_a_finite_positive_number(delta):
    with pytest.raises(ConfigError, match=r"huber_loss: delta must be a finite number > 0") as e:
        huber_loss(np.zeros((1, 1)), np.zeros(1), delta=delta)
    assert e.value.field == "delta"


def test_one_target_may_be_given_as_a_vector():
    x = np.array([[1.0], [2.0], [3.0]])
    for fn in REGRESSION:
        np.testing.assert_array_equal(fn(x, [0, 0, 0])[1], fn(x, np.zeros((3, 1)))[1])
    vector, column = (
        sigmoid_cross_entropy_loss(x, [1, 0, 1]),
        sigmoid_cross_entropy_loss(x, [[1], [0], [1]]),
    )
    assert vector[0] == column[0]
    np.testing.assert_array_equal(vector[1], column[1])


# --------------------------------------------------------------------------------------------
# Stability and dtypes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_cross_entropy_is_stable_for_huge_logits(dtype):
    x = np.array([[1e4, -1e4], [1e4, -1e4]], dtype=dtype)
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        loss, dx = sigmoid_cross_entropy_loss(x, y)
    # Row 0 is wrong by 1e4 in both labels, row 1 right: log1p(exp(-1e4)) is 0.
    assert np.isfinite(loss) and loss == pytest.approx(1e4 / 2, rel=1e-6)
    assert dx.dtype == dtype and np.all(np.isfinite(dx))
    np.testing.assert_array_equal(dx, np.array([[1, -1], [0, 0]], dtype=dtype) / 4)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("fn", EVERY, ids=lambda f: f.__name__)
def test_float32_in_float32_out(rng, fn, weighted):
    x, y = _problem(fn, rng)
    w = rng.uniform(0.5, 2.0, size=len(x)) if weighted else None  # float64 weights
    loss, dx = fn(x.astype(np.float32), y, w)  # float64 targets, too
    assert dx.dtype == np.float32 and isinstance(loss, float)
    ref_loss, ref_dx = fn(x, y, w)
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("fn", EVERY, ids=lambda f: f.__name__)
def test_integer_outputs_are_computed_in_float64(rng, fn):
    _, y = _problem(fn, rng, m=3, k=2)
    _, dx = fn(np.array([[1, 0], [0, 1], [2, -1]]), y)
    assert dx.dtype == np.float64


# --------------------------------------------------------------------------------------------
# By name, and the old import path
# --------------------------------------------------------------------------------------------


def test_losses_by_name():
    assert list(LOSSES) == ["softmax", "svm", "mse", "mae", "huber", "sigmoid_cross_entropy"]
    assert all(get_loss(name) is fn for name, fn in LOSSES.items())
    assert get_loss("huber") is huber_loss


@pytest.mark.parametrize("name", ["hinge", "MSE", "", None, ["mse"], 3])
def test_an_unknown_loss_lists_the_names(name):
    with pytest.raises(ConfigError, match="choose one of softmax, svm, mse, mae, huber, sig") as e:
        get_loss(name)
    assert repr(name) in str(e.value) and e.value.field == "loss"


def test_layers_still_serves_the_classifier_losses():
    assert layers.softmax_loss is losses.softmax_loss
    assert layers.svm_loss is losses.svm_loss
    namespace: dict[str, Any] = {}
    exec("from layerwise.layers import *", namespace)  # the seed notebook's import
    assert namespace["softmax_loss"] is softmax_loss and namespace["svm_loss"] is svm_loss
    assert "affine_forward" in namespace
    with pytest.raises(AttributeError, match="has no attribute 'mse_loss'"):
        _ = layers.mse_loss  # only the two that used to live there
