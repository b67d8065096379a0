"""layerwise and its Keras and TensorFlow twins compute the same thing.

With identical weights: the same scores (test mode), the same loss and gradients (train mode,
with the same dropout masks), the same batch-norm running statistics, and the same parameters
after one update of every update rule. Relative error < 1e-5 in float32, < 1e-9 in float64.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pytest
from twin_helpers import TOL, QueueRng, need, quiet_tensorflow, rel_error

from layerwise import optim
from layerwise.spec import OPTIMIZERS, NetSpec

tf = quiet_tensorflow()
keras = need("keras")
lw_keras = importlib.import_module("layerwise.frameworks.keras")
lw_tf = importlib.import_module("layerwise.frameworks.tensorflow")

ENGINES = ("keras", "tensorflow")
DTYPES = ("float32", "float64")
NORMS = (None, "batchnorm", "layernorm")


def make(
    engine: str,
    dtype: str = "float64",
    norm: str | None = None,
    dropout: float = 0.0,
    activation: str = "relu",
    optimizer: str = "sgd",
    reg: float = 0.05,
    seed: int = 3,
) -> tuple[NetSpec, Any, Any]:
    """A tiny spec, its layerwise model (running statistics made non-trivial) and its twin."""
    spec = NetSpec(
        input_dim=6,
        hidden_dims=(8, 7),
        num_classes=5,
        activation=activation,
        dropout=dropout,
        normalization=norm,
        optimizer=optimizer,
        learning_rate=0.1,
        reg=reg,
        dtype=dtype,
        weight_scale=0.5,
    )
    model = spec.build_numpy(seed=seed)
    rng = np.random.default_rng(seed)
    for name, value in model.params.items():  # biases, shifts and scales away from 0 and 1
        noise = rng.standard_normal(value.shape)
        if name.endswith("_0") or name.startswith("beta"):
            model.params[name] = (0.1 * noise).astype(dtype)
        elif name.startswith("gamma"):
            model.params[name] = (1 + 0.2 * noise).astype(dtype)
    for bn in model.bn_params:
        bn["running_mean"] = (0.3 * rng.standard_normal(bn["running_mean"].shape)).astype(dtype)
        bn["running_var"] = rng.uniform(0.5, 2.0, bn["running_var"].shape).astype(dtype)
    twin = lw_keras.KerasTwin(spec, model) if engine == "keras" else lw_tf.TFNet(spec, model)
    return spec, model, twin


def batch(spec: NetSpec, m: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, spec.input_dim)).astype(spec.dtype)
    y = rng.integers(0, spec.num_classes, m)
    return X, y


def grad_scale(name: str, spec: NetSpec, grads: dict[str, np.ndarray]) -> float:
    """A floor for gradients that are exactly zero in exact arithmetic: a hidden bias followed
    by batch norm (the normalisation removes it)."""
    hidden_bias = name.endswith("_0") and int(name[5:-2]) < spec.num_layers
    if spec.normalization == "batchnorm" and hidden_bias:
        return max(float(np.max(np.abs(g))) for g in grads.values())
    return 0.0


def assert_grads_match(spec: NetSpec, g_ref: dict, g_twin: dict, tol: float) -> None:
    assert sorted(g_ref) == sorted(g_twin)
    for name in g_ref:
        err = rel_error(g_ref[name], g_twin[name], grad_scale(name, spec, g_ref))
        assert err < tol, f"{name}: relative error {err:.2e}"


def assert_buffers_match(model: Any, twin: Any, tol: float) -> None:
    _, buffers = twin.get_weights()
    mine = model.get_buffers()
    assert sorted(buffers) == sorted(mine)
    for name in mine:
        assert rel_error(mine[name], buffers[name]) <= tol, name


# --------------------------------------------------------------------------------------------
# forward, loss, gradients


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm", NORMS)
def test_test_mode_scores_are_identical(engine: str, dtype: str, norm: str | None) -> None:
    # Dropout on: in test mode it is the identity in every engine; batch norm uses the
    # running statistics.
    spec, model, twin = make(engine, dtype, norm, dropout=0.4, activation="tanh")
    X, _ = batch(spec)
    ref = model.loss(X)
    assert rel_error(ref, twin.scores(X, training=False)) < TOL[dtype]
    assert_buffers_match(model, twin, 0.0)  # test mode leaves the statistics alone


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm", NORMS)
def test_train_mode_loss_gradients_and_running_stats(
    engine: str, dtype: str, norm: str | None
) -> None:
    spec, model, twin = make(engine, dtype, norm)
    X, y = batch(spec)
    loss, grads = model.loss(X, y)
    twin_loss, twin_grads = twin.loss_and_grads(X, y, training=True)
    assert rel_error(loss, twin_loss) < TOL[dtype]
    assert_grads_match(spec, grads, twin_grads, TOL[dtype])
    assert_buffers_match(model, twin, TOL[dtype])  # one momentum update in both


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("engine", ENGINES)
def test_every_activation(engine: str, activation: str) -> None:
    spec, model, twin = make(engine, "float64", activation=activation)
    X, y = batch(spec)
    loss, grads = model.loss(X, y)
    twin_loss, twin_grads = twin.loss_and_grads(X, y)
    assert rel_error(loss, twin_loss) < TOL["float64"]
    assert_grads_match(spec, grads, twin_grads, TOL["float64"])


def tf_dropout_noise(spec: NetSpec, m: int, seed: int = 7) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.random((m, h)).astype(spec.dtype) for h in spec.hidden_dims]


def keras_train_pass(twin: Any, X: np.ndarray, y: np.ndarray) -> tuple[float, dict, list]:
    """Loss and gradients of one training-mode pass of a Keras twin, layer by layer, and the
    uniform draws that reproduce its dropout masks in layerwise (1 where kept, 0 where dropped).

    A unit whose input was exactly 0 (a ReLU zero) counts as dropped: its output is 0 either
    way, and the ReLU stops its gradient either way.
    """
    km = twin.keras_model
    draws = []
    with tf.GradientTape() as tape:
        h = tf.constant(X)
        for layer in km.layers:
            out = layer(h, training=True)
            if type(layer).__name__ == "Dropout":
                draws.append(np.where(np.asarray(out) != 0, 1.0, 0.0).astype(X.dtype))
            h = out
        loss = twin._loss(y, h)
        half_reg = tf.constant(0.5 * twin.spec.reg, h.dtype)
        for kernel in twin._kernels:
            loss += half_reg * tf.reduce_sum(tf.square(kernel))
    grads = tape.gradient(loss, km.trainable_variables)
    named = {n: np.asarray(g) for n, g in zip(twin.variable_names, grads, strict=True)}
    return float(loss), named, draws


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("norm", "activation"), [(None, "relu"), ("batchnorm", "tanh"), ("layernorm", "sigmoid")]
)
def test_train_mode_dropout_with_the_same_masks(
    engine: str, dtype: str, norm: str | None, activation: str
) -> None:
    p = 0.3
    spec, model, twin = make(engine, dtype, norm, dropout=p, activation=activation)
    X, y = batch(spec, m=64)
    if engine == "tensorflow":
        draws = tf_dropout_noise(spec, len(X))
        twin_loss, twin_grads = twin.loss_and_grads(X, y, noise=draws)
    else:
        twin_loss, twin_grads, draws = keras_train_pass(twin, X, y)
        if activation != "relu":  # no exact zeros: the dropped fraction is Keras's rate
            dropped = np.mean(np.concatenate([d.ravel() for d in draws]) == 0)
            assert abs(dropped - p) < 0.06, dropped
    model.rng = QueueRng(draws)  # layerwise draws u and keeps u >= p: the same masks
    loss, grads = model.loss(X, y)
    assert not model.rng.draws  # every mask was used
    assert rel_error(loss, twin_loss) < TOL[dtype]
    assert_grads_match(spec, grads, twin_grads, TOL[dtype])


@pytest.mark.parametrize("engine", ENGINES)
def test_train_mode_dropout_statistics(engine: str) -> None:
    # The twin's own random masks: a unit is dropped with probability p and the kept ones are
    # scaled by 1 / (1 - p), so the mean activation is unchanged (inverted dropout).
    p = 0.25
    spec, model, twin = make(engine, "float64", dropout=p, activation="sigmoid")
    X, _ = batch(spec, m=4000)
    hidden = 1 / (1 + np.exp(-(X @ model.params["theta1"] + model.params["theta1_0"])))
    if engine == "keras":
        layer = twin.keras_model.get_layer("dropout1")
        out = np.asarray(layer(tf.constant(hidden), training=True))
    else:
        out = np.asarray(
            tf.cast(twin.rng.uniform(hidden.shape, dtype=tf.float64) >= p, tf.float64)
            * hidden
            / (1 - p)
        )
    kept = out != 0
    assert abs(1 - kept.mean() - p) < 0.01
    np.testing.assert_allclose(out[kept], hidden[kept] / (1 - p), rtol=1e-12)
    # ... and the twin's whole network in train mode differs from test mode, as it should
    assert not np.allclose(twin.scores(X[:50], training=True), twin.scores(X[:50]))


# --------------------------------------------------------------------------------------------
# updates


def layerwise_step(model: Any, X: np.ndarray, y: np.ndarray, rule: str, configs: dict) -> None:
    _, grads = model.loss(X, y)
    update = optim.get_update_rule(rule)
    for name in model.params:
        model.params[name], configs[name] = update(model.params[name], grads[name], configs[name])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm", NORMS)
def test_one_sgd_step_leaves_identical_parameters(
    engine: str, dtype: str, norm: str | None
) -> None:
    spec, model, twin = make(engine, dtype, norm)
    X, y = batch(spec)
    configs = {n: spec.optim_config() for n in model.params}
    layerwise_step(model, X, y, "sgd", configs)
    twin.train_step(X, y)
    params, _ = twin.get_weights()
    for name, value in model.params.items():
        assert rel_error(value, params[name]) < TOL[dtype], name
    assert_buffers_match(model, twin, TOL[dtype])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("rule", OPTIMIZERS)
def test_every_update_rule_matches_layerwise(engine: str, rule: str) -> None:
    # Three steps (so momentum, caches and Adam's bias correction all matter), with a learning
    # rate change before the last one, as a Solver's decay makes.
    spec, model, twin = make(engine, "float64", "layernorm", optimizer=rule)
    configs = {n: spec.optim_config() for n in model.params}
    if rule == "adamw":  # the Solver decays weights only
        for name in configs:
            if model.params[name].ndim < 2:
                configs[name]["weight_decay"] = 0.0
    for step in range(3):
        X, y = batch(spec, seed=step)
        lr = 0.1 if step < 2 else 0.05
        for config in configs.values():
            config["learning_rate"] = lr
        layerwise_step(model, X, y, rule, configs)
        twin.train_step(X, y, learning_rate=lr)
    params, _ = twin.get_weights()
    for name, value in model.params.items():
        assert rel_error(value, params[name]) < 1e-9, name
    state = twin.get_optimizer_state()
    for name, config in configs.items():
        for key, value in state[name].items():
            if key == "t":
                assert value == config["t"] == 3
            else:
                assert rel_error(config[key], value, 1e-12) < 1e-9, (name, key)


@pytest.mark.parametrize("engine", ENGINES)
def test_optimizer_state_round_trips(engine: str) -> None:
    spec, _, twin = make(engine, "float64", optimizer="adam")
    X, y = batch(spec)
    twin.train_step(X, y)
    state = twin.get_optimizer_state()
    _, _, other = make(engine, "float64", optimizer="adam")
    other.set_weights(*twin.get_weights())
    other.set_optimizer_state(state)
    twin.train_step(X, y)
    other.train_step(X, y)
    a, b = twin.get_weights()[0], other.get_weights()[0]
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


# --------------------------------------------------------------------------------------------
# weights, both ways


@pytest.mark.parametrize("norm", NORMS)
def test_keras_weights_round_trip(norm: str | None) -> None:
    spec, model, twin = make("keras", "float32", norm, dropout=0.2, activation="leaky_relu")
    back = lw_keras.from_keras(twin.keras_model)
    # all but the initialisation settings, which a Keras model does not record
    assert back.get_config() == {**model.get_config(), "seed": None, "weight_scale": 0.01}
    for name, value in model.params.items():
        np.testing.assert_array_equal(back.params[name], value)
    for name, value in model.get_buffers().items():
        np.testing.assert_array_equal(back.get_buffers()[name], value)
    # and into a fresh Keras model
    other = lw_keras.build_keras_model(spec)
    lw_keras.to_keras(back, other)
    X, _ = batch(spec)
    np.testing.assert_array_equal(other(X, training=False), twin.keras_model(X, training=False))


def test_tensorflow_weights_round_trip() -> None:
    spec, model, net = make("tensorflow", "float32", "batchnorm", dropout=0.2)
    back = lw_tf.from_tensorflow(net)
    for name, value in model.params.items():
        np.testing.assert_array_equal(back.params[name], value)
    for name, value in model.get_buffers().items():
        np.testing.assert_array_equal(back.get_buffers()[name], value)
    fresh = lw_tf.TFNet(spec, seed=1)
    lw_tf.to_tensorflow(back, fresh)
    X, _ = batch(spec)
    np.testing.assert_array_equal(fresh.scores(X), net.scores(X))


def test_transfer_mismatches_are_named() -> None:
    spec, _, twin = make("keras", "float32")
    wider = spec.replace(hidden_dims=(9, 7)).build_numpy(seed=0)
    with pytest.raises(ValueError, match=r"theta1 has shape \(6, 9\) in layerwise but \(6, 8\)"):
        lw_keras.to_keras(wider, twin.keras_model)
    normed = spec.replace(normalization="layernorm").build_numpy(seed=0)
    with pytest.raises(ValueError, match=r"gamma1"):
        lw_keras.to_keras(normed, twin.keras_model)
    with pytest.raises(ValueError, match=r"layer sizes \[6, 9, 7, 5\] differ"):
        lw_tf.TFNet(spec, model=wider)


def test_the_seed_models_read_back() -> None:
    cifar = lw_keras.seed_cifar_model()
    with pytest.raises(ValueError, match=r"different dropout rates \[0\.25, 0\.0\]"):
        lw_keras.spec_from_keras(cifar)
    model = lw_keras.from_keras(cifar, dropout=0.25)
    assert model.dims == [3072, 100, 100, 10] and model.activation == "sigmoid"
    X = np.random.default_rng(0).standard_normal((4, 3, 32, 32)).astype(np.float32)
    probs = np.asarray(cifar(X, training=False))
    np.testing.assert_allclose(probs, _softmax(model.loss(X)), rtol=1e-5, atol=1e-6)

    mnist = lw_keras.neural_net_model(learning_rate=1e-3, dropout_rate=0.5, n_units=32)
    spec = lw_keras.spec_from_keras(mnist)
    assert (spec.hidden_dims, spec.dropout, spec.activation) == ((32, 32, 32), 0.5, "relu")
    assert float(mnist.optimizer.learning_rate) == pytest.approx(1e-3)
    bad = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3), keras.layers.GaussianNoise(1)]
    )
    with pytest.raises(ValueError, match=r"GaussianNoise\) has no layerwise counterpart"):
        lw_keras.spec_from_keras(bad)


def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
