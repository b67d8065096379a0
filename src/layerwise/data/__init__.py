"""Datasets as dicts ready for a model: ``X_train, y_train, X_val, y_val, X_test, y_test``.

Three datasets, by :func:`load_dataset` name:

- ``digits``: scikit-learn's bundled 8x8 digits, (m, 64); the offline default;
- ``mnist``: the official IDX files, (m, 784);
- ``cifar10``: the official python batches, (m, 3, 32, 32), mean-centred.

Files are looked for in ``data_dir``, ``$LAYERWISE_DATA_DIR`` or the user cache, verified by
SHA-256, and downloaded (https, atomically) when missing unless ``LAYERWISE_OFFLINE=1``. Labels
are int64; images are C-contiguous in the requested floating dtype.
"""

from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np

from layerwise.errors import ConfigError

from .catalog import CATALOG, DATASETS, DatasetInfo, dataset_info
from .cifar10 import get_CIFAR10_data, load_CIFAR10, load_CIFAR_batch
from .digits import load_digits_data
from .download import fetch, fetch_all
from .errors import (
    ChecksumError,
    CorruptFileError,
    DatasetError,
    MissingDataError,
    UnsafePickleError,
)
from .idx import read_idx
from .mnist import get_MNIST_data, load_mnist
from .registry import REGISTRY, RemoteDataset, RemoteFile

__all__ = [
    "CATALOG",
    "DATASETS",
    "REGISTRY",
    "ChecksumError",
    "CorruptFileError",
    "DatasetError",
    "DatasetInfo",
    "MissingDataError",
    "RemoteDataset",
    "RemoteFile",
    "UnsafePickleError",
    "check_val_size",
    "dataset_info",
    "fetch",
    "fetch_all",
    "get_CIFAR10_data",
    "get_MNIST_data",
    "load_CIFAR10",
    "load_CIFAR_batch",
    "load_dataset",
    "load_digits_data",
    "load_mnist",
    "read_idx",
]

#: The test rows load_dataset("cifar10") evaluates on: the whole official test set.
CIFAR10_TEST = 10_000


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    dtype: Any = np.float32,
    val_size: int | None = None,
    accept_sha256: Any = None,
    pixels: bool = False,
) -> dict[str, Any]:
    """Load a dataset by name with its default splits (what the CLI trains on).

    Args:
        name: one of :data:`DATASETS`: ``"digits"``, ``"mnist"`` or ``"cifar10"``.
        data_dir: folder of the files (mnist, cifar10); ignored for digits, which ship with
            scikit-learn.
        dtype: floating type of the images.
        val_size: validation examples held out of the training set (None: the default split,
            5,000 for mnist, 1,000 for cifar10, 180 for digits); every other training
            example is trained on, e.g. ``val_size=1000`` trains mnist on 59,000.
        accept_sha256: digests of non-official files to use anyway, with a warning (mnist,
            cifar10; see :func:`get_CIFAR10_data`).
        pixels: also return, as ``"pixels"``, the
            :class:`~layerwise.data.pixels.PixelScaling` that made the images model inputs
            (which new images need; a run saves it).

    Returns:
        The six arrays: digits X (m, 64), mnist X (m, 784) in [0, 1], cifar10 X
        (m, 3, 32, 32) mean-centred; every y int64 (m,). The test split is the whole official
        test set (10,000 images for mnist and cifar10).

    Raises:
        ValueError: unknown name (the message lists the valid ones) or bad dtype.
        DatasetError: files missing, corrupt or failing their checksum.
    """
    splits = check_val_size(name, val_size)  # also rejects an unknown name
    data: dict[str, Any] = {}
    if name == "digits":
        if splits is None:
            data.update(load_digits_data(dtype=dtype))
        else:
            data.update(load_digits_data(num_validation=splits[1], dtype=dtype))
    else:
        files = {"data_dir": data_dir, "dtype": dtype, "accept_sha256": accept_sha256}
        if name == "mnist":
            data.update(get_MNIST_data(*(splits or ()), **files))
        else:
            # All 10,000 official test images (the seed's get_CIFAR10_data() keeps its first
            # 1,000): a test accuracy on 1,000 images has a standard error of 1.5 points.
            info = dataset_info(name)
            n_train, n_val = splits or (info.trainable - info.default_val, info.default_val)
            data.update(
                get_CIFAR10_data(
                    num_training=n_train,
                    num_validation=n_val,
                    num_test=CIFAR10_TEST,
                    return_mean=pixels,
                    **files,
                )
            )
    if pixels:
        from layerwise.data.pixels import PixelScaling

        data["pixels"] = PixelScaling(name, data.pop("mean_image", None))
    return data


def check_val_size(name: str, val_size: Any) -> tuple[int, int] | None:
    """(num_training, num_validation) for ``val_size`` validation images of dataset ``name``,
    or None for its default split; raises ValueError naming a bad value. Needs no files, so a
    command line can be checked before any data is read."""
    info = dataset_info(name)
    n_train, least = info.trainable, info.min_split
    if val_size is None:
        return None
    if isinstance(val_size, bool) or not isinstance(val_size, numbers.Integral) or val_size < 1:
        raise ConfigError(
            f"val_size must be a positive integer (training measures the validation accuracy "
            f"every epoch); got {val_size!r}",
            "val_size",
        )
    size = int(val_size)
    if size >= n_train:
        raise ConfigError(
            f"val_size {size} leaves no training examples: {name} has {n_train:,} "
            f"training images; expected {least} <= val_size <= {n_train - least:,}",
            "val_size",
        )
    if size < least or n_train - size < least:
        raise ConfigError(
            f"val_size {size} leaves {n_train - size:,} training examples; {name} needs at "
            f"least {least} in each split (of its {n_train:,} training images): expected "
            f"{least} <= val_size <= {n_train - least:,}",
            "val_size",
        )
    return n_train - size, size
