"""Preprocessing fitted on the training images and applied to every split: what MLPs need on
CIFAR-10 beyond the seed's mean image.

``--preprocess`` (the recipe's ``preprocess``) is one of:

- ``none`` (default): the dataset as its loader gives it (CIFAR-10: the training mean image
  subtracted, as in the seed; MNIST: pixels in [0, 1]);
- ``standardize``: then each channel divided by its standard deviation over the training
  images (and its mean subtracted), so every input has about unit scale whatever the data's
  units;
- ``zca`` or ``zca:EPS``: standardised, then ZCA-whitened: every image multiplied by
  ``W = U diag(1 / sqrt(lambda + EPS)) U^T`` of the eigendecomposition ``U diag(lambda) U^T``
  of the training images' covariance (Bell & Sejnowski 1997; Krizhevsky 2009 for CIFAR-10).
  It decorrelates neighbouring pixels, which a fully connected layer cannot learn cheaply;
  EPS (default 0.1, in the standardised units where each pixel has variance about 1) keeps
  the directions of smallest variance, noise and JPEG artefacts, from being blown up.

A :class:`Preprocessor` is fitted on ``X_train`` only (the validation and test images never
inform it), saved with the run (``preprocess.npz``, read with ``allow_pickle=False``) and
applied by ``layerwise evaluate`` from that file, so a run is measured with exactly the
transform it was trained with.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from layerwise.errors import ConfigError

__all__ = ["PREPROCESSING", "Preprocessor", "check_preprocess"]

#: The kinds of preprocessing, by name.
PREPROCESSING = ("none", "standardize", "zca")
#: ZCA's default EPS, in standardised units (pixels of variance about 1).
ZCA_EPSILON = 0.1
_ROWS = 4096  # rows per chunk of the covariance and the transform


def check_preprocess(value: Any, name: str = "preprocess") -> str:
    """``value`` normalised: ``none``, ``standardize`` or ``zca:EPS`` (``zca`` alone gets the
    default EPS written out, so that a recipe says which it used)."""
    what = f"{name} must be" if name else "expected"  # name "": the message of a flag
    prefix = f"{name}: " if name else ""
    if not isinstance(value, str):
        raise ConfigError(f"{what} one of none, standardize, zca[:EPS]; got {value!r}", name)
    kind, sep, eps = value.partition(":")
    if kind not in PREPROCESSING or (sep and kind != "zca"):
        raise ConfigError(f"{what} one of none, standardize, zca[:EPS]; got {value!r}", name)
    if kind != "zca":
        return kind
    try:
        epsilon = float(eps) if sep else ZCA_EPSILON
    except ValueError:
        epsilon = math.nan
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise ConfigError(f"{prefix}zca's EPS must be a number > 0; got {eps!r} in {value!r}", name)
    return f"zca:{epsilon:g}"


class Preprocessor:
    """Per-channel standardisation, optionally followed by ZCA whitening.

    Args:
        kind: ``standardize`` or ``zca:EPS`` (:func:`check_preprocess`).
        channels: the number of channels; an example is (C, H, W) or C * H * W values, channel
            major (CIFAR-10: 3; MNIST and digits: 1).

    Learned by :meth:`fit` (float64): ``mean_``, ``std_`` (C,) per channel; for ZCA also
    ``feature_mean_`` (D,) and ``whitening_`` (D, D), symmetric.
    """

    def __init__(self, kind: str, channels: int = 1) -> None:
        self.kind = check_preprocess(kind)
        if self.kind == "none":
            raise ConfigError("Preprocessor: kind 'none' needs no preprocessor", "preprocess")
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ConfigError(f"channels must be an integer >= 1; got {channels!r}")
        self.channels = channels
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None
        self.feature_mean_: np.ndarray | None = None
        self.whitening_: np.ndarray | None = None
        self.n_features_: int | None = None

    def __repr__(self) -> str:
        fitted = "fitted" if self.mean_ is not None else "not fitted"
        return f"Preprocessor({self.kind!r}, channels={self.channels}, {fitted})"

    @property
    def epsilon(self) -> float | None:
        return float(self.kind.partition(":")[2]) if self.kind.startswith("zca") else None

    def _flat(self, X: np.ndarray, what: str) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim < 2 or not np.issubdtype(X.dtype, np.floating):
            raise ConfigError(f"{what}: expected a float array (n, ...); got {X.dtype} {X.shape}")
        flat = X.reshape(len(X), -1)
        if flat.shape[1] % self.channels:
            raise ConfigError(
                f"{what}: {flat.shape[1]} values per example do not split into "
                f"{self.channels} channels"
            )
        return flat

    def fit(self, X: np.ndarray) -> Preprocessor:
        """Learn the statistics of the training images X (n, ...); returns self."""
        flat = self._flat(X, "Preprocessor.fit")
        n, d = flat.shape
        if n < 2:
            raise ConfigError(f"Preprocessor.fit needs at least 2 examples; got {n}")
        per_channel = flat.reshape(n, self.channels, -1)
        self.mean_ = per_channel.mean(axis=(0, 2), dtype=np.float64)
        var = np.zeros(self.channels)
        for start in range(0, n, _ROWS):
            chunk = per_channel[start : start + _ROWS].astype(np.float64)
            var += ((chunk - self.mean_[:, None]) ** 2).sum(axis=(0, 2))
        std = np.sqrt(var / (n * per_channel.shape[2]))
        self.std_ = np.where(std > 0, std, 1.0)  # a constant channel is left as it is
        self.n_features_ = d
        if self.epsilon is None:
            return self
        # The covariance of the standardised images, by chunks (float32 products, float64 sums:
        # a float64 product of 50,000 x 3,072 would take minutes and 1.2 GB).
        scale = np.repeat(1.0 / self.std_, d // self.channels)
        shift = np.repeat(self.mean_, d // self.channels)
        total = np.zeros(d)
        cov = np.zeros((d, d))
        for start in range(0, n, _ROWS):
            z = ((flat[start : start + _ROWS] - shift) * scale).astype(np.float32)
            total += z.sum(axis=0, dtype=np.float64)
            cov += z.T @ z
        self.feature_mean_ = total / n
        cov = cov / n - np.outer(self.feature_mean_, self.feature_mean_)
        eigenvalues, vectors = np.linalg.eigh(cov)
        eigenvalues = np.maximum(eigenvalues, 0.0)
        self.whitening_ = (vectors / np.sqrt(eigenvalues + self.epsilon)) @ vectors.T
        return self

    def transform(self, X: np.ndarray, inplace: bool = False) -> np.ndarray:
        """X preprocessed, same shape and dtype (in place into X with ``inplace``)."""
        if self.mean_ is None or self.std_ is None:
            raise ConfigError("Preprocessor.transform before fit (or load)", "preprocess")
        X = np.asarray(X)
        flat = self._flat(X, "Preprocessor.transform")
        out = X if inplace else np.empty_like(X)
        out_flat = out.reshape(len(out), -1)
        d = flat.shape[1]
        if d != self.n_features_:
            raise ConfigError(
                f"Preprocessor.transform: {d} values per example; it was fitted on "
                f"{self.n_features_}",
                "preprocess",
            )
        dtype = X.dtype
        scale = np.repeat(1.0 / self.std_, d // self.channels).astype(dtype)
        shift = np.repeat(self.mean_, d // self.channels).astype(dtype)
        whitening = None
        if self.whitening_ is not None and self.feature_mean_ is not None:
            whitening = self.whitening_.astype(dtype)
            shift = shift + (self.feature_mean_ / scale).astype(dtype)  # centre, then scale
        for start in range(0, len(flat), _ROWS):
            z = (flat[start : start + _ROWS] - shift) * scale
            out_flat[start : start + _ROWS] = z if whitening is None else z @ whitening
        return out

    def fit_transform(self, X: np.ndarray, inplace: bool = False) -> np.ndarray:
        return self.fit(X).transform(X, inplace=inplace)

    # ----------------------------------------------------------------------------------------
    # the file

    def save(self, path: str | Path) -> Path:
        """Write ``preprocess.npz`` (atomically); :meth:`load` reads it back."""
        from layerwise.io import write_npz

        if self.mean_ is None or self.std_ is None:
            raise ConfigError("Preprocessor.save before fit", "preprocess")
        arrays: dict[str, np.ndarray] = {
            "kind": np.array(self.kind),
            "channels": np.array(self.channels),
            "mean": self.mean_,
            "std": self.std_,
            "n_features": np.array(self.n_features_),
        }
        if self.whitening_ is not None and self.feature_mean_ is not None:
            arrays["feature_mean"] = self.feature_mean_
            arrays["whitening"] = self.whitening_.astype(np.float32)
        write_npz(path, arrays)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> Preprocessor:
        """The preprocessor :meth:`save` wrote; ConfigError naming a damaged file."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
            pre = cls(str(arrays["kind"]), int(arrays["channels"]))
            pre.mean_ = arrays["mean"].astype(np.float64)
            pre.std_ = arrays["std"].astype(np.float64)
            pre.n_features_ = int(arrays["n_features"])
            if pre.epsilon is not None:
                pre.feature_mean_ = arrays["feature_mean"].astype(np.float64)
                pre.whitening_ = arrays["whitening"].astype(np.float64)
        except (OSError, ValueError, KeyError, EOFError) as e:
            raise ConfigError(f"{path} is not a readable preprocessing file ({e})", "run") from None
        if pre.mean_.shape != (pre.channels,) or pre.std_.shape != (pre.channels,):
            raise ConfigError(f"{path} is damaged: its statistics do not match its channels")
        return pre
