"""The TensorFlow 2 twin of a layerwise network: the seed notebook's ``tf_nn``, rebuilt.

Needs the optional extra (``pip install 'layerwise[tf]'``); without it, importing this module
raises one ImportError that says so.

The seed built its network with ``tensorflow.compat.v1`` (placeholders, ``tf.Session``,
``tf.train.AdamOptimizer``). Here the same network is plain TensorFlow 2: ``tf.Variable``s
named like layerwise's parameters (``theta1``, ``theta1_0``, ..., ``gamma{i}``, ``beta{i}``),
a forward pass written out op by op, gradients from ``tf.GradientTape`` and a training step
compiled with ``tf.function``. It computes what :class:`~layerwise.models.FullyConnectedNet`
computes (any depth, the four activations, inverted dropout, batch/layer norm, L2), and the
update rules are layerwise's formulas (:class:`TFOptimizer`), so with the same weights and the
same minibatch both take the same step.

- :func:`tf_nn`: the seed's ``tf_nn(input_dim, hidden_dims, num_classes, activation)``, returning
  a :class:`TFNet` initialised as the seed did (every weight and bias drawn from N(0, 1)).
- :func:`train_tf`: the seed's training loop (sequential minibatches, the last one taking the
  remainder), printing its per-epoch numbers: avg cost, training accuracy, validation accuracy.
- :func:`to_tensorflow` / :func:`from_tensorflow`: weights both ways.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from layerwise.errors import ConfigError
from layerwise.frameworks._deps import require_tensorflow
from layerwise.spec import BN_MOMENTUM, LEAKY_SLOPE, NORM_EPS, OPTIMIZER_SLOTS, NetSpec

tf = require_tensorflow()
_Module: Any = tf.Module  # a base class mypy accepts without TensorFlow's stubs

Array = np.ndarray

__all__ = ["TFNet", "TFOptimizer", "from_tensorflow", "tf_nn", "to_tensorflow", "train_tf"]


class TFOptimizer:
    """Layerwise's update rules (:mod:`layerwise.optim`) on ``tf.Variable``s, same formulas.

    Inputs: ``spec`` (the rule, its learning rate and options) and the variables by name.
    State per variable: ``velocity`` / ``cache`` / ``m``, ``v`` (zeros), and the step count ``t``;
    :meth:`get_state` returns it in layerwise's ``optim_config`` form. As layerwise's Solver,
    ``adamw`` decays only parameters with ``decay_min_ndim`` (2) or more dimensions.
    """

    def __init__(self, spec: NetSpec, variables: Mapping[str, Any]) -> None:
        self.rule = spec.optimizer
        self.options = dict(spec.optimizer_options)
        self.dtype = tf.as_dtype(spec.dtype)
        self.variables = dict(variables)
        self.learning_rate = tf.Variable(spec.learning_rate, dtype=self.dtype, trainable=False)
        self.t = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.slots = {
            slot: {n: tf.Variable(tf.zeros_like(v), trainable=False) for n, v in variables.items()}
            for slot in OPTIMIZER_SLOTS[self.rule]
        }

    def apply(self, grads: Mapping[str, Any]) -> None:
        """One update of every variable with its gradient (graph or eager)."""
        dt = self.dtype
        lr = self.learning_rate
        o = {k: tf.constant(v, dt) for k, v in self.options.items() if k != "decay_min_ndim"}
        self.t.assign_add(1)
        t = tf.cast(self.t, dt)
        for name, w in self.variables.items():
            g = tf.cast(grads[name], dt)
            if self.rule == "sgd":
                w.assign_sub(lr * g)
            elif self.rule in ("sgd_momentum", "nesterov_momentum"):
                v = self.slots["velocity"][name]
                mu = o["momentum"]
                if self.rule == "nesterov_momentum":
                    w.assign_sub(mu * v)  # the look-ahead uses the previous velocity
                    v.assign(mu * v - lr * g)
                    w.assign_add((1 + mu) * v)
                else:
                    v.assign(mu * v - lr * g)
                    w.assign_add(v)
            elif self.rule == "rmsprop":
                cache = self.slots["cache"][name]
                decay = o["decay_rate"]
                cache.assign(decay * cache + (1 - decay) * g * g)
                w.assign_sub(lr * g / (tf.sqrt(cache) + o["epsilon"]))
            else:  # adam, adamw
                m, v = self.slots["m"][name], self.slots["v"][name]
                b1, b2 = o["beta1"], o["beta2"]
                m.assign(b1 * m + (1 - b1) * g)
                v.assign(b2 * v + (1 - b2) * g * g)
                step = lr / (1 - b1**t) * m / (tf.sqrt(v / (1 - b2**t)) + o["epsilon"])
                if self.rule == "adamw" and len(w.shape) >= self.options["decay_min_ndim"]:
                    w.assign(w * (1 - lr * o["weight_decay"]))
                w.assign_sub(step)

    def get_state(self) -> dict[str, dict[str, Any]]:
        """Per variable, its state as layerwise's ``optim_config`` entries."""
        state: dict[str, dict[str, Any]] = {n: {} for n in self.variables}
        for slot, by_name in self.slots.items():
            for name, var in by_name.items():
                state[name][slot] = np.array(var.numpy())
        if self.rule in ("adam", "adamw"):
            for name in state:
                state[name]["t"] = int(self.t.numpy())
        return state

    def set_state(self, configs: Mapping[str, Mapping[str, Any]]) -> None:
        """Load :meth:`get_state`'s output (or a layerwise Solver's ``optim_configs``)."""
        for slot, by_name in self.slots.items():
            for name, var in by_name.items():
                value = configs.get(name, {}).get(slot)
                var.assign(tf.zeros_like(var) if value is None else np.asarray(value))
        ts = [int(c["t"]) for c in configs.values() if c.get("t") is not None]
        self.t.assign(ts[0] if ts else 0)


class TFNet(_Module):
    """A fully connected network in TensorFlow 2 that mirrors a layerwise model.

    ``{affine - [batch/layer norm] - activation - [dropout]} x (L - 1) - affine - softmax``

    Inputs:
    - spec: the :class:`~layerwise.spec.NetSpec` (architecture, loss, update rule).
    - model: a layerwise model to copy the weights (and running statistics) from; else
    - init: 'layerwise' draws them as ``spec.build_numpy(seed=seed)`` would; 'seed' draws every
      weight AND bias from N(0, 1), as the seed notebook's ``tf.random_normal`` did.
    - seed: seeds the initial weights and the dropout generator (``tf.random.Generator``).

    Attributes: ``params`` and ``buffers`` (dicts of ``tf.Variable`` under layerwise's names),
    ``optimizer`` (:class:`TFOptimizer`), ``spec``.
    """

    engine = "tensorflow"

    def __init__(
        self,
        spec: NetSpec,
        model: Any = None,
        seed: int | None = None,
        init: str = "layerwise",
    ) -> None:
        super().__init__(name="layerwise_tf_twin")
        if init not in ("layerwise", "seed"):
            raise ConfigError(f"init must be 'layerwise' or 'seed'; got {init!r}")
        self.spec = spec
        self._dtype = tf.as_dtype(spec.dtype)
        if model is None:
            numpy_model = spec.build_numpy(seed=0 if seed is None else seed)
            params = dict(numpy_model.params)
            buffers = numpy_model.get_buffers()
            if init == "seed":
                g = tf.random.Generator.from_seed(0 if seed is None else seed)
                for name, value in params.items():
                    if name.startswith("theta"):
                        params[name] = g.normal(value.shape, dtype=self._dtype).numpy()
        else:
            if NetSpec.from_model(model).dims != spec.dims:
                raise ConfigError(
                    f"the model's layer sizes {list(model.dims)} differ from the spec's "
                    f"{list(spec.dims)}"
                )
            params, buffers = dict(model.params), model.get_buffers()
        self.params = {k: tf.Variable(np.asarray(v, spec.dtype), name=k) for k, v in params.items()}
        self.buffers = {
            k: tf.Variable(np.asarray(v, spec.dtype), name=k, trainable=False)
            for k, v in buffers.items()
        }
        self.rng = tf.random.Generator.from_seed(0 if seed is None else seed + 1)
        self.optimizer = TFOptimizer(spec, self.params)
        self._lr = spec.learning_rate
        x_spec = tf.TensorSpec([None, spec.input_dim], self._dtype)
        y_spec = tf.TensorSpec([None], tf.int64)
        self._step_fn = tf.function(self._step, input_signature=[x_spec, y_spec])
        self._scores_fn = {
            mode: tf.function(
                functools.partial(self.forward, training=mode), input_signature=[x_spec]
            )
            for mode in (False, True)
        }

    # the computation -------------------------------------------------------------------------

    def _activate(self, a: Any) -> Any:
        act = self.spec.activation
        if act == "relu":
            return tf.nn.relu(a)
        if act == "leaky_relu":
            return tf.where(a > 0, a, tf.constant(LEAKY_SLOPE, self._dtype) * a)
        if act == "sigmoid":
            return tf.sigmoid(a)
        return tf.tanh(a)

    def forward(self, X: Any, training: bool = False, noise: Sequence[Any] | None = None) -> Any:
        """Class scores (m, C) for X (m, d).

        ``training``: batch statistics (and moving-average updates) for batch norm, dropout on.
        ``noise``: optional uniform [0, 1) draws, one (m, h_i) array per hidden layer, that
        decide the dropout masks (a unit is kept where ``u >= p``, as in layerwise); by default
        they come from ``self.rng``.
        """
        p, spec = self.params, self.spec
        out = X
        eps = tf.constant(NORM_EPS, self._dtype)
        momentum = tf.constant(BN_MOMENTUM, self._dtype)
        for i in range(1, spec.num_layers):
            out = tf.matmul(out, p[f"theta{i}"]) + p[f"theta{i}_0"]
            if spec.normalization == "batchnorm":
                rm, rv = self.buffers[f"running_mean{i}"], self.buffers[f"running_var{i}"]
                if training:
                    mu = tf.reduce_mean(out, axis=0)
                    var = tf.reduce_mean(tf.square(out - mu), axis=0)  # biased, as layerwise
                    rm.assign(momentum * rm + (1 - momentum) * mu)
                    rv.assign(momentum * rv + (1 - momentum) * var)
                else:
                    mu, var = rm, rv
                out = p[f"gamma{i}"] * ((out - mu) / tf.sqrt(var + eps)) + p[f"beta{i}"]
            elif spec.normalization == "layernorm":
                mu = tf.reduce_mean(out, axis=1, keepdims=True)
                var = tf.reduce_mean(tf.square(out - mu), axis=1, keepdims=True)
                out = p[f"gamma{i}"] * ((out - mu) / tf.sqrt(var + eps)) + p[f"beta{i}"]
            out = self._activate(out)
            if training and spec.dropout > 0:
                drop = tf.constant(spec.dropout, self._dtype)
                if noise is None:
                    u = self.rng.uniform(tf.shape(out), dtype=self._dtype)
                else:
                    u = tf.convert_to_tensor(noise[i - 1], self._dtype)
                out = out * tf.cast(u >= drop, self._dtype) / (1 - drop)
        L = spec.num_layers
        return tf.matmul(out, p[f"theta{L}"]) + p[f"theta{L}_0"]

    def objective(
        self, X: Any, y: Any, training: bool = True, noise: Sequence[Any] | None = None
    ) -> Any:
        """Mean softmax cross-entropy plus ``0.5 * reg * sum(W**2)`` (a scalar tensor)."""
        scores = self.forward(X, training, noise)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=scores)
        )
        if self.spec.reg:
            half_reg = tf.constant(0.5 * self.spec.reg, self._dtype)
            for i in range(1, self.spec.num_layers + 1):
                loss += half_reg * tf.reduce_sum(tf.square(self.params[f"theta{i}"]))
        return loss

    def _grads(self, X: Any, y: Any, training: bool, noise: Any = None) -> tuple[Any, Any]:
        names = list(self.params)
        with tf.GradientTape() as tape:
            loss = self.objective(X, y, training, noise)
        grads = tape.gradient(loss, [self.params[n] for n in names])
        return loss, dict(zip(names, grads, strict=True))

    def _step(self, X: Any, y: Any) -> Any:
        loss, grads = self._grads(X, y, True)
        self.optimizer.apply(grads)
        return loss

    def _inputs(self, X: Any, y: Any = None) -> tuple[Array, Array | None]:
        X = np.asarray(X).reshape(len(X), -1).astype(self.spec.dtype, copy=False)
        return X, (None if y is None else np.asarray(y, dtype=np.int64))

    # public ----------------------------------------------------------------------------------

    def train_step(self, X: Any, y: Any, learning_rate: float | None = None) -> float:
        """One update on the minibatch (X (m, d...), y (m,)); returns its loss before the step."""
        if learning_rate is not None and learning_rate != self._lr:
            self.optimizer.learning_rate.assign(learning_rate)
            self._lr = learning_rate
        X, y = self._inputs(X, y)
        return float(self._step_fn(X, y))

    def scores(self, X: Any, training: bool = False) -> Array:
        """Class scores (logits) (m, C) for X (m, d...)."""
        X, _ = self._inputs(X)
        return np.asarray(self._scores_fn[bool(training)](X))

    def predict(self, X: Any, batch_size: int = 1000) -> Array:
        """Predicted labels (m,), in test mode, in batches."""
        chunks = [
            np.argmax(self.scores(X[i : i + batch_size]), axis=1)
            for i in range(0, len(X), batch_size)
        ]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.intp)

    def loss_and_grads(
        self, X: Any, y: Any, training: bool = True, noise: Sequence[Any] | None = None
    ) -> tuple[float, dict[str, Array]]:
        """The loss and its gradients by parameter name (eager; no update)."""
        X, y = self._inputs(X, y)
        loss, grads = self._grads(tf.constant(X), tf.constant(y), training, noise)
        return float(loss), {n: np.asarray(g) for n, g in grads.items()}

    def get_weights(self) -> tuple[dict[str, Array], dict[str, Array]]:
        """(params, buffers) as NumPy arrays under layerwise's names."""
        return (
            {k: np.array(v.numpy()) for k, v in self.params.items()},
            {k: np.array(v.numpy()) for k, v in self.buffers.items()},
        )

    def set_weights(self, params: Mapping[str, Any], buffers: Mapping[str, Any]) -> None:
        """Load layerwise-named params and buffers; names and shapes must match."""
        for where, variables, values in (
            ("params", self.params, params),
            ("buffers", self.buffers, buffers),
        ):
            if sorted(variables) != sorted(values):
                raise ConfigError(
                    f"set_weights: {where} {sorted(values)} do not match the twin's "
                    f"{sorted(variables)}"
                )
            for name, var in variables.items():
                value = np.asarray(values[name])
                if tuple(value.shape) != tuple(var.shape):
                    raise ConfigError(
                        f"set_weights: {name} has shape {value.shape}; expected {tuple(var.shape)}"
                    )
                var.assign(value.astype(self.spec.dtype))

    def get_optimizer_state(self) -> dict[str, dict[str, Any]]:
        """The optimizer's state in layerwise's ``optim_config`` form."""
        return self.optimizer.get_state()

    def set_optimizer_state(self, configs: Mapping[str, Mapping[str, Any]]) -> None:
        """Load optimizer state in layerwise's ``optim_config`` form."""
        self.optimizer.set_state(configs)


def to_tensorflow(model: Any, net: TFNet) -> TFNet:
    """Copy a layerwise model's parameters and running statistics into ``net``; returns it."""
    net.set_weights(model.params, model.get_buffers())
    return net


def from_tensorflow(net: TFNet) -> Any:
    """A layerwise :class:`~layerwise.models.FullyConnectedNet` holding ``net``'s weights."""
    model = net.spec.build_numpy(seed=0)
    model.seed = None  # the seed only kept the global stream alone while building
    params, buffers = net.get_weights()
    model.params = params
    if buffers:
        model.set_buffers(buffers)
    return model


def tf_nn(
    input_dim: int,
    hidden_dims: Sequence[int],
    num_classes: int,
    activation: str = "relu",
    *,
    learning_rate: float = 1e-3,
    optimizer: str = "adam",
    seed: int | None = 0,
    init: str = "seed",
    **spec_fields: Any,
) -> TFNet:
    """The seed notebook's ``tf_nn``, in TensorFlow 2.

    Builds ``input_dim - hidden_dims... - num_classes`` with ``activation`` after every hidden
    layer and a softmax cross-entropy cost, as the seed did; the seed then trained it with
    ``tf.train.AdamOptimizer(1e-3)``, which is the default here. ``init='seed'`` draws every
    weight and bias from N(0, 1) like the seed's ``tf.random_normal``; ``init='layerwise'``
    uses layerwise's rule instead (``weight_scale``/``weight_init`` in ``spec_fields``). Other
    :class:`NetSpec` fields (dropout, normalization, reg, dtype, ...) pass through.
    Returns a :class:`TFNet`; train it with :func:`train_tf`.
    """
    spec = NetSpec(
        input_dim=input_dim,
        hidden_dims=tuple(hidden_dims),
        num_classes=num_classes,
        activation=activation,
        optimizer=optimizer,
        learning_rate=learning_rate,
        **spec_fields,
    )
    return TFNet(spec, seed=seed, init=init)


def train_tf(
    net: TFNet,
    data: Mapping[str, Any],
    epochs: int = 10,
    batch_size: int = 100,
    display_step: int = 1,
    verbose: bool = True,
) -> dict[str, list[float]]:
    """The seed notebook's TensorFlow training loop.

    Each epoch walks ``X_train`` in order in minibatches of ``batch_size`` (the last one takes
    the remainder), one update each. Every ``display_step`` epochs it prints the seed's numbers:
    ``avg_cost`` (the mean minibatch cost of the epoch), ``training accuracy`` (on the epoch's
    last minibatch, after its update, as the seed measured it) and ``validation accuracy`` (on
    all of ``X_val``).

    Returns the history: ``epoch``, ``avg_cost``, ``train_acc``, ``val_acc`` (one entry per
    epoch).
    """
    X, y = net._inputs(data["X_train"], data["y_train"])
    assert y is not None
    X_val, y_val = np.asarray(data["X_val"]), np.asarray(data["y_val"])
    total_batch = max(len(X) // batch_size, 1)
    history: dict[str, list[float]] = {"epoch": [], "avg_cost": [], "train_acc": [], "val_acc": []}
    for epoch in range(epochs):
        avg_cost = 0.0
        acc = 0.0
        for i in range(1, total_batch + 1):
            stop = batch_size * i if i < total_batch else len(X)
            batch_xs, batch_ys = X[batch_size * (i - 1) : stop], y[batch_size * (i - 1) : stop]
            avg_cost += net.train_step(batch_xs, batch_ys) / total_batch
            if i == total_batch:
                acc = float(np.mean(net.predict(batch_xs) == batch_ys))
        val_acc = float(np.mean(net.predict(X_val) == y_val))
        history["epoch"].append(epoch + 1)
        history["avg_cost"].append(avg_cost)
        history["train_acc"].append(acc)
        history["val_acc"].append(val_acc)
        if verbose and epoch % display_step == 0:
            print("Epoch : ", epoch + 1)
            print("avg_cost : ", avg_cost)
            print("training accuracy : ", acc)
            print("validation accuracy : ", val_acc)
    if verbose:
        print("Training phase finished")
    return history
