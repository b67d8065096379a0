"""The classifier: :class:`MLPClassifier`, its targets (labels, or a 0/1 indicator matrix for
multi-label) and their layout on the network's outputs, class weights, and probabilities."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils import column_or_1d
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels

from layerwise.errors import ConfigError
from layerwise.sklearn._base import _BaseMLP
from layerwise.sklearn._data import validate_data
from layerwise.sklearn._params import CLASSIFIER_CONSTRAINTS

Array = np.ndarray


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier (scikit-learn's ``MLPClassifier``, trained by
    layerwise): softmax over the classes, one logistic output for two, and independent
    logistic outputs for a 0/1 indicator matrix (multi-label). See :mod:`layerwise.sklearn`
    for the parameters and the fitted attributes."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = CLASSIFIER_CONSTRAINTS

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
        X, y = validate_data(
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
            idx = encode(y, self.classes_)
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
            return log_softmax(out)
        if self._layout == "multilabel":
            return log_sigmoid(out)
        if len(self.classes_) == 1:
            return np.zeros((out.shape[0], 1))
        z = out[:, 0]
        return np.column_stack([log_sigmoid(-z), log_sigmoid(z)])

    def predict(self, X: Any) -> Array:
        """The labels of X (n_samples,) as given to fit; multi-label: the 0/1 indicator
        matrix (n_samples, n_labels)."""
        log_proba = self.predict_log_proba(X)
        if self._layout == "multilabel":
            return (log_proba > math.log(0.5)).astype(np.int64)
        return self.classes_[np.argmax(log_proba, axis=1)]


def encode(y: Array, classes: Array) -> Array:
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


def log_sigmoid(z: Array) -> Array:
    """log(sigmoid(z)), without overflow."""
    return np.minimum(z, 0) - np.log1p(np.exp(-np.abs(z)))


def log_softmax(z: Array) -> Array:
    """log(softmax(z)) over each row, without overflow."""
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
