"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

_MNIST_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def real_mnist_dir() -> Path:
    """``$LAYERWISE_TEST_MNIST_DIR``, else ``<repo root>/../shared/datasets/mnist``."""
    env = os.environ.get("LAYERWISE_TEST_MNIST_DIR")
    if env:
        return Path(env).expanduser()
    repo_root = Path(__file__).resolve().parents[1]
    return repo_root.parent / "shared" / "datasets" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The folder with the four real MNIST IDX files (``.gz`` or raw).

    Missing files skip the test locally, but fail it under CI (``CI=true``): there the real data
    is part of what must be tested.
    """
    folder = real_mnist_dir()
    missing = [
        name
        for name in _MNIST_NAMES
        if not ((folder / f"{name}.gz").is_file() or (folder / name).is_file())
    ]
    if missing:
        message = (
            f"real MNIST files missing from {folder}: {', '.join(missing)} "
            "(set LAYERWISE_TEST_MNIST_DIR to the folder that holds them)"
        )
        if os.environ.get("CI", "").strip().lower() in {"true", "1"}:
            pytest.fail(message)
        pytest.skip(message)
    return folder


def real_cifar10_dir() -> Path:
    """``$LAYERWISE_TEST_CIFAR10_DIR``, else ``<repo root>/../shared/datasets/cifar10-lossy``."""
    env = os.environ.get("LAYERWISE_TEST_CIFAR10_DIR")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar10-lossy"


@pytest.fixture(scope="session")
def cifar10_dir() -> Path:
    """The folder with a real ``cifar-10-python.tar.gz`` (the official one or the lossy copy,
    whose digest is ``dataset_files.LOSSY_CIFAR10_SHA256``). Missing: skipped locally, failed
    under CI."""
    folder = real_cifar10_dir()
    if not (folder / "cifar-10-python.tar.gz").is_file():
        message = (
            f"real CIFAR-10 archive not found in {folder} "
            "(set LAYERWISE_TEST_CIFAR10_DIR to the folder that holds cifar-10-python.tar.gz)"
        )
        if os.environ.get("CI", "").strip().lower() in {"true", "1"}:
            pytest.fail(message)
        pytest.skip(message)
    return folder


@pytest.fixture
def rng() -> np.random.Generator:
    """A private, seeded generator: tests never depend on the global stream's state."""
    return np.random.default_rng(231)
