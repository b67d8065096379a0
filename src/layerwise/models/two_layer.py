"""TwoLayerNet: ``affine - relu - affine - softmax``, the seed notebook's first network."""

from __future__ import annotations

from typing import Any

import numpy as np

from layerwise.models.base import AffineStackNet


class TwoLayerNet(AffineStackNet):
    """A two-layer fully connected network with a softmax loss.

    Input dimension d, hidden dimension h, C classes. Parameters:
    ``theta1`` (d, h), ``theta1_0`` (h,), ``theta2`` (h, C), ``theta2_0`` (C,).

    Inputs:
    - input_dim: size d of each (flattened) input.
    - hidden_dim: size h of the hidden layer.
    - num_classes: number of classes C.
    - task: 'classification' (default), 'regression' or 'multilabel' (:mod:`layerwise.tasks`);
      for the last two, num_classes is the number of targets or labels.
    - loss: the task's loss by name (default: 'softmax', 'mse', 'sigmoid_cross_entropy');
      huber_delta: the threshold of the 'huber' loss.
    - weight_scale: standard deviation of the Gaussian initial weights.
    - reg: L2 regularisation strength.
    - dtype: float64 (default: exact checks) or float32 (fast training).
    - seed: None draws the weights (and dropout masks) from NumPy's global stream; an int uses a
      private generator and fixes the dropout masks (see :class:`AffineStackNet`).
    - activation: 'relu' (default), 'leaky_relu', 'sigmoid' or 'tanh'.
    - dropout: the probability of dropping each hidden unit during training (default 0: off).
    - rng: a ``np.random.Generator`` for the weights and fresh dropout masks (reproducible
      training); takes precedence over the global stream.
    """

    def __init__(
        self,
        input_dim: int = 3 * 32 * 32,
        hidden_dim: int = 100,
        num_classes: int = 10,
        weight_scale: float = 1e-3,
        reg: float = 0.0,
        dtype: Any = np.float64,
        seed: int | None = None,
        activation: str = "relu",
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
        task: str = "classification",
        loss: str | None = None,
        huber_delta: float = 1.0,
    ) -> None:
        super().__init__(
            [input_dim, hidden_dim, num_classes],
            weight_scale,
            reg,
            dtype,
            seed,
            activation,
            dropout,
            rng=rng,
            task=task,
            loss=loss,
            huber_delta=huber_delta,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            "input_dim": self.dims[0],
            "hidden_dim": self.dims[1],
            "num_classes": self.dims[2],
            **self._common_config(),
        }
