"""MNIST from the four official IDX files (``.gz`` or uncompressed).

Files, in :data:`layerwise.data.registry.MNIST_FILES` order: training images (60000, 28, 28),
training labels (60000,), test images (10000, 28, 28), test labels (10000,). Each is checked by
the SHA-256 of its uncompressed payload before it is parsed, unless ``verify=False``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from layerwise.errors import ConfigError
from layerwise.validation import check_float_dtype as _check_dtype
from layerwise.validation import check_splits

from .download import fetch_all
from .errors import CorruptFileError
from .idx import read_idx
from .paths import resolve_data_dir
from .registry import MNIST

__all__ = ["get_MNIST_data", "load_mnist"]

IMAGES_MAGIC = 0x00000803  # uint8, 3 dimensions
LABELS_MAGIC = 0x00000801  # uint8, 1 dimension
_SIDE = 28
_N_TRAIN, _N_TEST = 60_000, 10_000


def _read_images(path: Path) -> np.ndarray:
    images = read_idx(path, expected_magic=IMAGES_MAGIC)
    if images.shape[1:] != (_SIDE, _SIDE):
        raise CorruptFileError(
            f"{path}: MNIST images must be N x {_SIDE} x {_SIDE}, got shape {images.shape}"
        )
    return images


def _read_labels(path: Path, n_images: int, images_path: Path) -> np.ndarray:
    labels = read_idx(path, expected_magic=LABELS_MAGIC)
    if len(labels) != n_images:
        raise CorruptFileError(
            f"{path}: {len(labels)} labels for the {n_images} images of {images_path.name}"
        )
    if len(labels) and labels.max() > 9:
        raise CorruptFileError(f"{path}: labels must lie in 0..9, found {labels.max()}")
    return labels.astype(np.int64)


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    verify: bool = True,
    accept_sha256: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load MNIST as stored: uint8 images and int64 labels.

    Args:
        data_dir: a folder holding the four files (or a parent with an ``mnist/`` subfolder);
            None uses ``LAYERWISE_DATA_DIR`` or the user cache. Missing files are downloaded
            there unless ``LAYERWISE_OFFLINE=1``.
        verify: check each local file's SHA-256 (downloads are always checked).
        accept_sha256: digests of non-official files to use anyway, with a warning
            (:func:`layerwise.data.download.fetch`).

    Returns:
        X_train: (N, 28, 28) uint8, N = 60,000; y_train: (N,) int64 in 0..9;
        X_test: (M, 28, 28) uint8, M = 10,000; y_test: (M,) int64.

    Raises:
        MissingDataError: files missing and not downloadable; the message lists each file,
            its URLs, its checksum and the folder to put it in.
        ChecksumError: a file is not the official one.
        CorruptFileError: a file is truncated or malformed.
    """
    markers = [name for remote in MNIST.files for name in remote.local_names]
    folder = resolve_data_dir(MNIST.subfolder, markers, data_dir)
    train_images, train_labels, test_images, test_labels = fetch_all(
        MNIST.files, folder, verify_checksum=verify, title=MNIST.title, accept_sha256=accept_sha256
    )
    X_train = _read_images(train_images)
    y_train = _read_labels(train_labels, len(X_train), train_images)
    X_test = _read_images(test_images)
    y_test = _read_labels(test_labels, len(X_test), test_images)
    return X_train, y_train, X_test, y_test


def _features(images: np.ndarray, dtype: np.dtype[Any], flatten: bool) -> np.ndarray:
    """(m, 28, 28) uint8 -> (m, 784) or (m, 1, 28, 28) in ``dtype``, scaled to [0, 1]."""
    m = len(images)
    shape = (m, _SIDE * _SIDE) if flatten else (m, 1, _SIDE, _SIDE)
    out = images.reshape(shape).astype(dtype)  # one C-contiguous copy, scaled in place
    out /= 255
    return out


def get_MNIST_data(
    num_training: int = 55_000,
    num_validation: int = 5_000,
    num_test: int = 10_000,
    data_dir: str | os.PathLike[str] | None = None,
    dtype: Any = np.float32,
    flatten: bool = True,
    *,
    verify: bool = True,
    accept_sha256: Any = None,
) -> dict[str, np.ndarray]:
    """MNIST split into train/val/test, scaled to [0, 1], ready for a model.

    The training rows are the first ``num_training``; the validation rows the next
    ``num_validation`` (by default the last 5,000); the test rows the first ``num_test``.

    Args:
        num_training, num_validation: training-set rows to use (sum at most 60,000).
        num_test: test-set rows to use (at most 10,000).
        data_dir, verify, accept_sha256: as for :func:`load_mnist`.
        dtype: floating type of the images.
        flatten: images as (m, 784) rows; else (m, 1, 28, 28) for convolution-style models.

    Returns:
        ``X_train`` (num_training, 784), ``y_train`` (num_training,), ``X_val``, ``y_val``,
        ``X_test``, ``y_test``; X in ``dtype``, C-contiguous, in [0, 1]; y int64 in 0..9.
    """
    dtype = _check_dtype(dtype, any_float=True)
    if not isinstance(flatten, (bool, np.bool_)):
        raise ConfigError(f"flatten must be True or False, got {flatten!r}")
    n_tr, n_val, n_te = check_splits(
        num_training, num_validation, num_test, n_train=_N_TRAIN, n_test=_N_TEST
    )
    X_train, y_train, X_test, y_test = load_mnist(
        data_dir, verify=verify, accept_sha256=accept_sha256
    )
    check_splits(n_tr, n_val, n_te, n_train=len(y_train), n_test=len(y_test))
    return {
        "X_train": _features(X_train[:n_tr], dtype, bool(flatten)),
        "y_train": y_train[:n_tr].copy(),
        "X_val": _features(X_train[n_tr : n_tr + n_val], dtype, bool(flatten)),
        "y_val": y_train[n_tr : n_tr + n_val].copy(),
        "X_test": _features(X_test[:n_te], dtype, bool(flatten)),
        "y_test": y_test[:n_te].copy(),
    }
