"""The regressor: :class:`MLPRegressor`, linear outputs (one per target) trained on the squared
error, or layerwise's MAE or Huber loss."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils import column_or_1d

from layerwise.errors import ConfigError
from layerwise.sklearn._base import _BaseMLP
from layerwise.sklearn._data import validate_data
from layerwise.sklearn._params import REGRESSION_LOSSES, REGRESSOR_CONSTRAINTS

Array = np.ndarray


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor (scikit-learn's ``MLPRegressor``, trained by
    layerwise): linear outputs, one per target, with the squared error (or layerwise's MAE or
    Huber loss). See :mod:`layerwise.sklearn` for the parameters and the fitted attributes."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = REGRESSOR_CONSTRAINTS

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
        X, y = validate_data(
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
