"""One description of a fully connected network, shared by every engine.

A :class:`NetSpec` says everything that decides what a network computes and how one training
step changes it: layer sizes, activation, dropout, normalisation, the loss's L2 term, the
update rule with its settings, and the floating type. The same spec builds

- a layerwise :class:`~layerwise.models.FullyConnectedNet` (:meth:`NetSpec.build_numpy`),
- a Keras model (:func:`layerwise.frameworks.keras.build_keras_model`),
- a TensorFlow 2 network (:class:`layerwise.frameworks.tensorflow.TFNet`),

and :meth:`NetSpec.from_model` reads one back from a layerwise model. The core owns it (a
:class:`~layerwise.recipe.Recipe` holds one); it imports no framework.

The network, whatever the engine (``L = len(hidden_dims) + 1`` affine layers)::

    {affine - [batch/layer norm] - activation - [dropout]} x (L - 1) - affine - softmax

with the loss ``mean softmax cross-entropy + 0.5 * reg * sum over weights of W**2`` (biases
and normalisation parameters are not regularised).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from layerwise import optim
from layerwise.errors import ConfigError
from layerwise.layer_utils import ACTIVATIONS as _ACTIVATION_TABLE
from layerwise.layer_utils import NORMALIZATIONS as _NORMALIZATION_TABLE
from layerwise.layers import BN_MOMENTUM, LEAKY_SLOPE, NORM_EPS
from layerwise.validation import DTYPES, check_number, check_positive_int

__all__ = [
    "ACTIVATIONS",
    "BN_MOMENTUM",
    "LEAKY_SLOPE",
    "NORMALIZATIONS",
    "NORM_EPS",
    "OPTIMIZERS",
    "OPTIMIZER_DEFAULTS",
    "OPTIMIZER_SLOTS",
    "NetSpec",
]

#: Hidden-layer activations every engine implements (the table in :mod:`layerwise.layer_utils`).
ACTIVATIONS = tuple(_ACTIVATION_TABLE)
#: Normalisations after each hidden affine layer (None: none).
NORMALIZATIONS = (None, *_NORMALIZATION_TABLE)
#: The settings each update rule takes besides ``learning_rate``, with layerwise's defaults
#: (the table in :mod:`layerwise.optim`); every engine implements exactly these formulas.
OPTIMIZER_DEFAULTS: dict[str, dict[str, float]] = {
    rule: {k: v for k, v in defaults.items() if k != "learning_rate"}
    for rule, defaults in optim.DEFAULTS.items()
}
OPTIMIZERS = tuple(OPTIMIZER_DEFAULTS)
#: The per-parameter state arrays of each rule (its running state less Adam's step count).
OPTIMIZER_SLOTS: dict[str, tuple[str, ...]] = {
    rule: tuple(k for k in state if k != "t") for rule, state in optim.STATE.items()
}


def _fail(message: str, field: str) -> ConfigError:
    return ConfigError(f"NetSpec: {message}", field)


def _positive_int(name: str, value: Any) -> int:
    try:
        return check_positive_int(name, value)
    except ConfigError as e:
        raise _fail(str(e), name.split("[")[0]) from None


def _finite(name: str, value: Any, *, low: float = 0.0, strict: bool = False) -> float:
    try:
        return check_number(name, value, low, strict=strict)
    except ConfigError as e:
        raise _fail(str(e), name.split("[")[0]) from None


@dataclasses.dataclass(frozen=True)
class NetSpec:
    """The architecture, loss and update rule of a fully connected network, for any engine.

    Fields:
    - input_dim: features per (flattened) example, d; None until the data says (a recipe's
      network is written before its data is read, see :meth:`with_data`).
    - hidden_dims: hidden layer sizes, e.g. (512, 512, 512); () is a softmax classifier.
    - num_classes: number of classes C (None: from the data, as input_dim).
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

    Invalid values raise :class:`~layerwise.errors.ConfigError` (a ValueError) naming the
    field and the value.
    """

    input_dim: int | None
    hidden_dims: tuple[int, ...]
    num_classes: int | None = 10
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

        if self.input_dim is not None:
            put("input_dim", _positive_int("input_dim", self.input_dim))
        hidden = self.hidden_dims
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
            raise _fail(f"hidden_dims must be a sequence of sizes; got {hidden!r}", "hidden_dims")
        put(
            "hidden_dims",
            tuple(_positive_int(f"hidden_dims[{i}]", h) for i, h in enumerate(hidden)),
        )
        if self.num_classes is not None:
            put("num_classes", _positive_int("num_classes", self.num_classes))
        if self.activation not in ACTIVATIONS:
            raise _fail(
                f"activation must be one of {list(ACTIVATIONS)}; got {self.activation!r}",
                "activation",
            )
        dropout = _finite("dropout", self.dropout)
        if dropout >= 1:
            raise _fail(
                f"dropout is the drop probability and must be < 1; got {self.dropout!r}",
                "dropout",
            )
        put("dropout", dropout)
        norm = None if self.normalization in (None, "none") else self.normalization
        if norm not in NORMALIZATIONS:
            raise _fail(
                f"normalization must be one of {list(NORMALIZATIONS)}; got {self.normalization!r}",
                "normalization",
            )
        put("normalization", norm)
        if not isinstance(self.optimizer, str) or self.optimizer not in OPTIMIZER_DEFAULTS:
            raise _fail(
                f"optimizer must be one of {list(OPTIMIZERS)}; got {self.optimizer!r}",
                "optimizer",
            )
        put("learning_rate", _finite("learning_rate", self.learning_rate, strict=True))
        if not isinstance(self.optimizer_options, Mapping):
            raise _fail(
                f"optimizer_options must be a mapping; got {self.optimizer_options!r}",
                "optimizer_options",
            )
        defaults = OPTIMIZER_DEFAULTS[self.optimizer]
        unknown = sorted((str(k) for k in set(self.optimizer_options) - set(defaults)), key=repr)
        if unknown:
            raise _fail(
                f"optimizer {self.optimizer!r} takes no option(s) {unknown}; "
                f"it takes {sorted(defaults) or 'none besides learning_rate'}",
                "optimizer_options",
            )
        options = {**defaults, **self.optimizer_options}
        for key, value in options.items():
            options[key] = _finite(f"optimizer_options[{key!r}]", value)
        for key in ("beta1", "beta2", "decay_rate", "momentum"):
            if key in options and options[key] >= 1:
                raise _fail(
                    f"optimizer_options[{key!r}] must be < 1; got {options[key]!r}",
                    "optimizer_options",
                )
        if "epsilon" in options and options["epsilon"] <= 0:
            raise _fail(
                f"optimizer_options['epsilon'] must be > 0; got {options}", "optimizer_options"
            )
        put("optimizer_options", MappingProxyType(options))
        put("reg", _finite("reg", self.reg))
        try:
            dtype = np.dtype(self.dtype).name
        except (TypeError, ValueError):
            dtype = repr(self.dtype)
        if dtype not in DTYPES:
            raise _fail(f"dtype must be 'float32' or 'float64'; got {self.dtype!r}", "dtype")
        put("dtype", dtype)
        put("weight_scale", _finite("weight_scale", self.weight_scale, strict=True))
        if self.weight_init not in (None, "he", "xavier"):
            raise _fail(
                f"weight_init must be None, 'he' or 'xavier'; got {self.weight_init!r}",
                "weight_init",
            )

    # ----------------------------------------------------------------------------------------

    @property
    def dims(self) -> tuple[int, ...]:
        """All layer sizes: (input_dim, *hidden_dims, num_classes) (needs both known)."""
        if self.input_dim is None or self.num_classes is None:
            raise _fail(
                "input_dim and num_classes are not known yet; use with_data(...) first",
                "input_dim",
            )
        return (self.input_dim, *self.hidden_dims, self.num_classes)

    @property
    def num_layers(self) -> int:
        """Number of affine layers, L."""
        return len(self.hidden_dims) + 1

    def with_data(self, input_dim: int, num_classes: int) -> NetSpec:
        """This spec with the sizes that the data decides filled in."""
        return dataclasses.replace(
            self,
            input_dim=input_dim,
            num_classes=num_classes,
            optimizer_options=dict(self.optimizer_options),
        )

    def optim_config(self) -> dict[str, float]:
        """The layerwise update rule's config: ``{'learning_rate': ..., **optimizer_options}``."""
        return {"learning_rate": self.learning_rate, **self.optimizer_options}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict; ``NetSpec(**spec.to_dict())`` rebuilds the spec."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["hidden_dims"] = list(self.hidden_dims)
        out["optimizer_options"] = dict(self.optimizer_options)
        return out

    @classmethod
    def from_dict(cls, fields: Mapping[str, Any]) -> NetSpec:
        """The spec :meth:`to_dict` wrote; unknown or missing fields raise ConfigError."""
        if not isinstance(fields, Mapping):
            raise _fail(f"expected a dict of fields; got {fields!r}", "network")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - names)
        if unknown:
            raise _fail(f"unknown field(s) {unknown}; expected {sorted(names)}", "network")
        for required in ("input_dim", "hidden_dims"):
            if required not in fields:
                raise _fail(f"field {required!r} is missing", required)
        return cls(**fields)

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle and copy.deepcopy: the read-only options mapping cannot be pickled itself
        return (_from_dict, (self.to_dict(),))

    def replace(self, **changes: Any) -> NetSpec:
        """A copy with some fields changed (validated again)."""
        if "optimizer" in changes and "optimizer_options" not in changes:
            changes["optimizer_options"] = {}  # the old rule's options may not fit the new one
        changes.setdefault("optimizer_options", dict(self.optimizer_options))
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
            raise _fail(
                f"from_model needs a layerwise fully connected model; got {type(model).__name__}",
                "model",
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

        input_dim, *hidden, num_classes = self.dims
        return FullyConnectedNet(
            hidden,
            input_dim=input_dim,
            num_classes=num_classes,
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


def _from_dict(fields: dict[str, Any]) -> NetSpec:
    return NetSpec(**fields)
