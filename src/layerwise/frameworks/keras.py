"""The Keras twin of a layerwise network: build it, move weights both ways, train it.

Needs the optional extra (``pip install 'layerwise[tf]'``: TensorFlow and Keras 3); without it,
importing this module raises one ImportError that says so.

The twin of a :class:`~layerwise.spec.NetSpec` is a ``keras.Sequential``::

    Input(d) - {Dense(h_i) - [BatchNormalization(momentum=0.9, epsilon=1e-5) |
                LayerNormalization(epsilon=1e-5)] - activation - [Dropout(rate=p)]} x (L - 1)
             - Dense(C)                                          # logits, no softmax

trained on ``SparseCategoricalCrossentropy(from_logits=True)`` plus the L2 term
``0.5 * reg * sum(W**2)`` over the kernels (``keras.regularizers.L2(0.5 * reg)``), which is
exactly layerwise's loss. Dense layers are named ``dense1..denseL`` and normalisation layers
``batchnorm{i}``/``layernorm{i}``; a Dense kernel is ``theta{i}`` as it is, (d_in, d_out).
Keras's batch-norm momentum is the weight on the OLD moving value, as layerwise's is, and both
use the biased batch variance, so ``moving_mean``/``moving_variance`` are ``bn_params``'s
``running_mean``/``running_var``.

The update rules are layerwise's own formulas (:class:`LayerwiseOptimizer`): Keras's built-in
``Adam`` puts epsilon elsewhere (its "epsilon hat" form) and ``RMSprop`` inside the square root,
which differ from Kingma & Ba's Adam and CS231n's RMSProp by more than rounding.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from layerwise.errors import ConfigError
from layerwise.frameworks._deps import require_keras, require_tensorflow
from layerwise.spec import (
    BN_MOMENTUM,
    LEAKY_SLOPE,
    NORM_EPS,
    OPTIMIZER_DEFAULTS,
    OPTIMIZER_SLOTS,
    NetSpec,
)

tf = require_tensorflow()
keras = require_keras()
ops = keras.ops
_Optimizer: Any = keras.optimizers.Optimizer  # a base class mypy accepts as it is

Array = np.ndarray

__all__ = [
    "KerasTwin",
    "LayerwiseOptimizer",
    "build_keras_model",
    "compile_twin",
    "from_keras",
    "neural_net_model",
    "seed_cifar_model",
    "spec_from_keras",
    "to_keras",
]


@contextlib.contextmanager
def _floatx(dtype: str) -> Iterator[None]:
    """Keras's default float type set to ``dtype`` for the block (optimizer variables, e.g. the
    learning rate, are created in floatx; a float64 twin needs float64 ones)."""
    previous = keras.config.floatx()
    keras.config.set_floatx(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(previous)


def _activation_layer(name: str, activation: str, dtype: str) -> Any:
    if activation == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=name, dtype=dtype)
    return keras.layers.Activation(activation, name=name, dtype=dtype)


def build_keras_model(spec: NetSpec, model: Any = None, seed: int | None = None) -> Any:
    """The ``keras.Sequential`` twin of ``spec`` (see the module docstring), built.

    With ``model`` (a layerwise model of the same architecture) the twin gets its weights and
    running statistics; otherwise Keras's own initialisers are used. ``seed`` makes the dropout
    masks reproducible (each Dropout layer gets its own seed generator).
    """
    dtype = spec.dtype
    reg = keras.regularizers.L2(0.5 * spec.reg) if spec.reg else None
    layers: list[Any] = [keras.Input(shape=(spec.input_dim,), dtype=dtype, name="x")]
    for i, h in enumerate(spec.hidden_dims, start=1):
        layers.append(keras.layers.Dense(h, kernel_regularizer=reg, name=f"dense{i}", dtype=dtype))
        if spec.normalization == "batchnorm":
            layers.append(
                keras.layers.BatchNormalization(
                    momentum=BN_MOMENTUM, epsilon=NORM_EPS, name=f"batchnorm{i}", dtype=dtype
                )
            )
        elif spec.normalization == "layernorm":
            layers.append(
                keras.layers.LayerNormalization(epsilon=NORM_EPS, name=f"layernorm{i}", dtype=dtype)
            )
        layers.append(_activation_layer(f"{spec.activation}{i}", spec.activation, dtype))
        if spec.dropout > 0:
            layers.append(
                keras.layers.Dropout(
                    rate=spec.dropout,
                    seed=None if seed is None else seed * 1000 + i,
                    name=f"dropout{i}",
                    dtype=dtype,
                )
            )
    L = spec.num_layers
    layers.append(
        keras.layers.Dense(spec.num_classes, kernel_regularizer=reg, name=f"dense{L}", dtype=dtype)
    )
    with _floatx(dtype):
        keras_model = keras.Sequential(layers, name="layerwise_twin")
    if model is not None:
        to_keras(model, keras_model)
    return keras_model


# --------------------------------------------------------------------------------------------
# weights, both ways
# --------------------------------------------------------------------------------------------

_NORM_TYPES = ("BatchNormalization", "LayerNormalization")


def _variable_map(keras_model: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(params, buffers): layerwise names -> the Keras variables that hold them.

    Dense layers in order are ``theta{i}``/``theta{i}_0``; a normalisation layer after Dense i
    gives ``gamma{i}``/``beta{i}`` (and, for batch norm, ``running_mean{i}``/``running_var{i}``).
    """
    params: dict[str, Any] = {}
    buffers: dict[str, Any] = {}
    i = 0
    for layer in keras_model.layers:
        kind = type(layer).__name__
        if kind == "Dense":
            i += 1
            if not layer.use_bias:
                raise ConfigError(f"Dense layer {layer.name!r} has no bias; layerwise needs one")
            params[f"theta{i}"] = layer.kernel
            params[f"theta{i}_0"] = layer.bias
        elif kind in _NORM_TYPES:
            if i == 0 or f"gamma{i}" in params:
                raise ConfigError(f"{kind} {layer.name!r} does not follow a Dense layer")
            params[f"gamma{i}"] = layer.gamma
            params[f"beta{i}"] = layer.beta
            if kind == "BatchNormalization":
                buffers[f"running_mean{i}"] = layer.moving_mean
                buffers[f"running_var{i}"] = layer.moving_variance
    return params, buffers


def to_keras(model: Any, keras_model: Any) -> Any:
    """Copy a layerwise model's parameters and batch-norm running statistics into a Keras twin.

    Names and shapes must match (``theta{i}`` -> the i-th Dense kernel, and so on); a mismatch
    raises ValueError naming it. Returns ``keras_model``.
    """
    params, buffers = _variable_map(keras_model)
    _assign("to_keras", params, model.params)
    get_buffers = getattr(model, "get_buffers", None)
    _assign("to_keras", buffers, get_buffers() if callable(get_buffers) else {})
    return keras_model


def _assign(where: str, variables: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    if sorted(variables) != sorted(values):
        raise ConfigError(
            f"{where}: the layerwise model has {sorted(values)} but the Keras model has "
            f"{sorted(variables)}"
        )
    for name, var in variables.items():
        value = np.asarray(values[name])
        if tuple(value.shape) != tuple(var.shape):
            raise ConfigError(
                f"{where}: {name} has shape {value.shape} in layerwise but {tuple(var.shape)} in "
                "Keras"
            )
        var.assign(value.astype(var.dtype))


def keras_weights(keras_model: Any) -> tuple[dict[str, Array], dict[str, Array]]:
    """(params, buffers) of a Keras twin as NumPy arrays under layerwise's names."""
    params, buffers = _variable_map(keras_model)
    return (
        {k: np.array(v.numpy()) for k, v in params.items()},
        {k: np.array(v.numpy()) for k, v in buffers.items()},
    )


def spec_from_keras(
    keras_model: Any,
    dropout: float | None = None,
    optimizer: str = "sgd",
    learning_rate: float = 1e-2,
    **optimizer_options: float,
) -> NetSpec:
    """The :class:`NetSpec` a Keras fully connected model computes, or ValueError naming the
    layer layerwise cannot express.

    Understood layers: InputLayer, Flatten, Dense (activation linear/relu/sigmoid/tanh, softmax
    on the last), Activation, LeakyReLU (slope 0.01), Dropout (one rate for every hidden layer;
    pass ``dropout=`` to override, e.g. for the seed's CIFAR model with dropout after the first
    layer only), BatchNormalization (momentum 0.9, epsilon 1e-5), LayerNormalization
    (epsilon 1e-5). The output layer's softmax is dropped: layerwise's scores are the logits,
    with the same argmax and the same cross-entropy.
    """
    shape = keras_model.inputs[0].shape[1:]
    dims = [int(np.prod(shape))]
    blocks: list[list[tuple[str, Any]]] = []
    regs: set[float] = set()
    for layer in keras_model.layers:
        kind = type(layer).__name__
        if kind in ("InputLayer", "Flatten"):
            if blocks and kind == "Flatten":
                raise ConfigError(f"Flatten layer {layer.name!r} must come first")
            continue
        if kind == "Dense":
            dims.append(int(layer.units))
            blocks.append([])
            regularizer = layer.kernel_regularizer
            regs.add(0.0 if regularizer is None else 2.0 * float(getattr(regularizer, "l2", 0.0)))
            if layer.bias_regularizer is not None:
                raise ConfigError(f"Dense {layer.name!r}: layerwise does not regularise biases")
            act = layer.activation.__name__
            if act != "linear":
                blocks[-1].append(("act", act))
            continue
        if not blocks:
            raise ConfigError(f"layer {layer.name!r} ({kind}) comes before the first Dense layer")
        block = blocks[-1]
        if kind == "Activation":
            block.append(("act", layer.activation.__name__))
        elif kind == "LeakyReLU":
            if not np.isclose(float(layer.negative_slope), LEAKY_SLOPE):
                raise ConfigError(
                    f"LeakyReLU {layer.name!r} has slope {layer.negative_slope}; layerwise's is "
                    f"{LEAKY_SLOPE}"
                )
            block.append(("act", "leaky_relu"))
        elif kind == "Dropout":
            block.append(("dropout", float(layer.rate)))
        elif kind in _NORM_TYPES:
            if not np.isclose(float(layer.epsilon), NORM_EPS):
                raise ConfigError(
                    f"{kind} {layer.name!r} has epsilon {layer.epsilon}; layerwise uses {NORM_EPS}"
                )
            if kind == "BatchNormalization" and not np.isclose(float(layer.momentum), BN_MOMENTUM):
                raise ConfigError(
                    f"BatchNormalization {layer.name!r} has momentum {layer.momentum}; layerwise "
                    f"uses {BN_MOMENTUM}"
                )
            block.append(("norm", "batchnorm" if kind == "BatchNormalization" else "layernorm"))
        else:
            raise ConfigError(f"layer {layer.name!r} ({kind}) has no layerwise counterpart")
    if not blocks:
        raise ConfigError("the Keras model has no Dense layer")
    if len(regs) > 1:
        raise ConfigError(f"the Dense layers have different L2 strengths {sorted(regs)}")
    *hidden_blocks, out_block = blocks
    if [k for k, v in out_block if not (k == "act" and v == "softmax")]:
        raise ConfigError(f"the output layer must be Dense (+ softmax); got {out_block}")
    activations, norms, rates = set(), set(), []
    for i, block in enumerate(hidden_blocks, start=1):
        kinds = [k for k, _ in block]
        acts = [v for k, v in block if k == "act"]
        if len(acts) != 1 or acts[0] not in ("relu", "leaky_relu", "sigmoid", "tanh"):
            raise ConfigError(
                f"hidden layer {i} needs one relu/leaky_relu/sigmoid/tanh; got {acts}"
            )
        if "norm" in kinds and kinds.index("norm") > kinds.index("act"):
            raise ConfigError(f"hidden layer {i}: normalisation must come before the activation")
        if "dropout" in kinds and kinds.index("dropout") < kinds.index("act"):
            raise ConfigError(f"hidden layer {i}: dropout must come after the activation")
        activations.add(acts[0])
        norms.add(next((v for k, v in block if k == "norm"), None))
        rates.append(float(sum(v for k, v in block if k == "dropout")))
    if len(activations) > 1 or len(norms) > 1:
        raise ConfigError(
            f"layerwise uses one activation and one normalisation for every hidden layer; got "
            f"{sorted(activations)} and {sorted(map(str, norms))}"
        )
    if dropout is None:
        if len(set(rates)) > 1:
            raise ConfigError(
                f"the hidden layers have different dropout rates {rates}; layerwise uses one "
                "(pass dropout= to choose it)"
            )
        dropout = rates[0] if rates else 0.0
    dtype = keras_model.layers[0].dtype if keras_model.layers else "float32"
    return NetSpec(
        input_dim=dims[0],
        hidden_dims=tuple(dims[1:-1]),
        num_classes=dims[-1],
        activation=activations.pop() if activations else "relu",
        dropout=dropout,
        normalization=norms.pop() if norms else None,
        optimizer=optimizer,
        learning_rate=learning_rate,
        optimizer_options=optimizer_options,
        reg=regs.pop() if regs else 0.0,
        dtype=dtype if dtype in ("float32", "float64") else "float32",
    )


def from_keras(keras_model: Any, dropout: float | None = None) -> Any:
    """A layerwise :class:`~layerwise.models.FullyConnectedNet` holding a Keras model's weights
    and batch-norm moving statistics (see :func:`spec_from_keras` for what is understood)."""
    spec = spec_from_keras(keras_model, dropout=dropout)
    model = spec.build_numpy(seed=0)
    model.seed = None  # built with a seed only to leave the global stream alone
    params, buffers = keras_weights(keras_model)
    dt = model.dtype
    model.params = {k: params[k].astype(dt) for k in model.params}
    if buffers:
        model.set_buffers({k: v.astype(dt) for k, v in buffers.items()})
    return model


# --------------------------------------------------------------------------------------------
# update rules: layerwise's formulas as a Keras optimizer
# --------------------------------------------------------------------------------------------


class LayerwiseOptimizer(_Optimizer):
    """A Keras optimizer computing exactly one of layerwise's update rules.

    ``rule`` is a name in :data:`layerwise.spec.OPTIMIZERS`; the options are that
    rule's (``momentum``, ``decay_rate``, ``beta1``, ``beta2``, ``epsilon``, ``weight_decay``,
    ``decay_min_ndim``), with layerwise's defaults (:data:`layerwise.optim.DEFAULTS`): as
    layerwise's ``adamw``, it decays only parameters with ``decay_min_ndim`` (2) or more
    dimensions. Per-variable state is ``velocity`` / ``cache`` / ``m`` and ``v``, and
    Adam's step count is the optimizer's ``iterations``.
    """

    def __init__(self, rule: str = "sgd", learning_rate: float = 1e-2, **options: float) -> None:
        if rule not in OPTIMIZER_DEFAULTS:
            raise ConfigError(
                f"unknown update rule {rule!r}; expected one of {list(OPTIMIZER_DEFAULTS)}"
            )
        unknown = sorted(set(options) - set(OPTIMIZER_DEFAULTS[rule]))
        if unknown:
            raise ConfigError(f"update rule {rule!r} takes no option(s) {unknown}")
        super().__init__(learning_rate=learning_rate, name=f"layerwise_{rule}")
        self.rule = rule
        self.options = {**OPTIMIZER_DEFAULTS[rule], **options}
        self.slots: dict[str, list[Any]] = {}

    def build(self, var_list: list[Any]) -> None:
        if self.built:
            return
        super().build(var_list)
        for name in OPTIMIZER_SLOTS[self.rule]:
            self.slots[name] = [self.add_variable_from_reference(w, name) for w in var_list]

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        dt = variable.dtype
        lr = ops.cast(learning_rate, dt)
        g = ops.cast(gradient, dt)
        index = self._get_variable_index(variable)

        def const(key: str) -> Any:
            # convert_to_tensor with the dtype, not ops.cast: casting a Python float goes
            # through float32 first (0.9 would become 0.89999998 in a float64 model).
            return ops.convert_to_tensor(self.options[key], dtype=dt)

        if self.rule == "sgd":
            self.assign_sub(variable, lr * g)
        elif self.rule in ("sgd_momentum", "nesterov_momentum"):
            v = self.slots["velocity"][index]
            mu = const("momentum")
            if self.rule == "nesterov_momentum":
                self.assign_sub(variable, mu * v)  # the look-ahead uses the previous velocity
                self.assign(v, mu * v - lr * g)
                self.assign_add(variable, (1 + mu) * v)
            else:
                self.assign(v, mu * v - lr * g)
                self.assign_add(variable, v)
        elif self.rule == "rmsprop":
            cache = self.slots["cache"][index]
            decay = const("decay_rate")
            self.assign(cache, decay * cache + (1 - decay) * g * g)
            self.assign_sub(variable, lr * g / (ops.sqrt(cache) + const("epsilon")))
        else:  # adam, adamw
            m, v = self.slots["m"][index], self.slots["v"][index]
            b1, b2 = const("beta1"), const("beta2")
            t = ops.cast(self.iterations + 1, dt)
            self.assign(m, b1 * m + (1 - b1) * g)
            self.assign(v, b2 * v + (1 - b2) * g * g)
            step = lr / (1 - b1**t) * m / (ops.sqrt(v / (1 - b2**t)) + const("epsilon"))
            if self.rule == "adamw" and len(variable.shape) >= self.options["decay_min_ndim"]:
                self.assign(variable, variable * (1 - lr * const("weight_decay")))
            self.assign_sub(variable, step)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update({"rule": self.rule, **self.options})
        config.pop("name", None)
        return config


def make_optimizer(spec: NetSpec) -> Any:
    """The :class:`LayerwiseOptimizer` of ``spec`` (its variables in ``spec.dtype``)."""
    with _floatx(spec.dtype):
        return LayerwiseOptimizer(spec.optimizer, spec.learning_rate, **spec.optimizer_options)


def compile_twin(keras_model: Any, spec: NetSpec) -> Any:
    """Compile a twin for ``keras_model.fit``: layerwise's update rule, softmax cross-entropy on
    the logits with integer labels, accuracy. Returns ``keras_model``."""
    keras_model.compile(
        optimizer=make_optimizer(spec),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype=spec.dtype),
        metrics=["accuracy"],
    )
    return keras_model


# --------------------------------------------------------------------------------------------
# the twin as a training engine
# --------------------------------------------------------------------------------------------


class KerasTwin:
    """A Keras model and optimizer that mirror a layerwise model, stepped one minibatch at a
    time (what ``layerwise train --engine keras`` uses; see
    :class:`layerwise.frameworks.engines.TwinSolver`).

    Inputs: ``spec``; optionally a layerwise ``model`` whose weights the twin starts from, and a
    ``seed`` for the dropout masks.
    Attributes: ``keras_model``, ``optimizer``, ``spec``.
    """

    engine = "keras"

    def __init__(self, spec: NetSpec, model: Any = None, seed: int | None = None) -> None:
        self.spec = spec
        self.keras_model = build_keras_model(spec, model, seed=seed)
        self.optimizer = make_optimizer(spec)
        self.optimizer.build(self.keras_model.trainable_variables)
        self._dtype = tf.as_dtype(spec.dtype)
        self._loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype=spec.dtype)
        params, _ = _variable_map(self.keras_model)
        by_id = {id(v): k for k, v in params.items()}
        self.variable_names = [by_id[id(v)] for v in self.keras_model.trainable_variables]
        self._kernels = [params[f"theta{i}"] for i in range(1, spec.num_layers + 1)]
        self._lr = spec.learning_rate
        x_spec = tf.TensorSpec([None, spec.input_dim], self._dtype)
        y_spec = tf.TensorSpec([None], tf.int64)
        self._step_fn = tf.function(self._step, input_signature=[x_spec, y_spec])

    # the computation -------------------------------------------------------------------------

    def _objective(self, X: Any, y: Any, training: bool) -> Any:
        scores = self.keras_model(X, training=training)
        loss = self._loss(y, scores)
        if self.spec.reg:
            # The L2 term computed here, in the model's dtype: Keras's own L2 regularizer (which
            # `fit` uses) rounds its strength to float32, a 1e-8 relative error in float64.
            half_reg = tf.constant(0.5 * self.spec.reg, self._dtype)
            for kernel in self._kernels:
                loss = loss + half_reg * tf.reduce_sum(tf.square(kernel))
        return loss

    def _loss_and_grads(self, X: Any, y: Any, training: Any) -> Any:
        variables = self.keras_model.trainable_variables
        with tf.GradientTape() as tape:
            loss = self._objective(X, y, training)
        return loss, tape.gradient(loss, variables)

    def _step(self, X: Any, y: Any) -> Any:
        loss, grads = self._loss_and_grads(X, y, True)
        self.optimizer.apply(grads, self.keras_model.trainable_variables)
        return loss

    def _inputs(self, X: Any, y: Any = None) -> tuple[Any, Any]:
        X = np.asarray(X).reshape(len(X), -1).astype(self.spec.dtype, copy=False)
        return X, (None if y is None else np.asarray(y, dtype=np.int64))

    # public ----------------------------------------------------------------------------------

    def train_step(self, X: Any, y: Any, learning_rate: float | None = None) -> float:
        """One update on the minibatch (X (m, d...), y (m,)); returns its loss before the step."""
        if learning_rate is not None and learning_rate != self._lr:
            self.optimizer.learning_rate = learning_rate
            self._lr = learning_rate
        X, y = self._inputs(X, y)
        return float(self._step_fn(X, y))

    def scores(self, X: Any, training: bool = False) -> Array:
        """Class scores (logits) (m, C); ``training=True`` uses batch statistics and dropout."""
        X, _ = self._inputs(X)
        return np.asarray(self.keras_model(X, training=training))

    def loss_and_grads(
        self, X: Any, y: Any, training: bool = True
    ) -> tuple[float, dict[str, Array]]:
        """The loss and its gradients under layerwise's parameter names (no update; in train
        mode batch norm's moving statistics do move, as in layerwise)."""
        X, y = self._inputs(X, y)
        # Eager: a diagnostic (no graph to trace); Keras layers take `training` as a bool.
        loss, grads = self._loss_and_grads(tf.constant(X), tf.constant(y), bool(training))
        return float(loss), {
            n: np.asarray(g) for n, g in zip(self.variable_names, grads, strict=True)
        }

    def get_weights(self) -> tuple[dict[str, Array], dict[str, Array]]:
        """(params, buffers) under layerwise's names."""
        return keras_weights(self.keras_model)

    def set_weights(self, params: Mapping[str, Any], buffers: Mapping[str, Any]) -> None:
        """Load layerwise-named params and buffers (running statistics)."""
        p, b = _variable_map(self.keras_model)
        _assign("set_weights", p, params)
        _assign("set_weights", b, buffers)

    def get_optimizer_state(self) -> dict[str, dict[str, Any]]:
        """Per parameter, the optimizer state in layerwise's ``optim_config`` form
        (``velocity``, ``cache``, ``m``, ``v``, ``t``), so a Solver checkpoint holds it."""
        state: dict[str, dict[str, Any]] = {n: {} for n in self.variable_names}
        t = int(self.optimizer.iterations.numpy())
        for slot, variables in self.optimizer.slots.items():
            for name, var in zip(self.variable_names, variables, strict=True):
                state[name][slot] = np.array(var.numpy())
        if self.spec.optimizer in ("adam", "adamw"):
            for name in state:
                state[name]["t"] = t
        return state

    def set_optimizer_state(self, configs: Mapping[str, Mapping[str, Any]]) -> None:
        """Load what :meth:`get_optimizer_state` returns (or a layerwise Solver's
        ``optim_configs``); missing state stays zero."""
        for slot, variables in self.optimizer.slots.items():
            for name, var in zip(self.variable_names, variables, strict=True):
                value = configs.get(name, {}).get(slot)
                var.assign(
                    np.zeros(var.shape, var.dtype)
                    if value is None
                    else np.asarray(value, var.dtype)
                )
        ts = [int(c["t"]) for c in configs.values() if c.get("t") is not None]
        self.optimizer.iterations.assign(ts[0] if ts else 0)


# --------------------------------------------------------------------------------------------
# the seed notebook's Keras models
# --------------------------------------------------------------------------------------------


def neural_net_model(
    learning_rate: float = 0.01,
    dropout_rate: float = 0.2,
    activation: str = "relu",
    n_units: int = 512,
    input_dim: int = 784,
    num_classes: int = 10,
) -> Any:
    """The seed notebook's Keras MNIST model, honouring its arguments.

    ``Dense(n_units) - Activation - Dropout(dropout_rate)`` three times, then
    ``Dense(num_classes) - softmax``; compiled with ``categorical_crossentropy`` (one-hot labels,
    as in the seed), ``keras.optimizers.Adam(learning_rate)`` and accuracy.

    The seed's version ignored ``learning_rate``, ``dropout_rate`` and ``n_units``: it always
    built 512 units with dropout 0.2 and compiled with ``optimizer='adam'`` (Keras's default
    learning rate 1e-3). Its grid search therefore trained the same network over and over
    (differing only in activation and in random initialisation), and its finding "lr 0.1, 512
    units, dropout 0.5 is best" was noise from that bug, not a property of those settings.
    """
    model = keras.Sequential(name="neural_net_model")
    model.add(keras.Input(shape=(input_dim,)))
    for _ in range(3):
        model.add(keras.layers.Dense(n_units))
        model.add(keras.layers.Activation(activation))
        model.add(keras.layers.Dropout(dropout_rate))
    model.add(keras.layers.Dense(num_classes))
    model.add(keras.layers.Activation("softmax"))
    model.compile(
        loss="categorical_crossentropy",
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        metrics=["accuracy"],
    )
    return model


def seed_cifar_model(
    input_shape: tuple[int, ...] = (3, 32, 32), learning_rate: float = 1e-4
) -> Any:
    """The seed notebook's Keras CIFAR-10 model, compiled as there.

    ``Flatten - Dense(100, sigmoid) - Dropout(0.25) - Dense(100, sigmoid) - Dense(10, softmax)``,
    ``categorical_crossentropy`` (one-hot labels), ``Adam(1e-4)``, accuracy. The dropout follows
    the first hidden layer only; a layerwise network drops after every hidden layer, so
    :func:`from_keras` needs ``dropout=`` for it (at test time dropout plays no part).
    """
    model = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            keras.layers.Flatten(),
            keras.layers.Dense(100, activation="sigmoid"),
            keras.layers.Dropout(0.25),
            keras.layers.Dense(100, activation="sigmoid"),
            keras.layers.Dense(10, activation="softmax"),
        ],
        name="seed_cifar_mlp",
    )
    model.compile(
        loss="categorical_crossentropy",
        optimizer=keras.optimizers.Adam(learning_rate),
        metrics=["accuracy"],
    )
    return model
