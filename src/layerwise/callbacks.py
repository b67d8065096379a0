"""Callbacks: what runs around the Solver's loop, without flags inside it (Keras's protocol).

A callback is any object with some of these methods; each gets the Solver:

- ``on_train_begin(solver)``: once, before the first update of this ``train()`` call;
- ``on_batch_end(solver)``: after every update (``solver.loss_history[-1]`` is its loss);
- ``on_epoch_end(solver)``: after every accuracy check: after the first iteration and at the
  end of every epoch (the histories already hold it, the best parameters are up to date);
- ``on_train_end(solver)``: once, when ``train()`` ends normally (the best parameters are back
  in the model).

A callback stops training with ``solver.stop(kind, message)``; an exception it raises (e.g. a
tuner's "prune this trial") propagates out of ``train()``. One that keeps state across epochs
(early stopping's patience counter) has ``state_key``, ``get_state()`` and ``set_state()``, so
checkpoints save it and a resumed run continues exactly.

The Solver's keyword arguments ``patience``/``min_delta``, ``checkpoint_name``/
``keep_checkpoints``, ``epoch_callback``, ``verbose``/``print_every`` and ``progress`` are
shorthands for :class:`EarlyStopping`, :class:`ModelCheckpoint`, :class:`EpochFunction` and
:class:`ProgressLogger`.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from layerwise.errors import ConfigError
from layerwise.validation import check_callable, check_number, check_positive_int

#: The Solver a hook is given (:class:`layerwise.solver.Solver`; not imported: the Solver
#: imports this module).
Solver = Any

__all__ = [
    "Callback",
    "EarlyStopping",
    "EpochFunction",
    "ModelCheckpoint",
    "ProgressLogger",
    "StopReason",
]

#: Why a run stopped before its last epoch (``StopReason.kind``).
STOP_KINDS = ("early_stopping", "diverged", "callback")


@dataclass(frozen=True)
class StopReason:
    """Why training stopped early: ``kind`` (one of :data:`STOP_KINDS`) and a sentence."""

    kind: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


#: How the progress line names each task's score (the seed's "acc" for accuracy).
_SHORT = {"accuracy": "acc"}


def _score_name(solver: Any) -> str:
    """The name of the score the Solver records (a classifier's accuracy by default)."""
    task = getattr(solver, "task", None)
    return str(getattr(task, "score_name", "accuracy"))


#: The hooks the Solver calls, in the order of a run.
HOOKS = ("on_train_begin", "on_batch_end", "on_epoch_end", "on_train_end")


class Callback:
    """A base class with every hook doing nothing; subclass it and override what you need."""

    def on_train_begin(self, solver: Solver) -> None:
        """Before the first update of a ``train()`` call."""

    def on_batch_end(self, solver: Solver) -> None:
        """After every update."""

    def on_epoch_end(self, solver: Solver) -> None:
        """After every accuracy check (the histories hold it)."""

    def on_train_end(self, solver: Solver) -> None:
        """When ``train()`` ends without an exception."""


class ProgressLogger(Callback):
    """The seed's lines: ``(Iteration t / T) loss: ...`` every ``print_every`` iterations and
    ``(Epoch e / E) train acc: ...; val_acc: ...`` at every check; with ``bar``, a tqdm
    progress bar on stderr when it is a terminal (lines then go through the bar)."""

    def __init__(self, print_every: int = 10, verbose: bool = True, bar: bool = False) -> None:
        self.print_every = check_positive_int("print_every", print_every)
        self.verbose = bool(verbose)
        self.bar = bool(bar)
        self._bar: Any = None

    def on_train_begin(self, solver: Solver) -> None:
        self._bar = tqdm(
            total=solver.num_iterations,
            initial=solver.iteration,
            disable=not (self.bar and sys.stderr.isatty()),
            file=sys.stderr,
            unit="it",
            leave=False,
        )
        # Through tqdm when the bar is shown, so the lines do not tear it apart.
        solver.say = print if self._bar.disable else tqdm.write

    def on_batch_end(self, solver: Solver) -> None:
        self._bar.update(1)
        t = solver.iteration - 1
        if self.verbose and t % self.print_every == 0:
            solver.say(
                "(Iteration %d / %d) loss: %f"
                % (t + 1, solver.num_iterations, solver.loss_history[-1])
            )

    def on_epoch_end(self, solver: Solver) -> None:
        if self.verbose:
            # The seed's line for a classifier; the task's score by name otherwise.
            name = _SHORT.get(_score_name(solver), _score_name(solver))
            solver.say(
                "(Epoch %d / %d) train %s: %f; val_%s: %f"
                % (
                    solver.epoch,
                    solver.num_epochs,
                    name,
                    solver.train_acc_history[-1],
                    name,
                    solver.val_acc_history[-1],
                )
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class EarlyStopping(Callback):
    """Stop when the validation accuracy has not improved by more than ``min_delta`` for
    ``patience`` checks in a row (Keras's ``EarlyStopping`` on ``val_accuracy``); the Solver
    keeps (and restores) the best parameters either way."""

    state_key = "early_stopping"

    def __init__(self, patience: int, min_delta: float = 0.0, verbose: bool = True) -> None:
        self.patience = check_positive_int("patience", patience)
        self.min_delta = check_number("min_delta", min_delta)
        self.verbose = bool(verbose)
        self.wait = 0
        self.best = -math.inf

    def on_epoch_end(self, solver: Solver) -> None:
        by_loss = getattr(solver, "monitor", "score") == "val_loss"
        score = "loss" if by_loss else _score_name(solver).replace("_", " ")
        # Higher is better: the score, or the loss negated.
        value = -solver.val_loss_history[-1] if by_loss else solver.val_acc_history[-1]
        if value > self.best + self.min_delta:
            self.best = value
            self.wait = 0
        else:
            self.wait += 1
        if self.wait >= self.patience:
            message = (
                f"early stopping at epoch {solver.epoch}: validation {score} did not improve by "
                f"more than {self.min_delta:g} for {self.patience} epochs (best "
                f"{solver.best_val_acc:f})"
            )
            solver.stop("early_stopping", message)
            if self.verbose:
                solver.say(message)

    def get_state(self) -> dict[str, Any]:
        best = None if math.isinf(self.best) else self.best
        return {"epochs_without_improvement": self.wait, "monitor_best": best}

    def set_state(self, state: dict[str, Any]) -> None:
        self.wait = int(state["epochs_without_improvement"])
        best = state["monitor_best"]
        self.best = -math.inf if best is None else float(best)


class ModelCheckpoint(Callback):
    """Write the full training state at every check: ``<base>_latest`` always and, with
    ``keep_every_epoch``, ``<base>_epoch_<e>`` at the end of every epoch (never a pickle)."""

    def __init__(self, base: str | os.PathLike[str], keep_every_epoch: bool = True) -> None:
        if not isinstance(base, (str, os.PathLike)) or not os.fspath(base):
            raise ConfigError(f"checkpoint_name must be a non-empty path; got {base!r}")
        self.base = os.fspath(base)
        self.keep_every_epoch = bool(keep_every_epoch)

    def on_epoch_end(self, solver: Solver) -> None:
        solver.write_checkpoints(self.base, self.keep_every_epoch)


class EpochFunction(Callback):
    """``f(solver)`` after every check; a string it returns stops training with that reason."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = check_callable("epoch_callback", function, "solver")

    def on_epoch_end(self, solver: Solver) -> None:
        reason = self.function(solver)
        if isinstance(reason, str):
            solver.stop("callback", reason)
