"""Layers: the seed's exact values, numeric gradient checks in float64, and input validation.

The losses' tests are in test_losses.py."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerwise.gradient_check import (
    eval_numerical_gradient_array,
    rel_error,
)
from layerwise.layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
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


def test_affine_forward_matches_seed_value():
    # The seed's (and CS231n's) affine test: its printed difference is ~9.77e-10.
    num_inputs, input_shape, output_dim = 2, (4, 5, 6), 3
    input_size = num_inputs * np.prod(input_shape)
    weight_size = output_dim * np.prod(input_shape)
    x = np.linspace(-0.1, 0.5, num=input_size).reshape(num_inputs, *input_shape)
    theta = np.linspace(-0.2, 0.3, num=weight_size).reshape(np.prod(input_shape), output_dim)
    theta0 = np.linspace(-0.3, 0.1, num=output_dim)
    out, _ = affine_forward(x, theta, theta0)
    correct_out = np.array(
        [[1.49834967, 1.70660132, 1.91485297], [3.25553199, 3.5141327, 3.77273342]]
    )
    assert rel_error(out, correct_out) < 1e-9
    assert out.shape == (2, 3)


def test_affine_backward_numeric(rng):
    x = rng.standard_normal((10, 2, 3))
    theta = rng.standard_normal((6, 5))
    theta0 = rng.standard_normal(5)
    dout = rng.standard_normal((10, 5))
    dx_num = eval_numerical_gradient_array(lambda x: affine_forward(x, theta, theta0)[0], x, dout)
    dt_num = eval_numerical_gradient_array(lambda t: affine_forward(x, t, theta0)[0], theta, dout)
    db_num = eval_numerical_gradient_array(lambda b: affine_forward(x, theta, b)[0], theta0, dout)
    _, cache = affine_forward(x, theta, theta0)
    dx, dtheta, dtheta0 = affine_backward(dout, cache)
    assert dx.shape == x.shape and dtheta.shape == theta.shape and dtheta0.shape == theta0.shape
    assert rel_error(dx_num, dx) < 1e-9
    assert rel_error(dt_num, dtheta) < 1e-9
    assert rel_error(db_num, dtheta0) < 1e-9


def test_affine_backward_bias_per_example(rng):
    # The seed's cell passes theta0 of shape (m, h); its gradient must keep that shape.
    x = rng.standard_normal((10, 2, 3))
    theta = rng.standard_normal((6, 5))
    theta0 = rng.standard_normal((10, 5))
    dout = rng.standard_normal((10, 5))
    db_num = eval_numerical_gradient_array(lambda b: affine_forward(x, theta, b)[0], theta0, dout)
    _, cache = affine_forward(x, theta, theta0)
    _, _, dtheta0 = affine_backward(dout, cache)
    assert dtheta0.shape == theta0.shape
    assert rel_error(db_num, dtheta0) < 1e-9


def test_affine_forward_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(6, h\)"):
        affine_forward(np.zeros((2, 3, 2)), np.zeros((5, 4)), np.zeros(4))


def test_relu_forward_matches_seed_value():
    x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
    out, _ = relu_forward(x)
    correct_out = np.array(
        [
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.04545455, 0.13636364],
            [0.22727273, 0.31818182, 0.40909091, 0.5],
        ]
    )
    assert rel_error(out, correct_out) < 1e-7


@pytest.mark.parametrize(
    ("forward", "backward"),
    [
        (relu_forward, relu_backward),
        (sigmoid_forward, sigmoid_backward),
        (tanh_forward, tanh_backward),
    ],
    ids=["relu", "sigmoid", "tanh"],
)
def test_activation_backward_numeric(rng, forward, backward):
    x = rng.standard_normal((10, 10))
    # Keep ReLU inputs away from the kink at 0, where centred differences are wrong.
    x[np.abs(x) < 1e-3] = 0.1
    dout = rng.standard_normal(x.shape)
    dx_num = eval_numerical_gradient_array(lambda x: forward(x)[0], x, dout)
    _, cache = forward(x)
    dx = backward(dout, cache)
    assert rel_error(dx_num, dx) < 1e-9


def test_sigmoid_and_tanh_are_stable_for_huge_inputs():
    x = np.array([-1e4, -800.0, 0.0, 800.0, 1e4])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s, _ = sigmoid_forward(x)
        t, _ = tanh_forward(x)
    np.testing.assert_allclose(s, [0.0, 0.0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(t, [-1.0, -1.0, 0.0, 1.0, 1.0])
    assert s.dtype == x.dtype


def test_sigmoid_keeps_float32():
    out, _ = sigmoid_forward(np.ones((2, 2), dtype=np.float32))
    assert out.dtype == np.float32


def test_backward_rejects_wrong_dout_shape():
    _, cache = relu_forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match="dout has shape"):
        relu_backward(np.ones((3, 2)), cache)


@settings(max_examples=30, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3)),
    h=st.integers(1, 5),
)
def test_affine_shapes_for_any_input_shape(shape, h):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    d = int(np.prod(shape[1:]))
    theta, theta0 = rng.standard_normal((d, h)), rng.standard_normal(h)
    out, cache = affine_forward(x, theta, theta0)
    assert out.shape == (shape[0], h)
    dx, dtheta, dtheta0 = affine_backward(np.ones_like(out), cache)
    assert dx.shape == x.shape and dtheta.shape == theta.shape and dtheta0.shape == (h,)


# --------------------------------------------------------------------------------------------
# Leaky ReLU, dropout, batch and layer normalisation


def test_leaky_relu_values_and_gradient(rng):
    x = np.array([[-2.0, -0.5, 0.5, 3.0]])
    out, _ = leaky_relu_forward(x, {"slope": 0.1})
    np.testing.assert_allclose(out, [[-0.2, -0.05, 0.5, 3.0]])
    x = rng.standard_normal((6, 7))
    x[np.abs(x) < 1e-3] = 0.1
    dout = rng.standard_normal(x.shape)
    param = {"slope": 0.2}
    dx_num = eval_numerical_gradient_array(lambda x: leaky_relu_forward(x, param)[0], x, dout)
    _, cache = leaky_relu_forward(x, param)
    assert rel_error(dx_num, leaky_relu_backward(dout, cache)) < 1e-9


def test_leaky_relu_rejects_negative_slope():
    with pytest.raises(ValueError, match="slope"):
        leaky_relu_forward(np.ones(2), {"slope": -1})


@pytest.mark.parametrize("p", [0.25, 0.4, 0.7])
def test_dropout_statistics(p):
    x = np.random.default_rng(0).standard_normal((500, 500)) + 10
    out, _ = dropout_forward(x, {"mode": "train", "p": p, "seed": 123})
    dropped = np.mean(out == 0)
    # 250,000 Bernoulli draws: the standard deviation of the fraction is < 0.001.
    assert abs(dropped - p) < 0.005
    assert abs(out.mean() - x.mean()) / x.mean() < 0.01  # inverted dropout keeps the mean
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p))
    test_out, _ = dropout_forward(x, {"mode": "test", "p": p})
    np.testing.assert_array_equal(test_out, x)


def test_dropout_seed_fixes_the_mask_and_spares_the_global_stream():
    np.random.seed(1)
    state = np.random.get_state()[1].copy()
    x = np.ones((20, 30))
    a, _ = dropout_forward(x, {"mode": "train", "p": 0.5, "seed": 7})
    b, _ = dropout_forward(x, {"mode": "train", "p": 0.5, "seed": 7})
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    gen = np.random.default_rng(3)
    c, _ = dropout_forward(x, {"mode": "train", "p": 0.5, "rng": gen})
    d, _ = dropout_forward(x, {"mode": "train", "p": 0.5, "rng": gen})
    assert not np.array_equal(c, d)  # a generator gives a fresh mask each call


def test_dropout_backward_numeric(rng):
    x = rng.standard_normal((10, 10)) + 10
    dout = rng.standard_normal(x.shape)
    param = {"mode": "train", "p": 0.2, "seed": 123}
    dx_num = eval_numerical_gradient_array(lambda x: dropout_forward(x, param)[0], x, dout)
    _, cache = dropout_forward(x, param)
    assert rel_error(dx_num, dropout_backward(dout, cache)) < 1e-10
    _, cache = dropout_forward(x, {"mode": "test", "p": 0.2})
    np.testing.assert_array_equal(dropout_backward(dout, cache), dout)


@pytest.mark.parametrize("param", [{"p": 1.0}, {"p": -0.1}, {"p": 0.5, "mode": "eval"}])
def test_dropout_validates(param):
    with pytest.raises(ValueError, match="dropout"):
        dropout_forward(np.ones(3), param)


def test_dropout_keeps_float32():
    out, _ = dropout_forward(np.ones((4, 4), np.float32), {"mode": "train", "p": 0.5, "seed": 0})
    assert out.dtype == np.float32


def test_batchnorm_train_normalises_and_tracks_running_stats(rng):
    x = 5 + 3 * rng.standard_normal((200, 3))
    gamma, beta = np.array([1.0, 2.0, 3.0]), np.array([0.0, -1.0, 4.0])
    bn_param: dict = {"mode": "train"}
    out, _ = batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), gamma, rtol=1e-4)
    # momentum 0.9 on the old value, starting from zeros
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(bn_param["running_var"], 0.1 * x.var(axis=0))


def test_batchnorm_test_mode_uses_running_stats(rng):
    gamma, beta = np.ones(4), np.zeros(4)
    bn_param: dict = {"mode": "train"}
    for _ in range(200):
        batchnorm_forward(2 + 3 * rng.standard_normal((50, 4)), gamma, beta, bn_param)
    bn_param["mode"] = "test"
    x = 2 + 3 * rng.standard_normal((500, 4))
    out, _ = batchnorm_forward(x, gamma, beta, bn_param)
    assert np.all(np.abs(out.mean(axis=0)) < 0.2)
    assert np.all(np.abs(out.std(axis=0) - 1) < 0.15)
    single, _ = batchnorm_forward(x[:1], gamma, beta, bn_param)  # one example works in test
    np.testing.assert_allclose(single, out[:1])


@pytest.mark.parametrize("mode", ["train", "test"])
def test_batchnorm_backward_numeric(rng, mode):
    m, D = 4, 5
    x = 5 * rng.standard_normal((m, D)) + 12
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    dout = rng.standard_normal((m, D))
    stats = {"running_mean": rng.standard_normal(D), "running_var": rng.random(D) + 0.5}

    def fwd(x, g, b):
        return batchnorm_forward(
            x, g, b, {"mode": mode, **{k: v.copy() for k, v in stats.items()}}
        )[0]

    dx_num = eval_numerical_gradient_array(lambda x: fwd(x, gamma, beta), x, dout)
    dg_num = eval_numerical_gradient_array(lambda g: fwd(x, g, beta), gamma, dout)
    db_num = eval_numerical_gradient_array(lambda b: fwd(x, gamma, b), beta, dout)
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": mode, **stats})
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    assert rel_error(dx_num, dx) < 1e-7
    assert rel_error(dg_num, dgamma) < 1e-9
    assert rel_error(db_num, dbeta) < 1e-9


def test_batchnorm_requires_mode():
    with pytest.raises(ValueError, match="mode"):
        batchnorm_forward(np.ones((2, 2)), np.ones(2), np.zeros(2), {})


def test_layernorm_normalises_each_example_and_backward_numeric(rng):
    m, D = 4, 6
    x = 5 * rng.standard_normal((m, D)) + 12
    out, _ = layernorm_forward(x, np.ones(D), np.zeros(D))
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=1), 1, rtol=1e-4)
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    dout = rng.standard_normal((m, D))
    dx_num = eval_numerical_gradient_array(lambda x: layernorm_forward(x, gamma, beta)[0], x, dout)
    dg_num = eval_numerical_gradient_array(lambda g: layernorm_forward(x, g, beta)[0], gamma, dout)
    db_num = eval_numerical_gradient_array(lambda b: layernorm_forward(x, gamma, b)[0], beta, dout)
    _, cache = layernorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = layernorm_backward(dout, cache)
    assert rel_error(dx_num, dx) < 1e-7
    assert rel_error(dg_num, dgamma) < 1e-9
    assert rel_error(db_num, dbeta) < 1e-9


def test_norm_layers_check_shapes():
    with pytest.raises(ValueError, match="gamma"):
        layernorm_forward(np.ones((2, 3)), np.ones(2), np.zeros(3))


def test_dropout_of_an_integer_array_is_computed_in_floats():
    x = np.arange(1, 13).reshape(3, 4)
    out, _ = dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 0})
    assert out.dtype == np.float64 and np.isfinite(out).all()
    assert set(np.unique(out / x)) <= {0.0, 2.0}


@pytest.mark.parametrize("mode", ["train", "test"])
def test_dropout_backward_refuses_a_dout_that_is_not_numbers(mode):
    """Found by tests/test_fuzz.py: an object array reached the multiplication by the mask."""
    from layerwise.errors import ConfigError
    from layerwise.layers import dropout_backward, dropout_forward

    _, cache = dropout_forward(np.zeros((2, 3)), {"mode": mode, "p": 0.5, "seed": 0})
    with pytest.raises(ConfigError, match=r"dropout_backward.*dout"):
        dropout_backward(np.array([None] * 6, dtype=object).reshape(2, 3), cache)
    if mode == "train":
        with pytest.raises(ConfigError, match="dout has shape"):
            dropout_backward(np.zeros((3, 2)), cache)
