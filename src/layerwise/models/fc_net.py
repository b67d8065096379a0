"""FullyConnectedNet: any number of hidden layers, with dropout and batch/layer norm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from layerwise.errors import ConfigError
from layerwise.models.base import AffineStackNet, check_positive_int


class FullyConnectedNet(AffineStackNet):
    """A fully connected network of any depth with a softmax loss.

    ``{affine - [batch/layer norm] - activation - [dropout]} x (L - 1) - affine - softmax``

    Parameters: ``theta{i}``, ``theta{i}_0`` for every affine layer i = 1..L, and ``gamma{i}``,
    ``beta{i}`` for every normalised hidden layer.

    Inputs:
    - hidden_dims: sizes of the hidden layers, e.g. [512, 512, 512].
    - input_dim: size d of each (flattened) input; num_classes: number of classes C.
    - task: 'classification' (default), 'regression' or 'multilabel' (:mod:`layerwise.tasks`);
      for the last two, num_classes is the number of targets or labels.
    - loss: the task's loss by name (default: 'softmax', 'mse', 'sigmoid_cross_entropy');
      huber_delta: the threshold of the 'huber' loss.
    - dropout: probability of dropping each hidden unit in training (0: no dropout layers).
    - normalization: None, 'batchnorm' or 'layernorm'.
    - activation: 'relu', 'leaky_relu', 'tanh' or 'sigmoid'.
    - reg: L2 strength on the weights; weight_scale: std of the initial weights;
      weight_init: None (use weight_scale), 'he' or 'xavier'.
    - dtype: float32 (default, fast training) or float64 (gradient checks).
    - seed: private generator for the weights and FIXED dropout masks (for gradient checks).
    - rng: a ``np.random.Generator`` for the weights and fresh dropout masks (for training).

    With ``seed=None, rng=None`` and float64, ``FullyConnectedNet([h1, h2], ...)`` draws the same
    weights as ``ThreeLayerNet(hidden_dim_1=h1, hidden_dim_2=h2, ...)`` after the same
    ``np.random.seed``, and computes the same loss.
    """

    def __init__(
        self,
        hidden_dims: Sequence[int],
        input_dim: int = 3 * 32 * 32,
        num_classes: int = 10,
        dropout: float = 0.0,
        normalization: str | None = None,
        activation: str = "relu",
        reg: float = 0.0,
        weight_scale: float = 1e-2,
        weight_init: str | None = None,
        dtype: Any = np.float32,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        task: str = "classification",
        loss: str | None = None,
        huber_delta: float = 1.0,
    ) -> None:
        if isinstance(hidden_dims, (str, bytes)) or not isinstance(hidden_dims, Sequence):
            raise ConfigError(f"hidden_dims must be a list of layer sizes; got {hidden_dims!r}")
        hidden = [check_positive_int(f"hidden_dims[{i}]", h) for i, h in enumerate(hidden_dims)]
        super().__init__(
            [input_dim, *hidden, num_classes],
            weight_scale,
            reg,
            dtype,
            seed,
            activation=activation,
            dropout=dropout,
            normalization=normalization,
            weight_init=weight_init,
            rng=rng,
            task=task,
            loss=loss,
            huber_delta=huber_delta,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            "hidden_dims": self.dims[1:-1],
            "input_dim": self.dims[0],
            "num_classes": self.dims[-1],
            "normalization": self.normalization,
            "weight_init": self.weight_init,
            **self._common_config(),
        }
