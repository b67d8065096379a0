"""Training engines: one Solver, with its updates computed by layerwise, Keras or TensorFlow.

``layerwise train --engine keras|tensorflow`` trains with a :class:`TwinSolver`: the layerwise
:class:`~layerwise.solver.Solver` (the same minibatch sampling, learning-rate decay and
schedules, early stopping, printed lines, histories, best-model tracking and checkpoints), except
that each update, the forward pass, the backward pass and the update rule, runs in the
framework twin. At every accuracy check the twin's weights (and batch-norm running statistics,
and optimizer state) are copied back into the layerwise model, which is then what is evaluated,
kept as the best model and saved: so every engine is measured by the same code.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from layerwise.frameworks import ENGINES
from layerwise.frameworks.spec import NetSpec
from layerwise.solver import Solver, TrainingDiverged

Array = np.ndarray

#: layerwise's default learning rate per update rule (used when optim_config has none).
_DEFAULT_LR = {"adam": 1e-3, "adamw": 1e-3}


def spec_for_solver(model: Any, update_rule: Any, optim_config: dict[str, Any]) -> NetSpec:
    """The :class:`NetSpec` of ``model`` trained with a Solver's update rule and config."""
    if not isinstance(update_rule, str):
        raise ValueError(f"a framework engine needs an update rule by name, not {update_rule!r}")
    options = dict(optim_config)
    lr = options.pop("learning_rate", _DEFAULT_LR.get(update_rule, 1e-2))
    return NetSpec.from_model(model, optimizer=update_rule, learning_rate=lr, **options)


def build_twin(engine: str, spec: NetSpec, model: Any, seed: int | None = None) -> Any:
    """The ``engine`` twin of ``model`` (same weights): a KerasTwin or a TFNet."""
    if engine == "keras":
        from layerwise.frameworks.keras import KerasTwin

        return KerasTwin(spec, model, seed=seed)
    if engine == "tensorflow":
        from layerwise.frameworks.tensorflow import TFNet

        return TFNet(spec, model=model, seed=seed)
    raise ValueError(f"unknown framework engine {engine!r}; expected 'keras' or 'tensorflow'")


class TwinSolver(Solver):
    """A :class:`~layerwise.solver.Solver` whose updates run in a Keras or TensorFlow twin.

    Takes the Solver's arguments plus ``engine`` ('keras' or 'tensorflow'). ``model`` must be a
    layerwise fully connected model and ``update_rule`` a name. Attributes beyond the Solver's:
    ``engine``, ``spec`` and ``twin``.
    """

    def __init__(self, model: Any, data: dict[str, Any], engine: str, **kwargs: Any) -> None:
        super().__init__(model, data, **kwargs)
        self.engine = engine
        self.spec = spec_for_solver(model, self.update_rule_name, self.optim_config)
        self.twin = build_twin(engine, self.spec, model, seed=self.seed)
        self._twin_ahead = False  # the twin has taken steps the model has not seen
        self._model_ahead = False  # the model was loaded (resume) and the twin must follow

    def _learning_rate(self) -> float:
        for config in self.optim_configs.values():
            if "learning_rate" in config:
                return float(config["learning_rate"])
        return self.spec.learning_rate

    def _step(self) -> None:
        if self._model_ahead:
            self._push()
        idx = self._sample(self.X_train.shape[0], self.batch_size)
        loss = self.twin.train_step(self.X_train[idx], self.y_train[idx], self._learning_rate())
        self._twin_ahead = True
        if not math.isfinite(loss):
            raise TrainingDiverged(f"the training loss became {loss}")
        self.loss_history.append(loss)

    def _push(self) -> None:
        """Model -> twin: parameters, running statistics, optimizer state."""
        get_buffers = getattr(self.model, "get_buffers", None)
        self.twin.set_weights(self.model.params, get_buffers() if callable(get_buffers) else {})
        self.twin.set_optimizer_state(self.optim_configs)
        self._model_ahead = False

    def _pull(self) -> None:
        """Twin -> model: parameters, running statistics, and the optimizer state into
        ``optim_configs`` (layerwise's names, so checkpoints hold it)."""
        if not self._twin_ahead:
            return
        params, buffers = self.twin.get_weights()
        dtype = self.model.dtype
        self.model.params = {k: params[k].astype(dtype, copy=False) for k in self.model.params}
        if buffers:
            self.model.set_buffers(buffers)
        for name, state in self.twin.get_optimizer_state().items():
            self.optim_configs[name].update(state)
        self._twin_ahead = False

    def _record_epoch(self, say: Any) -> None:
        self._pull()
        super()._record_epoch(say)

    def save_checkpoint(self, base: Any = None) -> Any:
        self._pull()
        return super().save_checkpoint(base)

    def resume(self, path: Any) -> TwinSolver:
        super().resume(path)
        self._twin_ahead = False
        self._model_ahead = True
        return self

    def train(self) -> None:
        super().train()
        if self.restore_best:
            self._twin_ahead = False
            self._model_ahead = True  # the model holds the best parameters now
        else:
            self._pull()


def make_solver(engine: str, model: Any, data: dict[str, Any], **kwargs: Any) -> Solver:
    """A Solver for ``engine``: layerwise's own for 'numpy', else a :class:`TwinSolver`."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {list(ENGINES)}")
    if engine == "numpy":
        return Solver(model, data, **kwargs)
    return TwinSolver(model, data, engine, **kwargs)
