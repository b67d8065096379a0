"""Callbacks (layerwise.callbacks): the hooks and their order, stopping, early stopping and its
state across a resume, checkpoints, epoch functions, and a diverging run."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerwise.callbacks import (
    STOP_KINDS,
    Callback,
    EarlyStopping,
    EpochFunction,
    ModelCheckpoint,
    ProgressLogger,
    StopReason,
)
from layerwise.errors import ConfigError
from layerwise.recipe import Recipe
from layerwise.solver import Solver

ITERATIONS_PER_EPOCH = 1257 // 50  # the digits training split, batches of 50


@pytest.fixture(scope="module")
def digits() -> dict[str, np.ndarray]:
    return Recipe.from_options().build_data()


def make_solver(
    data: dict[str, np.ndarray], epochs: int = 2, lr: float = 0.5, **kwargs: Any
) -> Solver:
    """The default recipe's model and Solver (seeded), quiet, with the Solver keywords given
    (which may override the recipe's: ``patience``)."""
    recipe = Recipe.from_options(epochs=epochs, lr=lr)
    settings = {**recipe.solver_options(), "verbose": False, **kwargs}
    return Solver(recipe.build_model(data), data, **settings)


class Recorder(Callback):
    """Records every hook with where the Solver was."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, int, int]] = []

    def _add(self, hook: str, solver: Solver) -> None:
        self.events.append((hook, solver.iteration, solver.epoch, len(solver.val_acc_history)))

    def on_train_begin(self, solver: Solver) -> None:
        self._add("train_begin", solver)

    def on_batch_end(self, solver: Solver) -> None:
        assert len(solver.loss_history) == solver.iteration
        self._add("batch_end", solver)

    def on_epoch_end(self, solver: Solver) -> None:
        self._add("epoch_end", solver)

    def on_train_end(self, solver: Solver) -> None:
        self._add("train_end", solver)
        self.params_at_end = {k: v.copy() for k, v in solver.model.params.items()}


def early_stop_epoch(val_acc: list[float], patience: int, min_delta: float = 0.0) -> int | None:
    """When Keras-style early stopping on these accuracies (checks 0, 1, ...) stops."""
    best, wait = -math.inf, 0
    for epoch, acc in enumerate(val_acc):
        if acc > best + min_delta:
            best, wait = acc, 0
        else:
            wait += 1
        if wait >= patience:
            return epoch
    return None


# --------------------------------------------------------------------------------------------
# The hooks
# --------------------------------------------------------------------------------------------


def test_the_base_class_does_nothing() -> None:
    cb = Callback()
    for hook in ("on_train_begin", "on_batch_end", "on_epoch_end", "on_train_end"):
        assert getattr(cb, hook)(None) is None


def test_hooks_come_in_order(digits: dict[str, np.ndarray]) -> None:
    recorder = Recorder()
    solver = make_solver(digits, callbacks=[recorder])
    solver.train()
    events = recorder.events
    n = 2 * ITERATIONS_PER_EPOCH
    assert events[0] == ("train_begin", 0, 0, 0)
    assert events[-1] == ("train_end", n, 2, 3)
    assert [e[0] for e in events].count("train_begin") == 1
    assert [e[0] for e in events].count("train_end") == 1
    batches = [e for e in events if e[0] == "batch_end"]
    assert [e[1] for e in batches] == list(range(1, n + 1))
    checks = [e for e in events if e[0] == "epoch_end"]
    # After the first iteration, then at the end of every epoch; the histories hold the check.
    assert checks == [
        ("epoch_end", 1, 0, 1),
        ("epoch_end", ITERATIONS_PER_EPOCH, 1, 2),
        ("epoch_end", n, 2, 3),
    ]
    # Each check follows the update it measured (the epoch counts up between the two).
    for check in checks:
        i = events.index(check)
        hook, iteration, _, recorded = events[i - 1]
        assert (hook, iteration, recorded) == ("batch_end", check[1], check[3] - 1)
    # At train_end the best parameters are back in the model.
    for name, value in solver.best_params.items():
        np.testing.assert_array_equal(recorder.params_at_end[name], value)


def test_user_callbacks_run_after_the_shorthands(
    digits: dict[str, np.ndarray], tmp_path: Path
) -> None:
    recorder = Recorder()
    solver = make_solver(
        digits,
        patience=3,
        checkpoint_name=str(tmp_path / "ck"),
        epoch_callback=lambda s: None,
        callbacks=[recorder],
    )
    kinds = [type(cb) for cb in solver.callbacks]
    assert kinds == [ProgressLogger, EarlyStopping, ModelCheckpoint, EpochFunction, Recorder]
    assert solver.callbacks[-1] is recorder


def test_a_duck_typed_callback_needs_only_the_hooks_it_uses(
    digits: dict[str, np.ndarray],
) -> None:
    seen: list[int] = []

    class OnlyEnd:
        def on_train_end(self, solver: Solver) -> None:
            seen.append(solver.iteration)

    make_solver(digits, epochs=1, callbacks=[OnlyEnd()]).train()
    assert seen == [ITERATIONS_PER_EPOCH]


# --------------------------------------------------------------------------------------------
# Stopping
# --------------------------------------------------------------------------------------------


class StopAt(Callback):
    def __init__(self, epoch: int, message: str) -> None:
        self.epoch, self.message = epoch, message

    def on_epoch_end(self, solver: Solver) -> None:
        if solver.epoch >= self.epoch:
            solver.stop("callback", self.message)


def test_stop_ends_training_after_that_check(digits: dict[str, np.ndarray]) -> None:
    recorder = Recorder()
    solver = make_solver(digits, epochs=5, callbacks=[StopAt(1, "enough"), recorder])
    solver.train()
    assert solver.epoch == 1 and solver.iteration == ITERATIONS_PER_EPOCH
    assert len(solver.loss_history) == ITERATIONS_PER_EPOCH
    assert solver.stopped_by == StopReason("callback", "enough")
    assert solver.stopped_reason == "enough"
    assert recorder.events[-1][0] == "train_end"  # a stop is a normal end
    assert [e[0] for e in recorder.events].count("epoch_end") == 2


def test_the_first_reason_wins(digits: dict[str, np.ndarray]) -> None:
    class StopInTrainEnd(Callback):
        def on_train_end(self, solver: Solver) -> None:
            solver.stop("callback", "too late")

    solver = make_solver(
        digits,
        epochs=5,
        callbacks=[StopAt(2, "second"), StopAt(1, "first"), StopInTrainEnd()],
    )
    solver.train()
    assert solver.epoch == 1
    assert solver.stopped_by == StopReason("callback", "first")


def test_stop_from_a_batch_ends_after_that_update(digits: dict[str, np.ndarray]) -> None:
    class StopAtBatch(Callback):
        def on_batch_end(self, solver: Solver) -> None:
            if solver.iteration == 7:
                solver.stop("callback", "seven")

    solver = make_solver(digits, callbacks=[StopAtBatch()])
    solver.train()
    assert len(solver.loss_history) == 7 and solver.stopped_reason == "seven"


def test_an_exception_in_a_callback_propagates(digits: dict[str, np.ndarray]) -> None:
    class Prune(Exception):
        pass

    class Pruner(Callback):
        def on_epoch_end(self, solver: Solver) -> None:
            if solver.epoch == 1:
                raise Prune

    solver = make_solver(digits, epochs=3, callbacks=[Pruner()])
    with pytest.raises(Prune):
        solver.train()
    assert solver.epoch == 1


def test_stop_reason() -> None:
    reason = StopReason("diverged", "the loss became nan")
    assert reason.to_dict() == {"kind": "diverged", "message": "the loss became nan"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        reason.kind = "callback"  # type: ignore[misc]
    assert STOP_KINDS == ("early_stopping", "diverged", "callback")


# --------------------------------------------------------------------------------------------
# EarlyStopping
# --------------------------------------------------------------------------------------------


class FakeSolver:
    """What EarlyStopping reads and calls."""

    def __init__(self) -> None:
        self.val_acc_history: list[float] = []
        self.epoch = 0
        self.best_val_acc = 0.0
        self.stops: list[tuple[str, str]] = []
        self.said: list[str] = []

    def check(self, cb: EarlyStopping, acc: float) -> None:
        self.val_acc_history.append(acc)
        self.best_val_acc = max(self.best_val_acc, acc)
        cb.on_epoch_end(self)  # type: ignore[arg-type]
        self.epoch += 1

    def stop(self, kind: str, message: str) -> None:
        self.stops.append((kind, message))

    def say(self, line: str) -> None:
        self.said.append(line)


def test_early_stopping_counts_checks_without_improvement() -> None:
    cb = EarlyStopping(patience=2, min_delta=0.05)
    fake = FakeSolver()
    for acc in (0.5, 0.6, 0.64, 0.7):  # 0.64 is no gain of more than 0.05 over 0.6
        fake.check(cb, acc)
    assert (cb.wait, cb.best) == (0, 0.7) and fake.stops == []
    fake.check(cb, 0.72)
    assert cb.wait == 1 and fake.stops == []
    fake.check(cb, 0.75)  # 0.75 > 0.7 + 0.05 is false: equal is no gain
    assert cb.wait == 2
    assert fake.stops and fake.stops[0][0] == "early_stopping"
    message = fake.stops[0][1]
    assert message.startswith("early stopping at epoch 5:") and "for 2 epochs" in message
    assert "more than 0.05" in message and "best 0.750000" in message
    assert fake.said == [message]


def test_early_stopping_state_round_trips() -> None:
    cb = EarlyStopping(3)
    assert cb.get_state() == {"epochs_without_improvement": 0, "monitor_best": None}
    fake = FakeSolver()
    fake.check(cb, 0.4)
    fake.check(cb, 0.3)
    state = cb.get_state()
    assert state == {"epochs_without_improvement": 1, "monitor_best": 0.4}
    other = EarlyStopping(3)
    other.set_state(state)
    assert (other.wait, other.best) == (1, 0.4)
    other.set_state({"epochs_without_improvement": 0, "monitor_best": None})
    assert other.best == -math.inf
    assert EarlyStopping.state_key == "early_stopping"


@pytest.mark.parametrize(("patience", "min_delta"), [(0, 0.0), (1.5, 0.0), (True, 0.0), (2, -0.1)])
def test_early_stopping_checks_its_arguments(patience: Any, min_delta: Any) -> None:
    with pytest.raises(ConfigError):
        EarlyStopping(patience, min_delta)


def test_early_stopping_stops_the_solver(digits: dict[str, np.ndarray]) -> None:
    solver = make_solver(digits, epochs=30, patience=2)
    solver.train()
    expected = early_stop_epoch(solver.val_acc_history, patience=2)
    assert expected is not None and solver.epoch == expected < 30
    assert solver.stopped_by is not None and solver.stopped_by.kind == "early_stopping"
    assert solver.stopped_reason is not None
    assert solver.stopped_reason.startswith(f"early stopping at epoch {expected}:")
    assert len(solver.loss_history) == expected * ITERATIONS_PER_EPOCH
    assert solver.best_val_acc == max(solver.val_acc_history)


def test_the_patience_shorthand_is_early_stopping(digits: dict[str, np.ndarray]) -> None:
    short = make_solver(digits, epochs=30, patience=2, min_delta=0.01)
    short.train()
    long = make_solver(digits, epochs=30, callbacks=[EarlyStopping(2, 0.01, verbose=False)])
    long.train()
    assert [cb.patience for cb in short.callbacks if isinstance(cb, EarlyStopping)] == [2]
    assert short.stopped_by == long.stopped_by and short.stopped_by is not None
    assert short.stopped_by.kind == "early_stopping"
    assert short.loss_history == long.loss_history
    assert short.val_acc_history == long.val_acc_history
    for name in short.model.params:
        np.testing.assert_array_equal(short.model.params[name], long.model.params[name])


def test_early_stopping_state_survives_a_resume(
    digits: dict[str, np.ndarray], tmp_path: Path
) -> None:
    base = str(tmp_path / "ck")
    straight = make_solver(digits, epochs=30, patience=3, checkpoint_name=base)
    straight.train()
    stop = straight.epoch
    assert straight.stopped_by is not None and straight.stopped_by.kind == "early_stopping"
    # A checkpoint written while the counter was running (after the last improvement).
    mid = stop - 1
    assert Path(f"{base}_epoch_{mid}.json").is_file()

    resumed = make_solver(digits, epochs=30, patience=3)
    resumed.resume(f"{base}_epoch_{mid}")
    (stopper,) = [cb for cb in resumed.callbacks if isinstance(cb, EarlyStopping)]
    assert stopper.wait > 0 and stopper.best == max(straight.val_acc_history[: mid + 1])
    resumed.train()
    assert resumed.epoch == stop
    assert resumed.stopped_by == straight.stopped_by
    assert resumed.loss_history == straight.loss_history
    for name in straight.model.params:
        np.testing.assert_array_equal(resumed.model.params[name], straight.model.params[name])

    # Without its state the counter would start again, and the run would stop later.
    forgetful = make_solver(digits, epochs=30, patience=3)
    forgetful.resume(f"{base}_epoch_{mid}")
    (stopper,) = [cb for cb in forgetful.callbacks if isinstance(cb, EarlyStopping)]
    stopper.set_state({"epochs_without_improvement": 0, "monitor_best": None})
    forgetful.train()
    assert forgetful.epoch > stop


# --------------------------------------------------------------------------------------------
# ModelCheckpoint, EpochFunction, ProgressLogger
# --------------------------------------------------------------------------------------------


def test_model_checkpoint_writes_the_latest(digits: dict[str, np.ndarray], tmp_path: Path) -> None:
    base = str(tmp_path / "ck")
    solver = make_solver(digits, callbacks=[ModelCheckpoint(base, keep_every_epoch=False)])
    assert solver.checkpoint_name == base  # where Ctrl-C writes too
    solver.train()
    assert Path(f"{base}_latest.npz").is_file() and Path(f"{base}_latest.json").is_file()
    assert not list(tmp_path.glob("ck_epoch_*"))
    again = make_solver(digits).resume(f"{base}_latest")
    assert again.iteration == solver.iteration == 2 * ITERATIONS_PER_EPOCH
    assert again.loss_history == solver.loss_history


def test_model_checkpoint_keeps_every_epoch(digits: dict[str, np.ndarray], tmp_path: Path) -> None:
    base = str(tmp_path / "ck")
    make_solver(digits, callbacks=[ModelCheckpoint(base)]).train()
    for epoch in (1, 2):
        assert Path(f"{base}_epoch_{epoch}.npz").is_file()
        assert Path(f"{base}_epoch_{epoch}.json").is_file()
    assert not Path(f"{base}_epoch_0.json").exists()  # the first check is no epoch's end
    at_one = make_solver(digits).resume(f"{base}_epoch_1")
    assert at_one.iteration == ITERATIONS_PER_EPOCH and at_one.epoch == 1


def test_model_checkpoint_takes_a_path_object(
    digits: dict[str, np.ndarray], tmp_path: Path
) -> None:
    """As Solver(checkpoint_name=Path(...)) does: the message itself asks for 'a path'."""
    solver = make_solver(digits, epochs=1, callbacks=[ModelCheckpoint(tmp_path / "ck")])
    solver.train()
    assert (tmp_path / "ck_latest.json").is_file()


@pytest.mark.parametrize("base", ["", None, 3])
def test_model_checkpoint_needs_a_path(base: Any) -> None:
    with pytest.raises(ConfigError, match="checkpoint_name must be a non-empty path"):
        ModelCheckpoint(base)


def test_an_epoch_function_returning_a_string_stops(digits: dict[str, np.ndarray]) -> None:
    calls: list[int] = []

    def enough(solver: Solver) -> Any:
        calls.append(solver.epoch)
        if solver.epoch == 2:
            return "accuracy is good enough"
        return True if solver.epoch == 1 else None  # only a string stops

    solver = make_solver(digits, epochs=5, callbacks=[EpochFunction(enough)])
    solver.train()
    assert calls == [0, 1, 2] and solver.epoch == 2
    assert solver.stopped_by == StopReason("callback", "accuracy is good enough")


def test_the_epoch_callback_shorthand(digits: dict[str, np.ndarray]) -> None:
    solver = make_solver(digits, epochs=5, epoch_callback=lambda s: "stop" if s.epoch else None)
    solver.train()
    assert solver.epoch == 1 and solver.stopped_reason == "stop"
    assert any(isinstance(cb, EpochFunction) for cb in solver.callbacks)


def test_an_epoch_function_must_be_callable() -> None:
    with pytest.raises(
        ConfigError, match=r"epoch_callback must be callable, as epoch_callback\(solver\); got 42"
    ):
        EpochFunction(42)  # type: ignore[arg-type]


def test_progress_logger_lines(
    digits: dict[str, np.ndarray], capsys: pytest.CaptureFixture
) -> None:
    make_solver(digits, epochs=1, verbose=True, print_every=10).train()
    lines = capsys.readouterr().out.splitlines()
    iterations = [l.split(")")[0] for l in lines if l.startswith("(Iteration")]
    assert iterations == [f"(Iteration {i} / 25" for i in (1, 11, 21)]
    assert [l.split(")")[0] for l in lines if l.startswith("(Epoch")] == [
        "(Epoch 0 / 1",
        "(Epoch 1 / 1",
    ]
    make_solver(digits, epochs=1, verbose=False).train()
    assert capsys.readouterr().out == ""
    with pytest.raises(ConfigError, match="print_every"):
        ProgressLogger(print_every=0)


# --------------------------------------------------------------------------------------------
# Divergence
# --------------------------------------------------------------------------------------------


def test_a_diverging_run_stops_and_keeps_finite_best_parameters(
    digits: dict[str, np.ndarray], capsys: pytest.CaptureFixture
) -> None:
    recorder = Recorder()
    solver = make_solver(digits, epochs=3, lr=1e8, callbacks=[recorder])
    with np.errstate(all="ignore"):
        solver.train()
    assert solver.stopped_by is not None and solver.stopped_by.kind == "diverged"
    assert "the training loss" in solver.stopped_by.message
    assert "at iteration" in solver.stopped_by.message
    assert len(solver.loss_history) < 3 * ITERATIONS_PER_EPOCH
    assert all(math.isfinite(v) for v in solver.loss_history)
    for name, value in solver.model.params.items():
        assert np.isfinite(value).all(), name
        np.testing.assert_array_equal(value, solver.best_params[name])
    assert f"Warning: {solver.stopped_reason}" in capsys.readouterr().err
    assert recorder.events[-1][0] == "train_end"
