"""One description of a fully connected network, shared by every engine.

A :class:`NetSpec` says everything that decides what a network computes and how one training
step changes it: layer sizes, activation, dropout, normalisation, the loss's L2 term, the
update rule with its settings, and the floating type. The same spec builds

- a layerwise :class:`~layerwise.models.FullyConnectedNet` (:meth:`NetSpec.build_numpy`),
- a Keras model (:meth:`NetSpec.build_keras`, see :mod:`layerwise.frameworks.keras`),
- a TensorFlow 2 network (:meth:`NetSpec.build_tensorflow`, see
  :mod:`layerwise.frameworks.tensorflow`),

and :meth:`NetSpec.from_model` reads one back from a layerwise model. This module needs only
NumPy: building a framework twin imports TensorFlow/Keras then, and only then.

The network, whatever the engine (``L = len(hidden_dims) + 1`` affine layers)::

    {affine - [batch/layer norm] - activation - [dropout]} x (L - 1) - affine - softmax

with the loss ``mean softmax cross-entropy + 0.5 * reg * sum over weights of W**2`` (biases
and normalisation parameters are not regularised).
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

#: Hidden-layer activations every engine implements (layerwise's names).
ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh")
#: Normalisations after each hidden affine layer (None: none).
NORMALIZATIONS = (None, "batchnorm", "layernorm")
#: The slope of leaky ReLU for x < 0: layerwise's default (Keras's own default is 0.3).
LEAKY_SLOPE = 0.01
#: Batch norm's settings in every engine: the weight on the OLD running value, and epsilon.
BN_MOMENTUM = 0.9
NORM_EPS = 1e-5

#: The settings each update rule takes besides ``learning_rate``, with layerwise's defaults
#: (see :mod:`layerwise.optim`); every engine implements exactly these formulas.
OPTIMIZER_DEFAULTS: dict[str, dict[str, float]] = {
    "sgd": {},
    "sgd_momentum": {"momentum": 0.9},
    "nesterov_momentum": {"momentum": 0.9},
    "rmsprop": {"decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
    "adamw": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 0.01},
}
OPTIMIZERS = tuple(OPTIMIZER_DEFAULTS)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"NetSpec: {name} must be a positive integer; got {value!r}")
    return int(value)


def _finite(name: str, value: Any, *, low: float = 0.0, strict: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low or (strict and value == low):
        relation = ">" if strict else ">="
        raise ValueError(
            f"NetSpec: {name} must be a finite number {relation} {low:g}; got {value!r}"
        )
    return float(value)


@dataclasses.dataclass(frozen=True)
class NetSpec:
    """The architecture, loss and update rule of a fully connected network, for any engine.

    Fields:
    - input_dim: features per (flattened) example, d.
    - hidden_dims: hidden layer sizes, e.g. (512, 512, 512); () is a softmax classifier.
    - num_classes: number of classes C.
    - activation: one of :data:`ACTIVATIONS` (leaky ReLU's slope is 0.01 everywhere).
    - dropout: probability of DROPPING a hidden unit in training (Keras's ``rate``), in [0, 1).
    - normalization: None, 'batchnorm' (momentum 0.9 on the old running value, eps 1e-5, biased
      batch variance) or 'layernorm' (eps 1e-5).
    - optimizer: one of :data:`OPTIMIZERS` (layerwise's update-rule names).
    - learning_rate: > 0.
    - optimizer_options: the rule's other settings (e.g. beta1, beta2, epsilon for Adam);
      missing ones get layerwise's defaults, unknown ones raise.
    - reg: L2 strength; the loss adds ``0.5 * reg * sum(W**2)`` over the weights.
    - dtype: 'float32' or 'float64'.
    - weight_scale, weight_init: how :meth:`build_numpy` draws the initial weights (as
      :class:`~layerwise.models.FullyConnectedNet`); twins get their weights from a layerwise
      model, so every engine starts from the same numbers.

    Invalid values raise ValueError naming the field and the value.
    """

    input_dim: int
    hidden_dims: tuple[int, ...]
    num_classes: int = 10
    activation: str = "relu"
    dropout: float = 0.0
    normalization: str | None = None
    optimizer: str = "sgd"
    learning_rate: float = 1e-2
    optimizer_options: Mapping[str, float] = dataclasses.field(default_factory=dict)
    reg: float = 0.0
    dtype: str = "float32"
    weight_scale: float = 1e-2
    weight_init: str | None = None

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        put("input_dim", _positive_int("input_dim", self.input_dim))
        hidden = self.hidden_dims
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
            raise ValueError(f"NetSpec: hidden_dims must be a sequence of sizes; got {hidden!r}")
        put(
            "hidden_dims",
            tuple(_positive_int(f"hidden_dims[{i}]", h) for i, h in enumerate(hidden)),
        )
        put("num_classes", _positive_int("num_classes", self.num_classes))
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"NetSpec: activation must be one of {list(ACTIVATIONS)}; got {self.activation!r}"
            )
        dropout = _finite("dropout", self.dropout)
        if dropout >= 1:
            raise ValueError(
                f"NetSpec: dropout is the drop probability and must be < 1; got {self.dropout!r}"
            )
        put("dropout", dropout)
        norm = None if self.normalization in (None, "none") else self.normalization
        if norm not in NORMALIZATIONS:
            raise ValueError(
                f"NetSpec: normalization must be one of {list(NORMALIZATIONS)}; "
                f"got {self.normalization!r}"
            )
        put("normalization", norm)
        if self.optimizer not in OPTIMIZER_DEFAULTS:
            raise ValueError(
                f"NetSpec: optimizer must be one of {list(OPTIMIZERS)}; got {self.optimizer!r}"
            )
        put("learning_rate", _finite("learning_rate", self.learning_rate, strict=True))
        if not isinstance(self.optimizer_options, Mapping):
            raise ValueError(
                f"NetSpec: optimizer_options must be a mapping; got {self.optimizer_options!r}"
            )
        defaults = OPTIMIZER_DEFAULTS[self.optimizer]
        unknown = sorted(set(self.optimizer_options) - set(defaults))
        if unknown:
            raise ValueError(
                f"NetSpec: optimizer {self.optimizer!r} takes no option(s) {unknown}; "
                f"it takes {sorted(defaults) or 'none besides learning_rate'}"
            )
        options = {**defaults, **self.optimizer_options}
        for key, value in options.items():
            options[key] = _finite(f"optimizer_options[{key!r}]", value)
        for key in ("beta1", "beta2", "decay_rate", "momentum"):
            if key in options and options[key] >= 1:
                raise ValueError(
                    f"NetSpec: optimizer_options[{key!r}] must be < 1; got {options[key]!r}"
                )
        if "epsilon" in options and options["epsilon"] <= 0:
            raise ValueError(f"NetSpec: optimizer_options['epsilon'] must be > 0; got {options}")
        put("optimizer_options", MappingProxyType(options))
        put("reg", _finite("reg", self.reg))
        try:
            dtype = np.dtype(self.dtype).name
        except TypeError:
            dtype = repr(self.dtype)
        if dtype not in ("float32", "float64"):
            raise ValueError(f"NetSpec: dtype must be 'float32' or 'float64'; got {self.dtype!r}")
        put("dtype", dtype)
        put("weight_scale", _finite("weight_scale", self.weight_scale, strict=True))
        if self.weight_init not in (None, "he", "xavier"):
            raise ValueError(
                f"NetSpec: weight_init must be None, 'he' or 'xavier'; got {self.weight_init!r}"
            )

    # ----------------------------------------------------------------------------------------

    @property
    def dims(self) -> tuple[int, ...]:
        """All layer sizes: (input_dim, *hidden_dims, num_classes)."""
        return (self.input_dim, *self.hidden_dims, self.num_classes)

    @property
    def num_layers(self) -> int:
        """Number of affine layers, L."""
        return len(self.hidden_dims) + 1

    def optim_config(self) -> dict[str, float]:
        """The layerwise update rule's config: ``{'learning_rate': ..., **optimizer_options}``."""
        return {"learning_rate": self.learning_rate, **self.optimizer_options}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict; ``NetSpec(**spec.to_dict())`` rebuilds the spec."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["hidden_dims"] = list(self.hidden_dims)
        out["optimizer_options"] = dict(self.optimizer_options)
        return out

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle and copy.deepcopy: the read-only options mapping cannot be pickled itself
        return (_from_dict, (self.to_dict(),))

    def replace(self, **changes: Any) -> NetSpec:
        """A copy with some fields changed (validated again)."""
        if "optimizer" in changes and "optimizer_options" not in changes:
            changes["optimizer_options"] = {}  # the old rule's options may not fit the new one
        return dataclasses.replace(self, **changes)

    # ----------------------------------------------------------------------------------------

    @classmethod
    def from_model(
        cls,
        model: Any,
        optimizer: str = "sgd",
        learning_rate: float = 1e-2,
        **optimizer_options: float,
    ) -> NetSpec:
        """The spec of a layerwise model (any :class:`~layerwise.models.base.AffineStackNet`:
        TwoLayerNet, ThreeLayerNet, FullyConnectedNet), with the given update rule."""
        dims = getattr(model, "dims", None)
        if dims is None or not hasattr(model, "activation"):
            raise ValueError(
                f"NetSpec.from_model needs a layerwise fully connected model; "
                f"got {type(model).__name__}"
            )
        return cls(
            input_dim=dims[0],
            hidden_dims=tuple(dims[1:-1]),
            num_classes=dims[-1],
            activation=model.activation,
            dropout=model.dropout,
            normalization=getattr(model, "normalization", None),
            optimizer=optimizer,
            learning_rate=learning_rate,
            optimizer_options=optimizer_options,
            reg=model.reg,
            dtype=model.dtype.name,
            weight_scale=model.weight_scale,
            weight_init=getattr(model, "weight_init", None),
        )

    def build_numpy(self, seed: int | None = None, rng: np.random.Generator | None = None) -> Any:
        """A :class:`~layerwise.models.FullyConnectedNet` with this architecture.

        ``seed``/``rng`` as for the model: a private generator for the weights (``seed`` also
        fixes the dropout masks; ``rng`` gives fresh ones per call).
        """
        from layerwise.models import FullyConnectedNet

        return FullyConnectedNet(
            list(self.hidden_dims),
            input_dim=self.input_dim,
            num_classes=self.num_classes,
            dropout=self.dropout,
            normalization=self.normalization,
            activation=self.activation,
            reg=self.reg,
            weight_scale=self.weight_scale,
            weight_init=self.weight_init,
            dtype=self.dtype,
            seed=seed,
            rng=rng,
        )

    def build_keras(self, model: Any = None) -> Any:
        """The Keras twin (a ``keras.Sequential``), with ``model``'s weights when given."""
        from layerwise.frameworks import keras as lw_keras

        return lw_keras.build_keras_model(self, model)

    def build_tensorflow(self, model: Any = None, seed: int | None = None) -> Any:
        """The TensorFlow 2 twin (:class:`~layerwise.frameworks.tensorflow.TFNet`), with
        ``model``'s weights when given."""
        from layerwise.frameworks import tensorflow as lw_tf

        return lw_tf.TFNet(self, model=model, seed=seed)


def _from_dict(fields: dict[str, Any]) -> NetSpec:
    return NetSpec(**fields)
