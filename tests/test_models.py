"""TwoLayerNet and ThreeLayerNet: the seed's exact values, gradient checks, initialisation."""

import numpy as np
import pytest

from layerwise.gradient_check import eval_numerical_gradient, rel_error
from layerwise.models import MODEL_CLASSES, ThreeLayerNet, TwoLayerNet

TWO_LAYER_SCORES = np.asarray(
    [
        [11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434, 15.33206765, 16.09215096],
        [12.05769098, 12.74614105, 13.43459113, 14.1230412, 14.81149128, 15.49994135, 16.18839143],
        [12.58373087, 13.20054771, 13.81736455, 14.43418138, 15.05099822, 15.66781506, 16.2846319],
    ]
)
THREE_LAYER_SCORES = np.asarray(
    [
        [24.7529953, 26.30758862, 27.86218194, 29.41677527, 30.97136859, 32.52596191, 34.08055524],
        [24.2416125, 25.82700689, 27.41240129, 28.99779568, 30.58319008, 32.16858448, 33.75397887],
        [23.7302297, 25.34642517, 26.96262063, 28.5788161, 30.19501157, 31.81120704, 33.42740251],
    ]
)
Y = np.asarray([0, 5, 1])


def seed_two_layer(m=3, d=5, h=50, C=7):
    model = TwoLayerNet(input_dim=d, hidden_dim=h, num_classes=C, weight_scale=1e-2)
    model.params["theta1"] = np.linspace(-0.7, 0.3, num=d * h).reshape(d, h)
    model.params["theta1_0"] = np.linspace(-0.1, 0.9, num=h)
    model.params["theta2"] = np.linspace(-0.3, 0.4, num=h * C).reshape(h, C)
    model.params["theta2_0"] = np.linspace(-0.9, 0.1, num=C)
    X = np.linspace(-5.5, 4.5, num=m * d).reshape(d, m).T
    return model, X


def seed_three_layer(m=3, d=5, h1=50, h2=30, C=7):
    model = ThreeLayerNet(
        input_dim=d, hidden_dim_1=h1, hidden_dim_2=h2, num_classes=C, weight_scale=1e-2
    )
    model.params["theta1"] = np.linspace(-0.7, 0.3, num=d * h1).reshape(d, h1)
    model.params["theta1_0"] = np.linspace(-0.1, 0.9, num=h1)
    model.params["theta2"] = np.linspace(-0.3, 0.4, num=h1 * h2).reshape(h1, h2)
    model.params["theta2_0"] = np.linspace(-0.9, 0.1, num=h2)
    model.params["theta3"] = np.linspace(-0.3, 0.4, num=h2 * C).reshape(h2, C)
    model.params["theta3_0"] = np.linspace(-0.9, 0.1, num=C)
    X = np.linspace(-5.5, 4.5, num=m * d).reshape(d, m).T
    return model, X


@pytest.mark.parametrize(
    ("build", "scores", "loss0", "loss1"),
    [
        (seed_two_layer, TWO_LAYER_SCORES, 3.4702243556, 26.5948426952),
        (seed_three_layer, THREE_LAYER_SCORES, 6.56064352723, 59.1928674811),
    ],
    ids=["two-layer", "three-layer"],
)
def test_seed_exact_values(build, scores, loss0, loss1):
    model, X = build()
    assert np.abs(model.loss(X) - scores).sum() < 1e-6
    loss, _ = model.loss(X, Y)
    assert abs(loss - loss0) < 1e-10
    model.reg = 1.0
    loss, _ = model.loss(X, Y)
    assert abs(loss - loss1) < 1e-10


# The seed's printed ranges: two-layer errors up to ~3e-7, three-layer up to ~4e-6.
@pytest.mark.parametrize(("build", "tol"), [(seed_two_layer, 1e-6), (seed_three_layer, 1e-5)])
@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_seed_gradient_check(build, tol, reg):
    model, X = build()
    model.reg = reg
    _, grads = model.loss(X, Y)
    assert sorted(grads) == sorted(model.params)
    for name in sorted(grads):
        grad_num = eval_numerical_gradient(
            lambda: model.loss(X, Y)[0], model.params[name], verbose=False
        )
        assert rel_error(grad_num, grads[name]) < tol, name


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("cls", [TwoLayerNet, ThreeLayerNet])
def test_random_model_gradient_check(rng, cls, activation):
    sizes = {"hidden_dim": 7} if cls is TwoLayerNet else {"hidden_dim_1": 7, "hidden_dim_2": 5}
    model = cls(
        input_dim=6,
        num_classes=4,
        weight_scale=5e-1,
        reg=0.3,
        seed=1,
        activation=activation,
        **sizes,
    )
    X = rng.standard_normal((5, 2, 3))
    y = rng.integers(4, size=5)
    _, grads = model.loss(X, y)
    for name, grad in grads.items():
        num = eval_numerical_gradient(
            lambda: model.loss(X, y)[0], model.params[name], verbose=False
        )
        assert rel_error(num, grad) < 1e-6, name


@pytest.mark.parametrize(
    ("cls", "kwargs", "shapes"),
    [
        (
            TwoLayerNet,
            {"input_dim": 5, "hidden_dim": 50, "num_classes": 7},
            {"theta1": (5, 50), "theta1_0": (50,), "theta2": (50, 7), "theta2_0": (7,)},
        ),
        (
            ThreeLayerNet,
            {"input_dim": 5, "hidden_dim_1": 50, "hidden_dim_2": 30, "num_classes": 7},
            {
                "theta1": (5, 50),
                "theta1_0": (50,),
                "theta2": (50, 30),
                "theta2_0": (30,),
                "theta3": (30, 7),
                "theta3_0": (7,),
            },
        ),
    ],
)
def test_seed_initialization(cls, kwargs, shapes):
    std = 1e-2
    model = cls(weight_scale=std, **kwargs)
    assert {k: v.shape for k, v in model.params.items()} == shapes
    for name, value in model.params.items():
        if name.endswith("_0"):
            assert np.all(value == 0), name
        else:
            assert abs(value.std() - std) < std / 10, name


def test_global_stream_order_matches_the_seed():
    np.random.seed(0)
    model = ThreeLayerNet(input_dim=4, hidden_dim_1=3, hidden_dim_2=2, num_classes=5)
    np.random.seed(0)
    t1 = 1e-2 * np.random.randn(4, 3)
    t2 = 1e-2 * np.random.randn(3, 2)
    t3 = 1e-2 * np.random.randn(2, 5)
    np.testing.assert_array_equal(model.params["theta1"], t1)
    np.testing.assert_array_equal(model.params["theta2"], t2)
    np.testing.assert_array_equal(model.params["theta3"], t3)


def test_seed_uses_a_private_generator():
    np.random.seed(5)
    state = np.random.get_state()[1].copy()
    a = TwoLayerNet(input_dim=4, hidden_dim=3, num_classes=2, seed=7)
    b = TwoLayerNet(input_dim=4, hidden_dim=3, num_classes=2, seed=7)
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    np.testing.assert_array_equal(a.params["theta1"], b.params["theta1"])


def test_float32_model_computes_in_float32(rng):
    model = TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=3, dtype=np.float32, seed=0)
    assert all(v.dtype == np.float32 for v in model.params.values())
    X = rng.standard_normal((4, 6))  # float64 data is cast to the model's dtype
    scores = model.loss(X)
    _, grads = model.loss(X, np.array([0, 1, 2, 0]))
    assert scores.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())


def test_float32_matches_float64_reference(rng):
    m64 = ThreeLayerNet(
        input_dim=8,
        hidden_dim_1=6,
        hidden_dim_2=5,
        num_classes=3,
        weight_scale=0.3,
        reg=0.1,
        seed=3,
    )
    m32 = ThreeLayerNet(**{**m64.get_config(), "dtype": "float32"})
    m32.params = {k: v.astype(np.float32) for k, v in m64.params.items()}
    X, y = rng.standard_normal((10, 8)), rng.integers(3, size=10)
    l64, g64 = m64.loss(X, y)
    l32, g32 = m32.loss(X, y)
    assert abs(l64 - l32) / abs(l64) < 1e-5
    for k in g64:
        assert rel_error(g64[k], g32[k]) < 1e-3, k


def test_get_config_rebuilds_the_model():
    model = ThreeLayerNet(
        input_dim=7,
        hidden_dim_1=4,
        hidden_dim_2=3,
        num_classes=2,
        reg=0.5,
        dtype="float32",
        seed=11,
        activation="tanh",
    )
    config = model.get_config()
    clone = MODEL_CLASSES["ThreeLayerNet"](**config)
    assert clone.get_config() == config
    for k in model.params:
        np.testing.assert_array_equal(clone.params[k], model.params[k])


def test_predict_returns_labels(rng):
    model = TwoLayerNet(input_dim=3, hidden_dim=4, num_classes=5, seed=0)
    X = rng.standard_normal((7, 3))
    pred = model.predict(X, batch_size=3)
    np.testing.assert_array_equal(pred, np.argmax(model.loss(X), axis=1))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"hidden_dim": 0}, "positive integer"),
        ({"hidden_dim": 2.5}, "positive integer"),
        ({"weight_scale": -1.0}, "weight_scale"),
        ({"reg": float("nan")}, "reg"),
        ({"dtype": "int32"}, "float32 or float64"),
        ({"activation": "gelu"}, "gelu"),
        ({"seed": "x"}, "seed"),
    ],
)
def test_constructor_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TwoLayerNet(input_dim=3, **kwargs)


def test_loss_rejects_wrong_input_size():
    model = TwoLayerNet(input_dim=6, hidden_dim=2, num_classes=2)
    with pytest.raises(ValueError, match="input_dim = 6"):
        model.loss(np.zeros((2, 5)))


@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("normalization", [None, "batchnorm"])
def test_the_step_without_per_layer_checks_is_the_checked_one(
    rng, monkeypatch, dropout, normalization
):
    """With its parameters as built, a model's loss skips the layers' checks; the numbers are
    those of the checking layers, bit for bit."""
    from layerwise.models import FullyConnectedNet

    X = rng.standard_normal((16, 3, 4)).astype(np.float32)  # flattened to 12 features
    y = rng.integers(5, size=16)
    results = []
    for as_built in (True, False):
        model = FullyConnectedNet(
            [20, 10],
            input_dim=12,
            num_classes=5,
            dropout=dropout,
            normalization=normalization,
            reg=0.1,
            dtype=np.float32,
            seed=2,
        )
        assert model._params_as_built()
        monkeypatch.setattr(model, "_params_as_built", lambda as_built=as_built: as_built)
        results.append(model.loss(X, y))
    (loss_a, grads_a), (loss_b, grads_b) = results
    assert loss_a == loss_b
    for name in grads_a:
        np.testing.assert_array_equal(grads_a[name], grads_b[name], err_msg=name)


def test_parameters_not_as_built_are_checked_by_the_layers(rng):
    """A weight of another shape (set by hand) is no longer 'as built': the checking layers
    run, and the error names the layer and the shapes."""
    model = TwoLayerNet(input_dim=6, hidden_dim=4, num_classes=3, seed=0)
    X, y = rng.standard_normal((5, 6)), rng.integers(3, size=5)
    model.params["theta2"] = np.zeros((5, 3))
    assert not model._params_as_built()
    with pytest.raises(ValueError, match=r"affine_forward.*theta has shape \(5, 3\)"):
        model.loss(X, y)
    model.params["theta2"] = np.zeros((4, 3), dtype=np.float32)  # another dtype: checked path
    assert not model._params_as_built()
    loss, grads = model.loss(X, y)
    assert np.isfinite(loss) and grads["theta2"].shape == (4, 3)
