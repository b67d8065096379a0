"""What the models share: parameter initialisation, argument checks, and the affine stack.

A model is ``params: dict[str, ndarray]`` plus ``loss(X, y=None)``: class scores of shape
(m, C) when ``y`` is None, else ``(loss, grads)`` with ``grads`` keyed like ``params``.
The Solver relies on nothing else.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from layerwise.layer_utils import ACTIVATIONS, affine_act_backward, affine_act_forward
from layerwise.layers import affine_backward, affine_forward, softmax_loss

Array = np.ndarray


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an int, or raise naming it when it is not a positive integer."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def check_non_negative(name: str, value: Any, strictly_positive: bool = False) -> float:
    """Return ``value`` as a float, or raise when it is not finite and >= 0 (> 0 if strict)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (strictly_positive and value == 0):
        expected = "a finite number > 0" if strictly_positive else "a finite number >= 0"
        raise ValueError(f"{name} must be {expected}; got {value!r}")
    return float(value)


def check_float_dtype(dtype: Any) -> np.dtype:
    """Return ``dtype`` as a NumPy floating dtype (float32 or float64), or raise."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype must be float32 or float64; got {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64; got {dt}")
    return dt


def init_weights(
    dims: Sequence[int], weight_scale: float, dtype: np.dtype, seed: int | None
) -> dict[str, Array]:
    """Weights ``weight_scale * N(0, 1)`` and zero biases for layers ``dims[i] -> dims[i+1]``.

    Keys are ``theta1, theta1_0, theta2, theta2_0, ...``. Without a seed the draws come from
    NumPy's global stream in layer order, exactly as the seed notebook's
    ``weight_scale * np.random.randn(d, h)``, so ``np.random.seed(...)`` before construction
    reproduces a model. With a seed, a private ``np.random.Generator`` is used and the global
    stream is left alone.
    """
    rng = None if seed is None else np.random.default_rng(seed)
    params: dict[str, Array] = {}
    for i, (d_in, d_out) in enumerate(itertools.pairwise(dims), start=1):
        draw = np.random.randn(d_in, d_out) if rng is None else rng.standard_normal((d_in, d_out))
        params[f"theta{i}"] = (weight_scale * draw).astype(dtype, copy=False)
        params[f"theta{i}_0"] = np.zeros(d_out, dtype=dtype)
    return params


class AffineStackNet:
    """``affine - act - ... - affine - act - affine - softmax``, the core models' architecture.

    Subclasses fix the depth and the constructor signature; this class holds the loss.

    Attributes:
    - params: ``theta{i}`` of shape (dims[i-1], dims[i]) and ``theta{i}_0`` of shape (dims[i],).
    - reg: L2 strength; the loss adds ``0.5 * reg * sum(theta**2)`` over the weights only.
    - dtype: the floating dtype of the parameters and of the computation.
    """

    def __init__(
        self,
        dims: Sequence[int],
        weight_scale: float,
        reg: float,
        dtype: Any,
        seed: int | None,
        activation: str = "relu",
    ) -> None:
        self.dims = [check_positive_int(f"layer size {i}", d) for i, d in enumerate(dims)]
        self.weight_scale = check_non_negative("weight_scale", weight_scale, strictly_positive=True)
        self.reg = check_non_negative("reg", reg)
        self.dtype = check_float_dtype(dtype)
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)}"
            )
        self.activation = activation
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(f"seed must be an integer or None; got {seed!r}")
        self.seed = seed
        self.params = init_weights(self.dims, self.weight_scale, self.dtype, seed)

    @property
    def num_layers(self) -> int:
        """Number of affine layers."""
        return len(self.dims) - 1

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, JSON-serialisable (``type(self)(**config)`` rebuilds)."""
        raise NotImplementedError

    # ----------------------------------------------------------------------------------------

    def _check_input(self, X: Any) -> Array:
        X = np.asarray(X, dtype=self.dtype)  # no copy when X already has the model's dtype
        if X.ndim < 2 or int(np.prod(X.shape[1:])) != self.dims[0]:
            raise ValueError(
                f"{type(self).__name__} expects X of shape (m, d_1, ..., d_k) with "
                f"d_1 * ... * d_k = input_dim = {self.dims[0]}; got shape {X.shape}"
            )
        return X

    def loss(self, X: Any, y: Any = None) -> Any:
        """Class scores, or the loss and its gradients, for a minibatch.

        Inputs:
        - X: (m, d_1, ..., d_k) input data.
        - y: (m,) integer labels, or None.

        Returns scores of shape (m, C) when y is None; else (loss, grads) with grads keyed
        like ``self.params``.
        """
        X = self._check_input(X)
        p = self.params
        L = self.num_layers
        caches = []
        out = X
        for i in range(1, L):
            out, cache = affine_act_forward(out, p[f"theta{i}"], p[f"theta{i}_0"], self.activation)
            caches.append(cache)
        scores, last_cache = affine_forward(out, p[f"theta{L}"], p[f"theta{L}_0"])
        if y is None:
            return scores

        loss, dscores = softmax_loss(scores, y)
        grads: dict[str, Array] = {}
        dout, grads[f"theta{L}"], grads[f"theta{L}_0"] = affine_backward(dscores, last_cache)
        for i in range(L - 1, 0, -1):
            dout, grads[f"theta{i}"], grads[f"theta{i}_0"] = affine_act_backward(
                dout, caches[i - 1]
            )
        if self.reg:
            for i in range(1, L + 1):
                w = p[f"theta{i}"]
                loss += 0.5 * self.reg * float(np.sum(w * w))
                grads[f"theta{i}"] += self.reg * w
        return loss, grads

    def predict(self, X: Any, batch_size: int = 1000) -> Array:
        """Predicted class labels (m,) for X (m, d_1, ..., d_k), in batches."""
        X = self._check_input(X)
        batch_size = check_positive_int("batch_size", batch_size)
        chunks = [
            np.argmax(self.loss(X[i : i + batch_size]), axis=1)
            for i in range(0, len(X), batch_size)
        ]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.intp)
