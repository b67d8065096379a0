"""The training loop: minibatch gradient descent on any model with ``params`` and ``loss``.

Compatible with the seed notebook and CS231n::

    solver = Solver(model, data, update_rule='sgd', optim_config={'learning_rate': 1e-3},
                    lr_decay=0.95, num_epochs=10, batch_size=100, print_every=100)
    solver.train()

``data`` holds ``X_train, y_train, X_val, y_val`` (others are ignored). After ``train()`` the
model holds the parameters with the best validation accuracy (``best_params``), and
``loss_history``, ``train_acc_history``, ``val_acc_history`` and ``val_loss_history`` record
the run. Beyond the seed: learning-rate schedules, early stopping, and checkpoints from which
:meth:`Solver.resume` continues bit for bit.
"""

from __future__ import annotations

import copy
import math
import numbers
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from layerwise import optim
from layerwise.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from layerwise.layers import softmax_loss
from layerwise.models.base import check_non_negative, check_positive_int, check_seed
from layerwise.schedules import get_schedule

Array = np.ndarray

_REQUIRED_DATA = ("X_train", "y_train", "X_val", "y_val")
# Settings that must match between a checkpoint and the Solver resuming it.
_RESUME_MUST_MATCH = ("update_rule", "batch_size", "num_train", "iterations_per_epoch")


class TrainingDiverged(RuntimeError):
    """Raised by :meth:`Solver._step` when the loss is NaN or infinite."""


class Solver:
    """Trains a model with minibatch updates, tracks histories and keeps the best parameters.

    Required arguments:
    - model: an object with ``params`` (dict of arrays) and ``loss(X, y=None)``.
    - data: dict with ``X_train`` (N, d_1, ..., d_k), ``y_train`` (N,), ``X_val``, ``y_val``.

    Optional keyword arguments (the seed's):
    - update_rule: a name in :data:`layerwise.optim.UPDATE_RULES` or a callable (default 'sgd').
    - optim_config: hyperparameters for the rule, copied for every parameter (default {}).
    - lr_decay: the learning rate is multiplied by this after each epoch (default 1.0).
    - batch_size: minibatch size (default 100).
    - num_epochs: number of epochs (default 10).
    - num_train_samples: training examples used to measure training accuracy (default 1000;
      None uses all).
    - num_val_samples: validation examples used for validation accuracy (default None: all).
    - checkpoint_name: if given, write a checkpoint (``.npz`` + ``.json``, never a pickle) after
      every epoch as ``<name>_epoch_<e>`` and ``<name>_latest``, and on Ctrl-C.
    - print_every: print the training loss every this many iterations (default 10).
    - verbose: print progress lines (default True).

    And layerwise's:
    - seed: None samples minibatches from NumPy's global stream (as CS231n); an int gives the
      Solver a private generator so runs reproduce without touching the global stream.
    - progress: show a progress bar on stderr when it is a terminal (default False).
    - lr_schedule: None, 'step', 'exponential', 'cosine', a dict ``{'name': ..., **options}``
      or a callable ``epoch -> factor`` (see :mod:`layerwise.schedules`); multiplies with
      ``lr_decay``.
    - patience: stop when the validation accuracy has not improved by more than ``min_delta``
      for this many epochs (default None: never), like Keras's ``EarlyStopping``.
    - min_delta: the improvement that resets the patience counter (default 0.0).
    - restore_best: put the best parameters back into the model at the end (default True, the
      seed's behaviour); False leaves the last ones.
    - keep_checkpoints: keep one checkpoint per epoch (default True); False keeps only
      ``<name>_latest``.
    - epoch_callback: ``f(solver)`` called after every accuracy check (the histories already
      hold it); returning a string stops training with that as ``stopped_reason``, and an
      exception it raises (e.g. a tuner's "prune this trial") propagates out of ``train()``.
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
        self.update_rule = optim.get_update_rule(self.update_rule_name)
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
        self.seed = check_seed("seed", kwargs.pop("seed", None))
        self.progress = bool(kwargs.pop("progress", False))
        self.lr_schedule = kwargs.pop("lr_schedule", None)
        self._schedule = get_schedule(self.lr_schedule, self.num_epochs)
        patience = kwargs.pop("patience", None)
        self.patience = None if patience is None else check_positive_int("patience", patience)
        self.min_delta = check_non_negative("min_delta", kwargs.pop("min_delta", 0.0))
        self.restore_best = bool(kwargs.pop("restore_best", True))
        self.keep_checkpoints = bool(kwargs.pop("keep_checkpoints", True))
        self.epoch_callback = kwargs.pop("epoch_callback", None)
        if self.epoch_callback is not None and not callable(self.epoch_callback):
            raise ValueError(f"epoch_callback must be callable; got {self.epoch_callback!r}")
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
            if np.issubdtype(X.dtype, np.floating) and not _all_finite(X):
                raise ValueError(f"X_{split} contains NaN or infinite values")
            setattr(self, f"X_{split}", X)
            setattr(self, f"y_{split}", y)

    def _reset(self) -> None:
        """Bookkeeping: histories, per-parameter optimiser configs, and the best parameters."""
        self.epoch = 0
        self._t = 0  # iterations done
        self.best_val_acc = 0.0
        # Start from the initial parameters, not an empty dict: a run whose validation accuracy
        # never beats 0 must leave the model as it was, not wipe it.
        self.best_params = _copy_arrays(self.model.params)
        self._best_buffers = _copy_arrays(self._model_buffers())
        self.loss_history: list[float] = []
        self.train_acc_history: list[float] = []
        self.val_acc_history: list[float] = []
        self.val_loss_history: list[float] = []
        self.stopped_reason: str | None = None
        self._epochs_without_improvement = 0
        self._monitor_best = -math.inf
        self.rng = None if self.seed is None else np.random.default_rng(self.seed)
        self.optim_configs = {p: copy.deepcopy(self.optim_config) for p in self.model.params}
        if self.update_rule is optim.adamw:
            # Decoupled weight decay is for weights: biases and normalisation scales (1-D
            # parameters) are left alone, as in Keras and PyTorch practice.
            for name, w in self.model.params.items():
                if np.ndim(w) < 2:
                    self.optim_configs[name]["weight_decay"] = 0.0
        self._base_lr: dict[str, float] = {}
        num_train = self.X_train.shape[0]
        self.iterations_per_epoch = max(num_train // self.batch_size, 1)
        self.num_iterations = self.num_epochs * self.iterations_per_epoch

    def _model_buffers(self) -> dict[str, Array]:
        get = getattr(self.model, "get_buffers", None)
        return dict(get()) if callable(get) else {}

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

    def _scores_and_labels(
        self, X: Any, y: Any, num_samples: int | None, batch_size: int
    ) -> Iterator[tuple[Array, Array]]:
        X, y = np.asarray(X), np.asarray(y)
        if y.ndim != 1 or X.shape[0] != y.shape[0]:
            raise ValueError(
                f"X and y must hold the same number of examples; got {X.shape} and {y.shape}"
            )
        batch_size = check_positive_int("batch_size", batch_size)
        N = X.shape[0]
        if N == 0:
            raise ValueError("evaluation needs at least one example")
        if num_samples is not None and N > num_samples:
            idx = self._sample(N, num_samples)
            X, y = X[idx], y[idx]
            N = num_samples
        for start in range(0, N, batch_size):
            yield self.model.loss(X[start : start + batch_size]), y[start : start + batch_size]

    def check_accuracy(
        self, X: Any, y: Any, num_samples: int | None = None, batch_size: int = 100
    ) -> float:
        """Fraction of examples whose highest-scoring class equals the label.

        Inputs:
        - X: (N, d_1, ..., d_k); y: (N,) integer labels.
        - num_samples: evaluate on this many random examples (None: all of them).
        - batch_size: examples per forward pass, to bound memory.
        """
        correct = total = 0
        for scores, labels in self._scores_and_labels(X, y, num_samples, batch_size):
            correct += int(np.sum(np.argmax(scores, axis=1) == labels))
            total += len(labels)
        return correct / total

    def _accuracy_and_loss(self, X: Any, y: Any, num_samples: int | None) -> tuple[float, float]:
        """Accuracy and mean softmax data loss (test-time scores, no L2 term) in one pass."""
        correct = total = 0
        loss_sum = 0.0
        for scores, labels in self._scores_and_labels(X, y, num_samples, 100):
            correct += int(np.sum(np.argmax(scores, axis=1) == labels))
            loss_sum += softmax_loss(scores, labels)[0] * len(labels)
            total += len(labels)
        return correct / total, loss_sum / total

    # ----------------------------------------------------------------------------------------
    # the loop

    def train(self) -> None:
        """Train until ``num_epochs`` (continuing from a resumed checkpoint, if any).

        A NaN or infinite loss stops training early with ``stopped_reason`` set, and so does
        early stopping; either way the model gets the best parameters seen so far (unless
        ``restore_best=False``). Ctrl-C writes a checkpoint first when ``checkpoint_name`` is set.
        """
        bar = tqdm(
            total=self.num_iterations,
            initial=self._t,
            disable=not (self.progress and sys.stderr.isatty()),
            file=sys.stderr,
            unit="it",
            leave=False,
        )
        # Through tqdm when the bar is shown, so the lines do not tear it apart.
        say: Callable[[str], None] = print if bar.disable else tqdm.write
        try:
            with self._interrupt_guard() as interrupted:
                while self._t < self.num_iterations and self.stopped_reason is None:
                    t = self._t
                    try:
                        self._step()
                    except TrainingDiverged as exc:
                        self.stopped_reason = (
                            f"{exc} at iteration {t + 1} (epoch {self.epoch + 1}); training "
                            f"stopped and the best parameters (val acc "
                            f"{self.best_val_acc:f}) were kept"
                        )
                        print(f"Warning: {self.stopped_reason}", file=sys.stderr)
                        break
                    self._t = t + 1
                    bar.update(1)
                    if self.verbose and t % self.print_every == 0:
                        say(
                            "(Iteration %d / %d) loss: %f"
                            % (t + 1, self.num_iterations, self.loss_history[-1])
                        )

                    epoch_end = self._t % self.iterations_per_epoch == 0
                    if epoch_end:
                        self.epoch += 1
                        self._apply_learning_rates()
                    # Accuracies after the first iteration and at the end of every epoch.
                    if t == 0 or epoch_end or self._t == self.num_iterations:
                        self._record_epoch(say)
                    if interrupted():
                        self._save_interrupted()
        finally:
            bar.close()
        if self.restore_best:
            self.model.params = _copy_arrays(self.best_params)
            if self._best_buffers:
                self.model.set_buffers(_copy_arrays(self._best_buffers))

    def _apply_learning_rates(self) -> None:
        """Set every learning rate for the epoch just begun: initial * schedule * decay**epoch."""
        factor = self._schedule(self.epoch) * self.lr_decay**self.epoch
        for name, config in self.optim_configs.items():
            if "learning_rate" not in config:
                continue
            base = self._base_lr.setdefault(name, float(config["learning_rate"]))
            config["learning_rate"] = base * factor

    def _record_epoch(self, say: Callable[[str], None]) -> None:
        train_acc = self.check_accuracy(
            self.X_train, self.y_train, num_samples=self.num_train_samples
        )
        val_acc, val_loss = self._accuracy_and_loss(self.X_val, self.y_val, self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        self.val_loss_history.append(val_loss)
        if self.verbose:
            say(
                "(Epoch %d / %d) train acc: %f; val_acc: %f"
                % (self.epoch, self.num_epochs, train_acc, val_acc)
            )
        if val_acc > self.best_val_acc:
            self.best_val_acc = val_acc
            self.best_params = _copy_arrays(self.model.params)
            self._best_buffers = _copy_arrays(self._model_buffers())
        self._check_early_stopping(val_acc, say)
        if self.checkpoint_name is not None:
            self.save_checkpoint()
        if self.epoch_callback is not None:
            reason = self.epoch_callback(self)
            if isinstance(reason, str) and self.stopped_reason is None:
                self.stopped_reason = reason

    def _check_early_stopping(self, val_acc: float, say: Callable[[str], None]) -> None:
        if val_acc > self._monitor_best + self.min_delta:
            self._monitor_best = val_acc
            self._epochs_without_improvement = 0
        else:
            self._epochs_without_improvement += 1
        if self.patience is not None and self._epochs_without_improvement >= self.patience:
            self.stopped_reason = (
                f"early stopping at epoch {self.epoch}: validation accuracy did not improve by "
                f"more than {self.min_delta:g} for {self.patience} epochs (best "
                f"{self.best_val_acc:f})"
            )
            if self.verbose:
                say(self.stopped_reason)

    # ----------------------------------------------------------------------------------------
    # checkpoints and resume

    @contextmanager
    def _interrupt_guard(self) -> Iterator[Callable[[], bool]]:
        """Turn the first Ctrl-C into a flag checked between iterations (not mid-update)."""
        flag = {"set": False}
        if (
            self.checkpoint_name is None
            or threading.current_thread() is not threading.main_thread()
        ):
            yield lambda: False
            return

        def handler(signum: int, frame: Any) -> None:
            flag["set"] = True
            signal.signal(signal.SIGINT, previous)  # a second Ctrl-C stops at once

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield lambda: flag["set"]
        finally:
            signal.signal(signal.SIGINT, previous)

    def _save_interrupted(self) -> None:
        path = self.save_checkpoint()
        print(
            f"Interrupted at iteration {self._t} / {self.num_iterations}; checkpoint written to "
            f"{path}. Resume with Solver.resume('{path}') (or layerwise train --resume RUN).",
            file=sys.stderr,
        )
        raise KeyboardInterrupt

    def _checkpoint_state(self) -> tuple[dict[str, Array], dict[str, Any]]:
        arrays: dict[str, Array] = {}
        optim_scalars: dict[str, dict[str, Any]] = {}
        for name, w in self.model.params.items():
            arrays[f"param.{name}"] = w
            arrays[f"best.{name}"] = self.best_params[name]
            scalars = optim_scalars.setdefault(name, {})
            for key, value in self.optim_configs[name].items():
                if isinstance(value, np.ndarray):
                    arrays[f"optim.{name}.{key}"] = value
                else:
                    scalars[key] = value
        for name, value in self._model_buffers().items():
            arrays[f"buffer.{name}"] = value
        for name, value in self._best_buffers.items():
            arrays[f"best_buffer.{name}"] = value
        global_state: tuple[Any, ...] = tuple(np.random.get_state())
        _, keys, pos, has_gauss, cached = global_state
        arrays["global_rng.keys"] = np.asarray(keys)
        get_rng_state = getattr(self.model, "get_rng_state", None)
        meta = {
            "settings": self._settings(),
            "t": self._t,
            "epoch": self.epoch,
            "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history,
            "val_loss_history": self.val_loss_history,
            "best_val_acc": self.best_val_acc,
            "stopped_reason": self.stopped_reason,
            "epochs_without_improvement": self._epochs_without_improvement,
            "monitor_best": None if math.isinf(self._monitor_best) else self._monitor_best,
            "optim_scalars": optim_scalars,
            "base_lr": self._base_lr,
            "solver_rng": None if self.rng is None else self.rng.bit_generator.state,
            "model_rng": get_rng_state() if callable(get_rng_state) else None,
            "global_rng": {"pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)},
        }
        return arrays, meta

    def _settings(self) -> dict[str, Any]:
        rule = self.update_rule_name
        return {
            "update_rule": rule if isinstance(rule, str) else getattr(rule, "__name__", "custom"),
            "batch_size": self.batch_size,
            "num_epochs": self.num_epochs,
            "num_train": int(self.X_train.shape[0]),
            "iterations_per_epoch": self.iterations_per_epoch,
            "lr_decay": self.lr_decay,
            "num_train_samples": self.num_train_samples,
            "num_val_samples": self.num_val_samples,
            "seed": self.seed,
        }

    def save_checkpoint(self, base: str | Path | None = None) -> Path:
        """Write the full training state; returns the base path (without suffix).

        Without ``base`` it writes ``<checkpoint_name>_latest`` and, after a completed epoch
        with ``keep_checkpoints``, ``<checkpoint_name>_epoch_<e>`` as well.
        """
        arrays, meta = self._checkpoint_state()
        if base is not None:
            save_checkpoint(base, arrays, meta)
            return Path(base)
        if self.checkpoint_name is None:
            raise ValueError("save_checkpoint needs a base path or the Solver's checkpoint_name")
        at_epoch_end = self._t % self.iterations_per_epoch == 0 and self._t > 0
        if self.keep_checkpoints and at_epoch_end:
            save_checkpoint(f"{self.checkpoint_name}_epoch_{self.epoch}", arrays, meta)
        latest = Path(f"{self.checkpoint_name}_latest")
        save_checkpoint(latest, arrays, meta)
        return latest

    def resume(self, path: str | Path) -> Solver:
        """Load a checkpoint into this Solver and its model, so that ``train()`` continues.

        The Solver must be built like the one that wrote the checkpoint (same model shape,
        update rule, batch size and training data size); ``num_epochs`` may be larger, to train
        further. With the same seeds, an interrupted-and-resumed run ends with parameters
        bit-identical to an uninterrupted one. Returns self.
        """
        arrays, meta = load_checkpoint(path)
        saved = meta.get("settings", {})
        mine = self._settings()
        for key in _RESUME_MUST_MATCH:
            if saved.get(key) != mine[key]:
                raise CheckpointError(
                    f"checkpoint {path} was written with {key}={saved.get(key)!r}, but this "
                    f"Solver has {key}={mine[key]!r}"
                )
        params = self.model.params
        for name in params:
            key = f"param.{name}"
            if key not in arrays or arrays[key].shape != np.shape(params[name]):
                raise CheckpointError(
                    f"checkpoint {path} does not fit the model: parameter {name!r} is missing "
                    "or has another shape"
                )
        for name in list(params):
            params[name] = arrays[f"param.{name}"].copy()
        self.best_params = {n: arrays[f"best.{n}"].copy() for n in params}
        self.optim_configs = {n: dict(meta["optim_scalars"].get(n, {})) for n in params}
        for key, value in arrays.items():
            if key.startswith("optim."):
                _, name, state = key.split(".", 2)
                self.optim_configs[name][state] = value.copy()
        buffers = {k[len("buffer.") :]: v for k, v in arrays.items() if k.startswith("buffer.")}
        if buffers:
            self.model.set_buffers(buffers)
        self._best_buffers = {
            k[len("best_buffer.") :]: v for k, v in arrays.items() if k.startswith("best_buffer.")
        }
        self._t = int(meta["t"])
        self.epoch = int(meta["epoch"])
        self.loss_history = list(meta["loss_history"])
        self.train_acc_history = list(meta["train_acc_history"])
        self.val_acc_history = list(meta["val_acc_history"])
        self.val_loss_history = list(meta["val_loss_history"])
        self.best_val_acc = float(meta["best_val_acc"])
        self.stopped_reason = None
        self._epochs_without_improvement = int(meta["epochs_without_improvement"])
        mb = meta["monitor_best"]
        self._monitor_best = -math.inf if mb is None else float(mb)
        self._base_lr = {k: float(v) for k, v in meta["base_lr"].items()}
        if meta["solver_rng"] is not None:
            if self.rng is None:
                raise CheckpointError(f"checkpoint {path} used a Solver seed; pass seed= too")
            self.rng.bit_generator.state = meta["solver_rng"]
        set_rng_state = getattr(self.model, "set_rng_state", None)
        if meta["model_rng"] is not None and callable(set_rng_state):
            set_rng_state(meta["model_rng"])
        g = meta["global_rng"]
        np.random.set_state(
            ("MT19937", arrays["global_rng.keys"], g["pos"], g["has_gauss"], g["cached"])
        )
        return self


def _all_finite(X: Array, rows_per_chunk: int = 4096) -> bool:
    """``np.isfinite(X).all()`` in chunks of rows: the check costs no boolean copy of the data
    (150 MB for CIFAR-10's training set), only one chunk's worth."""
    return all(
        bool(np.isfinite(X[i : i + rows_per_chunk]).all())
        for i in range(0, X.shape[0], rows_per_chunk)
    )


def _copy_arrays(arrays: dict[str, Array]) -> dict[str, Array]:
    return {k: v.copy() for k, v in arrays.items()}


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0; got {value!r}")
    return int(value)


def _check_optional_positive(name: str, value: Any) -> int | None:
    return None if value is None else check_positive_int(name, value)
