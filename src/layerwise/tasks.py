"""What a network is trained to do: the task decides the targets, the loss, the predictions and
the score.

===============  ===================  ==========================  ==================================
task             targets y            losses (first: default)     predictions; score (metrics)
===============  ===================  ==========================  ==================================
classification   (m,) ints 0..C-1     softmax, svm                argmax; accuracy
regression       (m,) or (m, k) real  mse, mae, huber             the outputs; R² (R², MAE, MSE)
multilabel       (m, k) of 0 and 1    sigmoid_cross_entropy       outputs > 0; subset accuracy
                                                                  (subset accuracy, micro-F1)
===============  ===================  ==========================  ==================================

The network is the same stack in every task; only its last step differs: the output layer has
C units (classes), k (targets) or k (labels), and the loss reads them as class scores,
predictions or logits. The *score* is the one number, higher is better, that the Solver records
in ``train_acc_history``/``val_acc_history`` (the names are the seed's), keeps the best
parameters by and early-stops on; :meth:`Task.metrics` gives every metric of the task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from layerwise.errors import ConfigError

Array = np.ndarray


def _weighted_mean(values: Array, weights: Array | None) -> float:
    if weights is None:
        return float(np.mean(values))
    return float(np.sum(values * weights) / np.sum(weights))


def accuracy(pred: Array, y: Array, weights: Array | None = None) -> float:
    """Fraction of examples whose predicted class equals the label."""
    return _weighted_mean(pred == y, weights)


def r2_score(pred: Array, y: Array, weights: Array | None = None) -> float:
    """Coefficient of determination, averaged over the targets (scikit-learn's default
    ``multioutput='uniform_average'``): ``1 - SS_res / SS_tot`` per target; a constant target
    scores 1 when predicted exactly, else 0 (scikit-learn's ``force_finite``)."""
    pred, y = _columns(pred), _columns(y)
    w = np.ones((len(y), 1)) if weights is None else np.asarray(weights, float)[:, None]
    mean = np.sum(w * y, axis=0) / np.sum(w)
    ss_res = np.sum(w * (y - pred) ** 2, axis=0)
    ss_tot = np.sum(w * (y - mean) ** 2, axis=0)
    safe = np.where(ss_tot > 0, ss_tot, 1.0)
    per_target = np.where(ss_tot > 0, 1 - ss_res / safe, np.where(ss_res == 0, 1.0, 0.0))
    return float(np.mean(per_target))


def mean_absolute_error(pred: Array, y: Array, weights: Array | None = None) -> float:
    """Mean of |pred - y| over the targets, then over the examples."""
    return _weighted_mean(np.abs(_columns(pred) - _columns(y)).mean(axis=1), weights)


def mean_squared_error(pred: Array, y: Array, weights: Array | None = None) -> float:
    """Mean of (pred - y)^2 over the targets, then over the examples."""
    return _weighted_mean(((_columns(pred) - _columns(y)) ** 2).mean(axis=1), weights)


def subset_accuracy(pred: Array, y: Array, weights: Array | None = None) -> float:
    """Fraction of examples whose every label is predicted right (scikit-learn's
    ``accuracy_score`` on indicator arrays)."""
    return _weighted_mean(np.all(pred == y, axis=1), weights)


def micro_f1(pred: Array, y: Array, weights: Array | None = None) -> float:
    """F1 over all (example, label) pairs pooled: ``2 TP / (2 TP + FP + FN)`` (1 when there is
    nothing to find and nothing is predicted)."""
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    pred, y = pred.astype(bool), y.astype(bool)
    tp = float(np.sum(w[:, None] * (pred & y)))
    wrong = float(np.sum(w[:, None] * (pred ^ y)))
    return 1.0 if tp == 0 and wrong == 0 else 2 * tp / (2 * tp + wrong)


def _columns(a: Array) -> Array:
    return a.reshape(len(a), -1)


@dataclass(frozen=True)
class Task:
    """One row of the table above."""

    name: str
    losses: tuple[str, ...]
    score_name: str
    metrics_table: tuple[tuple[str, Callable[..., float]], ...]
    predict_fn: Callable[[Array], Array]

    @property
    def default_loss(self) -> str:
        return self.losses[0]

    def check_loss(self, loss: Any) -> str:
        """``loss`` (None: the task's default) if it is one of the task's losses."""
        if loss is None:
            return self.default_loss
        if not isinstance(loss, str) or loss not in self.losses:
            raise ConfigError(
                f"loss {loss!r} does not fit task {self.name!r}; expected one of "
                f"{list(self.losses)}",
                "loss",
            )
        return loss

    def predict(self, outputs: Array) -> Array:
        """Predictions from the network's outputs (m, n_out): labels, values or indicators."""
        return self.predict_fn(outputs)

    def score(self, outputs: Array, y: Array, weights: Array | None = None) -> float:
        """The task's score (higher is better) of ``outputs`` against the targets ``y``."""
        return dict(self.metrics_table)[self.score_name](self.predict(outputs), y, weights)

    def metrics(self, outputs: Array, y: Array, weights: Array | None = None) -> dict[str, float]:
        """Every metric of the task, by name."""
        pred = self.predict(outputs)
        return {name: fn(pred, y, weights) for name, fn in self.metrics_table}

    def check_targets(self, y: Any, name: str = "y", outputs: int | None = None) -> Array:
        """``y`` as the array this task trains on, or ConfigError naming what is wrong.

        classification: (m,) integers >= 0 (floats equal to integers are taken as such; below
        ``outputs`` classes when given); regression: finite reals, (m,) or (m, k) with k ==
        ``outputs``; multilabel: (m, k) of 0 and 1.
        """
        if y is None or isinstance(y, (str, bytes)):
            raise ConfigError(f"{name} must be an array; got {y!r}", name)
        try:
            y = np.asarray(y)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"{name} is not an array of numbers ({e})", name) from None
        if self.name == "classification":
            return _check_labels(y, name, outputs)
        if y.dtype.kind not in "biuf":
            raise ConfigError(
                f"{name} must hold numbers for task {self.name!r}; got dtype {y.dtype}", name
            )
        want = "(m,) or (m, k)" if self.name == "regression" else "(m, k)"
        if y.ndim not in ((1, 2) if self.name == "regression" else (2,)) or len(y) == 0:
            raise ConfigError(
                f"{name} must have shape {want} for task {self.name!r}; got {y.shape}", name
            )
        k = 1 if y.ndim == 1 else y.shape[1]
        if outputs is not None and k != outputs:
            raise ConfigError(
                f"{name} has {k} target column(s), but the model has {outputs} outputs", name
            )
        if self.name == "regression":
            y = y.astype(np.float64, copy=False) if y.dtype.kind != "f" else y
            if not np.isfinite(y).all():
                raise ConfigError(f"{name} contains NaN or infinite targets", name)
            return y
        if not np.isin(y, (0, 1)).all():
            bad = y[~np.isin(y, (0, 1))].flat[0]
            raise ConfigError(f"{name} holds {bad!r}; multi-label targets are 0/1 indicators", name)
        return y.astype(np.int64, copy=False)


def _check_labels(y: Array, name: str, classes: int | None) -> Array:
    if y.ndim != 1 or len(y) == 0:
        raise ConfigError(f"{name} must have shape (m,) of class labels; got {y.shape}", name)
    if not np.issubdtype(y.dtype, np.integer):
        if y.dtype.kind == "f" and np.isfinite(y).all() and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise ConfigError(f"{name} must hold integer labels; got dtype {y.dtype}", name)
    if y.min() < 0:
        raise ConfigError(
            f"{name} holds the label {int(y.min())}; labels are class numbers >= 0", name
        )
    if classes is not None and y.max() >= classes:
        raise ConfigError(
            f"{name} holds the label {int(y.max())}, but the model has {classes} classes "
            f"(labels 0..{classes - 1})",
            name,
        )
    return y


TASKS: dict[str, Task] = {
    "classification": Task(
        "classification",
        ("softmax", "svm"),
        "accuracy",
        (("accuracy", accuracy),),
        lambda outputs: np.argmax(outputs, axis=1),
    ),
    "regression": Task(
        "regression",
        ("mse", "mae", "huber"),
        "r2",
        (("r2", r2_score), ("mae", mean_absolute_error), ("mse", mean_squared_error)),
        lambda outputs: outputs,
    ),
    "multilabel": Task(
        "multilabel",
        ("sigmoid_cross_entropy",),
        "subset_accuracy",
        (("subset_accuracy", subset_accuracy), ("micro_f1", micro_f1)),
        lambda outputs: (outputs > 0).astype(np.int64),
    ),
}


def get_task(name: Any) -> Task:
    """The task called ``name``, or ConfigError listing the tasks."""
    if isinstance(name, Task):
        return name
    if not isinstance(name, str) or name not in TASKS:
        raise ConfigError(f"task must be one of {list(TASKS)}; got {name!r}", "task")
    return TASKS[name]
