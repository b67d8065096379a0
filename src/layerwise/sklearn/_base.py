"""What the classifier and the regressor share: the flow of ``fit``/``partial_fit`` (validate,
build or continue the network, train it with a Solver), the fitted attributes, prediction's
forward pass, pickling and save/load."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from layerwise.io import PathLike
from layerwise.models import FullyConnectedNet
from layerwise.schedules import get_schedule
from layerwise.sklearn import _files
from layerwise.sklearn._data import dense, split, training_weights, validate_data
from layerwise.sklearn._params import (
    CONSTRAINTS,
    architecture,
    batch_size,
    build_network,
    check_supported,
    hidden_sizes,
    recipe,
    update_rule,
)
from layerwise.sklearn._training import EpochBatches, EpochEnd, State, restore, snapshot
from layerwise.solver import Solver

Array = np.ndarray
#: Examples per forward pass when predicting.
PREDICT_BATCH = 4096


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: validation, the model, the training run."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = CONSTRAINTS

    # Set by the subclasses' __init__ (listed for mypy).
    hidden_layer_sizes: Any
    activation: str
    solver: str
    alpha: float
    batch_size: Any
    learning_rate: str
    learning_rate_init: float
    power_t: float
    max_iter: int
    shuffle: bool
    random_state: Any
    tol: float
    verbose: Any
    warm_start: bool
    momentum: float
    nesterovs_momentum: bool
    early_stopping: bool
    validation_fraction: float
    beta_1: float
    beta_2: float
    epsilon: float
    n_iter_no_change: Any
    max_fun: int
    dropout: float
    normalization: str | None
    weight_init: str
    lr_schedule: Any
    dtype: Any
    engine: Any

    # Fitted state (listed for mypy).
    model_: FullyConnectedNet
    solver_: Solver
    n_iter_: int
    t_: int
    loss_: float
    loss_curve_: list[float]
    best_loss_: float | None
    validation_scores_: list[float] | None
    best_validation_score_: float | None
    n_outputs_: int
    n_layers_: int
    out_activation_: str
    recipe_: dict[str, Any]
    _no_improvement_count: int
    _best_state: State
    _optimizer: dict[str, Any]
    _architecture: dict[str, Any]

    # ----------------------------------------------------------------------------------------
    # what the subclasses provide

    def _validate_input(
        self, X: Any, y: Any, incremental: bool, reset: bool
    ) -> tuple[Array, Array, dict[str, Any]]:
        """(X, the targets the Solver trains on, the layout: task, loss, n_outputs,
        out_activation, loss_scale, stratify labels or None, per-example class weights or
        None)."""
        raise NotImplementedError

    def _layout_to_json(self) -> dict[str, Any]:
        """What :meth:`save` adds to the fitted attributes (the classifier's layout)."""
        return {}

    def _layout_from_json(self, fitted: dict[str, Any]) -> None:
        """Read back what :meth:`_layout_to_json` wrote."""

    # ----------------------------------------------------------------------------------------
    # scikit-learn's protocol

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # accepted, and densified (the network is dense)
        return tags

    def __getstate__(self) -> dict[str, Any]:
        # The Solver references the training data and holds closures: not part of a pickle.
        state = super().__getstate__()
        state = dict(state)
        state.pop("solver_", None)
        return state

    @property
    def coefs_(self) -> list[Array]:
        """The weight matrices, (d_in, d_out) per layer: views of ``model_.params``."""
        check_is_fitted(self, "model_")
        return [self.model_.params[f"theta{i}"] for i in range(1, self.model_.num_layers + 1)]

    @property
    def intercepts_(self) -> list[Array]:
        """The bias vectors, (d_out,) per layer: views of ``model_.params``."""
        check_is_fitted(self, "model_")
        return [self.model_.params[f"theta{i}_0"] for i in range(1, self.model_.num_layers + 1)]

    def _np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    # ----------------------------------------------------------------------------------------
    # the training run

    def _fit(
        self, X: Any, y: Any, sample_weight: Any = None, incremental: bool = False
    ) -> _BaseMLP:
        hidden = hidden_sizes(self)
        check_supported(self)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, targets, layout = self._validate_input(X, y, incremental, reset=first_pass)
        X = dense(X)
        weights = training_weights(self, X, sample_weight, layout["class_weights"])

        rs = check_random_state(self.random_state)
        arch = architecture(self, X.shape[1], hidden, layout)
        if first_pass:
            self._initialize(arch, layout, rs)
        else:
            self._check_continuation(arch)
            if self.model_.rng is None:  # a loaded model: give dropout a generator again
                self.model_.rng = np.random.default_rng(rs.randint(np.iinfo(np.int32).max))
            self.model_.dropout = float(self.dropout)
            if layout["loss"] == "huber":
                self.model_.huber_delta = float(getattr(self, "huber_delta", 1.0))
        if self.early_stopping:
            if self.validation_scores_ is None:  # warm start after a fit without it
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
            self.best_loss_ = None
        elif self.best_loss_ is None:
            self.best_loss_, self.validation_scores_, self.best_validation_score_ = (
                np.inf,
                None,
                None,
            )

        (X_train, y_train, w_train), (X_val, y_val, w_val) = split(
            self, X, targets, weights, layout["stratify"], rs
        )
        n_train = X_train.shape[0]
        batch = batch_size(self, n_train)
        # scikit-learn's epoch is ceil(n / batch_size) updates; the Solver's is
        # n // its batch_size updates, so give it the batch size that makes as many.
        solver_batch = n_train // math.ceil(n_train / batch)
        mean_weight = 1.0 if w_train is None else float(np.mean(w_train))
        nominal_reg = float(self.alpha) / (batch * mean_weight * layout["loss_scale"])
        self.model_.reg = nominal_reg

        rule, optim_config = update_rule(self)
        previous = getattr(self, "_optimizer", None)
        if incremental and previous is not None and previous["rule"] == rule:
            optimizer = previous
        else:  # a new optimizer for every fit, as scikit-learn's
            optimizer = {"rule": rule, "configs": None, "epochs": 0, "lr_factor": 1.0}
        self._optimizer = optimizer

        seed = int(rs.randint(np.iinfo(np.int32).max))
        if not first_pass:  # continuing: other minibatches than the last call's
            seed = int(np.random.SeedSequence([seed, len(self.loss_curve_)]).generate_state(1)[0])
        engine = EpochBatches(
            self.engine,
            (X_train, y_train, w_train),
            bool(self.shuffle),
            np.random.default_rng(seed),
            float(self.alpha),
            layout["loss_scale"],
        )
        run: dict[str, Any] = {
            "incremental": incremental,
            "engine": engine,
            "loss_scale": layout["loss_scale"],
            "task": layout["task"],
            "schedule": get_schedule(self.lr_schedule, self.max_iter),
            "X_val": X_val,
            "y_val": y_val,
            "w_val": w_val,
            "n_train": n_train,
            "max_iter_reached": False,
        }
        self.n_iter_ = 0
        solver = Solver(
            self.model_,
            {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val},
            update_rule=rule,
            optim_config=optim_config,
            batch_size=solver_batch,
            num_epochs=1 if incremental else int(self.max_iter),
            verbose=False,
            evaluate=False,
            seed=seed,
            restore_best=False,
            divergence_factor=None,
            callbacks=[EpochEnd(self, run)],
            engine=engine,
        )
        if optimizer["configs"] is not None and set(optimizer["configs"]) == set(
            solver.optim_configs
        ):
            solver.optim_configs = optimizer["configs"]
        try:
            solver.train()
        except KeyboardInterrupt:
            solver.engine.sync()
            warnings.warn("Training interrupted by user.", stacklevel=3)
        optimizer["configs"] = solver.optim_configs
        self.model_.reg = nominal_reg
        self.solver_ = solver
        self.recipe_ = recipe(self, solver, layout)
        stopped = solver.stopped_by
        if stopped is not None and stopped.kind == "diverged":
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain "
                f"large values and need to be preprocessed. ({stopped.message})"
            )
        if self.early_stopping:
            restore(self.model_, self._best_state)
        if run["max_iter_reached"]:
            warnings.warn(
                "Stochastic Optimizer: Maximum iterations (%d) reached and the optimization "
                "hasn't converged yet." % self.max_iter,
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _initialize(
        self, architecture: dict[str, Any], layout: dict[str, Any], rs: np.random.RandomState
    ) -> None:
        """A new network, and the fitted attributes of a fit that has not trained yet."""
        self.model_ = build_network(self, architecture, layout, rs)
        dims = architecture["dims"]
        self._architecture = architecture
        self.n_outputs_ = dims[-1]
        self.n_layers_ = len(dims)
        self.out_activation_ = layout["out_activation"]
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self._no_improvement_count = 0
        self.best_loss_, self.validation_scores_, self.best_validation_score_ = np.inf, None, None
        self._best_state = snapshot(self.model_)
        self.__dict__.pop("_optimizer", None)

    def _check_continuation(self, architecture: dict[str, Any]) -> None:
        before = getattr(self, "_architecture", None)
        if before is None:
            self._architecture = architecture
            return
        changed = [k for k in architecture if architecture[k] != before[k]]
        if changed:
            what = ", ".join(f"{k} {before[k]!r} -> {architecture[k]!r}" for k in changed)
            raise ValueError(
                f"warm_start/partial_fit continue the fitted network, but {what} changed; "
                "fit with warm_start=False to start a new one"
            )

    # ----------------------------------------------------------------------------------------
    # prediction

    def _forward(self, X: Array) -> Array:
        """The network's test-time outputs (n, n_outputs_) for validated X, as float64."""
        chunks = [
            self.model_.loss(X[i : i + PREDICT_BATCH]) for i in range(0, X.shape[0], PREDICT_BATCH)
        ]
        return np.concatenate(chunks).astype(np.float64, copy=False)

    def _outputs(self, X: Any) -> Array:
        check_is_fitted(self, "model_")
        X = validate_data(
            self, X, reset=False, accept_sparse=["csr", "csc"], dtype=self.model_.dtype
        )
        return self._forward(dense(X))

    # ----------------------------------------------------------------------------------------
    # saving without pickle

    def save(self, path: PathLike) -> Path:
        """Write the fitted estimator to ``path`` (``.npz``, or a folder -> ``model.npz``) and
        the JSON beside it; returns the ``.npz`` path. No pickle: see
        :mod:`layerwise.sklearn`."""
        return _files.save(self, path)

    @classmethod
    def load(cls, path: PathLike) -> Any:
        """Read an estimator written by :meth:`save` (``np.load(allow_pickle=False)``)."""
        return _files.load(cls, path)
