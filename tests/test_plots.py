"""Figures (layerwise.plots), built from a real short training run; their content is checked."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.layout_engine import TightLayoutEngine
from matplotlib.lines import Line2D

from layerwise import plots
from layerwise.data import load_dataset
from layerwise.errors import ConfigError
from layerwise.models import FullyConnectedNet, TwoLayerNet
from layerwise.plots import (
    RUN_FIGURES,
    confusion_matrix,
    epoch_costs,
    infer_image_shape,
    multilabel_scores,
    plot_confusion_matrix,
    plot_cost_per_epoch,
    plot_first_layer_weights,
    plot_multilabel,
    plot_predictions,
    plot_regression,
    plot_training,
    run_figures,
    save_figure,
    write_run_figures,
)
from layerwise.runs import epoch_rows
from layerwise.solver import Solver
from layerwise.tasks import micro_f1, r2_score, subset_accuracy

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    return load_dataset("digits", dtype=np.float32)


@pytest.fixture(scope="module")
def solver(data: dict[str, np.ndarray]) -> Solver:
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
    assert (top.get_ylabel(), bottom.get_ylabel()) == ("Loss (minibatch)", "Accuracy")


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


def test_does_not_touch_pyplot(solver: Solver, data: dict[str, np.ndarray]) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    y_pred = solver.model.predict(data["X_test"])
    figures = [
        plot_training(solver),
        plot_cost_per_epoch(solver),
        plot_predictions(data["X_test"], data["y_test"], y_pred),
        plot_first_layer_weights(solver),
        plot_confusion_matrix(data["y_test"], y_pred),
    ]
    assert all(isinstance(fig, Figure) for fig in figures)
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


# --------------------------------------------------------------------------------------------
# Shared checks
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def y_pred(solver: Solver, data: dict[str, np.ndarray]) -> np.ndarray:
    """The short run's test predictions: a weak model, so there are hits and misses."""
    pred = solver.model.predict(data["X_test"])
    hits = int(np.sum(pred == data["y_test"]))
    assert 9 <= hits <= len(pred) - 9, "the fixture run must leave >= 9 hits and >= 9 misses"
    return pred


def _text_boxes_overlap(fig: Figure) -> list[tuple[str, str]]:
    """Pairs of visible titles (axes titles and the suptitle) whose drawn boxes intersect."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    texts = [ax.title for ax in fig.axes if ax.get_title()]
    if fig._suptitle is not None:
        texts.append(fig._suptitle)
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    figure_box = fig.bbox
    for text, box in boxes:  # every title lies inside the figure, not cut off
        assert figure_box.x0 <= box.x0 and box.x1 <= figure_box.x1, text
        assert figure_box.y0 <= box.y0 and box.y1 <= figure_box.y1, text
    return [
        (a, b)
        for i, (a, box_a) in enumerate(boxes)
        for b, box_b in boxes[i + 1 :]
        if box_a.overlaps(box_b)
    ]


def _min_max(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return (x - x.min()) / (x.max() - x.min())


# --------------------------------------------------------------------------------------------
# Cost per epoch
# --------------------------------------------------------------------------------------------


def test_cost_per_epoch_from_solver(solver: Solver) -> None:
    fig = plot_cost_per_epoch(solver)
    (ax,) = fig.axes
    (points,) = _lines(ax)
    per_epoch = solver.iterations_per_epoch
    expected = np.asarray(solver.loss_history).reshape(-1, per_epoch).mean(axis=1)
    assert len(expected) == solver.num_epochs == 3
    np.testing.assert_array_equal(_x(points), [1, 2, 3])
    np.testing.assert_allclose(_y(points), expected)
    assert points.get_marker() == "o" and points.get_linestyle() == "None"
    assert (ax.get_title(), ax.get_xlabel()) == ("Cost per epoch", "Epoch")
    assert ax.get_ylabel() == "Cost (mean training loss)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training"]


def test_cost_per_epoch_from_metrics_rows(solver: Solver) -> None:
    # The rows as metrics.json holds them: epoch 0 has no training loss and is skipped.
    rows = epoch_rows(
        solver.loss_history,
        solver.train_acc_history,
        solver.val_acc_history,
        solver.iterations_per_epoch,
        solver.epoch,
    )
    assert rows[0]["epoch"] == 0 and rows[0]["train_loss"] is None
    from_rows = epoch_costs({"epochs": rows})
    assert from_rows == epoch_costs(solver)
    from_history = epoch_costs(
        {"loss_history": solver.loss_history, "iterations_per_epoch": solver.iterations_per_epoch}
    )
    assert from_history[0] == from_rows[0]
    np.testing.assert_allclose(from_history[1], from_rows[1])
    (points,) = plot_cost_per_epoch({"epochs": rows}, label="MLP Training phase").axes[0].lines
    assert points.get_label() == "MLP Training phase"
    np.testing.assert_allclose(_y(points), from_rows[1])


def test_cost_per_epoch_leaves_out_a_partial_epoch() -> None:
    history = {"loss_history": [4.0, 2.0, 1.0, 3.0, 9.0], "iterations_per_epoch": 2}
    assert epoch_costs(history) == ([1, 2], [3.0, 2.0])


@pytest.mark.parametrize(
    "history",
    [
        {"loss_history": [1.0], "iterations_per_epoch": 2},  # diverged in its first epoch
        {"epochs": [{"epoch": 0, "train_loss": None}]},
    ],
)
def test_cost_per_epoch_without_a_complete_epoch(history: dict[str, Any]) -> None:
    (ax,) = plot_cost_per_epoch(history).axes
    (points,) = ax.lines
    assert len(_x(points)) == 0
    assert [t.get_text() for t in ax.texts] == ["no complete epoch"]


@pytest.mark.parametrize(
    ("history", "error", "match"),
    [
        ({"epochs": [{"epoch": 1}]}, ValueError, r"'epoch' and 'train_loss'"),
        ({"epochs": "rows"}, TypeError, "list of rows"),
        ({"loss_history": [1.0], "iterations_per_epoch": 0}, ValueError, "iterations_per_epoch"),
        ({"val_acc_history": [0.5]}, TypeError, "'epochs' rows"),
        (3.5, TypeError, "got float"),
    ],
)
def test_cost_per_epoch_rejects(history: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        plot_cost_per_epoch(history)


# --------------------------------------------------------------------------------------------
# Prediction grids
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("correct", [True, False])
def test_prediction_grid(correct: bool, data: dict[str, np.ndarray], y_pred: np.ndarray) -> None:
    X, y = data["X_test"], data["y_test"]
    fig = plot_predictions(X, y, y_pred, correct=correct)
    chosen = np.flatnonzero((y_pred == y) == correct)[:9]
    assert len(fig.axes) == 9
    # The seed's titles, naming the arrays' own values, in the order of the test set.
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [f"predicted {y_pred[i]}, classes {y[i]}" for i in chosen]
    for title in titles:
        predicted, true = re.fullmatch(r"predicted (\d), classes (\d)", title).groups()  # type: ignore[union-attr]
        assert (predicted == true) == correct
    # Each panel shows its example as an 8x8 picture.
    for ax, i in zip(fig.axes, chosen, strict=True):
        (image,) = ax.get_images()
        np.testing.assert_allclose(image.get_array(), _min_max(X[i].reshape(8, 8)))
    # A 3x3 grid: three columns and three rows of axes.
    positions = [ax.get_position() for ax in fig.axes]
    assert len({round(p.x0, 3) for p in positions}) == 3
    assert len({round(p.y0, 3) for p in positions}) == 3
    total = int(np.sum((y_pred == y) == correct))
    kind = "Correctly classified" if correct else "Misclassified"
    assert fig._suptitle.get_text() == f"{kind}: 9 shown of {total} (out of {len(y)} examples)"
    assert _text_boxes_overlap(fig) == []


def test_prediction_grid_sizes_and_names(data: dict[str, np.ndarray], y_pred: np.ndarray) -> None:
    X, y = data["X_test"], data["y_test"]
    fig = plot_predictions(X, y, y_pred, n=4, class_names=[f"digit{c}" for c in range(10)])
    assert len(fig.axes) == 4
    assert len({round(ax.get_position().x0, 3) for ax in fig.axes}) == 2  # 2x2
    i = int(np.flatnonzero(y_pred == y)[0])
    assert fig.axes[0].get_title() == f"predicted digit{y_pred[i]}, classes digit{y[i]}"
    # Fewer matches than panels: only those are drawn.
    two_wrong = y.copy()
    two_wrong[[3, 7]] = (y[[3, 7]] + 1) % 10
    fig = plot_predictions(X, y, two_wrong, correct=False)
    assert [ax.get_title() for ax in fig.axes] == [
        f"predicted {two_wrong[3]}, classes {y[3]}",
        f"predicted {two_wrong[7]}, classes {y[7]}",
    ]


def test_long_class_names_do_not_overlap() -> None:
    from layerwise.data.cifar10 import CLASSES

    X = np.random.default_rng(0).standard_normal((10, 3, 32, 32))
    y = np.array([1, 2, 7, 6, 9, 0, 3, 4, 5, 8])
    fig = plot_predictions(X, y, (y + 1) % 10, correct=False, class_names=CLASSES)
    assert fig.axes[0].get_title() == "predicted bird, classes automobile"
    assert _text_boxes_overlap(fig) == []


def test_prediction_grid_with_nothing_to_show(data: dict[str, np.ndarray]) -> None:
    y = data["y_test"]
    fig = plot_predictions(data["X_test"], y, y, correct=False)
    (ax,) = fig.axes
    assert ax.get_images() == [] and not ax.axison
    assert [t.get_text() for t in ax.texts] == ["no misclassified examples"]
    assert fig._suptitle.get_text().startswith("Misclassified: 0 shown of 0")


def test_prediction_images_of_each_dataset_shape() -> None:
    y = np.zeros(2, dtype=np.int64)
    mnist = np.random.default_rng(0).random((2, 784))
    (ax, _) = plot_predictions(mnist, y, y).axes
    assert ax.get_images()[0].get_array().shape == (28, 28)
    np.testing.assert_allclose(ax.get_images()[0].get_array(), _min_max(mnist[0]).reshape(28, 28))

    # CIFAR-10 is stored channels first, (3, 32, 32): the panel must be (32, 32, 3) with each
    # pixel's three channels in place, whether X comes as images or as flat rows.
    cifar = np.arange(2 * 3072, dtype=np.float64).reshape(2, 3, 32, 32)
    expected = _min_max(cifar[0]).transpose(1, 2, 0)
    for X in (cifar, cifar.reshape(2, 3072)):
        image = plot_predictions(X, y, y).axes[0].get_images()[0].get_array()
        assert image.shape == (32, 32, 3)
        np.testing.assert_allclose(image, expected)
        assert image[0, 1, 2] > image[0, 1, 1] > image[0, 1, 0]  # blue plane came last

    # An explicit channels-last shape is kept as it is.
    hwc = np.random.default_rng(1).random((2, 4 * 5 * 3))
    image = plot_predictions(hwc, y, y, image_shape=(4, 5, 3)).axes[0].get_images()[0]
    np.testing.assert_allclose(image.get_array(), _min_max(hwc[0]).reshape(4, 5, 3))


def test_infer_image_shape() -> None:
    assert infer_image_shape(784) == (28, 28)
    assert infer_image_shape(64) == (8, 8)
    assert infer_image_shape(3072) == (3, 32, 32)
    assert infer_image_shape(100) == (10, 10)
    assert infer_image_shape(3 * 49) == (3, 7, 7)
    with pytest.raises(ValueError, match="cannot guess the image shape of 10 features"):
        infer_image_shape(10)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y_pred": np.zeros(5, dtype=np.int64)}, r"one label per example \(4\); got 5"),
        ({"y_true": np.zeros(4)}, "integer labels"),
        ({"y_true": -np.ones(4, dtype=np.int64)}, "labels >= 0; got -1"),
        ({"n": 0}, "n must be a positive integer; got 0"),
        ({"image_shape": (7, 7)}, r"image_shape \(7, 7\) holds 49 values, but each example has 64"),
        ({"image_shape": (4, 4, 4)}, "no channel axis"),
        ({"X": np.zeros((4, 10))}, "cannot guess the image shape of 10 features"),
        ({"class_names": ["a"]}, "label 0 has no entry|label [1-9] has no entry"),
    ],
)
def test_prediction_grid_rejects(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {
        "X": np.random.default_rng(0).random((4, 64)),
        "y_true": np.array([1, 2, 3, 4]),
        "y_pred": np.array([1, 2, 3, 4]),
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        plot_predictions(**args)


def test_prediction_grid_correct_must_be_a_bool() -> None:
    X, y = np.zeros((2, 64)), np.array([1, 2])
    with pytest.raises(TypeError, match="correct must be True or False; got 'yes'"):
        plot_predictions(X, y, y, correct="yes")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# First-layer weights
# --------------------------------------------------------------------------------------------


def test_first_layer_weights(solver: Solver) -> None:
    theta1 = solver.model.params["theta1"]  # (64, 20)
    fig = plot_first_layer_weights(theta1)
    (ax,) = fig.axes
    (image,) = ax.get_images()
    mosaic = np.ma.filled(image.get_array().astype(np.float64), np.nan)
    # 20 units -> 4 rows of 5 tiles of 8x8, one-pixel gaps between them.
    assert mosaic.shape == (4 * 9 - 1, 5 * 9 - 1)
    for j in range(20):
        r, c = divmod(j, 5)
        tile = mosaic[r * 9 : r * 9 + 8, c * 9 : c * 9 + 8]
        np.testing.assert_allclose(tile, _min_max(theta1[:, j].reshape(8, 8)))
    assert np.isnan(mosaic[8, :]).all() and np.isnan(mosaic[:, 8]).all()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2", "3", "4"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "5", "10", "15"]
    assert ax.get_xlabel() and ax.get_ylabel()
    assert ax.get_title() == "First-layer weights: all 20 hidden units, each 8x8 pixels"
    # The same picture from the model and from the Solver.
    for source in (solver.model, solver):
        other = plot_first_layer_weights(source).axes[0].get_images()[0].get_array()
        np.testing.assert_array_equal(np.ma.filled(other, -1), np.ma.filled(image.get_array(), -1))


def test_first_layer_weights_max_units_and_colour() -> None:
    w = np.random.default_rng(0).standard_normal((3072, 6))
    fig = plot_first_layer_weights(w, max_units=4)
    ax = fig.axes[0]
    mosaic = ax.get_images()[0].get_array()
    assert mosaic.shape == (2 * 33 - 1, 2 * 33 - 1, 3)
    np.testing.assert_allclose(
        mosaic[:32, :32], _min_max(w[:, 0]).reshape(3, 32, 32).transpose(1, 2, 0)
    )
    assert ax.get_title() == (
        "First-layer weights: the first 4 of 6 hidden units, each 32x32 colour pixels"
    )


@pytest.mark.parametrize(
    ("theta1", "kwargs", "match"),
    [
        (np.zeros(64), {}, r"\(d, h\) weight matrix; got shape \(64,\)"),
        (np.zeros((64, 3)), {"max_units": 0}, "max_units must be a positive integer"),
        (np.zeros((10, 3)), {}, "cannot guess the image shape of 10"),
        (np.zeros((64, 3)), {"image_shape": (4, 4)}, "holds 16 values"),
    ],
)
def test_first_layer_weights_rejects(theta1: Any, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        plot_first_layer_weights(theta1, **kwargs)


def test_first_layer_weights_needs_theta1() -> None:
    class NoTheta:
        def __init__(self) -> None:
            self.params = {"w": np.zeros((4, 4))}

    with pytest.raises(ValueError, match=r"no 'theta1' parameter; it has \['w'\]"):
        plot_first_layer_weights(NoTheta())


# --------------------------------------------------------------------------------------------
# Confusion matrix
# --------------------------------------------------------------------------------------------


def _cell_counts(ax: Any, C: int) -> np.ndarray:
    """The counts written in the cells, read back from the text objects at their positions."""
    counts = np.full((C, C), -1)
    for text in ax.texts:
        p, t = text.get_position()
        counts[int(t), int(p)] = int(text.get_text())
    return counts


def test_confusion_matrix_counts(data: dict[str, np.ndarray], y_pred: np.ndarray) -> None:
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    y = data["y_test"]
    fig = plot_confusion_matrix(y, y_pred)
    ax, colorbar = fig.axes
    expected = sk_confusion_matrix(y, y_pred, labels=range(10))
    written = _cell_counts(ax, 10)
    assert len(ax.texts) == 100
    np.testing.assert_array_equal(written, expected)
    assert written.sum() == len(y)
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), expected)
    correct = int(np.sum(y == y_pred))
    assert ax.get_title() == (
        f"Confusion matrix: {correct} of {len(y)} correct (accuracy {correct / len(y):.3f})"
    )
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Predicted class", "True class")
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(c) for c in range(10)]
    assert colorbar.get_ylabel() == "Examples"
    # Readable on every cell: white text on the darkest cells, black on light ones, zeros grey.
    colours = {text.get_text(): text.get_color() for text in ax.texts}
    assert colours[str(expected.max())] == "white" and colours["0"] == "0.6"
    light = [c for c in expected.flat if 0 < c <= expected.max() / 2]
    assert light and all(colours[str(c)] == "black" for c in light)


def test_confusion_matrix_with_names_and_absent_classes() -> None:
    y_true, y_pred = np.array([0, 0, 1]), np.array([0, 1, 1])
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred, num_classes=3), [[1, 1, 0], [0, 1, 0], [0, 0, 0]]
    )
    fig = plot_confusion_matrix(y_true, y_pred, class_names=["cat", "dog", "frog"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog", "frog"]
    assert _cell_counts(ax, 3).sum() == 3
    assert _cell_counts(ax, 3)[2].tolist() == [0, 0, 0]  # frog: no examples, still a row


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_classes": 2}, "label 2 is out of range for num_classes=2"),
        ({"class_names": ["a", "b", "c"], "num_classes": 4}, "num_classes=4 disagrees with 3"),
        ({"y_pred": np.array([0, 1])}, r"one label per example \(3\); got 2"),
    ],
)
def test_confusion_matrix_rejects(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"y_true": np.array([0, 1, 2]), "y_pred": np.array([0, 1, 1])}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        plot_confusion_matrix(**args)


# --------------------------------------------------------------------------------------------
# A run folder's figures
# --------------------------------------------------------------------------------------------


def test_write_run_figures(tmp_path: Path, solver: Solver, data: dict[str, np.ndarray]) -> None:
    rows = epoch_rows(
        solver.loss_history,
        solver.train_acc_history,
        solver.val_acc_history,
        solver.iterations_per_epoch,
        solver.epoch,
    )
    metrics = {
        "epochs": rows,
        "loss_history": solver.loss_history,
        "train_acc_history": solver.train_acc_history,
        "val_acc_history": solver.val_acc_history,
    }
    paths = write_run_figures(tmp_path, solver.model, data, metrics)
    assert [p.name for p in paths] == list(RUN_FIGURES)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(RUN_FIGURES)  # no temp files
    for path in paths:
        content = path.read_bytes()
        assert content.startswith(PNG_SIGNATURE) and 5_000 < len(content) < 200_000, path.name

    with pytest.raises(ValueError, match="data has no 'X_test'"):
        write_run_figures(tmp_path, solver.model, {"X_val": data["X_val"]}, metrics)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_run_figures(tmp_path / "missing", solver.model, data, metrics)


# --------------------------------------------------------------------------------------------
# Regression: predicted against true, residuals
# --------------------------------------------------------------------------------------------


def _offsets(ax: Any, i: int = 0) -> np.ndarray:
    """The (x, y) points of the axes' ``i``-th scatter."""
    return np.asarray(ax.collections[i].get_offsets(), dtype=float)


def _regression_pair(k: int, m: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(m, k)) * np.arange(1, k + 1)
    return y, y + 0.3 * rng.normal(size=(m, k))


@pytest.mark.parametrize("one_column", [False, True])
def test_regression_one_target(one_column: bool) -> None:
    y, pred = _regression_pair(1)
    # A (m,) prediction matches a (m,) or (m, 1) target, as a one-output model predicts.
    fig = plot_regression(y if one_column else y[:, 0], pred[:, 0])
    t, p = y[:, 0], pred[:, 0]
    assert len(fig.axes) == 2
    scatter, residuals = fig.axes
    # Left: predicted against true, on the dashed y = x diagonal across both ranges.
    np.testing.assert_allclose(_offsets(scatter), np.column_stack([t, p]))
    (diagonal,) = _lines(scatter)
    low, high = min(t.min(), p.min()), max(t.max(), p.max())
    np.testing.assert_allclose(_x(diagonal), [low, high])
    np.testing.assert_allclose(_y(diagonal), [low, high])
    assert diagonal.get_linestyle() == "--" and diagonal.get_label() == "y = x"
    assert scatter.get_title() == f"target: R² = {r2_score(p, t):.3f}"
    assert (scatter.get_xlabel(), scatter.get_ylabel()) == ("True target", "Predicted target")
    # Right: the residuals (predicted - true) against the prediction, around a zero line.
    np.testing.assert_allclose(_offsets(residuals), np.column_stack([p, p - t]))
    (zero,) = _lines(residuals)
    np.testing.assert_array_equal(_y(zero), [0.0, 0.0])
    assert residuals.get_title().startswith("target: residuals")
    assert residuals.get_ylabel() == "Residual (predicted - true)"
    # Side by side: same row, residuals on the right.
    assert residuals.get_position().x0 > scatter.get_position().x1
    assert fig._suptitle.get_text() == f"Regression: 60 examples (R² {r2_score(p, t):.3f})"
    assert _text_boxes_overlap(fig) == []


def test_regression_three_targets_with_names() -> None:
    y, pred = _regression_pair(3)
    names = ["price", "area", "age"]
    fig = plot_regression(y, pred, target_names=names)
    assert len(fig.axes) == 6
    for j, name in enumerate(names):
        scatter, residuals = fig.axes[2 * j], fig.axes[2 * j + 1]
        assert scatter.get_title() == f"{name}: R² = {r2_score(pred[:, j], y[:, j]):.3f}"
        assert scatter.get_xlabel() == f"True {name}"
        np.testing.assert_allclose(_offsets(scatter), np.column_stack([y[:, j], pred[:, j]]))
        np.testing.assert_allclose(_offsets(residuals)[:, 1], pred[:, j] - y[:, j])
    # Stacked rows, one per target, top to bottom.
    tops = [fig.axes[2 * j].get_position().y0 for j in range(3)]
    assert tops == sorted(tops, reverse=True)
    overall = r2_score(pred, y)
    assert fig._suptitle.get_text() == (
        f"Regression: 60 examples (R² {overall:.3f} averaged over the targets)"
    )
    assert _text_boxes_overlap(fig) == []
    # The default names number the targets.
    assert plot_regression(y, pred).axes[2].get_title().startswith("target 1: R² = ")


def test_regression_draws_at_most_four_targets() -> None:
    y, pred = _regression_pair(6)
    fig = plot_regression(y, pred)
    assert len(fig.axes) == 8
    assert [ax.get_title().split(":")[0] for ax in fig.axes[::2]] == [
        f"target {j}" for j in range(4)
    ]
    assert fig._suptitle.get_text() == (
        f"Regression: 60 examples, the first 4 of 6 targets shown "
        f"(R² {r2_score(pred, y):.3f} averaged over the targets)"
    )


def test_regression_constant_and_perfect() -> None:
    # A constant target predicted exactly: R² 1 (no 0/0), residuals all zero, no warning.
    y = np.full(5, 2.0)
    fig = plot_regression(y, y.copy())
    assert fig.axes[0].get_title() == "target: R² = 1.000"
    np.testing.assert_array_equal(_offsets(fig.axes[1])[:, 1], np.zeros(5))
    fig.canvas.draw()  # a zero-width diagonal renders as well


@pytest.mark.parametrize(
    ("kwargs", "field", "match"),
    [
        (
            {"y_pred": np.zeros((4, 3))},
            "y_pred",
            r"shape of y_true.*got \(4, 3\) for y_true of shape \(4, 2\)",
        ),
        ({"y_pred": np.zeros((5, 2))}, "y_pred", r"got \(5, 2\) for y_true of shape \(4, 2\)"),
        ({"y_true": np.array([[1.0, np.nan]] * 4)}, "y_true", r"NaN or infinite values \(4 of 8\)"),
        ({"y_pred": np.array([[np.inf, 0.0]] * 4)}, "y_pred", "NaN or infinite"),
        ({"y_true": np.zeros((0, 2)), "y_pred": np.zeros((0, 2))}, "y_true", "non-empty"),
        ({"y_true": np.zeros((4, 0))}, "y_true", "non-empty"),
        ({"y_true": np.zeros((4, 2, 1))}, "y_true", r"\(m,\) or \(m, k\).*shape \(4, 2, 1\)"),
        ({"y_pred": np.array([["a", "b"]] * 4)}, "y_pred", "array of numbers"),
        ({"y_true": [[1.0, 2.0], [3.0]]}, "y_true", "not an array of numbers"),
        ({"target_names": ["a"]}, "target_names", r"one name per column \(2\); got 1"),
        ({"target_names": "ab"}, "target_names", "list of 2 names"),
    ],
)
def test_regression_rejects(kwargs: dict[str, Any], field: str, match: str) -> None:
    args: dict[str, Any] = {"y_true": np.zeros((4, 2)), "y_pred": np.zeros((4, 2))}
    args.update(kwargs)
    with pytest.raises(ConfigError, match=match) as info:
        plot_regression(**args)
    assert info.value.field == field


# --------------------------------------------------------------------------------------------
# Multi-label: per-label precision, recall, F1
# --------------------------------------------------------------------------------------------

# Four labels: 0 partly right, 1 never predicted (precision 0/0), 2 neither present nor
# predicted (every score 0/0), 3 perfect.
ML_TRUE = np.array([[1, 1, 0, 1], [1, 0, 0, 0], [0, 1, 0, 1], [1, 0, 0, 0], [0, 0, 0, 1]])
ML_PRED = np.array([[1, 0, 0, 1], [0, 0, 0, 0], [1, 0, 0, 1], [1, 0, 0, 0], [0, 0, 0, 1]])


def test_multilabel_scores() -> None:
    from sklearn.metrics import precision_recall_fscore_support

    scores = multilabel_scores(ML_TRUE, ML_PRED)
    np.testing.assert_allclose(scores["precision"], [2 / 3, 0, 0, 1])
    np.testing.assert_allclose(scores["recall"], [2 / 3, 0, 0, 1])
    np.testing.assert_allclose(scores["f1"], [2 / 3, 0, 0, 1])
    np.testing.assert_array_equal(scores["support"], [3, 2, 0, 3])
    expected = precision_recall_fscore_support(ML_TRUE, ML_PRED, zero_division=0)
    for key, values in zip(("precision", "recall", "f1", "support"), expected, strict=True):
        np.testing.assert_allclose(scores[key], values)
    # Predicting everything: precision is the share of positives, recall 1.
    everything = multilabel_scores(ML_TRUE, np.ones_like(ML_TRUE))
    np.testing.assert_allclose(everything["precision"], [3 / 5, 2 / 5, 0, 3 / 5])
    np.testing.assert_allclose(everything["recall"], [1, 1, 0, 1])


def test_multilabel_figure() -> None:
    from sklearn.metrics import f1_score

    fig = plot_multilabel(ML_TRUE, ML_PRED, label_names=["cat", "dog", "bird", "fish"])
    (ax,) = fig.axes
    scores = multilabel_scores(ML_TRUE, ML_PRED)
    assert len(ax.containers) == 3
    for bars, key, label in zip(
        ax.containers, ("precision", "recall", "f1"), ("precision", "recall", "F1"), strict=True
    ):
        assert bars.get_label() == label
        np.testing.assert_allclose([b.get_height() for b in bars], scores[key])
    # Three bars side by side per label, centred on the label's tick.
    centres = np.array([[b.get_x() + b.get_width() / 2 for b in bars] for bars in ax.containers])
    np.testing.assert_allclose(centres.mean(axis=0), np.arange(4))
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "cat\nn=3",
        "dog\nn=2",
        "bird\nn=0",
        "fish\nn=3",
    ]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["precision", "recall", "F1"]
    subset, micro = subset_accuracy(ML_PRED, ML_TRUE), micro_f1(ML_PRED, ML_TRUE)
    assert (subset, micro) == (0.4, pytest.approx(f1_score(ML_TRUE, ML_PRED, average="micro")))
    assert ax.get_title() == (
        f"Multi-label: subset accuracy {subset:.3f}, micro-F1 {micro:.3f} (5 examples, 4 labels)"
    )
    assert ax.get_ylim() == (0.0, 1.2)
    assert _text_boxes_overlap(fig) == []
    # Default names: the label numbers; bools work as 0/1.
    fig = plot_multilabel(ML_TRUE.astype(bool), ML_PRED.astype(float))
    assert fig.axes[0].get_xticklabels()[1].get_text() == "1\nn=2"


@pytest.mark.parametrize(
    ("kwargs", "field", "match"),
    [
        ({"y_pred": ML_PRED[:, :3]}, "y_pred", r"got \(5, 3\) for y_true of shape \(5, 4\)"),
        ({"y_true": ML_TRUE * 2}, "y_true", "holds 2; multi-label indicators are 0 or 1"),
        ({"y_pred": np.where(ML_PRED, np.nan, 0.0)}, "y_pred", "holds nan"),
        ({"y_true": ML_TRUE[:, 0]}, "y_true", r"\(m, k\).*shape \(5,\)"),
        ({"y_true": np.zeros((0, 4)), "y_pred": np.zeros((0, 4))}, "y_true", "non-empty"),
        ({"label_names": ["a", "b"]}, "label_names", r"one name per column \(4\); got 2"),
    ],
)
def test_multilabel_rejects(kwargs: dict[str, Any], field: str, match: str) -> None:
    args: dict[str, Any] = {"y_true": ML_TRUE, "y_pred": ML_PRED}
    args.update(kwargs)
    with pytest.raises(ConfigError, match=match) as info:
        plot_multilabel(**args)
    assert info.value.field == field


def test_new_figures_do_not_touch_pyplot() -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    y, pred = _regression_pair(2)
    figures = [plot_regression(y, pred), plot_multilabel(ML_TRUE, ML_PRED)]
    assert all(isinstance(fig, Figure) for fig in figures)
    assert plt.get_fignums() == before


# --------------------------------------------------------------------------------------------
# The score on the curves' axes
# --------------------------------------------------------------------------------------------

_HISTORY = {
    "loss_history": [1.0, 0.5],
    "train_acc_history": [0.1, 0.4],
    "val_acc_history": [0.0, 0.3],
}


@pytest.mark.parametrize(
    ("score_name", "label"),
    [
        (None, "Accuracy"),
        ("accuracy", "Accuracy"),
        ("r2", "R²"),
        ("subset_accuracy", "Subset accuracy"),
        ("balanced_accuracy", "Balanced accuracy"),
    ],
)
def test_training_curves_name_the_score(score_name: str | None, label: str) -> None:
    history = dict(_HISTORY) if score_name is None else {**_HISTORY, "score_name": score_name}
    ax = plot_training(history).axes[1]
    assert (ax.get_title(), ax.get_ylabel()) == (label, label)


def test_training_curves_name_a_solvers_score() -> None:
    data, _ = _task_data("regression")
    model = FullyConnectedNet([8], 4, 2, task="regression", seed=0)
    s = Solver(model, data, batch_size=40, num_epochs=1, verbose=False, seed=0)
    s.train()
    assert plot_training(s).axes[1].get_ylabel() == "R²"


@pytest.mark.parametrize("score_name", [3, "", None])
def test_training_curves_reject_a_bad_score_name(score_name: Any) -> None:
    with pytest.raises(ConfigError, match="score_name"):
        plot_training({**_HISTORY, "score_name": score_name})


# --------------------------------------------------------------------------------------------
# Run folders of every task
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "images", "expected"),
    [
        ("classification", True, RUN_FIGURES),
        ("classification", False, ("curves.png", "cost.png", "confusion.png")),
        ("regression", True, ("curves.png", "cost.png", "regression.png")),
        ("regression", False, ("curves.png", "cost.png", "regression.png")),
        ("multilabel", True, ("curves.png", "cost.png", "multilabel.png")),
        ("multilabel", False, ("curves.png", "cost.png", "multilabel.png")),
    ],
)
def test_run_figures(task: str, images: bool, expected: tuple[str, ...]) -> None:
    assert run_figures(task, images) == expected
    assert (
        run_figures()
        == RUN_FIGURES
        == (
            "curves.png",
            "cost.png",
            "predictions_correct.png",
            "predictions_wrong.png",
            "weights.png",
            "confusion.png",
        )
    )


def test_run_figures_rejects() -> None:
    with pytest.raises(ConfigError, match="task must be one of") as info:
        run_figures("ranking")
    assert info.value.field == "task"
    with pytest.raises(ConfigError, match="images must be True or False; got 'no'"):
        run_figures("classification", "no")  # type: ignore[arg-type]


def _task_data(task: str, outputs: int = 2) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Tabular data (4 features) for ``task``: train/val/test splits and the weights behind y."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    W = rng.normal(size=(4, outputs))
    if task == "regression":
        y: np.ndarray = (X @ W).astype(np.float32)
        if outputs == 1:
            y = y[:, 0]
    elif task == "multilabel":
        y = (X @ W > 0).astype(np.int64)
    else:
        y = (X @ W).argmax(axis=1)
    splits = {"train": slice(0, 120), "val": slice(120, 160), "test": slice(160, 200)}
    data = {f"{k}_{name}": v[s] for name, s in splits.items() for k, v in (("X", X), ("y", y))}
    return data, W


def _trained(task: str, outputs: int = 2) -> tuple[Solver, dict[str, np.ndarray]]:
    data, _ = _task_data(task, outputs)
    model = FullyConnectedNet([8], 4, outputs, task=task, weight_scale=0.3, seed=0)
    s = Solver(
        model,
        data,
        optim_config={"learning_rate": 0.05},
        batch_size=20,
        num_epochs=3,
        verbose=False,
        seed=0,
    )
    s.train()
    return s, data


def _run_metrics(solver: Solver) -> dict[str, Any]:
    """The run's metrics dict as metrics.json holds it (without a score name)."""
    return {
        "epochs": epoch_rows(
            solver.loss_history,
            solver.train_acc_history,
            solver.val_acc_history,
            solver.iterations_per_epoch,
            solver.epoch,
        ),
        "loss_history": solver.loss_history,
        "train_acc_history": solver.train_acc_history,
        "val_acc_history": solver.val_acc_history,
    }


def _write_and_capture(
    monkeypatch: pytest.MonkeyPatch, run_dir: Path, *args: Any, **kwargs: Any
) -> tuple[list[Path], dict[str, Figure]]:
    """write_run_figures, with the figures it saves kept by file name for their content."""
    saved: dict[str, Figure] = {}
    real_save = plots.save_figure

    def keep(fig: Figure, path: Any) -> None:
        saved[Path(path).name] = fig
        real_save(fig, path)

    monkeypatch.setattr(plots, "save_figure", keep)
    paths = write_run_figures(run_dir, *args, **kwargs)
    for path in paths:
        content = path.read_bytes()
        assert content.startswith(PNG_SIGNATURE) and 5_000 < len(content) < 400_000, path.name
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(p.name for p in paths)
    return paths, saved


@pytest.mark.parametrize("outputs", [2, 1])
def test_write_run_figures_regression(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outputs: int
) -> None:
    s, data = _trained("regression", outputs)
    names = ["height", "weight"][:outputs]
    paths, saved = _write_and_capture(
        monkeypatch,
        tmp_path,
        s.model,
        data,
        _run_metrics(s),
        class_names=names,
        task="regression",
    )
    assert [p.name for p in paths] == list(run_figures("regression"))
    # The curves name the task's score; regression.png holds the model's test predictions.
    assert saved["curves.png"].axes[1].get_ylabel() == "R²"
    pred = s.model.predict(data["X_test"]).reshape(40, outputs)
    y = data["y_test"].reshape(40, outputs)
    fig = saved["regression.png"]
    assert len(fig.axes) == 2 * outputs
    for j, name in enumerate(names):
        np.testing.assert_allclose(
            _offsets(fig.axes[2 * j]), np.column_stack([y[:, j], pred[:, j]]), rtol=1e-6
        )
        assert fig.axes[2 * j].get_title() == f"{name}: R² = {r2_score(pred[:, j], y[:, j]):.3f}"


def test_write_run_figures_regression_in_the_datas_units(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, data = _trained("regression", 1)
    _, saved = _write_and_capture(
        monkeypatch,
        tmp_path,
        s.model,
        data,
        _run_metrics(s),
        task="regression",
        units=lambda v: 10 * v + 100,  # e.g. standardised prices back in dollars
    )
    pred = s.model.predict(data["X_test"])
    expected = np.column_stack([10 * data["y_test"] + 100, 10 * pred + 100])
    np.testing.assert_allclose(_offsets(saved["regression.png"].axes[0]), expected, rtol=1e-6)


def test_write_run_figures_multilabel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s, data = _trained("multilabel")
    metrics = {**_run_metrics(s), "score_name": "micro_f1"}  # a score name given is kept
    paths, saved = _write_and_capture(
        monkeypatch, tmp_path, s.model, data, metrics, class_names=["a", "b"], task="multilabel"
    )
    assert [p.name for p in paths] == ["curves.png", "cost.png", "multilabel.png"]
    assert saved["curves.png"].axes[1].get_ylabel() == "Micro-F1"
    pred = s.model.predict(data["X_test"])
    assert set(np.unique(pred)) <= {0, 1}
    (ax,) = saved["multilabel.png"].axes
    np.testing.assert_allclose(
        [b.get_height() for b in ax.containers[2]], multilabel_scores(data["y_test"], pred)["f1"]
    )
    assert ax.get_xticklabels()[0].get_text().startswith("a\n")
    assert f"subset accuracy {subset_accuracy(pred, data['y_test']):.3f}" in ax.get_title()


def test_write_run_figures_tabular_classifier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 4 features are no picture: no prediction grids, no weight images, only the matrix.
    s, data = _trained("classification")
    paths, saved = _write_and_capture(
        monkeypatch, tmp_path, s.model, data, _run_metrics(s), images=False
    )
    assert [p.name for p in paths] == ["curves.png", "cost.png", "confusion.png"]
    assert saved["curves.png"].axes[1].get_ylabel() == "Accuracy"
    ax = saved["confusion.png"].axes[0]
    expected = confusion_matrix(data["y_test"], s.model.predict(data["X_test"]), num_classes=2)
    np.testing.assert_array_equal(_cell_counts(ax, 2), expected)


def test_write_run_figures_rejects_another_task(tmp_path: Path) -> None:
    s, data = _trained("regression")
    with pytest.raises(
        ConfigError, match="the model's task is 'regression', not task='multilabel'"
    ):
        write_run_figures(tmp_path, s.model, data, _run_metrics(s), task="multilabel")
    with pytest.raises(ConfigError, match="task must be one of"):
        write_run_figures(tmp_path, s.model, data, _run_metrics(s), task="ranking")
    assert list(tmp_path.iterdir()) == []
