"""FullyConnectedNet: gradient checks for every normalisation, activation and dropout setting."""

import itertools

import numpy as np
import pytest

from layerwise.gradient_check import eval_numerical_gradient, rel_error
from layerwise.models import FullyConnectedNet, ThreeLayerNet, TwoLayerNet


def numeric_errors(model, X, y):
    """Relative error of every parameter's gradient against centred differences."""
    _, grads = model.loss(X, y)
    assert sorted(grads) == sorted(model.params)
    last_bias = f"theta{model.num_layers}_0"
    errors = {}
    for name in sorted(grads):
        num = eval_numerical_gradient(
            lambda: model.loss(X, y)[0], model.params[name], verbose=False
        )
        if model.normalization == "batchnorm" and name.endswith("_0") and name != last_bias:
            # A bias right before batchnorm is cancelled by the mean subtraction: its true
            # gradient is 0, so a relative error would only compare rounding noise.
            assert np.abs(grads[name]).max() < 1e-12 and np.abs(num).max() < 1e-8, name
            continue
        errors[name] = rel_error(num, grads[name])
    return errors


@pytest.mark.parametrize(
    ("normalization", "activation", "dropout"),
    list(
        itertools.product(
            [None, "batchnorm", "layernorm"], ["relu", "leaky_relu", "tanh", "sigmoid"], [0.0, 0.3]
        )
    ),
)
def test_gradient_check(rng, normalization, activation, dropout):
    N, D, H1, H2, C = 6, 15, 20, 30, 10
    X = rng.standard_normal((N, D))
    y = rng.integers(C, size=N)
    model = FullyConnectedNet(
        [H1, H2],
        input_dim=D,
        num_classes=C,
        dropout=dropout,
        normalization=normalization,
        activation=activation,
        reg=0.1,
        weight_scale=5e-2,
        dtype=np.float64,
        seed=7,  # no ReLU input within h = 1e-5 of its kink (a centred difference there is wrong)
    )
    errors = numeric_errors(model, X, y)
    # The seed prints up to 4e-6 for its plain ThreeLayerNet; with dropout or normalisation a
    # few tiny gradients (saturated, normalised or nearly dropped units) reach 1e-5.
    tol = 1e-5 if (normalization is None and dropout == 0) else 1e-4
    assert max(errors.values()) < tol, errors


def test_deep_net_with_batchnorm_gradient_check(rng):
    X, y = rng.standard_normal((5, 8)), rng.integers(4, size=5)
    model = FullyConnectedNet(
        [7, 6, 5, 4],
        input_dim=8,
        num_classes=4,
        normalization="batchnorm",
        weight_scale=0.5,
        dtype=np.float64,
        seed=0,
    )
    assert max(numeric_errors(model, X, y).values()) < 1e-5


def test_params_and_init():
    model = FullyConnectedNet([4, 3], input_dim=5, num_classes=2, normalization="batchnorm")
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == {
        "theta1": (5, 4),
        "theta1_0": (4,),
        "gamma1": (4,),
        "beta1": (4,),
        "theta2": (4, 3),
        "theta2_0": (3,),
        "gamma2": (3,),
        "beta2": (3,),
        "theta3": (3, 2),
        "theta3_0": (2,),
    }
    assert np.all(model.params["gamma1"] == 1) and np.all(model.params["beta2"] == 0)
    assert all(v.dtype == np.float32 for v in model.params.values())  # float32 by default


@pytest.mark.parametrize(("init", "std"), [("he", np.sqrt(2 / 400)), ("xavier", np.sqrt(2 / 600))])
def test_weight_init(init, std):
    model = FullyConnectedNet([200], input_dim=400, num_classes=10, weight_init=init, seed=0)
    assert abs(model.params["theta1"].std() - std) < std / 20


def test_matches_three_layer_net_after_the_same_global_seed(rng):
    X, y = rng.standard_normal((4, 6)), rng.integers(3, size=4)
    np.random.seed(42)
    fc = FullyConnectedNet([5, 4], input_dim=6, num_classes=3, dtype=np.float64)
    np.random.seed(42)
    three = ThreeLayerNet(
        input_dim=6, hidden_dim_1=5, hidden_dim_2=4, num_classes=3, weight_scale=1e-2
    )
    for k in three.params:
        np.testing.assert_array_equal(fc.params[k], three.params[k])
    assert fc.loss(X, y)[0] == three.loss(X, y)[0]


def test_test_mode_is_deterministic_and_train_mode_drops(rng):
    X = rng.standard_normal((50, 6))
    model = FullyConnectedNet(
        [40], input_dim=6, num_classes=3, dropout=0.5, rng=np.random.default_rng(0)
    )
    np.testing.assert_array_equal(model.loss(X), model.loss(X))
    a = model.loss(X, training=True)
    b = model.loss(X, training=True)
    assert not np.allclose(a, b)  # fresh masks from the generator


def test_seed_fixes_dropout_masks(rng):
    X, y = rng.standard_normal((10, 6)), rng.integers(3, size=10)
    model = FullyConnectedNet([40], input_dim=6, num_classes=3, dropout=0.5, seed=1)
    assert model.loss(X, y)[0] == model.loss(X, y)[0]


def test_batchnorm_running_stats_are_buffers(rng):
    model = FullyConnectedNet([4], input_dim=3, num_classes=2, normalization="batchnorm", seed=0)
    model.loss(rng.standard_normal((8, 3)) + 5, rng.integers(2, size=8))
    buffers = model.get_buffers()
    assert sorted(buffers) == ["running_mean1", "running_var1"]
    assert np.all(buffers["running_var1"] > 0)
    clone = FullyConnectedNet(**model.get_config())
    clone.set_buffers(buffers)
    np.testing.assert_array_equal(clone.get_buffers()["running_mean1"], buffers["running_mean1"])
    with pytest.raises(ValueError, match="do not match"):
        clone.set_buffers({})


def test_core_models_take_dropout_and_activation(rng):
    X, y = rng.standard_normal((6, 5)), rng.integers(3, size=6)
    for model in (
        TwoLayerNet(
            input_dim=5,
            hidden_dim=8,
            num_classes=3,
            dropout=0.25,
            activation="tanh",
            weight_scale=0.3,
            seed=2,
        ),
        ThreeLayerNet(
            input_dim=5,
            hidden_dim_1=8,
            hidden_dim_2=7,
            num_classes=3,
            dropout=0.25,
            activation="sigmoid",
            weight_scale=0.3,
            seed=2,
        ),
    ):
        assert max(numeric_errors(model, X, y).values()) < 1e-6
        assert model.get_config()["dropout"] == 0.25


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"hidden_dims": "100"}, "list of layer sizes"),
        ({"hidden_dims": [10, 0]}, r"hidden_dims\[1\]"),
        ({"dropout": 1.0}, "dropout"),
        ({"normalization": "groupnorm"}, "normalization"),
        ({"weight_init": "lecun"}, "weight_init"),
        ({"rng": 3}, "Generator"),
    ],
)
def test_validation(kwargs, match):
    kwargs = {"hidden_dims": [3], **kwargs}
    with pytest.raises(ValueError, match=match):
        FullyConnectedNet(input_dim=4, num_classes=2, **kwargs)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"normalization": "batchnorm", "dropout": 0.2},
        {"normalization": "layernorm", "activation": "tanh"},
        {"activation": "leaky_relu", "reg": 0.05},
        {"activation": "sigmoid"},
    ],
)
def test_float32_path_matches_float64_reference(rng, options):
    """Same loss and gradients in float32 as in float64 (relative error < 1e-4)."""
    kwargs = {"input_dim": 12, "num_classes": 5, "weight_scale": 0.3, "seed": 4, **options}
    m64 = FullyConnectedNet([16, 9], dtype=np.float64, **kwargs)
    m32 = FullyConnectedNet([16, 9], dtype=np.float32, **kwargs)
    m32.params = {k: v.astype(np.float32) for k, v in m64.params.items()}
    X, y = rng.standard_normal((8, 12)), rng.integers(5, size=8)
    l64, g64 = m64.loss(X, y)
    l32, g32 = m32.loss(X.astype(np.float32), y)
    assert abs(l64 - l32) / abs(l64) < 1e-4
    for k in g64:
        assert g32[k].dtype == np.float32, k
        scale = np.abs(g64[k]).max()
        if scale < 1e-12:  # a bias cancelled by batchnorm: zero up to rounding in both
            assert np.abs(g32[k]).max() < 1e-6, k
            continue
        assert np.abs(g32[k] - g64[k]).max() / scale < 1e-4, k
