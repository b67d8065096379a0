"""Training figures (layerwise.plots), built from a real short training run."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.layout_engine import TightLayoutEngine
from matplotlib.lines import Line2D

from layerwise.data import load_dataset
from layerwise.models import TwoLayerNet
from layerwise.plots import plot_training, save_figure
from layerwise.solver import Solver

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def solver() -> Solver:
    data = load_dataset("digits", dtype=np.float32)
    # A small slice keeps this fast; 3 epochs give several points on every curve.
    small = {k: v[:300] if k.endswith("train") else v for k, v in data.items()}
    model = TwoLayerNet(input_dim=64, hidden_dim=20, num_classes=10, weight_scale=0.1, seed=0)
    s = Solver(
        model,
        small,
        optim_config={"learning_rate": 0.3},
        batch_size=50,
        num_epochs=3,
        verbose=False,
        seed=0,
    )
    s.train()
    return s


def _lines(ax: Any) -> list[Line2D]:
    return list(ax.get_lines())


def _y(line: Line2D) -> np.ndarray:
    return np.asarray(line.get_ydata(), dtype=float)


def _x(line: Line2D) -> np.ndarray:
    return np.asarray(line.get_xdata(), dtype=float)


def test_layout_and_titles(solver: Solver) -> None:
    fig = plot_training(solver)
    assert isinstance(fig, Figure)
    assert tuple(fig.get_size_inches()) == (10, 8)
    assert isinstance(fig.get_layout_engine(), TightLayoutEngine)
    top, bottom = fig.axes
    # Stacked: the loss axes sits above the accuracy axes.
    assert top.get_position().y0 > bottom.get_position().y1
    assert (top.get_title(), top.get_xlabel()) == ("Training loss", "Iteration")
    assert (bottom.get_title(), bottom.get_xlabel()) == ("Accuracy", "Epoch")


def test_loss_points(solver: Solver) -> None:
    (loss_line,) = _lines(plot_training(solver).axes[0])
    assert len(solver.loss_history) == solver.num_iterations > 0
    assert len(_y(loss_line)) == len(solver.loss_history)
    np.testing.assert_allclose(_y(loss_line), solver.loss_history)
    np.testing.assert_array_equal(_x(loss_line), np.arange(len(solver.loss_history)))
    # Points only, as in the seed: a marker and no connecting line.
    assert loss_line.get_marker() == "o" and loss_line.get_linestyle() == "None"


def test_accuracy_lines(solver: Solver) -> None:
    ax = plot_training(solver).axes[1]
    train, val, ref = _lines(ax)
    n = len(solver.val_acc_history)
    assert n == len(solver.train_acc_history) >= 2

    for line, label, values in (
        (train, "train", solver.train_acc_history),
        (val, "val", solver.val_acc_history),
    ):
        assert line.get_label() == label
        assert (line.get_marker(), line.get_linestyle()) == ("o", "-")
        np.testing.assert_allclose(_y(line), values)
        np.testing.assert_array_equal(_x(line), np.arange(n))

    # The dashed black reference at 0.5 spans the same epochs.
    assert ref.get_linestyle() == "--"
    assert matplotlib.colors.to_rgba(ref.get_color()) == (0.0, 0.0, 0.0, 1.0)
    np.testing.assert_array_equal(_y(ref), [0.5] * n)
    np.testing.assert_array_equal(_x(ref), np.arange(n))

    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["train", "val"]
    assert legend._loc == matplotlib.legend.Legend.codes["lower right"]


def test_from_metrics_dict_with_nulls() -> None:
    # As read back from metrics.json: a diverged loss was written as null.
    history = {
        "loss_history": [2.3, 1.1, None],
        "train_acc_history": [0.1, 0.6],
        "val_acc_history": [0.12, 0.55],
    }
    fig = plot_training(history)
    (loss_line,) = fig.axes[0].get_lines()
    y = _y(loss_line)
    assert len(y) == 3 and y[0] == 2.3 and math.isnan(y[2])
    _train, val, ref = fig.axes[1].get_lines()
    np.testing.assert_allclose(_y(val), [0.12, 0.55])
    assert len(_y(ref)) == 2


@pytest.mark.parametrize(
    ("history", "error", "match"),
    [
        ({"loss_history": [1.0], "train_acc_history": [0.5]}, ValueError, "val_acc_history"),
        (
            {"loss_history": [1.0], "train_acc_history": [0.5], "val_acc_history": [0.1, 0.2]},
            ValueError,
            "one entry per epoch",
        ),
        (
            {"loss_history": "abc", "train_acc_history": [0.5], "val_acc_history": [0.1]},
            TypeError,
            "loss_history",
        ),
        (
            {"loss_history": [1.0, "x"], "train_acc_history": [], "val_acc_history": []},
            TypeError,
            "only numbers",
        ),
        (42, TypeError, "Solver or a dict"),
    ],
)
def test_bad_history(history: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        plot_training(history)


def test_does_not_touch_pyplot(solver: Solver) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plot_training(solver)
    assert plt.get_fignums() == before


def test_save_figure(tmp_path: Path, solver: Solver) -> None:
    path = tmp_path / "curves.png"
    save_figure(plot_training(solver), path)
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]  # no temp file left


def test_save_figure_validates(tmp_path: Path, solver: Solver) -> None:
    with pytest.raises(ValueError, match=r"\.png"):
        save_figure(plot_training(solver), tmp_path / "curves.jpg")
    with pytest.raises(TypeError, match="Figure"):
        save_figure("not a figure", tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []
