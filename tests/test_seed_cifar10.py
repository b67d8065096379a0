"""The seed notebook's CIFAR-10 cells on real images: its preprocessing, TwoLayerNet and
ThreeLayerNet recipes (the lossy development copy by default; see ``cifar10_dir``).

The seed asks for at least 50 % validation accuracy from the TwoLayerNet; it printed 52.2 %
(TwoLayerNet) and 51.3 % (ThreeLayerNet) on the official data. The lossy copy's JPEG round trip
costs a little accuracy; README.md reports what these runs measure.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dataset_files import LOSSY_CIFAR10_SHA256
from layerwise.data import get_CIFAR10_data
from layerwise.data.checksum import UnofficialDataWarning
from layerwise.models import ThreeLayerNet, TwoLayerNet
from layerwise.solver import Solver

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(cifar10_dir: Path) -> dict[str, np.ndarray]:
    """The seed's ``get_CIFAR10_data()``: 49,000 / 1,000 / 1,000, mean image subtracted."""
    with warnings.catch_warnings():  # the lossy copy is accepted by its digest, with a warning
        warnings.simplefilter("ignore", UnofficialDataWarning)
        return get_CIFAR10_data(data_dir=cifar10_dir, accept_sha256=LOSSY_CIFAR10_SHA256)


def test_the_seed_preprocessing(data: dict[str, np.ndarray]) -> None:
    shapes = {k: v.shape for k, v in data.items()}
    assert shapes == {
        "X_train": (49000, 3, 32, 32), "y_train": (49000,), "X_val": (1000, 3, 32, 32),
        "y_val": (1000,), "X_test": (1000, 3, 32, 32), "y_test": (1000,),
    }  # fmt: skip
    # Centred on the training mean image: every pixel's training mean is 0.
    assert np.abs(data["X_train"].mean(axis=0)).max() < 1e-6
    assert data["X_train"].dtype == np.float64  # the seed's default
    assert set(np.unique(data["y_train"])) == set(range(10))


def _seed_solver(model: Any, data: dict[str, np.ndarray], epochs: int) -> Solver:
    """The seed's Solver cell: SGD, lr 1e-3, lr_decay 0.95, batch 100 (seeded here)."""
    return Solver(
        model, data, update_rule="sgd", optim_config={"learning_rate": 1e-3}, lr_decay=0.95,
        num_epochs=epochs, batch_size=100, verbose=False, seed=0,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("cls", "epochs", "at_least"),
    [(TwoLayerNet, 10, 0.50), (ThreeLayerNet, 20, 0.48)],
)
def test_the_seed_recipes_reach_the_seed_accuracy(
    data: dict[str, np.ndarray], cls: type, epochs: int, at_least: float
) -> None:
    """TwoLayerNet: the seed's goal, 50 % validation accuracy; ThreeLayerNet: within 3.3
    points of the seed's 51.3 %. Test accuracy is above chance by far (it is what the README
    reports, touched once here)."""
    model = cls(seed=0)
    solver = _seed_solver(model, data, epochs)
    solver.train()
    assert solver.best_val_acc >= at_least, solver.val_acc_history
    test_acc = float((model.loss(data["X_test"]).argmax(axis=1) == data["y_test"]).mean())
    assert test_acc >= 0.40, test_acc


#: The seed's framework cells (tests/seed_framework_cells.py): what the seed printed at epoch 10
#: on the official data, and what the lossy copy must reach (chance is 0.10).
FRAMEWORK_CELLS = [("tf", 0.311, 0.25), ("keras", 0.380, 0.33)]


@pytest.mark.parametrize(("cell", "seeds_value", "at_least"), FRAMEWORK_CELLS)
def test_the_seed_framework_cells(
    cifar10_dir: Path, cell: str, seeds_value: float, at_least: float
) -> None:
    """The TensorFlow MLP and the Keras sigmoid MLP cells, each in its own process (the
    TensorFlow cell turns eager execution off for its whole process)."""
    import json
    import os
    import subprocess
    import sys

    if os.environ.get("CI", "").strip().lower() not in {"true", "1"}:
        pytest.importorskip("tensorflow")  # CI installs it with [dev]: there it must run
    script = Path(__file__).with_name("seed_framework_cells.py")
    done = subprocess.run(
        [sys.executable, str(script), cell, str(cifar10_dir), LOSSY_CIFAR10_SHA256],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    history = json.loads(done.stdout.strip().splitlines()[-1])["val_acc"]
    assert len(history) == 10
    # The seed's own run is one unseeded draw; these are seeded, on the lossy copy.
    assert max(history) >= at_least, (history, seeds_value)
