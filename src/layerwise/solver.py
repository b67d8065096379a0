"""The training loop: minibatch gradient descent on any model with ``params`` and ``loss``.

Compatible with the seed notebook and CS231n::

    solver = Solver(model, data, update_rule='sgd', optim_config={'learning_rate': 1e-3},
                    lr_decay=0.95, num_epochs=10, batch_size=100, print_every=100)
    solver.train()

``data`` holds ``X_train, y_train, X_val, y_val`` (others are ignored). After ``train()`` the
model holds the parameters with the best validation accuracy (``best_params``), and
``loss_history``, ``train_acc_history`` and ``val_acc_history`` record the run.
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import sys
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from layerwise.models.base import check_non_negative, check_positive_int
from layerwise.optim import get_update_rule

Array = np.ndarray

_REQUIRED_DATA = ("X_train", "y_train", "X_val", "y_val")


class TrainingDiverged(RuntimeError):
    """Raised by :meth:`Solver._step` when the loss is NaN or infinite."""


class Solver:
    """Trains a model with minibatch updates, tracks histories and keeps the best parameters.

    Required arguments:
    - model: an object with ``params`` (dict of arrays) and ``loss(X, y=None)``.
    - data: dict with ``X_train`` (N, d_1, ..., d_k), ``y_train`` (N,), ``X_val``, ``y_val``.

    Optional keyword arguments:
    - update_rule: a name in :data:`layerwise.optim.UPDATE_RULES` or a callable (default 'sgd').
    - optim_config: hyperparameters for the rule, copied for every parameter (default {}).
    - lr_decay: the learning rate is multiplied by this after each epoch (default 1.0).
    - batch_size: minibatch size (default 100).
    - num_epochs: number of epochs (default 10).
    - num_train_samples: training examples used to measure training accuracy (default 1000;
      None uses all).
    - num_val_samples: validation examples used for validation accuracy (default None: all).
    - checkpoint_name: if given, after each epoch write ``<name>_epoch_<e>.npz`` (parameters) and
      ``.json`` (histories and settings) atomically. Never a pickle.
    - print_every: print the training loss every this many iterations (default 10).
    - verbose: print progress lines (default True).
    - seed: None samples minibatches from NumPy's global stream (as CS231n); an int gives the
      Solver a private generator so runs reproduce without touching the global stream.
    - progress: show a progress bar on stderr when it is a terminal (default False).
    Any other keyword raises ValueError.
    """

    def __init__(self, model: Any, data: dict[str, Any], **kwargs: Any) -> None:
        if not hasattr(model, "params") or not callable(getattr(model, "loss", None)):
            raise TypeError(
                f"model must have a 'params' dict and a 'loss' method; got {type(model).__name__}"
            )
        self.model = model
        self._set_data(data)

        self.update_rule_name = kwargs.pop("update_rule", "sgd")
        self.update_rule = get_update_rule(self.update_rule_name)
        optim_config = kwargs.pop("optim_config", {})
        if not isinstance(optim_config, dict):
            raise ValueError(f"optim_config must be a dict; got {type(optim_config).__name__}")
        self.optim_config = optim_config
        self.lr_decay = check_non_negative("lr_decay", kwargs.pop("lr_decay", 1.0), True)
        self.batch_size = check_positive_int("batch_size", kwargs.pop("batch_size", 100))
        self.num_epochs = _check_count("num_epochs", kwargs.pop("num_epochs", 10))
        self.num_train_samples = _check_optional_positive(
            "num_train_samples", kwargs.pop("num_train_samples", 1000)
        )
        self.num_val_samples = _check_optional_positive(
            "num_val_samples", kwargs.pop("num_val_samples", None)
        )
        self.checkpoint_name = kwargs.pop("checkpoint_name", None)
        self.print_every = check_positive_int("print_every", kwargs.pop("print_every", 10))
        self.verbose = bool(kwargs.pop("verbose", True))
        seed = kwargs.pop("seed", None)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(f"seed must be an integer or None; got {seed!r}")
        self.seed: int | None = None if seed is None else int(seed)
        self.progress = bool(kwargs.pop("progress", False))
        if kwargs:
            raise ValueError(f"Unrecognized arguments {', '.join(sorted(kwargs))}")

        self._reset()

    # ----------------------------------------------------------------------------------------
    # set-up

    X_train: Array
    y_train: Array
    X_val: Array
    y_val: Array

    def _set_data(self, data: dict[str, Any]) -> None:
        missing = [k for k in _REQUIRED_DATA if k not in data]
        if missing:
            raise ValueError(f"data is missing {missing}; expected keys {list(_REQUIRED_DATA)}")
        for split in ("train", "val"):
            X, y = np.asarray(data[f"X_{split}"]), np.asarray(data[f"y_{split}"])
            if X.ndim < 2 or y.shape != (X.shape[0],):
                raise ValueError(
                    f"X_{split} must have shape (N, d_1, ...) and y_{split} shape (N,); got "
                    f"{X.shape} and {y.shape}"
                )
            if X.shape[0] == 0:
                raise ValueError(f"X_{split} is empty; need at least one example")
            if not np.issubdtype(y.dtype, np.integer):
                raise ValueError(f"y_{split} must hold integer labels; got dtype {y.dtype}")
            if np.issubdtype(X.dtype, np.floating) and not np.isfinite(X).all():
                raise ValueError(f"X_{split} contains NaN or infinite values")
            setattr(self, f"X_{split}", X)
            setattr(self, f"y_{split}", y)

    def _reset(self) -> None:
        """Bookkeeping: histories, per-parameter optimiser configs, and the best parameters."""
        self.epoch = 0
        self.best_val_acc = 0.0
        # Start from the initial parameters, not an empty dict: a run whose validation accuracy
        # never beats 0 must leave the model as it was, not wipe it.
        self.best_params = {k: v.copy() for k, v in self.model.params.items()}
        self.loss_history: list[float] = []
        self.train_acc_history: list[float] = []
        self.val_acc_history: list[float] = []
        self.stopped_reason: str | None = None
        self.rng = None if self.seed is None else np.random.default_rng(self.seed)
        self.optim_configs = {p: copy.deepcopy(self.optim_config) for p in self.model.params}
        num_train = self.X_train.shape[0]
        self.iterations_per_epoch = max(num_train // self.batch_size, 1)
        self.num_iterations = self.num_epochs * self.iterations_per_epoch

    # ----------------------------------------------------------------------------------------
    # one step

    def _sample(self, n: int, size: int) -> Array:
        """Indices of ``size`` random examples out of ``n``, drawn with replacement (CS231n)."""
        if self.rng is None:
            return np.random.choice(n, size)
        return self.rng.integers(0, n, size)

    def _step(self) -> None:
        """One gradient update on a random minibatch."""
        idx = self._sample(self.X_train.shape[0], self.batch_size)
        loss, grads = self.model.loss(self.X_train[idx], self.y_train[idx])
        loss = float(loss)
        if not math.isfinite(loss):
            raise TrainingDiverged(f"the training loss became {loss}")
        self.loss_history.append(loss)
        params = self.model.params
        for name, w in params.items():
            next_w, self.optim_configs[name] = self.update_rule(
                w, grads[name], self.optim_configs[name]
            )
            params[name] = next_w

    # ----------------------------------------------------------------------------------------
    # evaluation

    def check_accuracy(
        self, X: Any, y: Any, num_samples: int | None = None, batch_size: int = 100
    ) -> float:
        """Fraction of examples whose highest-scoring class equals the label.

        Inputs:
        - X: (N, d_1, ..., d_k); y: (N,) integer labels.
        - num_samples: evaluate on this many random examples (None: all of them).
        - batch_size: examples per forward pass, to bound memory.
        """
        X, y = np.asarray(X), np.asarray(y)
        if X.shape[0] != y.shape[0] or y.ndim != 1:
            raise ValueError(
                f"X and y must hold the same number of examples; got {X.shape} and {y.shape}"
            )
        batch_size = check_positive_int("batch_size", batch_size)
        N = X.shape[0]
        if N == 0:
            raise ValueError("check_accuracy needs at least one example")
        if num_samples is not None and N > num_samples:
            idx = self._sample(N, num_samples)
            X, y = X[idx], y[idx]
            N = num_samples
        correct = 0
        for start in range(0, N, batch_size):
            scores = self.model.loss(X[start : start + batch_size])
            correct += int(np.sum(np.argmax(scores, axis=1) == y[start : start + batch_size]))
        return correct / N

    # ----------------------------------------------------------------------------------------
    # the loop

    def train(self) -> None:
        """Run ``num_epochs`` epochs, then swap the best parameters into the model.

        A NaN or infinite loss stops training early with ``stopped_reason`` set; the model still
        gets the best parameters seen so far.
        """
        bar = tqdm(
            total=self.num_iterations,
            disable=not (self.progress and sys.stderr.isatty()),
            file=sys.stderr,
            unit="it",
            leave=False,
        )
        say = self._printer(bar)
        try:
            for t in range(self.num_iterations):
                try:
                    self._step()
                except TrainingDiverged as exc:
                    self.stopped_reason = (
                        f"{exc} at iteration {t + 1} (epoch {self.epoch + 1}); training stopped "
                        f"and the best parameters (val acc {self.best_val_acc:f}) were kept"
                    )
                    print(f"Warning: {self.stopped_reason}", file=sys.stderr)
                    break
                bar.update(1)
                if self.verbose and t % self.print_every == 0:
                    say(
                        "(Iteration %d / %d) loss: %f"
                        % (t + 1, self.num_iterations, self.loss_history[-1])
                    )

                epoch_end = (t + 1) % self.iterations_per_epoch == 0
                if epoch_end:
                    self.epoch += 1
                    for config in self.optim_configs.values():
                        if "learning_rate" in config:
                            config["learning_rate"] *= self.lr_decay

                # Accuracies after the first iteration and at the end of every epoch.
                if t == 0 or epoch_end or t == self.num_iterations - 1:
                    self._record_epoch(say)
        finally:
            bar.close()
        self.model.params = {k: v.copy() for k, v in self.best_params.items()}

    def _record_epoch(self, say: Any) -> None:
        train_acc = self.check_accuracy(
            self.X_train, self.y_train, num_samples=self.num_train_samples
        )
        val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        if self.checkpoint_name is not None:
            self._save_checkpoint()
        if self.verbose:
            say(
                "(Epoch %d / %d) train acc: %f; val_acc: %f"
                % (self.epoch, self.num_epochs, train_acc, val_acc)
            )
        if val_acc > self.best_val_acc:
            self.best_val_acc = val_acc
            self.best_params = {k: v.copy() for k, v in self.model.params.items()}

    @staticmethod
    def _printer(bar: Any) -> Any:
        # Through tqdm when the bar is shown, so the lines do not tear it apart.
        return print if bar.disable else tqdm.write

    def _save_checkpoint(self) -> None:
        from layerwise.io import write_json, write_npz

        base = f"{self.checkpoint_name}_epoch_{self.epoch}"
        folder = os.path.dirname(base)
        if folder:
            os.makedirs(folder, exist_ok=True)
        write_npz(base + ".npz", self.model.params)
        write_json(
            base + ".json",
            {
                "update_rule": self.update_rule_name
                if isinstance(self.update_rule_name, str)
                else getattr(self.update_rule_name, "__name__", "custom"),
                "lr_decay": self.lr_decay,
                "batch_size": self.batch_size,
                "num_train_samples": self.num_train_samples,
                "num_val_samples": self.num_val_samples,
                "epoch": self.epoch,
                "loss_history": self.loss_history,
                "train_acc_history": self.train_acc_history,
                "val_acc_history": self.val_acc_history,
                "best_val_acc": self.best_val_acc,
            },
        )


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0; got {value!r}")
    return int(value)


def _check_optional_positive(name: str, value: Any) -> int | None:
    return None if value is None else check_positive_int(name, value)
