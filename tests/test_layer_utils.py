"""Sandwich layers: numeric gradient checks for every affine-activation pair."""

import numpy as np
import pytest

from layerwise import layer_utils
from layerwise.gradient_check import eval_numerical_gradient_array, rel_error


def _named_or_generic(act):
    """The named pair (affine_relu_forward, ...) where one exists, else the generic one."""
    forward = getattr(layer_utils, f"affine_{act}_forward", None)
    backward = getattr(layer_utils, f"affine_{act}_backward", None)
    if forward is None:
        return (lambda x, w, b: layer_utils.affine_act_forward(x, w, b, act)), (
            layer_utils.affine_act_backward
        )
    return forward, backward


@pytest.mark.parametrize("act", sorted(layer_utils.ACTIVATIONS))
def test_affine_act_backward_numeric(rng, act):
    forward, backward = _named_or_generic(act)
    x = rng.standard_normal((2, 3, 4))
    theta = rng.standard_normal((12, 10))
    theta0 = rng.standard_normal(10)
    dout = rng.standard_normal((2, 10))
    out, cache = forward(x, theta, theta0)
    assert out.shape == (2, 10)
    dx, dtheta, dtheta0 = backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda x: forward(x, theta, theta0)[0], x, dout)
    dt_num = eval_numerical_gradient_array(lambda w: forward(x, w, theta0)[0], theta, dout)
    db_num = eval_numerical_gradient_array(lambda b: forward(x, theta, b)[0], theta0, dout)
    # The seed prints errors around 1e-10 to 1e-12 for affine_relu; saturated sigmoid and
    # tanh units have tiny gradients whose relative error is larger, still far below 1e-7.
    assert rel_error(dx_num, dx) < 1e-7
    assert rel_error(dt_num, dtheta) < 1e-7
    assert rel_error(db_num, dtheta0) < 1e-7


def test_seed_sandwich_names_exist():
    for act in ("relu", "sigmoid", "tanh"):
        assert callable(getattr(layer_utils, f"affine_{act}_forward"))
        assert callable(getattr(layer_utils, f"affine_{act}_backward"))


def test_unknown_activation_is_named():
    with pytest.raises(ValueError, match="'swish'"):
        layer_utils.affine_act_forward(np.ones((1, 2)), np.ones((2, 2)), np.zeros(2), "swish")
