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
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from layerwise import optim, training_state
from layerwise.callbacks import (
    HOOKS,
    EarlyStopping,
    EpochFunction,
    ModelCheckpoint,
    ProgressLogger,
    StopReason,
)
from layerwise.checkpoint import (
    ARRAYS_FROM,
    UNVERIFIED,
    CheckpointError,
    load_checkpoint,
    rotate,
    save_checkpoint,
)
from layerwise.engine import Engine, NumpyEngine, TrainingDiverged
from layerwise.errors import ConfigError
from layerwise.losses import softmax_loss
from layerwise.schedules import factor_at, get_schedule
from layerwise.tasks import get_task
from layerwise.validation import (
    check_bool,
    check_choice,
    check_fits_in_memory,
    check_int,
    check_number,
    check_positive_int,
    check_seed,
)

Array = np.ndarray

__all__ = ["Solver", "TrainingDiverged"]

_REQUIRED_DATA = ("X_train", "y_train", "X_val", "y_val")
#: A training loss this many times its first value (or 1, if larger) means the run diverged.
DIVERGENCE_FACTOR = 1e3


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
    - monitor: what "best" means, for the kept parameters and for early stopping: 'score'
      (default: the task's score, higher is better; accuracy for a classifier) or 'val_loss'
      (the validation data loss, lower is better).
    - restore_best: put the best parameters back into the model at the end (default True, the
      seed's behaviour); False leaves the last ones.
    - keep_checkpoints: keep one checkpoint per epoch (default True); False keeps only
      ``<name>_latest``.
    - epoch_callback: ``f(solver)`` called after every accuracy check (the histories already
      hold it); returning a string stops training with that as ``stopped_reason``, and an
      exception it raises (e.g. a tuner's "prune this trial") propagates out of ``train()``.
    - callbacks: objects with ``on_train_begin`` / ``on_batch_end`` / ``on_epoch_end`` /
      ``on_train_end`` (see :mod:`layerwise.callbacks`), run after the shorthands' own.
    - engine: what computes each update (see :mod:`layerwise.engine`); default layerwise's
      :class:`~layerwise.engine.NumpyEngine`.
    - augment: ``augment(X_batch, rng)``, called on every training minibatch to change it in
      place with draws from ``rng`` (the Solver's generator), e.g. a
      :class:`~layerwise.augment.Augmenter`; default None (the examples as they are).
    - divergence_factor: stop as diverged when the training loss exceeds this many times its
      first value (at least 1), or when a parameter is no longer finite (default 1000; None
      stops only on a NaN or infinite loss).
    - evaluate: measure the training and validation scores after every epoch (default True).
      False measures nothing: the histories of scores stay empty, no best parameters are kept
      and the callbacks still run at each epoch's end, for a caller that measures what it
      needs itself (the scikit-learn estimators, whose epochs can be a single update). It
      needs ``restore_best=False``, ``verbose=False`` and no ``patience``.
    Any other keyword raises :class:`~layerwise.errors.ConfigError` (a ValueError).

    Why training stopped before its last epoch is ``stopped_by`` (a
    :class:`~layerwise.callbacks.StopReason`: ``kind`` early_stopping, diverged or callback,
    and a message), None when it ran to the end; ``stopped_reason`` is its message.
    """

    def __init__(self, model: Any, data: dict[str, Any], **kwargs: Any) -> None:
        if not hasattr(model, "params") or not callable(getattr(model, "loss", None)):
            raise ConfigError(
                f"model must have a 'params' dict and a 'loss' method; got {type(model).__name__}",
                "model",
            )
        self.model = model
        self.task = get_task(getattr(model, "task", "classification"))
        self._set_data(data)
        self._check_labels_fit_model()
        self.train_weights = example_weights(
            self.y_train,
            kwargs.pop("sample_weight", None),
            kwargs.pop("class_weight", None),
            self.task.name,
        )

        self.update_rule_name = kwargs.pop("update_rule", "sgd")
        self.update_rule = optim.get_update_rule(self.update_rule_name)
        self.optim_config = optim.check_config(self.update_rule, kwargs.pop("optim_config", {}))
        self.lr_decay = check_number("lr_decay", kwargs.pop("lr_decay", 1.0), strict=True, high=1.0)
        self.batch_size = check_positive_int("batch_size", kwargs.pop("batch_size", 100))
        # Minibatches are drawn with replacement (as in the seed), so a batch may be larger
        # than the training set; not larger than memory.
        row_bytes = self.X_train[:1].nbytes + 8
        check_fits_in_memory(
            f"a minibatch of batch_size {self.batch_size}",
            self.batch_size * row_bytes,
            "batch_size",
        )

        self.num_epochs = check_int("num_epochs", kwargs.pop("num_epochs", 10))
        self.num_train_samples = _check_optional_positive(
            "num_train_samples", kwargs.pop("num_train_samples", 1000)
        )
        self.num_val_samples = _check_optional_positive(
            "num_val_samples", kwargs.pop("num_val_samples", None)
        )
        self.checkpoint_name = kwargs.pop("checkpoint_name", None)
        if self.checkpoint_name is not None:
            _check_writable_folder(Path(self.checkpoint_name).parent)
        self.print_every = check_positive_int("print_every", kwargs.pop("print_every", 10))
        self.verbose = check_bool("verbose", kwargs.pop("verbose", True))
        self.seed = check_seed("seed", kwargs.pop("seed", None))
        self.progress = check_bool("progress", kwargs.pop("progress", False))
        self.lr_schedule = kwargs.pop("lr_schedule", None)
        self._schedule = get_schedule(self.lr_schedule, self.num_epochs)
        patience = kwargs.pop("patience", None)
        self.patience = None if patience is None else check_positive_int("patience", patience)
        self.min_delta = check_number("min_delta", kwargs.pop("min_delta", 0.0))
        self.monitor = check_choice("monitor", kwargs.pop("monitor", "score"), MONITORS)
        self.restore_best = check_bool("restore_best", kwargs.pop("restore_best", True))
        self.keep_checkpoints = check_bool("keep_checkpoints", kwargs.pop("keep_checkpoints", True))
        self.epoch_callback = kwargs.pop("epoch_callback", None)
        factor = kwargs.pop("divergence_factor", DIVERGENCE_FACTOR)
        self.divergence_factor = (
            None if factor is None else check_number("divergence_factor", factor, 1.0, strict=True)
        )
        extra = _check_callbacks(kwargs.pop("callbacks", None))
        engine = kwargs.pop("engine", None)
        self.augment = kwargs.pop("augment", None)
        if self.augment is not None and not callable(self.augment):
            raise ConfigError(
                f"augment must be a function augment(X_batch, rng) (e.g. a "
                f"layerwise.augment.Augmenter) or None; got {self.augment!r}",
                "augment",
            )
        self.evaluate = check_bool("evaluate", kwargs.pop("evaluate", True))
        if kwargs:
            raise ConfigError(f"Unrecognized arguments {', '.join(sorted(kwargs))}")
        if not self.evaluate:
            _check_without_evaluation(
                restore_best=self.restore_best,
                verbose=self.verbose,
                patience=self.patience,
            )

        # The shorthands become callbacks, in the order their effects always had: the lines
        # first, then early stopping (which sees this check), then the checkpoint (which
        # saves what early stopping decided), then the user's function and callbacks.
        self.logger = ProgressLogger(self.print_every, self.verbose, self.progress)
        self.callbacks: list[Any] = [self.logger]
        if self.patience is not None:
            self.callbacks.append(EarlyStopping(self.patience, self.min_delta, self.verbose))
        if self.checkpoint_name is not None:
            self.callbacks.append(ModelCheckpoint(str(self.checkpoint_name), self.keep_checkpoints))
        if self.epoch_callback is not None:
            self.callbacks.append(EpochFunction(self.epoch_callback))
        self.callbacks += extra
        if self.checkpoint_name is None:  # Ctrl-C writes where a checkpoint callback writes
            for cb in extra:
                if isinstance(cb, ModelCheckpoint):
                    self.checkpoint_name = cb.base
                    break
        self.say: Callable[[str], None] = print
        self.resumed_from: Path | None = None
        self.checkpoint_stopped_by: StopReason | None = None

        self._reset()
        self.engine: Engine = NumpyEngine() if engine in (None, "numpy") else engine
        if not callable(getattr(self.engine, "step", None)):
            raise ConfigError(f"engine must implement layerwise.engine.Engine; got {engine!r}")
        self.engine.attach(self)

    # ----------------------------------------------------------------------------------------
    # set-up

    X_train: Array
    y_train: Array
    X_val: Array
    y_val: Array

    def _set_data(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict):
            raise ConfigError(
                f"data must be a dict with keys {list(_REQUIRED_DATA)}; got {type(data).__name__}",
                "data",
            )
        missing = [k for k in _REQUIRED_DATA if k not in data]
        if missing:
            raise ConfigError(f"data is missing {missing}; expected keys {list(_REQUIRED_DATA)}")
        for split in ("train", "val"):
            X, y = check_examples(
                data[f"X_{split}"], data[f"y_{split}"], f"X_{split}", f"y_{split}", self.task.name
            )
            setattr(self, f"X_{split}", X)
            setattr(self, f"y_{split}", y)

    def _check_labels_fit_model(self) -> None:
        """Every target must fit the model's outputs (NumPy's indexing would otherwise wrap or
        clip a label of C or more without a word): one test-mode forward pass on one example
        says how many outputs the model has."""
        scores = np.asarray(self.model.loss(self.X_train[:1]))
        if scores.ndim != 2:
            return  # not a network's (m, n_out) outputs: nothing to check against
        for split in ("train", "val"):
            self.task.check_targets(getattr(self, f"y_{split}"), f"y_{split}", scores.shape[1])

    def _reset(self) -> None:
        """Bookkeeping: histories, per-parameter optimiser configs, and the best parameters."""
        self.epoch = 0
        self._t = 0  # iterations done
        # The task's score; accuracy starts from 0 as in the seed, R² (which can be any
        # negative number) from -inf, so that the first check is always an improvement.
        self.best_val_acc = 0.0 if self.task.name == "classification" else -math.inf
        self.best_val_loss = math.inf  # of the kept parameters (what monitor='val_loss' minimises)
        # Start from the initial parameters, not an empty dict: a run whose validation accuracy
        # never beats 0 must leave the model as it was, not wipe it.
        self.best_params = _copy_arrays(self.model.params)
        self._best_buffers = _copy_arrays(self._model_buffers())
        self.loss_history: list[float] = []
        self.train_acc_history: list[float] = []
        self.val_acc_history: list[float] = []
        self.val_loss_history: list[float] = []
        self.stopped_by: StopReason | None = None
        self.rng = None if self.seed is None else np.random.default_rng(self.seed)
        self._batch_buffers: list[Array] = []  # see _minibatch
        self.optim_configs = {p: copy.deepcopy(self.optim_config) for p in self.model.params}
        self._base_lr: dict[str, float] = {}
        num_train = self.X_train.shape[0]
        self.iterations_per_epoch = max(num_train // self.batch_size, 1)
        self.num_iterations = self.num_epochs * self.iterations_per_epoch

    def _model_buffers(self) -> dict[str, Array]:
        get = getattr(self.model, "get_buffers", None)
        return dict(get()) if callable(get) else {}

    @property
    def iteration(self) -> int:
        """Updates done so far (across resumes)."""
        return self._t

    @property
    def stopped_reason(self) -> str | None:
        """Why training stopped before its last epoch, in a sentence (None: it did not)."""
        return None if self.stopped_by is None else self.stopped_by.message

    def stop(self, kind: str, message: str) -> None:
        """Stop after the current check (callbacks call this); the first reason given wins."""
        if self.stopped_by is None:
            self.stopped_by = StopReason(kind, message)

    # ----------------------------------------------------------------------------------------
    # one step

    def _sample(self, n: int, size: int) -> Array:
        """Indices of ``size`` random examples out of ``n``, drawn with replacement (CS231n)."""
        if self.rng is None:
            return np.random.choice(n, size)
        return self.rng.integers(0, n, size)

    def _minibatch(self) -> list[Array]:
        """A random minibatch ``[X, y]`` (and its weights), gathered into arrays this Solver
        reuses at every step: ``X_train[idx]`` would allocate (and page in) a new batch of
        ``batch_size`` examples each time. The arrays are overwritten by the next call."""
        idx = self._sample(self.X_train.shape[0], self.batch_size)
        sources = [self.X_train, self.y_train]
        if self.train_weights is not None:
            sources.append(self.train_weights)
        buffers = self._batch_buffers
        if len(buffers) != len(sources) or buffers[0].shape[0] != idx.shape[0]:
            buffers = [np.empty((idx.shape[0], *a.shape[1:]), a.dtype) for a in sources]
            self._batch_buffers = buffers
        # mode="clip": the indices are in range already, and "raise" (the default) would
        # gather into a temporary and copy it over.
        pairs = zip(sources, buffers, strict=True)
        batch = [np.take(a, idx, axis=0, out=b, mode="clip") for a, b in pairs]
        if self.augment is not None:
            # The Solver's own generator, after the indices: the seed fixes the draws and a
            # checkpoint's generator state resumes them. Without a seed, the global stream
            # (also in a checkpoint) seeds a generator for this batch.
            rng = self.rng
            if rng is None:
                rng = np.random.default_rng(np.random.randint(0, 2**31 - 1))
            self.augment(batch[0], rng)
        return batch

    def _step(self) -> None:
        """One update on a random minibatch, computed by the engine."""
        loss = self.engine.step(*self._minibatch())
        if self.divergence_factor is not None and self.loss_history:
            first = self.loss_history[0]
            if loss > self.divergence_factor * max(first, 1.0):
                raise TrainingDiverged(
                    f"the training loss grew to {loss:.4g}, over {self.divergence_factor:g} "
                    f"times its first value {first:.4g}"
                )
        self.loss_history.append(loss)

    def _check_finite_params(self) -> None:
        bad = [n for n, w in self.model.params.items() if not np.isfinite(w).all()]
        if bad:
            raise TrainingDiverged(f"parameter(s) {', '.join(bad)} are no longer finite")

    # ----------------------------------------------------------------------------------------
    # evaluation

    def _scores_and_labels(
        self, X: Any, y: Any, num_samples: int | None, batch_size: int
    ) -> Iterator[tuple[Array, Array]]:
        own = (X is self.X_train and y is self.y_train) or (X is self.X_val and y is self.y_val)
        if not own:  # the Solver's own splits were checked once, when it was made
            X, y = check_examples(X, y, task=self.task.name)
        batch_size = check_positive_int("batch_size", batch_size)
        if num_samples is not None:
            num_samples = check_positive_int("num_samples", num_samples)
        N = X.shape[0]
        if num_samples is not None and N > num_samples:
            idx = self._sample(N, num_samples)
            X, y = X[idx], y[idx]
            N = num_samples
        for start in range(0, N, batch_size):
            scores = self.model.loss(X[start : start + batch_size])
            if start == 0 and not own and np.ndim(scores) == 2:
                self.task.check_targets(y, "y", np.shape(scores)[1])
            yield scores, y[start : start + batch_size]

    def check_accuracy(
        self, X: Any, y: Any, num_samples: int | None = None, batch_size: int = 100
    ) -> float:
        """The task's score: for a classifier, the fraction of examples whose highest-scoring
        class equals the label; R² for regression, subset accuracy for multi-label
        (:mod:`layerwise.tasks`).

        Inputs:
        - X: (N, d_1, ..., d_k); y: the targets, (N,) integer labels for a classifier.
        - num_samples: evaluate on this many random examples (None: all of them).
        - batch_size: examples per forward pass, to bound memory.
        """
        return self._score_and_loss(X, y, num_samples, batch_size, with_loss=False)[0]

    def _score_and_loss(
        self,
        X: Any,
        y: Any,
        num_samples: int | None,
        batch_size: int = 100,
        with_loss: bool = True,
    ) -> tuple[float, float]:
        """The task's score and mean data loss (test-time outputs, no L2 term) in one pass."""
        loss_sum = 0.0
        if self.task.name == "classification":  # counted batch by batch, as the seed does
            correct = total = 0
            for scores, labels in self._scores_and_labels(X, y, num_samples, batch_size):
                correct += int(np.sum(np.argmax(scores, axis=1) == labels))
                if with_loss:
                    loss_sum += self._data_loss(scores, labels) * len(labels)
                total += len(labels)
            return correct / total, loss_sum / total
        outputs, targets = [], []
        for scores, batch_y in self._scores_and_labels(X, y, num_samples, batch_size):
            outputs.append(scores)
            targets.append(batch_y)
            if with_loss:
                loss_sum += self._data_loss(scores, batch_y) * len(batch_y)
        out, t = np.concatenate(outputs), np.concatenate(targets)
        return self.task.score(out, t.reshape(out.shape) if t.ndim == 1 else t), loss_sum / len(t)

    def _data_loss(self, scores: Array, y: Array) -> float:
        data_loss = getattr(self.model, "data_loss", None)
        if data_loss is None:  # a model of one's own: the seed's softmax loss
            return float(softmax_loss(scores, y)[0])
        return float(data_loss(scores, y)[0])

    # ----------------------------------------------------------------------------------------
    # the loop

    def train(self) -> None:
        """Train until ``num_epochs`` (continuing from a resumed checkpoint, if any).

        A NaN or infinite loss stops training early with ``stopped_by`` set, and so does a
        callback such as early stopping; either way the model gets the best parameters seen so
        far (unless ``restore_best=False``). Ctrl-C writes a checkpoint first when
        ``checkpoint_name`` is set.
        """
        self._call("on_train_begin")
        try:
            with self._interrupt_guard() as interrupted:
                while self._t < self.num_iterations and self.stopped_by is None:
                    t = self._t
                    try:
                        self._step()
                    except TrainingDiverged as exc:
                        self._diverged(exc, t)
                        break
                    self._t = t + 1
                    self._call("on_batch_end")

                    epoch_end = self._t % self.iterations_per_epoch == 0
                    if epoch_end:
                        self.epoch += 1
                        self._apply_learning_rates()
                    # Accuracies after the first iteration and at the end of every epoch.
                    if t == 0 or epoch_end or self._t == self.num_iterations:
                        try:
                            self._record_epoch()
                        except TrainingDiverged as exc:
                            self._diverged(exc, t)
                            break
                    if interrupted():
                        self._save_interrupted()
        finally:
            self.logger.close()
        if self.restore_best:
            self.model.params = _copy_arrays(self.best_params)
            if self._best_buffers:
                self.model.set_buffers(_copy_arrays(self._best_buffers))
            self.engine.reset()
        else:
            self.engine.sync()
        self._call("on_train_end")

    def _diverged(self, exc: TrainingDiverged, t: int) -> None:
        self.stop(
            "diverged",
            f"{exc} at iteration {t + 1} (epoch {self.epoch + 1}); training stopped and "
            + (
                f"the best parameters (val {self.task.score_name.replace('_', ' ')} "
                f"{self.best_val_acc:f}) were kept"
                if self.restore_best
                else "the last parameters were kept (restore_best=False)"
            ),
        )
        print(f"Warning: {self.stopped_reason}", file=sys.stderr)

    def _call(self, hook: str) -> None:
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if method is not None:
                method(self)

    def _apply_learning_rates(self) -> None:
        """Set every learning rate for the epoch just begun: initial * schedule * decay**epoch."""
        factor = factor_at(self._schedule, self.epoch, self.lr_decay**self.epoch)
        for name, config in self.optim_configs.items():
            if "learning_rate" not in config:
                continue
            base = self._base_lr.setdefault(name, float(config["learning_rate"]))
            config["learning_rate"] = base * factor

    def _record_epoch(self) -> None:
        """Measure, record, keep the best parameters, then let the callbacks act."""
        self.engine.sync()
        if self.divergence_factor is not None:
            self._check_finite_params()
        if not self.evaluate:
            self._call("on_epoch_end")
            return
        train_acc = self.check_accuracy(
            self.X_train, self.y_train, num_samples=self.num_train_samples
        )
        val_acc, val_loss = self._score_and_loss(self.X_val, self.y_val, self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        self.val_loss_history.append(val_loss)
        if self.monitor == "score":
            improved = val_acc > self.best_val_acc
        else:
            improved = val_loss < self.best_val_loss
        if improved:
            self.best_val_acc = val_acc
            self.best_val_loss = val_loss
            self.best_params = _copy_arrays(self.model.params)
            self._best_buffers = _copy_arrays(self._model_buffers())
        self._call("on_epoch_end")

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

    def save_checkpoint(self, base: str | Path | None = None) -> Path:
        """Write the full training state; returns the base path (without suffix).

        Without ``base`` it writes ``<checkpoint_name>_latest`` and, after a completed epoch
        with ``keep_checkpoints``, ``<checkpoint_name>_epoch_<e>`` as well.
        """
        if base is not None:
            self.engine.sync()
            arrays, meta = training_state.capture(self)
            save_checkpoint(base, arrays, meta)
            return Path(base)
        if self.checkpoint_name is None:
            raise ConfigError("save_checkpoint needs a base path or the Solver's checkpoint_name")
        return self.write_checkpoints(str(self.checkpoint_name), self.keep_checkpoints)

    def write_checkpoints(self, name: str, keep_every_epoch: bool) -> Path:
        """``<name>_latest`` and, at the end of an epoch with ``keep_every_epoch``,
        ``<name>_epoch_<e>``; returns the latest one's base path."""
        self.engine.sync()
        arrays, meta = training_state.capture(self)
        at_epoch_end = self._t % self.iterations_per_epoch == 0 and self._t > 0
        if keep_every_epoch and at_epoch_end:
            save_checkpoint(f"{name}_epoch_{self.epoch}", arrays, meta)
        latest = Path(f"{name}_latest")
        rotate(latest, f"{name}_previous")  # a good one to fall back on if this write is cut
        save_checkpoint(latest, arrays, meta)
        return latest

    def resume(self, path: str | Path, fallback: Sequence[str | Path] = ()) -> Solver:
        """Load a checkpoint into this Solver and its model, so that ``train()`` continues.

        The Solver must be built like the one that wrote the checkpoint (same model shape,
        update rule, batch size and training data size); ``num_epochs`` may be larger, to train
        further. With the same seeds, an interrupted-and-resumed run ends with parameters
        bit-identical to an uninterrupted one. Returns self.

        Everything is checked before anything changes: a damaged or mismatched checkpoint
        raises :class:`~layerwise.checkpoint.CheckpointError` naming what is wrong and leaves
        the Solver as it was; with ``fallback`` (earlier checkpoints, e.g. ``<name>_previous``)
        the first good one is loaded instead, with a warning on stderr naming what was wrong
        with the ones before it (``resumed_from`` says which one it was).
        """
        first: CheckpointError | None = None
        problems: list[str] = []
        bases = (path, *fallback)
        for base in bases:
            try:
                # Fields first, so a damaged one is named; then the JSON's own digest. The
                # arrays may sit under another base's name (a crash inside rotate).
                others = [b for b in bases if b != base]
                arrays, meta = load_checkpoint(base, strict=False, arrays_at=others)
                state = training_state.parse(self, base, arrays, meta)
                if UNVERIFIED in meta:
                    raise CheckpointError(meta[UNVERIFIED])
            except CheckpointError as e:
                first = first or e
                problems.append(str(e))
                continue
            if ARRAYS_FROM in meta:
                problems.append(
                    f"the arrays of {base} were found in {meta[ARRAYS_FROM]} (the run was "
                    "stopped while moving its checkpoints)"
                )
            if problems:
                instead = "" if base == path else " instead"
                print(
                    f"Warning: {'; '.join(problems)}; resuming from {base}{instead}",
                    file=sys.stderr,
                )
            training_state.apply(self, state)
            self.resumed_from = Path(base)
            return self
        assert first is not None
        raise first


#: What "best" can mean: the task's score (higher is better) or the validation loss (lower).
MONITORS = ("score", "val_loss")


def check_examples(
    X: Any, y: Any, x_name: str = "X", y_name: str = "y", task: str = "classification"
) -> tuple[Array, Array]:
    """``X`` (N, d_1, ...) of finite real numbers and ``y`` the N targets of ``task`` ((N,)
    labels >= 0 for a classifier), as arrays (no copy when they already are), or ConfigError
    naming the bad one and what was expected.
    """
    arrays = []
    for name, value in ((x_name, X), (y_name, y)):
        if value is None or isinstance(value, (str, bytes)):
            raise ConfigError(f"{name} must be an array; got {value!r}", "data")
        try:
            arrays.append(np.asarray(value))
        except (ValueError, TypeError) as e:  # a ragged nested list
            raise ConfigError(f"{name} is not an array of numbers ({e})", "data") from None
    X, y = arrays
    if X.ndim < 2 or y.ndim < 1 or y.shape[0] != X.shape[0]:
        want = "(N,)" if task == "classification" else "(N,) or (N, k)"
        raise ConfigError(
            f"{x_name} must have shape (N, d_1, ...) and {y_name} shape {want}; got "
            f"{X.shape} and {y.shape}",
            "data",
        )
    if X.shape[0] == 0:
        raise ConfigError(f"{x_name} is empty (shape {X.shape}); need at least one example", "data")
    if task == "classification" and not np.issubdtype(y.dtype, np.integer):
        raise ConfigError(f"{y_name} must hold integer labels; got dtype {y.dtype}", "data")
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise ConfigError(f"{x_name} must hold real numbers; got dtype {X.dtype}", "data")
    if np.issubdtype(X.dtype, np.floating) and not _all_finite(X):
        raise ConfigError(f"{x_name} contains NaN or infinite values", "data")
    return X, get_task(task).check_targets(y, y_name)


def example_weights(y: Array, sample_weight: Any, class_weight: Any, task: str) -> Array | None:
    """One weight per training example: ``sample_weight`` times the weight of its class, or
    None when neither is given (the unweighted loss, computed as before).

    class_weight: None, ``'balanced'`` (``n / (C * count(c))``, scikit-learn's rule, over the
    classes present) or a dict {label: weight} (labels not in it weigh 1); classifiers only.
    """
    if sample_weight is None and class_weight is None:
        return None
    n = len(y)
    w = np.ones(n)
    if sample_weight is not None:
        try:
            sw = np.asarray(sample_weight, dtype=np.float64)
        except (TypeError, ValueError):
            raise ConfigError(
                f"sample_weight must be an array of numbers; got {sample_weight!r}",
                "sample_weight",
            ) from None
        if sw.shape != (n,):
            raise ConfigError(
                f"sample_weight has shape {sw.shape}; expected ({n},), one per training example",
                "sample_weight",
            )
        if not np.isfinite(sw).all() or (sw < 0).any() or not sw.any():
            raise ConfigError(
                "sample_weight must be finite, >= 0 and not all zero", "sample_weight"
            )
        w = sw.copy()
    if class_weight is not None:
        if task != "classification":
            raise ConfigError(
                f"class_weight applies to classification; the task is {task!r}", "class_weight"
            )
        classes, counts = np.unique(y, return_counts=True)
        table: dict[Any, float]
        if isinstance(class_weight, str) and class_weight == "balanced":
            table = dict(zip(classes.tolist(), (n / (len(classes) * counts)).tolist(), strict=True))
        elif isinstance(class_weight, dict):
            table = {
                label: check_number(f"class_weight[{label!r}]", weight)
                for label, weight in class_weight.items()
            }
        else:
            raise ConfigError(
                f"class_weight must be None, 'balanced' or a dict {{label: weight}}; got "
                f"{class_weight!r}",
                "class_weight",
            )
        w *= np.array([table.get(label, 1.0) for label in y.tolist()])
        if not w.any():
            raise ConfigError("class_weight gives every training example weight 0", "class_weight")
    return w


def _all_finite(X: Array, rows_per_chunk: int = 4096) -> bool:
    """``np.isfinite(X).all()`` in chunks of rows: the check costs no boolean copy of the data
    (150 MB for CIFAR-10's training set), only one chunk's worth."""
    return all(
        bool(np.isfinite(X[i : i + rows_per_chunk]).all())
        for i in range(0, X.shape[0], rows_per_chunk)
    )


def _check_writable_folder(folder: Path) -> None:
    """Checkpoints go to ``folder``: make it, or refuse now rather than after an epoch."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(
            f"checkpoint_name: cannot make the folder {str(folder)!r} ({e.strerror or e})",
            "checkpoint_name",
        ) from None
    if not os.access(folder, os.W_OK):
        raise ConfigError(
            f"checkpoint_name: the folder {str(folder)!r} is not writable", "checkpoint_name"
        )


def _check_callbacks(callbacks: Any) -> list[Any]:
    """A list of callbacks: each an object with one or more of the methods in
    :data:`~layerwise.callbacks.HOOKS`."""
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise ConfigError(
            f"callbacks must be a list of layerwise.callbacks.Callback; got {callbacks!r}",
            "callbacks",
        )
    for cb in callbacks:
        if not any(callable(getattr(cb, hook, None)) for hook in HOOKS):
            raise ConfigError(
                f"callbacks: {cb!r} has none of the methods {list(HOOKS)}; a callback is a "
                f"layerwise.callbacks.Callback",
                "callbacks",
            )
    return list(callbacks)


def _check_without_evaluation(**settings: Any) -> None:
    """``evaluate=False`` measures no score: refuse the settings that need one."""
    needs = {"restore_best": False, "verbose": False, "patience": None}
    bad = [name for name, value in settings.items() if value != needs[name]]
    if bad:
        name = bad[0]
        raise ConfigError(
            f"evaluate=False measures no validation score, which {name}={settings[name]!r} "
            f"needs; pass {name}={needs[name]!r} (or evaluate=True)",
            name,
        )


def _copy_arrays(arrays: dict[str, Array]) -> dict[str, Array]:
    return {k: v.copy() for k, v in arrays.items()}


def _check_optional_positive(name: str, value: Any) -> int | None:
    return None if value is None else check_positive_int(name, value)
