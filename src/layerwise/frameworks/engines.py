"""Framework engines: the Solver's updates computed by a Keras or TensorFlow twin.

``layerwise train --engine keras|tensorflow`` trains with the layerwise
:class:`~layerwise.solver.Solver` (the same minibatch sampling, learning-rate decay and
schedules, early stopping, printed lines, histories, best-model tracking and checkpoints) and a
:class:`TwinEngine`: each update, the forward pass, the backward pass and the update rule, runs
in the framework twin. At every accuracy check the twin's weights (and batch-norm running
statistics, and optimizer state) are copied back into the layerwise model, which is then what
is evaluated, kept as the best model and saved: so every engine is measured by the same code.
The engine implements :class:`layerwise.engine.Engine`; it overrides nothing of the Solver.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from layerwise import optim
from layerwise.engine import TrainingDiverged
from layerwise.errors import ConfigError
from layerwise.frameworks import ENGINES
from layerwise.solver import Solver
from layerwise.spec import NetSpec

Array = np.ndarray


def spec_for_solver(model: Any, update_rule: Any, optim_config: dict[str, Any]) -> NetSpec:
    """The :class:`NetSpec` of ``model`` trained with a Solver's update rule and config."""
    if not isinstance(update_rule, str) or update_rule not in optim.DEFAULTS:
        raise ConfigError(
            f"a framework engine needs an update rule by name, not {update_rule!r}", "update_rule"
        )
    options = dict(optim_config)
    lr = options.pop("learning_rate", optim.DEFAULTS[update_rule]["learning_rate"])
    return NetSpec.from_model(model, optimizer=update_rule, learning_rate=lr, **options)


def build_twin(engine: str, spec: NetSpec, model: Any, seed: int | None = None) -> Any:
    """The ``engine`` twin of ``model`` (same weights): a KerasTwin or a TFNet."""
    if engine == "keras":
        from layerwise.frameworks.keras import KerasTwin

        return KerasTwin(spec, model, seed=seed)
    if engine == "tensorflow":
        from layerwise.frameworks.tensorflow import TFNet

        return TFNet(spec, model=model, seed=seed)
    raise ConfigError(
        f"unknown framework engine {engine!r}; expected 'keras' or 'tensorflow'", "engine"
    )


class TwinEngine:
    """An :class:`~layerwise.engine.Engine` whose updates run in a Keras or TensorFlow twin.

    ``name`` is 'keras' or 'tensorflow'. The Solver's model must be a layerwise fully connected
    model and its update rule a name. After :meth:`attach`: ``spec`` and ``twin``.
    """

    def __init__(self, name: str) -> None:
        if name not in ("keras", "tensorflow"):
            raise ConfigError(
                f"unknown framework engine {name!r}; expected 'keras' or 'tensorflow'", "engine"
            )
        self.name = name
        self.solver: Any = None
        self.spec: NetSpec | None = None
        self.twin: Any = None
        self._twin_ahead = False  # the twin has taken steps the model has not seen
        self._model_ahead = False  # the model was loaded (resume) and the twin must follow

    def attach(self, solver: Solver) -> None:
        # The twins build softmax classifiers trained on unweighted batches.
        if solver.task.name != "classification" or solver.train_weights is not None:
            what = (
                "sample or class weights"
                if solver.task.name == "classification"
                else (f"task {solver.task.name!r}")
            )
            raise ConfigError(
                f"engine {self.name!r} trains unweighted classifiers only; {what} need "
                "engine 'numpy'",
                "engine",
            )
        self.solver = solver
        self.spec = spec_for_solver(solver.model, solver.update_rule_name, solver.optim_config)
        self.twin = build_twin(self.name, self.spec, solver.model, seed=solver.seed)

    def _learning_rate(self) -> float:
        for config in self.solver.optim_configs.values():
            if "learning_rate" in config:
                return float(config["learning_rate"])
        assert self.spec is not None
        return self.spec.learning_rate

    def step(self, X: Array, y: Array, weights: Array | None = None) -> float:
        if weights is not None:
            raise ConfigError(
                f"engine {self.name!r} trains on unweighted batches; weights need engine 'numpy'",
                "engine",
            )
        if self._model_ahead:
            self._push()
        loss = self.twin.train_step(X, y, self._learning_rate())
        self._twin_ahead = True
        if not math.isfinite(loss):
            raise TrainingDiverged(f"the training loss became {loss}")
        return float(loss)

    def _push(self) -> None:
        """Model -> twin: parameters, running statistics, optimizer state."""
        model = self.solver.model
        get_buffers = getattr(model, "get_buffers", None)
        self.twin.set_weights(model.params, get_buffers() if callable(get_buffers) else {})
        self.twin.set_optimizer_state(self.solver.optim_configs)
        self._model_ahead = False

    def sync(self) -> None:
        """Twin -> model: parameters, running statistics, and the optimizer state into
        ``optim_configs`` (layerwise's names, so checkpoints hold it)."""
        if not self._twin_ahead:
            return
        model = self.solver.model
        params, buffers = self.twin.get_weights()
        dtype = model.dtype
        model.params = {k: params[k].astype(dtype, copy=False) for k in model.params}
        if buffers:
            model.set_buffers(buffers)
        for name, state in self.twin.get_optimizer_state().items():
            self.solver.optim_configs[name].update(state)
        self._twin_ahead = False

    def reset(self) -> None:
        """The model holds parameters the twin has not seen: push them before the next step."""
        self._twin_ahead = False
        self._model_ahead = True


def make_engine(name: str) -> Any:
    """The engine called ``name``: None (the Solver's own NumPy engine) or a TwinEngine."""
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}; expected one of {list(ENGINES)}", "engine")
    return None if name == "numpy" else TwinEngine(name)


def make_solver(engine: str, model: Any, data: dict[str, Any], **kwargs: Any) -> Solver:
    """A Solver whose updates run on ``engine`` ('numpy', 'keras' or 'tensorflow')."""
    return Solver(model, data, engine=make_engine(engine), **kwargs)
