"""What ``layerwise doctor`` measures on a recipe: short, bounded experiments, no verdicts.

Every function here builds what it trains from the recipe (never touching the model it is
given) and returns numbers; :mod:`layerwise.doctor.rules` turns them into verdicts. The
budgets are small on purpose: the whole examination takes seconds even on MNIST.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from layerwise.callbacks import Callback
from layerwise.diagnostics import Diagnostics, activation_stats, forward_backward
from layerwise.gradient_check import grad_check_sparse
from layerwise.solver import Solver
from layerwise.tasks import get_task
from layerwise.validation import IEEE

Array = np.ndarray

#: Examples of the minibatch the first checks look at; of the float64 gradient check; of the
#: overfitting test; entries of each parameter the gradient check probes.
BATCH, GRADIENT_BATCH, OVERFIT_EXAMPLES, GRADIENT_ENTRIES = 128, 8, 20, 8
#: Update budgets: the overfitting test, and the short run that watches the updates.
OVERFIT_STEPS, PROBE_STEPS = 300, 20
#: The overfitting test's goal (accuracy, R² or subset accuracy on its 20 examples).
OVERFIT_GOAL = 0.99


@dataclass
class Measurements:
    """Everything the rules judge. ``None``: not measured (not applicable to the task)."""

    num_outputs: int
    task: str
    loss_name: str
    activation: str | None
    initial_loss: float | None = None
    input_std: float = 0.0
    input_mean: float = 0.0
    layers: list[dict[str, Any]] = field(default_factory=list)
    grad_to_weight: dict[str, float] = field(default_factory=dict)
    gradient_errors: dict[str, list[float]] = field(default_factory=dict)
    overfit_steps: int | None = None
    overfit_score: float = 0.0
    probe_losses: list[float] = field(default_factory=list)
    probe_ratios: dict[str, float] = field(default_factory=dict)
    probe_stopped: str | None = None


def fixed_rows(n: int, size: int, seed: int = 0) -> Array:
    """``size`` distinct example indices out of ``n`` (sorted), the same for the same seed."""
    return np.sort(np.random.default_rng(seed).permutation(n)[: min(size, n)])


def _weights(names: Any) -> list[str]:
    names = [k for k in names if k.startswith("theta") and k[5:].isdigit()]
    return sorted(names, key=lambda k: int(k[5:]))


@IEEE
def at_initialisation(recipe: Any, data: dict[str, Any], m: Measurements) -> None:
    """Initial loss, activations per layer and gradient/weight norms, on one minibatch."""
    model = recipe.build_model(data)
    rows = fixed_rows(len(data["X_train"]), BATCH, recipe.seed or 0)
    X, y = data["X_train"][rows], data["y_train"][rows]
    flat = X.reshape(len(X), -1).astype(np.float64)
    m.input_std, m.input_mean = float(flat.std()), float(np.abs(flat.mean(axis=0)).mean())
    if m.task == "classification" and m.loss_name == "softmax":
        scores = model.loss(X)
        m.initial_loss = float(model.data_loss(scores, y)[0])
    grads, hidden = forward_backward(model, X, y)
    m.layers = [activation_stats(a, m.activation or "") for a in hidden]
    for name in _weights(model.params):
        w = np.linalg.norm(model.params[name].astype(np.float64))
        g = np.linalg.norm(grads[name].astype(np.float64))
        m.grad_to_weight[name] = float(g / w) if w > 0 else math.inf


def gradient_check(recipe: Any, data: dict[str, Any], m: Measurements) -> None:
    """Analytic against numeric gradients of the whole model, in float64, on a few real
    examples, at ``GRADIENT_ENTRIES`` random entries of every parameter. Dropout masks are
    fixed by the model's seed, so both sides see the same network."""
    model = recipe.replace(dtype="float64").build_model(data)
    model.rng, model.seed = None, 0  # the same dropout masks on every call (CS231n's way)
    rows = fixed_rows(len(data["X_train"]), GRADIENT_BATCH, 1)
    X = data["X_train"][rows].astype(np.float64)
    y = data["y_train"][rows]
    loss, grads = model.loss(X, y)
    # A centred difference rounds at about eps * |loss| / h = 2e-11 * |loss|: relative
    # errors are taken against at least 1e-5 * |loss|, five decades above that noise.
    floor = 1e-5 * max(1.0, abs(float(loss)))
    rng = np.random.default_rng(0)
    for name in model.params:
        m.gradient_errors[name] = grad_check_sparse(
            lambda: model.loss(X, y)[0],
            model.params[name],
            grads[name],
            num_checks=GRADIENT_ENTRIES,
            rng=rng,
            verbose=False,
            floor=floor,
        )


class _ReachGoal(Callback):
    """Stop the overfitting test once its goal is reached, and remember when."""

    def __init__(self) -> None:
        self.reached_at: int | None = None

    def on_epoch_end(self, solver: Any) -> None:
        if solver.val_acc_history[-1] >= OVERFIT_GOAL:
            self.reached_at = solver.iteration
            solver.stop("callback", "overfitted")


def overfit(recipe: Any, data: dict[str, Any], m: Measurements) -> None:
    """Train on ``OVERFIT_EXAMPLES`` training examples, full batch, no regularisation or
    dropout, with the recipe's update rule and rate, for at most ``OVERFIT_STEPS`` updates."""
    small = recipe.replace(reg=0.0, dropout=0.0)
    model = small.build_model(data)
    rows = fixed_rows(len(data["X_train"]), OVERFIT_EXAMPLES, 2)
    X, y = data["X_train"][rows], data["y_train"][rows]
    goal = _ReachGoal()
    solver = Solver(
        model,
        {"X_train": X, "y_train": y, "X_val": X, "y_val": y},
        update_rule=small.network.optimizer,
        optim_config=small.network.optim_config(),
        batch_size=len(X),
        num_epochs=OVERFIT_STEPS,
        num_train_samples=None,
        verbose=False,
        seed=0,
        callbacks=[goal],
    )
    solver.train()
    m.overfit_steps = goal.reached_at
    m.overfit_score = max(solver.val_acc_history)


class _StopAfter(Callback):
    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_batch_end(self, solver: Any) -> None:
        if solver.iteration >= self.steps:
            solver.stop("callback", f"{self.steps} updates")


def probe(recipe: Any, data: dict[str, Any], m: Measurements) -> None:
    """The recipe's own first ``PROBE_STEPS`` updates: their losses (does the rate diverge?)
    and each weight matrix's median update/weight ratio."""
    model = recipe.build_model(data)
    diagnostics = Diagnostics(every=1, sample_size=32)
    solver = recipe.build_solver(
        model,
        data,
        verbose=False,
        restore_best=False,
        callbacks=[diagnostics, _StopAfter(PROBE_STEPS)],
    )
    solver.train()
    m.probe_losses = [float(v) for v in solver.loss_history]
    if solver.stopped_by is not None and solver.stopped_by.kind == "diverged":
        m.probe_stopped = solver.stopped_by.message
    ratios: dict[str, list[float]] = {}
    for check in diagnostics.checks:
        for name in _weights(check["params"]):
            ratio = check["params"][name]["update_ratio"]
            if ratio is not None:
                ratios.setdefault(name, []).append(ratio)
    m.probe_ratios = {k: float(np.median(v)) for k, v in ratios.items()}


def measure(recipe: Any, data: dict[str, Any]) -> Measurements:
    """Every measurement, for :func:`layerwise.doctor.examine`."""
    model = recipe.build_model(data)
    m = Measurements(
        num_outputs=int(model.num_outputs),
        task=get_task(getattr(model, "task", "classification")).name,
        loss_name=str(getattr(model, "loss_name", "softmax")),
        activation=getattr(model, "activation", None),
    )
    at_initialisation(recipe, data, m)
    gradient_check(recipe, data, m)
    overfit(recipe, data, m)
    probe(recipe, data, m)
    return m
