"""How the epochs of a fit run: scikit-learn's minibatches and scikit-learn's bookkeeping
after each epoch.

:class:`EpochBatches` is the Solver's engine: a fresh permutation of the examples every epoch,
cut into minibatches, each with scikit-learn's L2 weight. :class:`EpochEnd` is a Solver
callback: ``loss_curve_``, the convergence test (or early stopping on the held-out score), the
learning rate of 'invscaling', 'adaptive' and ``lr_schedule``, and the verbose lines.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from layerwise.callbacks import Callback
from layerwise.engine import NumpyEngine
from layerwise.schedules import factor_at
from layerwise.sklearn._params import sgd_schedule
from layerwise.tasks import get_task

Array = np.ndarray
#: A model's parameters and buffers, copied.
State = tuple[dict[str, Array], dict[str, Array]]


def snapshot(model: Any) -> State:
    """A copy of the model's parameters and buffers (early stopping's best epoch)."""
    params = {k: v.copy() for k, v in model.params.items()}
    return params, {k: np.array(v, copy=True) for k, v in model.get_buffers().items()}


def restore(model: Any, state: State) -> None:
    """Put a :func:`snapshot` back into the model."""
    params, buffers = state
    model.params = {k: v.copy() for k, v in params.items()}
    if buffers:
        model.set_buffers(buffers)


class EpochBatches:
    """The engine of a fit: scikit-learn's minibatches, computed by another engine.

    Every epoch visits each training example once: a fresh permutation (``shuffle``) or the
    rows in order, cut into the Solver's ``iterations_per_epoch`` minibatches of nearly equal
    size. The Solver's own draw (with replacement), which it passes to :meth:`step`, is not
    used. Before each update the model's ``reg`` is set to scikit-learn's L2 weight for that
    batch, ``alpha / (batch's size or sum of weights) / loss_scale``. The epoch's mean loss
    (weighted by batch size, as scikit-learn's) is :meth:`take_epoch_loss`.
    """

    def __init__(
        self,
        inner: Any,
        data: tuple[Array, Array, Array | None],
        shuffle: bool,
        rng: np.random.Generator,
        alpha: float,
        loss_scale: float,
    ) -> None:
        self.inner = NumpyEngine() if inner in (None, "numpy") else inner
        self.name = getattr(self.inner, "name", "numpy")
        self.X, self.y, self.w = data
        self.shuffle = shuffle
        self.rng = rng
        self.alpha = alpha
        self.loss_scale = loss_scale
        self.solver: Any = None
        self._batches: list[Any] = []
        self._loss_sum = 0.0
        self._count = 0

    def attach(self, solver: Any) -> None:
        self.solver = solver
        self.inner.attach(solver)

    def step(self, X: Array, y: Array, weights: Array | None = None) -> float:
        if not self._batches:
            n = self.X.shape[0]
            bounds = np.linspace(0, n, self.solver.iterations_per_epoch + 1).round().astype(int)
            order = self.rng.permutation(n) if self.shuffle else None
            self._batches = [
                slice(a, b) if order is None else order[a:b]
                for a, b in zip(bounds[-2::-1], bounds[:0:-1], strict=True)
            ]
        idx = self._batches.pop()
        w = None if self.w is None else self.w[idx]
        size = idx.stop - idx.start if isinstance(idx, slice) else len(idx)
        total = float(size if w is None else w.sum())
        self.solver.model.reg = self.alpha / (total * self.loss_scale)
        loss = float(self.inner.step(self.X[idx], self.y[idx], w))
        self._loss_sum += loss * size
        self._count += size
        return loss

    def take_epoch_loss(self) -> float:
        """The mean training loss of the updates since the last call."""
        loss = self._loss_sum / max(self._count, 1)
        self._loss_sum, self._count = 0.0, 0
        return loss

    def sync(self) -> None:
        self.inner.sync()

    def reset(self) -> None:
        self.inner.reset()


class EpochEnd(Callback):
    """scikit-learn's bookkeeping after every epoch of a fit: ``loss_curve_``, the convergence
    test (or early stopping on the validation score), the learning rate of 'invscaling',
    'adaptive' and ``lr_schedule``, and the verbose lines. The Solver also calls
    ``on_epoch_end`` after the very first update; that check is skipped here.

    ``run`` holds the fit's settings: its engine (an :class:`EpochBatches`), ``loss_scale``,
    ``task``, ``schedule``, the held-out ``X_val``/``y_val``/``w_val``, ``n_train``,
    ``incremental``; :meth:`end_epoch` sets its ``max_iter_reached``.
    """

    def __init__(self, est: Any, run: dict[str, Any]) -> None:
        self.est = est
        self.run = run

    def on_train_begin(self, solver: Any) -> None:
        self.set_learning_rate(solver)

    def on_epoch_end(self, solver: Any) -> None:
        if solver.iteration == 0 or solver.iteration % solver.iterations_per_epoch:
            return
        self.end_epoch(solver)

    def set_learning_rate(self, solver: Any) -> float:
        """Give every parameter's rule the rate of this epoch, and return it."""
        optimizer = self.est._optimizer
        factor = factor_at(self.run["schedule"], optimizer["epochs"])
        lr = float(self.est.learning_rate_init) * factor * optimizer["lr_factor"]
        for config in solver.optim_configs.values():
            config["learning_rate"] = lr
        return lr

    def end_epoch(self, solver: Any) -> None:
        est, run = self.est, self.run
        loss = run["engine"].take_epoch_loss() * run["loss_scale"]
        est.n_iter_ += 1
        est.t_ += run["n_train"]
        est.loss_ = loss
        est.loss_curve_.append(loss)
        if est.verbose:
            print("Iteration %d, loss = %.8f" % (est.n_iter_, loss))
        if est.early_stopping:
            score = self._validation_score(solver)
            assert est.validation_scores_ is not None and est.best_validation_score_ is not None
            est.validation_scores_.append(score)
            if est.verbose:
                print("Validation score: %f" % score)
            if score < est.best_validation_score_ + est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_state = snapshot(est.model_)
        else:
            assert est.best_loss_ is not None
            if loss > est.best_loss_ - est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            est.best_loss_ = min(est.best_loss_, loss)

        optimizer = est._optimizer
        optimizer["epochs"] += 1
        schedule = sgd_schedule(est)
        if schedule == "invscaling":
            optimizer["lr_factor"] = 1.0 / (est.t_ + 1) ** float(est.power_t)
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if est.early_stopping else "Training loss"
            msg = "%s did not improve more than tol=%f for %d consecutive epochs." % (
                what,
                est.tol,
                est.n_iter_no_change,
            )
            lr = self.set_learning_rate(solver)
            if schedule == "adaptive" and lr > 1e-6:
                optimizer["lr_factor"] /= 5.0
                est._no_improvement_count = 0
                if est.verbose:
                    print(msg + " Setting learning rate to %f" % (lr / 5.0))
            else:
                if est.verbose:
                    small = " Learning rate too small." if schedule == "adaptive" else ""
                    print(msg + small + " Stopping.")
                solver.stop("early_stopping", msg)
                return
        self.set_learning_rate(solver)
        if not run["incremental"] and est.n_iter_ == est.max_iter:
            run["max_iter_reached"] = True

    def _validation_score(self, solver: Any) -> float:
        """The task's score on the held-out set, weighted by the held-out examples' weights
        when there are any (scikit-learn scores with them). The Solver measures nothing
        itself (``evaluate=False``): an epoch can be a single update, and its checks would
        cost more than the update."""
        run = self.run
        outputs = self.est._forward(run["X_val"])
        y_val = run["y_val"]
        if y_val.ndim == 1 and outputs.ndim == 2 and run["task"] != "classification":
            y_val = y_val.reshape(outputs.shape)
        return float(get_task(run["task"]).score(outputs, y_val, run["w_val"]))
