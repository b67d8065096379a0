"""New images made into a built-in dataset's model inputs, exactly as its loader makes its own.

A model trained on a built-in image dataset sees the loader's numbers, not pixels:

- ``digits``: 8x8 values 0..16, divided by 16;
- ``mnist``: 28x28 values 0..255, divided by 255;
- ``cifar10``: 32x32 RGB values 0..255, minus the training split's mean image (the seed's
  layout; the mean depends on the split, so a run keeps it).

:class:`PixelScaling` is that step on its own: ``load_dataset(..., pixels=True)`` returns the one
its data went through, a run saves it (``pixels.npz``, read with ``allow_pickle=False``), and
``layerwise predict`` applies it to an NPZ file of new images before the run's
:mod:`~layerwise.preprocess` step and its model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from layerwise.data.catalog import dataset_info
from layerwise.errors import ConfigError

__all__ = ["MAX_PIXEL", "PixelScaling"]

#: The largest pixel value of each built-in image dataset's files.
MAX_PIXEL = {"digits": 16, "mnist": 255, "cifar10": 255}


class PixelScaling:
    """Pixels of ``dataset`` -> model rows. ``mean``: the image subtracted (cifar10: the
    training split's mean, shape (3, 32, 32)); None for the datasets that only divide."""

    def __init__(self, dataset: str, mean: np.ndarray | None = None) -> None:
        if dataset not in MAX_PIXEL:
            raise ConfigError(
                f"pixel scaling is for the built-in image datasets {sorted(MAX_PIXEL)}; got "
                f"{dataset!r}",
                "dataset",
            )
        self.dataset = dataset
        self.image_shape = dataset_info(dataset).image_shape
        self.max_pixel = MAX_PIXEL[dataset]
        needs_mean = dataset == "cifar10"
        if needs_mean != (mean is not None):
            raise ConfigError(
                f"{dataset}'s pixel scaling {'needs' if needs_mean else 'takes no'} mean image",
                "dataset",
            )
        if mean is not None:
            mean = np.asarray(mean, dtype=np.float64)
            if mean.shape != self.image_shape or not np.all(np.isfinite(mean)):
                raise ConfigError(
                    f"the mean image must be finite, of shape {self.image_shape}; got shape "
                    f"{mean.shape}",
                    "dataset",
                )
        self.mean = mean

    @property
    def n_features(self) -> int:
        return int(np.prod(self.image_shape))

    def transform(self, images: Any, dtype: Any = np.float32, source: str = "images") -> np.ndarray:
        """(N, D) model rows of ``images``: pixel values 0..max_pixel (integers or floats), as
        (N, H, W) or (N, D) for the grey datasets, (N, 32, 32, 3) (as image files and the
        CIFAR-10 archive hold them), (N, 3, 32, 32) or (N, 3072) channels first for cifar10."""
        X = np.asarray(images)
        if X.dtype.kind not in "uif" or X.dtype == np.bool_:
            raise ConfigError(
                f"{source}: expected pixel values (integers or floats), got dtype {X.dtype}",
                "input",
            )
        layouts = {(self.n_features,): "flat", self.image_shape: "images"}
        if self.dataset == "cifar10":
            layouts[(32, 32, 3)] = "channels last"
        if X.ndim < 2 or tuple(X.shape[1:]) not in layouts or len(X) == 0:
            expected = " or ".join(f"(N, {', '.join(map(str, s))})" for s in layouts)
            raise ConfigError(
                f"{source}: expected {self.dataset} images of shape {expected} with N >= 1; "
                f"got shape {X.shape}",
                "input",
            )
        if layouts[tuple(X.shape[1:])] == "channels last":
            X = X.transpose(0, 3, 1, 2)
        rows = np.ascontiguousarray(X.reshape(len(X), -1), dtype=np.float64)
        bad = ~np.isfinite(rows) | (rows < 0) | (rows > self.max_pixel)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ConfigError(
                f"{source}: pixel values must be finite, in 0..{self.max_pixel} (the "
                f"{self.dataset} files' range); image {i} has {float(rows[i, j])!r}",
                "input",
            )
        # As the loaders do it: cast once, then scale in the data's type (the mean rounded to
        # that type first), so the rows match the loader's bit for bit.
        out = rows.astype(dtype)
        if self.mean is not None:
            out -= self.mean.reshape(-1).astype(dtype)
        else:
            out /= self.max_pixel
        return out

    # ----------------------------------------------------------------------------------------
    # file

    def save(self, path: str | Path) -> Path:
        """Write ``pixels.npz`` (atomically); :meth:`load` reads it back."""
        from layerwise.io import write_npz

        arrays = {"dataset": np.array(self.dataset)}
        if self.mean is not None:
            arrays["mean"] = self.mean
        write_npz(path, arrays)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> PixelScaling:
        """The scaling :meth:`save` wrote; ConfigError naming a damaged file."""
        try:
            with np.load(path, allow_pickle=False) as f:
                dataset = str(f["dataset"])
                mean = f["mean"] if "mean" in f.files else None
        except (OSError, ValueError, KeyError, EOFError) as e:
            raise ConfigError(f"{path} is not a readable pixel-scaling file ({e})", "run") from None
        try:
            return cls(dataset, mean)
        except ConfigError as e:
            raise ConfigError(f"{path} is damaged: {e}", "run") from None
