"""scikit-learn estimators trained by layerwise: :class:`MLPClassifier` and :class:`MLPRegressor`.

They take the names and parameters of ``sklearn.neural_network``'s classes, so code written for
those runs with only the import changed::

    from layerwise.sklearn import MLPClassifier   # was: from sklearn.neural_network import ...

    clf = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(64,), random_state=0))
    clf.fit(X_train, y_train).score(X_test, y_test)

They are scikit-learn estimators (``BaseEstimator`` with ``ClassifierMixin`` /
``RegressorMixin``): ``get_params``/``set_params``, ``clone``, pipelines, grid searches and
cross-validation work, and they pass scikit-learn's estimator checks (with float32, the
default, except three named with their reasons by :func:`expected_failed_checks`). Underneath, a
:class:`~layerwise.models.FullyConnectedNet` (``model_``) is trained by a
:class:`~layerwise.solver.Solver` (``solver_``, the one of the last ``fit``).

How scikit-learn's parameters map onto layerwise
------------------------------------------------
==========================  ===================================================================
hidden_layer_sizes          the hidden layers (an int is one layer; ``()`` is a linear model)
activation                  'relu', 'tanh', 'logistic' (layerwise's 'sigmoid'), plus
                            layerwise's 'leaky_relu'; 'identity' is refused (ValueError)
solver                      'adam' -> the ``adam`` rule (beta_1, beta_2, epsilon); 'sgd' ->
                            ``nesterov_momentum`` (momentum > 0 and nesterovs_momentum),
                            ``sgd_momentum`` (momentum > 0) or ``sgd``; 'lbfgs' is refused
alpha                       the L2 term: scikit-learn adds ``0.5 * alpha * ||W||^2 / n_batch``
                            (``n_batch``: the batch's size, or its sum of sample weights) to
                            the batch's mean loss; the model's ``reg`` is set to
                            ``alpha / n_batch`` before each update (multi-label: also divided
                            by the number of labels, see below)
batch_size                  'auto' is ``min(200, n_samples)``; larger than the training set:
                            clipped, with scikit-learn's warning; ``ceil(n / batch_size)``
                            updates an epoch
learning_rate_init          the rule's learning rate
learning_rate, power_t      with solver='sgd' (as in scikit-learn; ignored by adam):
                            'constant'; 'invscaling' (``lr_init / (t_ + 1) ** power_t`` after
                            every epoch); 'adaptive' (divide by 5 whenever the loss or the
                            validation score stalls for n_iter_no_change epochs, instead of
                            stopping, until the rate is below 1e-6)
max_iter                    epochs (the Solver's num_epochs)
tol, n_iter_no_change       scikit-learn's convergence test, run after every epoch by a
                            callback: the training loss (or, with early_stopping, the
                            validation score) has not improved by tol for more than
                            n_iter_no_change epochs. Reaching max_iter without converging
                            warns ``ConvergenceWarning``, as scikit-learn does
early_stopping,             hold out validation_fraction of the data (stratified for
validation_fraction         single-label classifiers) and stop on its score; the parameters
                            of the best epoch are put back at the end
warm_start                  continue from the previous fit's network (a fresh optimizer, as
                            in scikit-learn)
random_state                the weights, the dropout masks, the minibatches and the split
verbose                     scikit-learn's lines (``Iteration 3, loss = ...``)
max_fun                     accepted and unused (it bounds lbfgs, which layerwise lacks)
shuffle                     a fresh permutation of the examples every epoch, or (False) the
                            examples in order
==========================  ===================================================================

layerwise's own parameters: ``dropout`` (0.0), ``normalization`` (None, 'batchnorm',
'layernorm'), ``weight_init`` ('glorot_uniform', scikit-learn's: weights and biases uniform in
``+-sqrt(6 / (fan_in + fan_out))``, 2 instead of 6 for 'logistic'; or layerwise's Gaussian
'xavier' and 'he', with zero biases), ``lr_schedule`` (a :mod:`layerwise.schedules` schedule
over epochs, multiplying the learning rate, with any solver), ``dtype`` ('float32', the
default, or 'float64'), ``engine`` ('numpy', or an engine object such as
``layerwise.frameworks.engines.make_engine('keras')``, for unweighted classifiers); the
classifier's ``class_weight`` (None, 'balanced' or a dict keyed by the original labels) and
``loss`` (None or 'log_loss': scikit-learn's layout; 'softmax': a softmax output even for two
classes); the regressor's ``loss`` ('squared_error' = 'mse', 'absolute_error' = 'mae', 'huber';
'poisson' is refused) and ``huber_delta``.

Where the training differs from scikit-learn's
----------------------------------------------
- Minibatches: every epoch visits each training example once, a fresh permutation
  (``shuffle=True``) or in order (``shuffle=False``), in ``ceil(n / batch_size)`` minibatches
  of nearly equal size (scikit-learn: ``batch_size`` each and the remainder last). The
  Solver's own minibatches are drawn with replacement; a small engine (``_EpochBatches``)
  around ``engine`` trains on these instead (the Solver's draw is made and ignored, a small
  cost), and sets each batch's L2 weight, scikit-learn's ``alpha / (batch size, or its sum of
  sample weights)``. Examples of weight 0 are left out of training.
- Computation is float32 by default (``dtype``); probabilities and regression outputs are
  returned as float64. The estimator checks that compare at float64's precision need
  ``dtype='float64'`` (:func:`expected_failed_checks`).
- Two classes (``loss=None``) use one logistic output as scikit-learn does (``n_outputs_ == 1``,
  ``out_activation_ == 'logistic'``); a single class is allowed and always predicted.
- Multi-label: layerwise's sigmoid cross-entropy is the *mean* over the k labels where
  scikit-learn sums them, so the L2 weight is divided by k too (the same objective divided by
  k: the same minimum, and the same Adam steps) and ``loss_``/``loss_curve_`` are reported
  multiplied by k (scikit-learn's scale, so ``tol`` means the same).
- ``partial_fit`` is ``partial_fit(X, y, classes=None, sample_weight=None)`` (the order of
  scikit-learn's ``partial_fit`` methods before 1.7, so ``partial_fit(X, y, classes)`` works);
  it trains one epoch and keeps the optimizer's state between calls.
- The convergence test and the early-stopping scores are taken at the end of each epoch, and
  the early-stopping score of a classifier is the accuracy (subset accuracy, multi-label) on
  the held-out part, weighted by its sample weights, as scikit-learn's.

Fitted attributes
-----------------
scikit-learn's: ``classes_`` (classifier), ``n_features_in_``, ``feature_names_in_`` (for a
DataFrame with string column names), ``loss_`` (the last epoch's mean training loss, L2 term
included), ``loss_curve_`` (one per epoch), ``best_loss_`` (None with early stopping),
``validation_scores_`` and ``best_validation_score_`` (None without early stopping), ``n_iter_``
(epochs of the last call), ``t_`` (training samples seen in all), ``n_layers_``,
``n_outputs_``, ``out_activation_`` ('softmax', 'logistic' or 'identity'), ``coefs_`` and
``intercepts_`` (views of the model's ``theta{i}`` and ``theta{i}_0``). layerwise's:
``model_`` (the FullyConnectedNet), ``solver_`` (the last fit's Solver; it references the
training arrays: ``del est.solver_`` frees them; not pickled, not saved) and ``recipe_`` (a
JSON-able dict: the parameters and the resolved model and training settings).

Saving without pickle
---------------------
``est.save('clf.npz')`` writes the network with :func:`layerwise.io.save_model` (``clf.npz``:
the arrays; ``clf.json``: the model) and adds the estimator (parameters, ``classes_`` with
their dtype, the fitted attributes) to the JSON under ``"estimator"``;
``MLPClassifier.load('clf.npz')`` reads it back with ``np.load(allow_pickle=False)``, so a file
cannot run code. The optimizer's state is not saved: ``partial_fit`` after ``load`` starts a
fresh one. Plain ``pickle`` (and joblib) also work, as for any scikit-learn estimator
(``solver_`` is left out), but unpickle only files you trust: a pickle can run any code.
"""

from __future__ import annotations

import math
import numbers
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import sklearn.utils.validation as _skvalidation
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import HasMethods, Interval, Options, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from layerwise.callbacks import Callback
from layerwise.engine import NumpyEngine
from layerwise.errors import ConfigError
from layerwise.io import (
    ModelFileError,
    PathLike,
    load_model,
    read_json,
    save_model,
    to_jsonable,
    write_json,
)
from layerwise.models import FullyConnectedNet
from layerwise.schedules import SCHEDULES, get_schedule
from layerwise.solver import Solver
from layerwise.tasks import get_task

__all__ = ["MLPClassifier", "MLPRegressor", "expected_failed_checks"]

Array = np.ndarray

#: scikit-learn's activation names -> layerwise's.
ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "leaky_relu": "leaky_relu"}
#: The regressor's loss names (scikit-learn's and layerwise's) -> layerwise's loss.
REGRESSION_LOSSES = {
    "squared_error": "mse",
    "mse": "mse",
    "absolute_error": "mae",
    "mae": "mae",
    "huber": "huber",
}
#: Training examples the Solver scores after every epoch for its own histories
#: (``solver_.train_acc_history``); without early stopping also its "validation" history,
#: measured on the training set. They cost a forward pass each and decide nothing here.
MONITOR_SAMPLES = 100
#: Examples per forward pass when predicting.
PREDICT_BATCH = 4096
#: Version of the ``"estimator"`` entry that :meth:`save` writes into the model's JSON.
SAVE_VERSION = 1

_FLOAT32_REASON = "float32 (the default dtype) rounds at ~1e-7 relative, the check's tolerance: "
_FLOAT32_CHECKS = {
    "check_methods_subset_invariance": _FLOAT32_REASON
    + "BLAS sums a 1-row product in another order than a 20-row one",
    "check_sample_weight_equivalence_on_dense_data": _FLOAT32_REASON
    + "a weighted mean and a mean over repeated rows round differently",
    "check_sample_weight_equivalence_on_sparse_data": _FLOAT32_REASON
    + "a weighted mean and a mean over repeated rows round differently",
}


def expected_failed_checks(estimator: Any) -> dict[str, str]:
    """The scikit-learn estimator checks an estimator fails by design, each with its reason:
    for ``parametrize_with_checks(..., expected_failed_checks=expected_failed_checks)``.

    None with ``dtype='float64'``. With float32 (the default) three, which compare results
    at float64's precision; they pass with ``dtype='float64'``.
    """
    if isinstance(estimator, _BaseMLP) and np.dtype(estimator.dtype) == np.float32:
        return dict(_FLOAT32_CHECKS)
    return {}


def _validate_data(est: Any, X: Any, y: Any = "no_validation", **kwargs: Any) -> Any:
    """scikit-learn's ``validate_data`` (1.6+), or the method it replaced."""
    validate = getattr(_skvalidation, "validate_data", None)
    if validate is None:  # scikit-learn < 1.6
        return est._validate_data(X, y, **kwargs)
    return validate(est, X, y, **kwargs)


def _dense(X: Any) -> Array:
    return X.toarray() if sp.issparse(X) else X


def _log_sigmoid(z: Array) -> Array:
    return np.minimum(z, 0) - np.log1p(np.exp(-np.abs(z)))


def _log_softmax(z: Array) -> Array:
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _snapshot(model: Any) -> tuple[dict[str, Array], dict[str, Array]]:
    params = {k: v.copy() for k, v in model.params.items()}
    return params, {k: np.array(v, copy=True) for k, v in model.get_buffers().items()}


def _restore(model: Any, state: tuple[dict[str, Array], dict[str, Array]]) -> None:
    params, buffers = state
    model.params = {k: v.copy() for k, v in params.items()}
    if buffers:
        model.set_buffers(buffers)


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON types, with anything else (a generator, a function, an engine
    object) written as its repr: recipe_ describes, it does not rebuild."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, type):
        return np.dtype(value).name if issubclass(value, np.generic) else value.__name__
    try:
        return to_jsonable(value)
    except TypeError:
        return repr(value)


class _EpochEnd(Callback):
    """scikit-learn's bookkeeping after every epoch of a fit: ``loss_curve_``, the convergence
    test (or early stopping on the validation score), the learning rate of 'invscaling',
    'adaptive' and ``lr_schedule``, and the verbose lines. The Solver also calls
    ``on_epoch_end`` after the very first update; that check is skipped here."""

    def __init__(self, est: _BaseMLP, run: dict[str, Any]) -> None:
        self.est = est
        self.run = run

    def on_train_begin(self, solver: Any) -> None:
        self.est._set_learning_rate(solver, self.run)

    def on_epoch_end(self, solver: Any) -> None:
        if solver.iteration == 0 or solver.iteration % solver.iterations_per_epoch:
            return
        self.est._end_epoch(solver, self.run)


class _EpochBatches:
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


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: validation, the model, the training run."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", *ACTIVATIONS})],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "power_t": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        # scikit-learn allows 1; layerwise's momentum rules need it below 1.
        "momentum": [Interval(numbers.Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_1": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_2": [Interval(numbers.Real, 0, 1, closed="left")],
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(numbers.Integral, 1, None, closed="left"),
            Options(numbers.Real, {np.inf}),
        ],
        "max_fun": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "normalization": [StrOptions({"batchnorm", "layernorm"}), None],
        "weight_init": [StrOptions({"glorot_uniform", "he", "xavier"})],
        "lr_schedule": [None, StrOptions(set(SCHEDULES)), dict, callable],
        "dtype": [StrOptions({"float32", "float64"}), Options(type, {np.float32, np.float64})],
        "engine": [StrOptions({"numpy"}), HasMethods(["attach", "step", "sync", "reset"])],
    }

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
    _best_state: tuple[dict[str, Array], dict[str, Array]]
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

    # ----------------------------------------------------------------------------------------
    # set-up

    def _np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        if not all(isinstance(h, numbers.Integral) and not isinstance(h, bool) for h in sizes):
            raise ConfigError(
                f"hidden_layer_sizes must hold integers; got {self.hidden_layer_sizes!r}",
                "hidden_layer_sizes",
            )
        if any(h <= 0 for h in sizes):
            raise ConfigError(f"hidden_layer_sizes must be > 0, got {sizes}.", "hidden_layer_sizes")
        return [int(h) for h in sizes]

    def _check_supported(self) -> None:
        if self.solver == "lbfgs":
            raise ConfigError(
                "solver='lbfgs' is not available in layerwise, which trains by minibatch "
                "updates; use solver='adam' (the default) or 'sgd'",
                "solver",
            )
        if self.activation == "identity":
            raise ConfigError(
                "activation='identity' is not available in layerwise; use one of "
                f"{sorted(ACTIVATIONS)} (or hidden_layer_sizes=() for a linear model)",
                "activation",
            )

    def _update_rule(self) -> tuple[str, dict[str, float]]:
        lr = float(self.learning_rate_init)
        if self.solver == "adam":
            return "adam", {
                "learning_rate": lr,
                "beta1": float(self.beta_1),
                "beta2": float(self.beta_2),
                "epsilon": float(self.epsilon),
            }
        if self.momentum > 0:
            rule = "nesterov_momentum" if self.nesterovs_momentum else "sgd_momentum"
            return rule, {"learning_rate": lr, "momentum": float(self.momentum)}
        return "sgd", {"learning_rate": lr}

    def _sgd_schedule(self) -> str:
        """scikit-learn's learning_rate, which only solver='sgd' follows."""
        return self.learning_rate if self.solver == "sgd" else "constant"

    # ----------------------------------------------------------------------------------------
    # the training run

    def _fit(
        self, X: Any, y: Any, sample_weight: Any = None, incremental: bool = False
    ) -> _BaseMLP:
        hidden = self._hidden_sizes()
        self._check_supported()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, targets, layout = self._validate_input(X, y, incremental, reset=first_pass)
        X = _dense(X)
        n_features = X.shape[1]
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        weights = _combine_weights(sample_weight, layout["class_weights"])
        if weights is not None and not (isinstance(self.engine, str) and self.engine == "numpy"):
            raise ConfigError(
                "sample_weight and class_weight need engine='numpy' (the framework engines "
                "train on unweighted batches)",
                "engine",
            )

        rs = check_random_state(self.random_state)
        architecture = {
            "dims": [n_features, *hidden, layout["n_outputs"]],
            "activation": ACTIVATIONS[self.activation],
            "normalization": self.normalization,
            "dtype": self._np_dtype().name,
            "task": layout["task"],
            "loss": layout["loss"],
        }
        if first_pass:
            self._initialize(architecture, layout, rs)
        else:
            self._check_continuation(architecture)
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

        X_train, y_train, w_train = X, targets, weights
        X_val, y_val, w_val = X, targets, None
        if self.early_stopping:
            arrays = [X, targets] + ([] if weights is None else [weights])
            parts = train_test_split(
                *arrays,
                random_state=rs,
                test_size=self.validation_fraction,
                stratify=layout["stratify"],
            )
            X_train, X_val, y_train, y_val = parts[:4]
            if weights is not None:
                w_train, w_val = parts[4], parts[5]
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset."
                )
        if w_train is not None:
            if not np.any(w_train > 0):
                raise ValueError("sample_weight: the training examples' weights are all zero")
            keep = w_train > 0  # a weight of 0 contributes nothing: leave the example out
            if not keep.all():
                X_train, y_train, w_train = X_train[keep], y_train[keep], w_train[keep]
        n_train = X_train.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_train)
        else:
            if self.batch_size > n_train:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is going "
                    "to be clipped",
                    stacklevel=3,
                )
            batch_size = int(np.clip(self.batch_size, 1, n_train))
        # scikit-learn's epoch is ceil(n / batch_size) updates; the Solver's is
        # n // its batch_size updates, so give it the batch size that makes as many.
        solver_batch = n_train // math.ceil(n_train / batch_size)
        mean_weight = 1.0 if w_train is None else float(np.mean(w_train))
        nominal_reg = float(self.alpha) / (batch_size * mean_weight * layout["loss_scale"])
        self.model_.reg = nominal_reg

        rule, optim_config = self._update_rule()
        previous = getattr(self, "_optimizer", None)
        if incremental and previous is not None and previous["rule"] == rule:
            optimizer = previous
        else:  # a new optimizer for every fit, as scikit-learn's
            optimizer = {"rule": rule, "configs": None, "epochs": 0, "lr_factor": 1.0}
        self._optimizer = optimizer

        seed = int(rs.randint(np.iinfo(np.int32).max))
        if not first_pass:  # continuing: other minibatches than the last call's
            seed = int(np.random.SeedSequence([seed, len(self.loss_curve_)]).generate_state(1)[0])
        engine = _EpochBatches(
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
            num_train_samples=MONITOR_SAMPLES,
            num_val_samples=None if self.early_stopping else MONITOR_SAMPLES,
            verbose=False,
            seed=seed,
            restore_best=False,
            divergence_factor=None,
            callbacks=[_EpochEnd(self, run)],
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
        self.recipe_ = self._recipe(solver, layout)
        stopped = solver.stopped_by
        if stopped is not None and stopped.kind == "diverged":
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain "
                f"large values and need to be preprocessed. ({stopped.message})"
            )
        if self.early_stopping:
            _restore(self.model_, self._best_state)
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
        dims = architecture["dims"]
        extra: dict[str, Any] = {"huber_delta": float(getattr(self, "huber_delta", 1.0))}
        if layout["loss"] != "huber":
            extra = {}
        rng = np.random.default_rng(rs.randint(np.iinfo(np.int32).max))
        glorot = self.weight_init == "glorot_uniform"
        self.model_ = FullyConnectedNet(
            dims[1:-1],
            input_dim=dims[0],
            num_classes=dims[-1],
            dropout=float(self.dropout),
            normalization=self.normalization,
            activation=architecture["activation"],
            weight_init="xavier" if glorot else self.weight_init,
            dtype=self._np_dtype(),
            rng=rng,
            task=layout["task"],
            loss=layout["loss"],
            **extra,
        )
        if glorot:  # scikit-learn's: weights and biases uniform in +-sqrt(f / (fan_in + fan_out))
            factor = 2.0 if self.activation == "logistic" else 6.0
            params = self.model_.params
            for i in range(1, self.model_.num_layers + 1):
                w, b = params[f"theta{i}"], params[f"theta{i}_0"]
                bound = math.sqrt(factor / (w.shape[0] + w.shape[1]))
                w[...] = rng.uniform(-bound, bound, w.shape)
                b[...] = rng.uniform(-bound, bound, b.shape)
        self._architecture = architecture
        self.n_outputs_ = dims[-1]
        self.n_layers_ = len(dims)
        self.out_activation_ = layout["out_activation"]
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self._no_improvement_count = 0
        self.best_loss_, self.validation_scores_, self.best_validation_score_ = np.inf, None, None
        self._best_state = _snapshot(self.model_)
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

    def _set_learning_rate(self, solver: Any, run: dict[str, Any]) -> float:
        optimizer = self._optimizer
        factor = run["schedule"](optimizer["epochs"])
        try:
            lr = float(self.learning_rate_init) * float(factor) * optimizer["lr_factor"]
        except (TypeError, ValueError, OverflowError):
            lr = math.nan
        if not (math.isfinite(lr) and lr >= 0):
            raise ConfigError(
                f"lr_schedule returned {factor!r} at epoch {optimizer['epochs']}; expected a "
                "finite number >= 0",
                "lr_schedule",
            )
        for config in solver.optim_configs.values():
            config["learning_rate"] = lr
        return lr

    def _end_epoch(self, solver: Any, run: dict[str, Any]) -> None:
        loss = run["engine"].take_epoch_loss() * run["loss_scale"]
        self.n_iter_ += 1
        self.t_ += run["n_train"]
        self.loss_ = loss
        self.loss_curve_.append(loss)
        if self.verbose:
            print("Iteration %d, loss = %.8f" % (self.n_iter_, loss))
        if self.early_stopping:
            score = self._validation_score(solver, run)
            assert self.validation_scores_ is not None and self.best_validation_score_ is not None
            self.validation_scores_.append(score)
            if self.verbose:
                print("Validation score: %f" % score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_state = _snapshot(self.model_)
        else:
            assert self.best_loss_ is not None
            if loss > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, loss)

        optimizer = self._optimizer
        optimizer["epochs"] += 1
        schedule = self._sgd_schedule()
        if schedule == "invscaling":
            optimizer["lr_factor"] = 1.0 / (self.t_ + 1) ** float(self.power_t)
        if self._no_improvement_count > self.n_iter_no_change:
            what = "Validation score" if self.early_stopping else "Training loss"
            msg = "%s did not improve more than tol=%f for %d consecutive epochs." % (
                what,
                self.tol,
                self.n_iter_no_change,
            )
            lr = self._set_learning_rate(solver, run)
            if schedule == "adaptive" and lr > 1e-6:
                optimizer["lr_factor"] /= 5.0
                self._no_improvement_count = 0
                if self.verbose:
                    print(msg + " Setting learning rate to %f" % (lr / 5.0))
            else:
                if self.verbose:
                    small = " Learning rate too small." if schedule == "adaptive" else ""
                    print(msg + small + " Stopping.")
                solver.stop("early_stopping", msg)
                return
        self._set_learning_rate(solver, run)
        if not run["incremental"] and self.n_iter_ == self.max_iter:
            run["max_iter_reached"] = True

    def _validation_score(self, solver: Any, run: dict[str, Any]) -> float:
        """The task's score on the held-out set: the Solver's, or weighted by the held-out
        examples' weights (scikit-learn scores with them)."""
        if run["w_val"] is None:
            return float(solver.val_acc_history[-1])
        outputs = self._forward(run["X_val"])
        y_val = run["y_val"]
        if y_val.ndim == 1 and outputs.ndim == 2 and run["task"] != "classification":
            y_val = y_val.reshape(outputs.shape)
        return float(get_task(run["task"]).score(outputs, y_val, run["w_val"]))

    def _recipe(self, solver: Any, layout: dict[str, Any]) -> dict[str, Any]:
        return _jsonable(
            {
                "estimator": type(self).__name__,
                "params": self.get_params(deep=False),
                "model": {"class": type(self.model_).__name__, **self.model_.get_config()},
                "task": layout["task"],
                "loss": layout["loss"],
                "update_rule": solver.update_rule_name,
                "optim_config": solver.optim_config,
                "batch_size": solver.batch_size,
                "num_epochs": solver.num_epochs,
                "iterations_per_epoch": solver.iterations_per_epoch,
            }
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
        X = _validate_data(
            self, X, reset=False, accept_sparse=["csr", "csc"], dtype=self.model_.dtype
        )
        return self._forward(_dense(X))

    # ----------------------------------------------------------------------------------------
    # saving without pickle

    _FITTED_JSON = (
        "n_features_in_",
        "n_outputs_",
        "n_layers_",
        "out_activation_",
        "n_iter_",
        "t_",
        "loss_",
        "loss_curve_",
        "best_loss_",
        "validation_scores_",
        "best_validation_score_",
        "recipe_",
        "_no_improvement_count",
        "_architecture",
    )

    def save(self, path: PathLike) -> Path:
        """Write the fitted estimator to ``path`` (``.npz``, or a folder -> ``model.npz``) and
        the JSON beside it; returns the ``.npz`` path. No pickle: see the module's doc."""
        check_is_fitted(self, "model_")
        params: dict[str, Any] = {}
        replaced: list[str] = []
        for name, value in self.get_params(deep=False).items():
            if name == "class_weight" and isinstance(value, dict):
                value = {"pairs": [[to_jsonable(k), float(v)] for k, v in value.items()]}
            elif name == "hidden_layer_sizes" and not isinstance(value, numbers.Integral):
                value = [int(h) for h in value]
            elif name == "dtype":
                value = np.dtype(value).name
            try:
                to_jsonable(value)
            except TypeError:
                replaced.append(name)
                continue
            if isinstance(value, float) and not math.isfinite(value):
                value = {"float": repr(value)}  # n_iter_no_change=np.inf
            params[name] = value
        if replaced:
            warnings.warn(
                f"{type(self).__name__}.save: the parameter(s) {replaced} cannot be written to "
                "JSON; the loaded estimator has their defaults (they only affect training)",
                UserWarning,
                stacklevel=2,
            )
        fitted = {k: getattr(self, k) for k in self._FITTED_JSON if hasattr(self, k)}
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = [str(f) for f in self.feature_names_in_]
        if hasattr(self, "classes_"):
            fitted["classes_"] = _classes_to_json(self.classes_)
        fitted.update(self._layout_to_json())
        entry = {
            "class": type(self).__name__,
            "version": SAVE_VERSION,
            "params": params,
            "fitted": fitted,
        }
        to_jsonable(entry)  # fails (TypeError) before any file is written
        npz_path = save_model(self.model_, path)
        json_path = npz_path.with_suffix(".json")
        meta = read_json(json_path)
        meta["estimator"] = entry
        write_json(json_path, meta)
        return npz_path

    @classmethod
    def load(cls, path: PathLike) -> Any:
        """Read an estimator written by :meth:`save` (``np.load(allow_pickle=False)``)."""
        model = load_model(path)
        npz_path = Path(path)
        if npz_path.is_dir():
            npz_path = npz_path / "model.npz"
        json_path = npz_path.with_suffix(".json")
        entry = read_json(json_path).get("estimator")
        if not isinstance(entry, dict) or entry.get("version") != SAVE_VERSION:
            raise ModelFileError(
                f"{json_path} holds a layerwise model but no {cls.__name__} (write it with "
                f"{cls.__name__}.save)"
            )
        if entry.get("class") != cls.__name__:
            raise ModelFileError(f"{json_path} holds a {entry.get('class')}, not a {cls.__name__}")
        params, fitted = entry.get("params"), entry.get("fitted")
        known = set(cls().get_params(deep=False))
        if not (isinstance(params, dict) and isinstance(fitted, dict)) or set(params) - known:
            raise ModelFileError(
                f"{json_path}: the estimator entry is damaged (expected 'params' with names "
                f"among {sorted(known)} and 'fitted')"
            )
        params = dict(params)
        if isinstance(params.get("class_weight"), dict):
            params["class_weight"] = {k: v for k, v in params["class_weight"]["pairs"]}
        if isinstance(params.get("hidden_layer_sizes"), list):
            params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        for name, value in params.items():
            if isinstance(value, dict) and set(value) == {"float"}:
                params[name] = float(value["float"])
        est = cls(**params)
        fitted = dict(fitted)
        if "feature_names_in_" in fitted:
            est.feature_names_in_ = np.asarray(fitted.pop("feature_names_in_"), dtype=object)
        if "classes_" in fitted:
            est.classes_ = _classes_from_json(fitted.pop("classes_"))
        est._layout_from_json(fitted)
        for name in cls._FITTED_JSON:
            if name in fitted:
                setattr(est, name, fitted[name])
        if est.early_stopping:
            est.best_loss_ = None
            if est.best_validation_score_ is None:
                est.best_validation_score_ = -np.inf
        elif est.best_loss_ is None:
            est.best_loss_ = np.inf
        est.model_ = model
        est._best_state = _snapshot(model)
        return est

    def _layout_to_json(self) -> dict[str, Any]:
        return {}

    def _layout_from_json(self, fitted: dict[str, Any]) -> None:
        pass


def _classes_to_json(classes: Array) -> dict[str, Any]:
    values = classes.tolist()
    ok = all(isinstance(v, (str, bool, int, float)) for v in values)
    if not ok:
        raise TypeError(
            f"save: classes_ of dtype {classes.dtype} hold values JSON cannot store "
            f"({values[:3]!r}...); use pickle for such labels"
        )
    return {"values": values, "dtype": classes.dtype.str}


def _classes_from_json(entry: dict[str, Any]) -> Array:
    dtype = np.dtype(entry["dtype"])
    if dtype.kind == "O":
        out = np.empty(len(entry["values"]), dtype=object)
        out[:] = entry["values"]
        return out
    return np.asarray(entry["values"], dtype=dtype)


def _combine_weights(sample_weight: Array | None, class_weights: Array | None) -> Array | None:
    if sample_weight is None:
        return class_weights
    if class_weights is None:
        return sample_weight
    return sample_weight * class_weights


def _encode(y: Array, classes: Array) -> Array:
    """Indices of ``y``'s labels in ``classes`` (sorted, as unique_labels gives them)."""
    if classes.dtype.kind in "biufUS" and y.dtype.kind in "biufUS":
        idx = np.searchsorted(classes, y)
        idx = np.clip(idx, 0, len(classes) - 1)
        if np.all(classes[idx] == y):
            return idx.astype(np.int64)
    table = {c: i for i, c in enumerate(classes.tolist())}
    try:
        return np.fromiter((table[v] for v in y.tolist()), dtype=np.int64, count=len(y))
    except KeyError as e:
        raise ValueError(
            f"y contains previously unseen labels: {e.args[0]!r} (classes_ are {classes})"
        ) from None


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier (scikit-learn's ``MLPClassifier``, trained by
    layerwise): softmax over the classes, one logistic output for two, and independent
    logistic outputs for a 0/1 indicator matrix (multi-label). See the module's doc for the
    parameters and the fitted attributes."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **_BaseMLP._parameter_constraints,
        "loss": [StrOptions({"log_loss", "softmax"}), None],
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    classes_: Array
    _layout: str

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: Any = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: Any = 10,
        max_fun: int = 15000,
        loss: str | None = None,
        class_weight: Any = None,
        dropout: float = 0.0,
        normalization: str | None = None,
        weight_init: str = "glorot_uniform",
        lr_schedule: Any = None,
        dtype: Any = "float32",
        engine: Any = "numpy",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.loss = loss
        self.class_weight = class_weight
        self.dropout = dropout
        self.normalization = normalization
        self.weight_init = weight_init
        self.lr_schedule = lr_schedule
        self.dtype = dtype
        self.engine = engine

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPClassifier:
        """Train on X (n_samples, n_features) and the labels y: (n_samples,) of any type, or
        an (n_samples, k) 0/1 indicator matrix (multi-label). Returns self."""
        self._fit(X, y, sample_weight=sample_weight, incremental=False)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> MLPClassifier:
        """Train one epoch on (X, y), continuing the network and the optimizer; ``classes``
        (every label there will be) is required on the first call. Returns self."""
        if getattr(self, "classes_", None) is None and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is not None:
            if getattr(self, "classes_", None) is not None:
                if not np.array_equal(self.classes_, unique_labels(classes)):
                    raise ValueError(
                        "`classes=%r` is not the same as on last call to partial_fit, was: %r"
                        % (classes, self.classes_)
                    )
            else:
                self.classes_ = unique_labels(classes)
        self._fit(X, y, sample_weight=sample_weight, incremental=True)
        return self

    def _validate_input(
        self, X: Any, y: Any, incremental: bool, reset: bool
    ) -> tuple[Array, Array, dict[str, Any]]:
        X, y = _validate_data(
            self,
            X,
            y,
            reset=reset,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=self._np_dtype(),
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y")
        if y_type not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(
                f"{type(self).__name__} does not support targets of type {y_type!r}: give "
                "labels (n_samples,) or a 0/1 indicator matrix (n_samples, n_labels)"
            )
        multilabel = y_type == "multilabel-indicator"
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self.classes_ = unique_labels(y)
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        if multilabel:
            layout = "multilabel"
        elif len(self.classes_) <= 2 and self.loss in (None, "log_loss"):
            layout = "binary"
        else:
            layout = "multiclass"
        if not reset and getattr(self, "_layout", layout) != layout:
            raise ValueError(
                f"y is a {layout} target, but the fitted network is {self._layout}; fit anew "
                "with warm_start=False"
            )
        self._layout = layout

        class_weights = None
        stratify = None
        if layout == "multilabel":
            if self.class_weight is not None:
                raise ConfigError("class_weight does not apply to multi-label targets")
            targets = np.asarray(y, dtype=np.int64)
            n_out = targets.shape[1]
            spec = ("multilabel", "sigmoid_cross_entropy", n_out, "logistic", float(n_out))
        else:
            idx = _encode(y, self.classes_)
            stratify = idx
            class_weights = self._class_weights(idx)
            if layout == "binary":
                targets = (idx == 1).astype(np.int64).reshape(-1, 1)
                spec = ("multilabel", "sigmoid_cross_entropy", 1, "logistic", 1.0)
            else:
                targets = idx
                n_classes = len(self.classes_)
                spec = ("classification", "softmax", n_classes, "softmax", 1.0)
        task, loss, n_out, out_activation, loss_scale = spec
        return (
            X,
            targets,
            {
                "task": task,
                "loss": loss,
                "n_outputs": n_out,
                "out_activation": out_activation,
                "loss_scale": loss_scale,
                "stratify": stratify,
                "class_weights": class_weights,
            },
        )

    def _class_weights(self, idx: Array) -> Array | None:
        """Per-example weights from class_weight (None: none)."""
        cw = self.class_weight
        if cw is None:
            return None
        n_classes = len(self.classes_)
        if isinstance(cw, str):  # 'balanced', over the classes present in y
            counts = np.bincount(idx, minlength=n_classes).astype(np.float64)
            present = int(np.count_nonzero(counts))
            table = np.where(counts > 0, len(idx) / (present * np.maximum(counts, 1)), 1.0)
        else:
            labels = self.classes_.tolist()
            unknown = [k for k in cw if k not in labels]
            if unknown:
                raise ConfigError(
                    f"class_weight has label(s) {unknown} that are not classes of y "
                    f"({labels}); key it by the original labels",
                    "class_weight",
                )
            table = np.array([float(cw.get(label, 1.0)) for label in labels])
            if not (np.isfinite(table).all() and (table >= 0).all()):
                raise ConfigError(
                    f"class_weight must map labels to finite numbers >= 0; got {cw!r}",
                    "class_weight",
                )
        return table[idx]

    def _layout_to_json(self) -> dict[str, Any]:
        return {"_layout": self._layout}

    def _layout_from_json(self, fitted: dict[str, Any]) -> None:
        self._layout = str(fitted["_layout"])

    # ----------------------------------------------------------------------------------------

    def predict_proba(self, X: Any) -> Array:
        """Class probabilities (n_samples, n_classes), in the order of ``classes_``;
        multi-label: each label's probability (n_samples, n_labels)."""
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X: Any) -> Array:
        """The logarithm of :meth:`predict_proba`, computed without underflow."""
        out = self._outputs(X)
        if self._layout == "multiclass":
            return _log_softmax(out)
        if self._layout == "multilabel":
            return _log_sigmoid(out)
        if len(self.classes_) == 1:
            return np.zeros((out.shape[0], 1))
        z = out[:, 0]
        return np.column_stack([_log_sigmoid(-z), _log_sigmoid(z)])

    def predict(self, X: Any) -> Array:
        """The labels of X (n_samples,) as given to fit; multi-label: the 0/1 indicator
        matrix (n_samples, n_labels)."""
        log_proba = self.predict_log_proba(X)
        if self._layout == "multilabel":
            return (log_proba > math.log(0.5)).astype(np.int64)
        return self.classes_[np.argmax(log_proba, axis=1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor (scikit-learn's ``MLPRegressor``, trained by
    layerwise): linear outputs, one per target, with the squared error (or layerwise's MAE or
    Huber loss). See the module's doc for the parameters and the fitted attributes."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **_BaseMLP._parameter_constraints,
        "loss": [StrOptions({"poisson", *REGRESSION_LOSSES})],
        "huber_delta": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: Any = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: Any = 10,
        max_fun: int = 15000,
        huber_delta: float = 1.0,
        dropout: float = 0.0,
        normalization: str | None = None,
        weight_init: str = "glorot_uniform",
        lr_schedule: Any = None,
        dtype: Any = "float32",
        engine: Any = "numpy",
    ) -> None:
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.huber_delta = huber_delta
        self.dropout = dropout
        self.normalization = normalization
        self.weight_init = weight_init
        self.lr_schedule = lr_schedule
        self.dtype = dtype
        self.engine = engine

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Train on X (n_samples, n_features) and the targets y (n_samples,) or
        (n_samples, n_targets). Returns self."""
        self._fit(X, y, sample_weight=sample_weight, incremental=False)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Train one epoch on (X, y), continuing the network and the optimizer. Returns self."""
        self._fit(X, y, sample_weight=sample_weight, incremental=True)
        return self

    def _validate_input(
        self, X: Any, y: Any, incremental: bool, reset: bool
    ) -> tuple[Array, Array, dict[str, Any]]:
        if self.loss == "poisson":
            raise ConfigError(
                "loss='poisson' is not available in layerwise; use one of "
                f"{sorted(REGRESSION_LOSSES)}",
                "loss",
            )
        X, y = _validate_data(
            self,
            X,
            y,
            reset=reset,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=self._np_dtype(),
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        y = np.asarray(y, dtype=np.float64)
        n_out = 1 if y.ndim == 1 else y.shape[1]
        return (
            X,
            y,
            {
                "task": "regression",
                "loss": REGRESSION_LOSSES[self.loss],
                "n_outputs": n_out,
                "out_activation": "identity",
                "loss_scale": 1.0,
                "stratify": None,
                "class_weights": None,
            },
        )

    def predict(self, X: Any) -> Array:
        """Predictions (n_samples,) for one target, else (n_samples, n_targets), as float64."""
        out = self._outputs(X)
        return out[:, 0] if out.shape[1] == 1 else out
