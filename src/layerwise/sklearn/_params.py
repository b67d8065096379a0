"""The estimators' parameters: the constraints scikit-learn checks them against, and what each
becomes in layerwise.

The tables are scikit-learn's ``_parameter_constraints`` (checked by ``fit``), widened or
narrowed where layerwise differs and extended by layerwise's own parameters. The functions
read an estimator's parameters and return the layerwise settings they map onto: the hidden
sizes, the update rule and its config, the batch size, the network (initialized as
scikit-learn's) and the ``recipe_`` that records them all.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.utils._param_validation import HasMethods, Interval, Options, StrOptions

from layerwise.errors import ConfigError
from layerwise.io import to_jsonable
from layerwise.models import FullyConnectedNet
from layerwise.schedules import SCHEDULES

#: scikit-learn's activation names -> layerwise's.
ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "leaky_relu": "leaky_relu"}
#: The regressor's loss names (scikit-learn's and layerwise's) -> layerwise's loss.
REGRESSION_LOSSES = {
    "squared_error": "mse",
    "mse": "mse",
    "absolute_error": "mae",
    "mae": "mae",
    "huber": "huber",
}

#: The parameters both estimators take. 'lbfgs' and 'identity' pass here so that the fit
#: refuses them with a message naming what to use instead (:func:`check_supported`).
CONSTRAINTS: dict[str, list[Any]] = {
    "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
    "activation": [StrOptions({"identity", *ACTIVATIONS})],
    "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
    "alpha": [Interval(numbers.Real, 0, None, closed="left")],
    "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
    "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
    "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
    "power_t": [Interval(numbers.Real, 0, None, closed="left")],
    "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "random_state": ["random_state"],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    # scikit-learn allows 1; layerwise's momentum rules need it below 1.
    "momentum": [Interval(numbers.Real, 0, 1, closed="left")],
    "nesterovs_momentum": ["boolean"],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
    "beta_1": [Interval(numbers.Real, 0, 1, closed="left")],
    "beta_2": [Interval(numbers.Real, 0, 1, closed="left")],
    "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
    "n_iter_no_change": [
        Interval(numbers.Integral, 1, None, closed="left"),
        Options(numbers.Real, {np.inf}),
    ],
    "max_fun": [Interval(numbers.Integral, 1, None, closed="left")],
    "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    "normalization": [StrOptions({"batchnorm", "layernorm"}), None],
    "weight_init": [StrOptions({"glorot_uniform", "he", "xavier"})],
    "lr_schedule": [None, StrOptions(set(SCHEDULES)), dict, callable],
    "dtype": [StrOptions({"float32", "float64"}), Options(type, {np.float32, np.float64})],
    "engine": [StrOptions({"numpy"}), HasMethods(["attach", "step", "sync", "reset"])],
}
#: The classifier's: the shared ones, its loss layout and class_weight.
CLASSIFIER_CONSTRAINTS: dict[str, list[Any]] = {
    **CONSTRAINTS,
    "loss": [StrOptions({"log_loss", "softmax"}), None],
    "class_weight": [StrOptions({"balanced"}), dict, None],
}
#: The regressor's: the shared ones, its loss ('poisson' refused by the fit) and huber_delta.
REGRESSOR_CONSTRAINTS: dict[str, list[Any]] = {
    **CONSTRAINTS,
    "loss": [StrOptions({"poisson", *REGRESSION_LOSSES})],
    "huber_delta": [Interval(numbers.Real, 0, None, closed="neither")],
}


def hidden_sizes(est: Any) -> list[int]:
    """``hidden_layer_sizes`` as a list of ints (an int is one layer)."""
    sizes = est.hidden_layer_sizes
    if not hasattr(sizes, "__iter__"):
        sizes = [sizes]
    sizes = list(sizes)
    if not all(isinstance(h, numbers.Integral) and not isinstance(h, bool) for h in sizes):
        raise ConfigError(
            f"hidden_layer_sizes must hold integers; got {est.hidden_layer_sizes!r}",
            "hidden_layer_sizes",
        )
    if any(h <= 0 for h in sizes):
        raise ConfigError(f"hidden_layer_sizes must be > 0, got {sizes}.", "hidden_layer_sizes")
    return [int(h) for h in sizes]


def check_supported(est: Any) -> None:
    """Refuse scikit-learn's settings that layerwise lacks, naming what to use instead."""
    if est.solver == "lbfgs":
        raise ConfigError(
            "solver='lbfgs' is not available in layerwise, which trains by minibatch "
            "updates; use solver='adam' (the default) or 'sgd'",
            "solver",
        )
    if est.activation == "identity":
        raise ConfigError(
            "activation='identity' is not available in layerwise; use one of "
            f"{sorted(ACTIVATIONS)} (or hidden_layer_sizes=() for a linear model)",
            "activation",
        )


def update_rule(est: Any) -> tuple[str, dict[str, float]]:
    """The layerwise update rule of ``solver`` (and momentum), with its config."""
    lr = float(est.learning_rate_init)
    if est.solver == "adam":
        return "adam", {
            "learning_rate": lr,
            "beta1": float(est.beta_1),
            "beta2": float(est.beta_2),
            "epsilon": float(est.epsilon),
        }
    if est.momentum > 0:
        rule = "nesterov_momentum" if est.nesterovs_momentum else "sgd_momentum"
        return rule, {"learning_rate": lr, "momentum": float(est.momentum)}
    return "sgd", {"learning_rate": lr}


def sgd_schedule(est: Any) -> str:
    """scikit-learn's learning_rate, which only solver='sgd' follows."""
    return est.learning_rate if est.solver == "sgd" else "constant"


def batch_size(est: Any, n_train: int) -> int:
    """scikit-learn's batch size for ``n_train`` training examples: 'auto' is
    ``min(200, n_train)``; a larger one is clipped, with scikit-learn's warning."""
    if est.batch_size == "auto":
        return min(200, n_train)
    if est.batch_size > n_train:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
            stacklevel=4,  # one frame below _fit, whose own warnings use stacklevel=3
        )
    return int(np.clip(est.batch_size, 1, n_train))


def architecture(
    est: Any, n_features: int, hidden: list[int], layout: dict[str, Any]
) -> dict[str, Any]:
    """The network's settings that warm_start and partial_fit must find unchanged."""
    return {
        "dims": [n_features, *hidden, layout["n_outputs"]],
        "activation": ACTIVATIONS[est.activation],
        "normalization": est.normalization,
        "dtype": np.dtype(est.dtype).name,
        "task": layout["task"],
        "loss": layout["loss"],
    }


def build_network(
    est: Any, architecture: dict[str, Any], layout: dict[str, Any], rs: np.random.RandomState
) -> FullyConnectedNet:
    """A new network: ``architecture``, ``dropout``, and weights drawn as ``weight_init``
    says, by a generator seeded from ``rs`` (which also draws the dropout masks)."""
    dims = architecture["dims"]
    extra: dict[str, Any] = {"huber_delta": float(getattr(est, "huber_delta", 1.0))}
    if layout["loss"] != "huber":
        extra = {}
    rng = np.random.default_rng(rs.randint(np.iinfo(np.int32).max))
    glorot = est.weight_init == "glorot_uniform"
    model = FullyConnectedNet(
        dims[1:-1],
        input_dim=dims[0],
        num_classes=dims[-1],
        dropout=float(est.dropout),
        normalization=est.normalization,
        activation=architecture["activation"],
        weight_init="xavier" if glorot else est.weight_init,
        dtype=np.dtype(est.dtype),
        rng=rng,
        task=layout["task"],
        loss=layout["loss"],
        **extra,
    )
    if glorot:  # scikit-learn's: weights and biases uniform in +-sqrt(f / (fan_in + fan_out))
        factor = 2.0 if est.activation == "logistic" else 6.0
        params = model.params
        for i in range(1, model.num_layers + 1):
            w, b = params[f"theta{i}"], params[f"theta{i}_0"]
            bound = math.sqrt(factor / (w.shape[0] + w.shape[1]))
            w[...] = rng.uniform(-bound, bound, w.shape)
            b[...] = rng.uniform(-bound, bound, b.shape)
    return model


def recipe(est: Any, solver: Any, layout: dict[str, Any]) -> dict[str, Any]:
    """``recipe_``: the parameters and the model and training settings they resolved to."""
    return _jsonable(
        {
            "estimator": type(est).__name__,
            "params": est.get_params(deep=False),
            "model": {"class": type(est.model_).__name__, **est.model_.get_config()},
            "task": layout["task"],
            "loss": layout["loss"],
            "update_rule": solver.update_rule_name,
            "optim_config": solver.optim_config,
            "batch_size": solver.batch_size,
            "num_epochs": solver.num_epochs,
            "iterations_per_epoch": solver.iterations_per_epoch,
        }
    )


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON types, with anything else (a generator, a function, an engine
    object) written as its repr: recipe_ describes, it does not rebuild."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, type):
        return np.dtype(value).name if issubclass(value, np.generic) else value.__name__
    try:
        return to_jsonable(value)
    except TypeError:
        return repr(value)
