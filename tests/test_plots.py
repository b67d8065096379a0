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

from layerwise.data import load_dataset
from layerwise.models import TwoLayerNet
from layerwise.plots import (
    RUN_FIGURES,
    confusion_matrix,
    epoch_costs,
    infer_image_shape,
    plot_confusion_matrix,
    plot_cost_per_epoch,
    plot_first_layer_weights,
    plot_predictions,
    plot_training,
    save_figure,
    write_run_figures,
)
from layerwise.runs import epoch_rows
from layerwise.solver import Solver

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
