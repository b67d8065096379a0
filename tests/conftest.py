"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def rng() -> np.random.Generator:
    """A private, seeded generator: tests never depend on the global stream's state."""
    return np.random.default_rng(231)


def real_mnist_dir() -> Path:
    """The folder holding the real MNIST IDX files (tests only; the product never looks here).

    ``LAYERWISE_TEST_MNIST_DIR`` wins; otherwise ``../shared/datasets/mnist`` beside the repo.
    """
    env = os.environ.get("LAYERWISE_TEST_MNIST_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "datasets" / "mnist"


@pytest.fixture
def mnist_dir() -> Path:
    """The real MNIST folder; missing files fail the test under CI=true, else skip it."""
    folder = real_mnist_dir()
    if (
        not (folder / "train-images-idx3-ubyte.gz").exists()
        and not (folder / "train-images-idx3-ubyte").exists()
    ):
        message = f"the real MNIST files are not in {folder} (set LAYERWISE_TEST_MNIST_DIR)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return folder
