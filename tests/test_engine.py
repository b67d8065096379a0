"""Engines (layerwise.engine): NumpyEngine's one update, and the Solver's use of any engine:
attach once, step per update, sync before every evaluation, reset on resume, divergence."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from layerwise import optim
from layerwise.engine import ENGINES, Engine, NumpyEngine, TrainingDiverged
from layerwise.errors import ConfigError
from layerwise.recipe import Recipe
from layerwise.solver import Solver

ITERATIONS_PER_EPOCH = 1257 // 50


@pytest.fixture(scope="module")
def digits() -> dict[str, np.ndarray]:
    return Recipe.from_options().build_data()


def make_solver(data: dict[str, np.ndarray], epochs: int = 2, **kwargs: Any) -> Solver:
    recipe = Recipe.from_options(epochs=epochs, **kwargs.pop("options", {}))
    settings = {**recipe.solver_options(), "verbose": False, **kwargs}
    return Solver(recipe.build_model(data), data, **settings)


class CountingEngine:
    """Delegates to NumpyEngine and records every call."""

    name = "counting"

    def __init__(self, diverge_at: int | None = None) -> None:
        self.inner = NumpyEngine()
        self.attached: list[Any] = []
        self.losses: list[float] = []
        self.syncs: list[int] = []  # the Solver's iteration at each sync
        self.resets = 0
        self.diverge_at = diverge_at

    def attach(self, solver: Solver) -> None:
        self.attached.append(solver)
        self.inner.attach(solver)
        self.solver = solver

    def step(self, X: np.ndarray, y: np.ndarray) -> float:
        if self.diverge_at is not None and len(self.losses) + 1 == self.diverge_at:
            raise TrainingDiverged("the loss of this engine exploded")
        loss = self.inner.step(X, y)
        self.losses.append(loss)
        return loss

    def sync(self) -> None:
        self.syncs.append(self.solver.iteration)

    def reset(self) -> None:
        self.resets += 1


def test_the_engines() -> None:
    assert ENGINES == ("numpy", "keras", "tensorflow")
    engine = NumpyEngine()
    assert engine.name == "numpy" and engine.solver is None
    for method in ("attach", "step", "sync", "reset"):
        assert callable(getattr(engine, method))
    assert set(Engine.__dict__) >= {"attach", "step", "sync", "reset"}


# --------------------------------------------------------------------------------------------
# NumpyEngine
# --------------------------------------------------------------------------------------------


def test_numpy_engine_step_is_one_sgd_update(digits: dict[str, np.ndarray]) -> None:
    solver = make_solver(digits, options={"lr": 0.1}, lr_decay=1.0)
    model = solver.model
    twin = copy.deepcopy(model)
    X, y = digits["X_train"][:50], digits["y_train"][:50]
    expected_loss, grads = twin.loss(X, y)
    expected = {name: w - 0.1 * grads[name] for name, w in twin.params.items()}

    assert isinstance(solver.engine, NumpyEngine) and solver.engine.solver is solver
    loss = solver.engine.step(X, y)
    assert type(loss) is float and loss == float(expected_loss)
    for name, w in model.params.items():
        assert w.dtype == expected[name].dtype
        np.testing.assert_array_equal(w, expected[name], err_msg=name)
    # The engine does the update only; the loop's bookkeeping is the Solver's.
    assert solver.loss_history == [] and solver.iteration == 0

    # ... and a second step is a second update (the twin was not updated).
    assert twin.loss(X, y)[0] == expected_loss
    solver.engine.step(X, y)
    for name, w in model.params.items():
        assert not np.array_equal(w, expected[name]), name


def test_numpy_engine_step_keeps_the_rules_state(digits: dict[str, np.ndarray]) -> None:
    solver = make_solver(digits, options={"update_rule": "adam", "lr": 1e-3})
    X, y = digits["X_train"][:50], digits["y_train"][:50]
    solver.engine.step(X, y)
    solver.engine.step(X, y)
    for name, w in solver.model.params.items():
        config = solver.optim_configs[name]
        assert config["t"] == 2, name
        assert config["m"].shape == w.shape and config["v"].shape == w.shape


def test_numpy_engine_refuses_a_non_finite_loss_before_updating() -> None:
    class NanModel:
        def __init__(self) -> None:
            self.params = {"w": np.ones(3)}

        def loss(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
            return math.nan, {"w": np.ones(3)}

    model = NanModel()
    engine = NumpyEngine()
    engine.attach(SimpleNamespace(model=model, optim_configs={"w": {}}, update_rule=optim.sgd))
    with pytest.raises(TrainingDiverged, match="the training loss became nan"):
        engine.step(np.zeros((1, 2)), np.zeros(1, dtype=np.int64))
    np.testing.assert_array_equal(model.params["w"], np.ones(3))
    assert engine.sync() is None and engine.reset() is None


# --------------------------------------------------------------------------------------------
# The Solver and its engine
# --------------------------------------------------------------------------------------------


def test_the_default_engine_is_numpy(digits: dict[str, np.ndarray]) -> None:
    for engine in (None, "numpy"):
        solver = make_solver(digits, engine=engine)
        assert isinstance(solver.engine, NumpyEngine) and solver.engine.solver is solver


def test_a_custom_engine_computes_every_update(digits: dict[str, np.ndarray]) -> None:
    engine = CountingEngine()
    seen_syncs: list[int] = []

    class Check:
        def on_epoch_end(self, solver: Solver) -> None:
            seen_syncs.append(len(engine.syncs))

    solver = make_solver(digits, engine=engine, callbacks=[Check()])
    assert solver.engine is engine and engine.attached == [solver]
    solver.train()
    n = 2 * ITERATIONS_PER_EPOCH
    assert len(engine.losses) == n and solver.loss_history == engine.losses
    # Synced before each evaluation (after the first update and at each epoch's end) ...
    assert engine.syncs == [1, ITERATIONS_PER_EPOCH, n]
    assert seen_syncs == [1, 2, 3]
    # ... and reset once the best parameters were put back at the end.
    assert engine.resets == 1
    assert engine.attached == [solver]  # attached once

    # Delegating to NumpyEngine, it computes what the default engine computes.
    plain = make_solver(digits)
    plain.train()
    assert plain.loss_history == solver.loss_history
    for name in plain.model.params:
        np.testing.assert_array_equal(plain.model.params[name], solver.model.params[name])


def test_without_restore_best_the_engine_is_synced_at_the_end(
    digits: dict[str, np.ndarray],
) -> None:
    engine = CountingEngine()
    make_solver(digits, epochs=1, engine=engine, restore_best=False).train()
    assert engine.syncs == [1, ITERATIONS_PER_EPOCH, ITERATIONS_PER_EPOCH]
    assert engine.resets == 0


def test_the_engine_is_synced_before_a_checkpoint_and_reset_on_resume(
    digits: dict[str, np.ndarray], tmp_path: Path
) -> None:
    base = str(tmp_path / "ck")
    first = CountingEngine()
    make_solver(digits, epochs=1, engine=first, checkpoint_name=base).train()
    # Each check syncs for the evaluation and again for the checkpoint written after it.
    assert first.syncs == [1, 1, ITERATIONS_PER_EPOCH, ITERATIONS_PER_EPOCH]

    engine = CountingEngine()
    solver = make_solver(digits, epochs=2, engine=engine)
    assert engine.resets == 0
    solver.resume(f"{base}_latest")
    assert engine.resets == 1 and engine.losses == []
    solver.train()
    assert len(engine.losses) == ITERATIONS_PER_EPOCH  # only the second epoch's updates
    assert engine.syncs == [2 * ITERATIONS_PER_EPOCH]

    straight = make_solver(digits, epochs=2)
    straight.train()
    assert solver.loss_history == straight.loss_history
    for name in straight.model.params:
        np.testing.assert_array_equal(solver.model.params[name], straight.model.params[name])


def test_training_diverged_from_the_engine_stops_the_run(
    digits: dict[str, np.ndarray], capsys: pytest.CaptureFixture
) -> None:
    engine = CountingEngine(diverge_at=3)
    solver = make_solver(digits, epochs=2, engine=engine)
    solver.train()
    assert solver.stopped_by is not None and solver.stopped_by.kind == "diverged"
    message = solver.stopped_by.message
    assert message.startswith("the loss of this engine exploded at iteration 3 (epoch 1)")
    assert len(solver.loss_history) == 2 and solver.iteration == 2
    assert len(solver.val_acc_history) == 1  # only the check after the first update
    for name, value in solver.best_params.items():
        np.testing.assert_array_equal(solver.model.params[name], value)
    assert f"Warning: {message}" in capsys.readouterr().err


@pytest.mark.parametrize("engine", [42, "keras", object(), SimpleNamespace(step=3)])
def test_the_solver_refuses_what_is_no_engine(digits: dict[str, np.ndarray], engine: Any) -> None:
    with pytest.raises(ConfigError, match=r"engine must implement layerwise\.engine\.Engine"):
        make_solver(digits, engine=engine)
