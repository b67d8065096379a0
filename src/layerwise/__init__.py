"""layerwise: a from-scratch, modular NumPy library for multi-layer neural networks.

The narrow interfaces of the CS231n-style exercise are the architecture:

- a layer is a pair ``xxx_forward(x, ...) -> (out, cache)`` / ``xxx_backward(dout, cache)``
  (:mod:`layerwise.layers`, :mod:`layerwise.layer_utils`);
- a model is ``params`` plus ``loss(X, y=None)`` (:mod:`layerwise.models`);
- an update rule is ``rule(w, dw, config) -> (next_w, config)`` (:mod:`layerwise.optim`);
- the :class:`~layerwise.solver.Solver` trains any such model on a data dict
  (:mod:`layerwise.data`), its loop extended by callbacks and an engine.

Above them, a :class:`~layerwise.recipe.Recipe` says what to train and
:func:`~layerwise.runs.train_run` trains it into a :class:`~layerwise.runs.RunFolder`.
"""

from importlib.metadata import PackageNotFoundError, version

from layerwise.errors import ConfigError, LayerwiseError
from layerwise.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
    rel_error,
)
from layerwise.models import ThreeLayerNet, TwoLayerNet
from layerwise.recipe import Recipe
from layerwise.runs import RunFolder, train_run
from layerwise.solver import Solver

try:
    __version__ = version("layerwise")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "ConfigError",
    "LayerwiseError",
    "Recipe",
    "RunFolder",
    "Solver",
    "ThreeLayerNet",
    "TwoLayerNet",
    "__version__",
    "eval_numerical_gradient",
    "eval_numerical_gradient_array",
    "grad_check_sparse",
    "rel_error",
    "train_run",
]
