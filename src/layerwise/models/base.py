"""What the models share: parameter initialisation, argument checks, and the affine stack.

A model is ``params: dict[str, ndarray]`` plus ``loss(X, y=None)``: class scores of shape
(m, C) when ``y`` is None, else ``(loss, grads)`` with ``grads`` keyed like ``params``.
The Solver relies on nothing else.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from layerwise import fused
from layerwise.errors import ConfigError
from layerwise.layer_utils import ACTIVATIONS, get_activation
from layerwise.layer_utils import NORMALIZATIONS as NORMALIZATION_TABLE
from layerwise.layers import (
    affine_backward,
    affine_forward,
    affine_grads,
    affine_input_grad,
    affine_out,
    affine_param_grads,
    batchnorm_backward,
    batchnorm_forward,
    dropout_forward,
    layernorm_backward,
    layernorm_forward,
)
from layerwise.losses import get_loss
from layerwise.tasks import get_task
from layerwise.validation import (
    IEEE,
    check_fits_in_memory,
    check_float_dtype,
    check_number,
    check_positive_int,
    check_probability,
    check_seed,
)

Array = np.ndarray


def check_non_negative(name: str, value: Any, strictly_positive: bool = False) -> float:
    """Return ``value`` as a float, or raise when it is not finite and >= 0 (> 0 if strict)."""
    return check_number(name, value, 0.0, strict=strictly_positive)


WEIGHT_INITS = (None, "he", "xavier")
NORMALIZATIONS = (None, *NORMALIZATION_TABLE)


def layer_scales(dims: Sequence[int], weight_scale: float, weight_init: str | None) -> list[float]:
    """Standard deviation of each affine layer's initial weights.

    - None: ``weight_scale`` for every layer (the seed's rule);
    - 'he': ``sqrt(2 / fan_in)`` (He et al., 2015), suited to ReLU;
    - 'xavier': ``sqrt(2 / (fan_in + fan_out))`` (Glorot & Bengio, 2010), suited to tanh.
    """
    if not (weight_init is None or isinstance(weight_init, str)) or weight_init not in WEIGHT_INITS:
        raise ConfigError(
            f"weight_init must be one of {list(WEIGHT_INITS)}; got {weight_init!r}", "weight_init"
        )
    pairs = list(itertools.pairwise(dims))
    if weight_init == "he":
        return [math.sqrt(2.0 / d_in) for d_in, _ in pairs]
    if weight_init == "xavier":
        return [math.sqrt(2.0 / (d_in + d_out)) for d_in, d_out in pairs]
    return [weight_scale] * len(pairs)


@IEEE
def init_weights(
    dims: Sequence[int],
    weight_scale: float | Sequence[float],
    dtype: np.dtype,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> dict[str, Array]:
    """Gaussian weights and zero biases for the affine layers ``dims[i] -> dims[i+1]``.

    Keys are ``theta1, theta1_0, theta2, theta2_0, ...``; ``weight_scale`` is one standard
    deviation for all layers or one per layer. Without ``seed`` or ``rng`` the draws come from
    NumPy's global stream in layer order, exactly as the seed notebook's
    ``weight_scale * np.random.randn(d, h)``, so ``np.random.seed(...)`` before construction
    reproduces a model. With either, a private ``np.random.Generator`` is used and the global
    stream is left alone.
    """
    pairs = list(itertools.pairwise(dims))
    if isinstance(weight_scale, Sequence):
        scales = [float(w) for w in weight_scale]
    else:
        scales = [float(weight_scale)] * len(pairs)
    if rng is None and seed is not None:
        rng = np.random.default_rng(seed)
    params: dict[str, Array] = {}
    for i, ((d_in, d_out), scale) in enumerate(zip(pairs, scales, strict=True), start=1):
        draw = np.random.randn(d_in, d_out) if rng is None else rng.standard_normal((d_in, d_out))
        theta = params[f"theta{i}"] = (scale * draw).astype(dtype, copy=False)
        if not np.isfinite(theta).all():
            raise ConfigError(
                f"weight_scale {scale:g} makes layer {i}'s initial weights overflow "
                f"{np.dtype(dtype).name}; use a much smaller scale (typically 1e-3 to 1)",
                "weight_scale",
            )
        params[f"theta{i}_0"] = np.zeros(d_out, dtype=dtype)
    return params


class AffineStackNet:
    """The fully connected architecture every model shares.

    ``{affine - [batch/layer norm] - activation - [dropout]} x (L - 1) - affine - softmax``

    Subclasses fix the constructor signature (TwoLayerNet, ThreeLayerNet, FullyConnectedNet);
    this class holds the initialisation and the loss.

    Attributes:
    - params: ``theta{i}`` (dims[i-1], dims[i]) and ``theta{i}_0`` (dims[i],) for every layer,
      plus ``gamma{i}`` (ones) and ``beta{i}`` (zeros) of shape (dims[i],) for every normalised
      hidden layer.
    - reg: L2 strength; the loss adds ``0.5 * reg * sum(theta**2)`` over the weights only.
    - dtype: the floating dtype of the parameters and of the computation.
    - bn_params: one dict per hidden layer with batchnorm's running statistics.

    Randomness: ``seed`` gives the weights a private generator and FIXES the dropout masks (the
    same masks on every call: what numeric gradient checks need, as in CS231n). ``rng`` (a
    ``np.random.Generator``) is used for the weights and a fresh dropout mask per training call:
    reproducible training. With neither, NumPy's global stream is used, as in the seed.
    """

    def __init__(
        self,
        dims: Sequence[int],
        weight_scale: float,
        reg: float,
        dtype: Any,
        seed: int | None,
        activation: str = "relu",
        dropout: float = 0.0,
        normalization: str | None = None,
        weight_init: str | None = None,
        rng: np.random.Generator | None = None,
        task: str = "classification",
        loss: str | None = None,
        huber_delta: float = 1.0,
    ) -> None:
        self.task = get_task(task).name
        self.loss_name = get_task(task).check_loss(loss)
        self.huber_delta = check_non_negative("huber_delta", huber_delta, strictly_positive=True)
        self.dims = [check_positive_int(f"layer size {i}", d) for i, d in enumerate(dims)]
        if len(self.dims) < 2:
            raise ConfigError(f"a network needs an input and an output size; got dims {dims!r}")
        self.weight_scale = check_non_negative("weight_scale", weight_scale, strictly_positive=True)
        self.reg = check_non_negative("reg", reg)
        self.dtype = check_float_dtype(dtype)
        if not isinstance(activation, str) or activation not in ACTIVATIONS:
            raise ConfigError(
                f"unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)}",
                "activation",
            )
        self.activation = activation
        self.dropout = check_probability("dropout", dropout)
        if not (normalization is None or isinstance(normalization, str)) or (
            normalization not in NORMALIZATIONS
        ):
            raise ConfigError(
                f"normalization must be one of {list(NORMALIZATIONS)}; got {normalization!r}",
                "normalization",
            )
        self.normalization = normalization
        self.weight_init = weight_init
        self.seed = check_seed("seed", seed)
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise ConfigError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
        self.rng = rng

        # Parameters, gradients and an update rule's state are a few copies of these bytes;
        # refuse a size that cannot fit even once before trying to allocate it.
        count = sum(d_in * d_out + d_out for d_in, d_out in itertools.pairwise(self.dims))
        check_fits_in_memory(
            f"{type(self).__name__} with layer sizes {self.dims}", count * self.dtype.itemsize
        )
        scales = layer_scales(self.dims, self.weight_scale, weight_init)
        self.params = init_weights(self.dims, scales, self.dtype, self.seed, rng)
        self.bn_params: list[dict[str, Any]] = []
        if normalization is not None:
            for i, d in enumerate(self.dims[1:-1], start=1):
                self.params[f"gamma{i}"] = np.ones(d, dtype=self.dtype)
                self.params[f"beta{i}"] = np.zeros(d, dtype=self.dtype)
            if normalization == "batchnorm":
                self.bn_params = [
                    {
                        "mode": "train",
                        "running_mean": np.zeros(d, dtype=self.dtype),
                        "running_var": np.zeros(d, dtype=self.dtype),
                    }
                    for d in self.dims[1:-1]
                ]

    @property
    def num_layers(self) -> int:
        """Number of affine layers."""
        return len(self.dims) - 1

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, JSON-serialisable (``type(self)(**config)`` rebuilds).

        Subclasses add their layer sizes to :meth:`_common_config`. A model built with ``rng``
        is rebuilt without it (a generator is state, saved separately by checkpoints).
        """
        raise NotImplementedError

    def _common_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "weight_scale": self.weight_scale,
            "reg": self.reg,
            "dtype": self.dtype.name,
            "seed": self.seed,
            "activation": self.activation,
            "dropout": self.dropout,
        }
        # The task's settings only when they are not the classifier's defaults, so that the
        # configuration of a classifier (and every model file written before tasks) is as it was.
        if self.task != "classification" or self.loss_name != "softmax":
            config.update(task=self.task, loss=self.loss_name)
        if self.loss_name == "huber":
            config["huber_delta"] = self.huber_delta
        return config

    @property
    def num_outputs(self) -> int:
        """Units of the output layer: classes, regression targets or labels."""
        return self.dims[-1]

    def data_loss(self, outputs: Array, y: Any, sample_weight: Any = None) -> tuple[float, Array]:
        """The task's loss of ``outputs`` (m, n_out) against ``y``, without the L2 term; returns
        (loss, d loss / d outputs). ``sample_weight`` (m,): a weighted mean over the examples."""
        fn = get_loss(self.loss_name)
        if self.loss_name == "huber":
            return fn(outputs, y, sample_weight, delta=self.huber_delta)
        return fn(outputs, y, sample_weight)

    # ----------------------------------------------------------------------------------------
    # state that is not a parameter: batchnorm's running statistics and the dropout generator

    def get_buffers(self) -> dict[str, Array]:
        """Arrays the model needs besides ``params`` (running statistics), by name."""
        buffers = {}
        for i, bn in enumerate(self.bn_params, start=1):
            buffers[f"running_mean{i}"] = bn["running_mean"]
            buffers[f"running_var{i}"] = bn["running_var"]
        return buffers

    def set_buffers(self, buffers: dict[str, Array]) -> None:
        """Restore what :meth:`get_buffers` returned; names and shapes must match."""
        expected = self.get_buffers()
        if sorted(buffers) != sorted(expected):
            raise ConfigError(f"buffers {sorted(buffers)} do not match {sorted(expected)}")
        for i, bn in enumerate(self.bn_params, start=1):
            for stat in ("running_mean", "running_var"):
                value = np.asarray(buffers[f"{stat}{i}"], dtype=self.dtype)
                if value.shape != bn[stat].shape:
                    raise ConfigError(
                        f"buffer {stat}{i} has shape {value.shape}; expected {bn[stat].shape}"
                    )
                bn[stat] = value.copy()

    def get_rng_state(self) -> dict[str, Any] | None:
        """The dropout generator's state (JSON-serialisable), or None without ``rng``."""
        return None if self.rng is None else dict(copy.deepcopy(self.rng.bit_generator.state))

    def set_rng_state(self, state: dict[str, Any] | None) -> None:
        """Restore what :meth:`get_rng_state` returned."""
        if state is not None and self.rng is not None:
            self.rng.bit_generator.state = state

    # ----------------------------------------------------------------------------------------

    def _check_input(self, X: Any) -> Array:
        if X is None or isinstance(X, (str, bytes)):
            raise ConfigError(f"{type(self).__name__}: X must be an array of numbers; got {X!r}")
        try:
            X = np.asarray(X)
        except (ValueError, TypeError) as e:  # a ragged nested list
            raise ConfigError(
                f"{type(self).__name__}: X is not an array of numbers ({e})"
            ) from None
        if X.dtype.kind not in "biuf":
            raise ConfigError(
                f"{type(self).__name__}: X must hold real numbers; got dtype {X.dtype}", "X"
            )
        X = X.astype(self.dtype, copy=False)  # no copy when X already has the model's dtype
        if X.ndim >= 1 and X.shape[0] == 0:
            raise ConfigError(f"{type(self).__name__}: X holds no examples (shape {X.shape})")
        if X.ndim < 2 or int(np.prod(X.shape[1:])) != self.dims[0]:
            raise ConfigError(
                f"{type(self).__name__} expects X of shape (m, d_1, ..., d_k) with "
                f"d_1 * ... * d_k = input_dim = {self.dims[0]}; got shape {X.shape}"
            )
        return X

    def _dropout_param(self, layer: int, mode: str) -> dict[str, Any]:
        param: dict[str, Any] = {"mode": mode, "p": self.dropout}
        if self.seed is not None and self.rng is None:
            param["seed"] = [self.seed, layer]  # fixed per layer, different across layers
        elif self.rng is not None:
            param["rng"] = self.rng
        return param

    @IEEE
    def loss(
        self, X: Any, y: Any = None, training: bool | None = None, sample_weight: Any = None
    ) -> Any:
        """Outputs, or the loss and its gradients, for a minibatch.

        Inputs:
        - X: (m, d_1, ..., d_k) input data.
        - y: the targets of the model's task (:mod:`layerwise.tasks`): (m,) integer labels for
          classification, (m,) or (m, k) values for regression, (m, k) 0/1 for multi-label;
          or None.
        - training: dropout and batchnorm in training mode; by default True exactly when y is
          given (the seed's convention: ``loss(X)`` is test time).
        - sample_weight: None or (m,) non-negative weights: the loss is their weighted mean.

        Returns the outputs (m, n_out) (class scores, predictions or logits) when y is None;
        else (loss, grads) with grads keyed like ``self.params``.
        """
        return self._run(X, y, training, sample_weight, None)

    @IEEE
    def trace(self, X: Any, y: Any = None, training: bool | None = None) -> tuple[Any, list[Array]]:
        """What :meth:`loss` returns, and each hidden layer's activations (m, h_i) after its
        nonlinearity and before dropout: what a :class:`~layerwise.diagnostics.Diagnostics`
        callback and ``layerwise doctor`` look at (dead ReLUs, saturated units, vanishing
        signal). One forward pass gives both; the arrays are the model's own, not copies."""
        hidden: list[Array] = []
        return self._run(X, y, training, None, hidden), hidden

    def _run(
        self, X: Any, y: Any, training: bool | None, sample_weight: Any, hidden: list[Array] | None
    ) -> Any:
        X = self._check_input(X)
        if training is None:
            training = y is not None
        elif not isinstance(training, (bool, np.bool_)):
            raise ConfigError(
                f"{type(self).__name__}.loss: training must be True, False or None; got "
                f"{training!r}",
                "training",
            )
        mode = "train" if training else "test"
        p = self.params
        L = self.num_layers
        forward, backward = get_activation(self.activation)
        # ReLU, the common case, runs in place on arrays this method owns: the affine output
        # becomes the activation, and its positive entries are the backward mask, so no cache
        # and no temporaries beyond one boolean mask. Same values as relu_forward/backward.
        fused_relu = self.activation == "relu"
        # Parameters shaped as the model built them need no per-layer checks (X was checked
        # above); anything else (a user's own arrays) goes through the checking layers.
        checked = self._params_as_built()
        caches: list[tuple[Any, Any, Any, Any]] = []
        out = X
        for i in range(1, L):
            out, fc_cache = self._affine(out, i, checked)
            norm_cache = None
            if self.normalization == "batchnorm":
                self.bn_params[i - 1]["mode"] = mode
                out, norm_cache = batchnorm_forward(
                    out, p[f"gamma{i}"], p[f"beta{i}"], self.bn_params[i - 1]
                )
            elif self.normalization == "layernorm":
                out, norm_cache = layernorm_forward(out, p[f"gamma{i}"], p[f"beta{i}"])
            if fused_relu:
                act_cache = fused.relu_(out)
            else:
                out, act_cache = forward(out)
            drop_cache = None
            if hidden is not None:  # after the nonlinearity, before dropout
                hidden.append(out)  # dropout makes a new array; this one stays as it is
            if self.dropout > 0:
                out, drop_cache = dropout_forward(out, self._dropout_param(i, mode))
            caches.append((fc_cache, norm_cache, act_cache, drop_cache))
        scores, last_cache = self._affine(out, L, checked)
        if y is None:
            return scores

        loss, dscores = self.data_loss(scores, y, sample_weight)
        grads: dict[str, Array] = {}
        if L == 1:
            grads["theta1"], grads["theta1_0"] = self._affine_grads(dscores, last_cache, checked)
        else:
            dout, grads[f"theta{L}"], grads[f"theta{L}_0"] = self._affine_backward(
                dscores, last_cache, checked
            )
        for i in range(L - 1, 0, -1):
            fc_cache, norm_cache, act_cache, drop_cache = caches[i - 1]
            if drop_cache is not None and drop_cache[1] is not None:
                dout *= drop_cache[1]  # dropout_backward in place: dout is this method's own
            if fused_relu:
                fused.relu_grad_(dout, act_cache)  # in place: dout is this method's own array
            else:
                dout = backward(dout, act_cache)
            if self.normalization == "batchnorm":
                dout, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(dout, norm_cache)
            elif self.normalization == "layernorm":
                dout, grads[f"gamma{i}"], grads[f"beta{i}"] = layernorm_backward(dout, norm_cache)
            if i == 1:  # nobody needs the gradient with respect to the input data
                grads["theta1"], grads["theta1_0"] = self._affine_grads(dout, fc_cache, checked)
            else:
                dout, grads[f"theta{i}"], grads[f"theta{i}_0"] = self._affine_backward(
                    dout, fc_cache, checked
                )
        if self.reg:
            for i in range(1, L + 1):
                w = p[f"theta{i}"]
                loss += 0.5 * self.reg * float(np.vdot(w, w))
                grads[f"theta{i}"] += self.reg * w
        return loss, grads

    def _params_as_built(self) -> bool:
        """Whether every weight and bias is an array of the model's float dtype and of the
        shape the model gave it."""
        p, dims = self.params, self.dims
        for i in range(1, len(dims)):
            w, b = p.get(f"theta{i}"), p.get(f"theta{i}_0")
            if not (
                isinstance(w, np.ndarray)
                and isinstance(b, np.ndarray)
                and w.shape == (dims[i - 1], dims[i])
                and b.shape == (dims[i],)
                and w.dtype == b.dtype == self.dtype
            ):
                return False
        return True

    def _affine(self, x: Array, i: int, checked: bool) -> tuple[Array, Any]:
        """Layer ``i``'s affine output and cache: :func:`affine_forward`'s, without its checks
        when ``checked``."""
        theta, theta0 = self.params[f"theta{i}"], self.params[f"theta{i}_0"]
        if not checked:
            return affine_forward(x, theta, theta0)
        return affine_out(x.reshape(x.shape[0], -1), theta, theta0), (x, theta, theta0)

    @staticmethod
    def _affine_grads(dout: Array, cache: Any, checked: bool) -> tuple[Array, Array]:
        return affine_grads(dout, cache) if checked else affine_param_grads(dout, cache)

    @staticmethod
    def _affine_backward(dout: Array, cache: Any, checked: bool) -> tuple[Array, Array, Array]:
        """:func:`affine_backward`, without its checks when ``checked``."""
        if not checked:
            return affine_backward(dout, cache)
        return (affine_input_grad(dout, cache), *affine_grads(dout, cache))

    @IEEE
    def predict(self, X: Any, batch_size: int = 1000) -> Array:
        """Predictions for X (m, d_1, ..., d_k), in batches, in test mode: class labels (m,),
        regression values ((m,) for one target, else (m, k)) or 0/1 labels (m, k)."""
        X = self._check_input(X)
        batch_size = check_positive_int("batch_size", batch_size)
        task = get_task(self.task)
        chunks = [
            task.predict(self.loss(X[i : i + batch_size])) for i in range(0, len(X), batch_size)
        ]
        pred = np.concatenate(chunks)
        return pred[:, 0] if self.task == "regression" and self.num_outputs == 1 else pred
