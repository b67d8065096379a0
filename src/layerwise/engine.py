"""Engines: what computes one training update. The Solver's public step interface.

The :class:`~layerwise.solver.Solver` owns the loop (sampling minibatches, learning-rate
schedules, evaluation, best-model tracking, callbacks, checkpoints); an engine owns the update.
:class:`NumpyEngine` is layerwise itself: ``model.loss`` for the gradients, then the update
rule on every parameter. The framework twins (``layerwise.frameworks.engines``) implement the
same four methods with Keras or TensorFlow, so they never override the Solver's internals.

An engine:

- ``attach(solver)``: called once by the Solver it serves, after the Solver has set itself up;
- ``step(X, y) -> loss``: one update on the minibatch X (m, ...), y (m,); raises
  :class:`TrainingDiverged` (after or instead of the update) when the loss is NaN or infinite;
- ``sync()``: make ``solver.model`` (params, buffers) and ``solver.optim_configs`` current; the
  Solver calls it before every evaluation and checkpoint and at the end of training;
- ``reset()``: the Solver replaced the model's parameters or optimiser state (a resume, or
  the best parameters put back): the engine must start from them at its next step.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from layerwise.errors import ConfigError

#: The Solver a hook is given (:class:`layerwise.solver.Solver`; not imported: the Solver
#: imports this module).
Solver = Any

__all__ = ["ENGINES", "Engine", "NumpyEngine", "TrainingDiverged"]

#: Every engine by name: layerwise itself, and the Keras and TensorFlow twins
#: (``layerwise.frameworks``, the ``[tf]`` extra).
ENGINES: tuple[str, ...] = ("numpy", "keras", "tensorflow")


class TrainingDiverged(RuntimeError):
    """Raised by an engine's ``step`` when the training loss is NaN or infinite."""


class Engine(Protocol):
    name: str

    def attach(self, solver: Solver) -> None: ...

    def step(self, X: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> float: ...

    def sync(self) -> None: ...

    def reset(self) -> None: ...


class NumpyEngine:
    """layerwise's own update: ``loss, grads = model.loss(X, y)``, then the update rule."""

    name = "numpy"

    def __init__(self) -> None:
        self.solver: Any = None

    def attach(self, solver: Solver) -> None:
        self.solver = solver

    def step(self, X: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> float:
        solver = self.solver
        if weights is None:
            loss, grads = solver.model.loss(X, y)
        else:
            loss, grads = solver.model.loss(X, y, sample_weight=weights)
        loss = float(loss)
        if not math.isfinite(loss):  # before the update: the parameters stay finite
            raise TrainingDiverged(f"the training loss became {loss}")
        params = solver.model.params
        configs = solver.optim_configs
        rule = solver.update_rule
        for name, w in params.items():
            result = rule(w, grads[name], configs[name])
            if (
                not isinstance(result, tuple)
                or len(result) != 2
                or not isinstance(result[0], np.ndarray)
                or result[0].shape != w.shape
                or not isinstance(result[1], dict)
            ):
                raise ConfigError(
                    f"update_rule {getattr(rule, '__name__', rule)!r} returned "
                    f"{type(result).__name__} for parameter {name!r}; an update rule returns "
                    f"(next_w shaped {w.shape}, config dict)",
                    "update_rule",
                )
            params[name], configs[name] = result
        return loss

    def sync(self) -> None:
        """Nothing to do: the model is where the updates happen."""

    def reset(self) -> None:
        """Nothing to do: the next step reads the model as it is."""
