"""Figures of a training run, built as plain :class:`matplotlib.figure.Figure` objects.

Nothing here touches ``matplotlib.pyplot``: a figure made through pyplot is registered in a
global list (and may try to open a window), which leaks memory in long sessions and breaks on
machines without a display. Each figure gets its own Agg canvas instead, so this module works
headless and from several threads.

The figures, each from a Solver, a run folder's metrics dict, or plain arrays:

- :func:`plot_training`: loss per iteration and accuracy per epoch (the seed's two panels);
- :func:`plot_cost_per_epoch`: mean training loss per epoch (the seed's TensorFlow plot);
- :func:`plot_predictions`: a grid of correctly or wrongly classified images (the seed's
  Keras MNIST grids, titled ``predicted X, classes Y``);
- :func:`plot_first_layer_weights`: the first layer's weights, one image per hidden unit;
- :func:`plot_confusion_matrix`: true against predicted class, counts in the cells;
- :func:`plot_regression`: predicted against true values and the residuals, per target;
- :func:`plot_multilabel`: precision, recall and F1 of every label;
- :func:`plot_lr_find`: a learning-rate range test's loss against the rate, the suggestion
  marked (``layerwise lr-find``).

The two figures of ``--diagnostics`` are in :mod:`layerwise.diagnostics_plots`.

:func:`write_run_figures` draws those that fit the run's task into a run folder (``layerwise
train`` and ``layerwise plot`` call it); :func:`run_figures` names them.
"""

from __future__ import annotations

import io
import math
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from layerwise.errors import ConfigError
from layerwise.io import write_bytes
from layerwise.tasks import get_task, micro_f1, r2_score, subset_accuracy

_HISTORY_KEYS = ("loss_history", "train_acc_history", "val_acc_history")

#: The figures :func:`write_run_figures` writes into a classifier's run folder whose examples
#: are images, in order (:func:`run_figures` names those of every task).
RUN_FIGURES = (
    "curves.png",
    "cost.png",
    "predictions_correct.png",
    "predictions_wrong.png",
    "weights.png",
    "confusion.png",
)

#: The figures only a classifier of images gets: they draw examples and weights as pictures.
_IMAGE_FIGURES = ("predictions_correct.png", "predictions_wrong.png", "weights.png")

#: The one figure of each task's predictions, after curves.png and cost.png.
_TASK_FIGURES = {
    "classification": "confusion.png",
    "regression": "regression.png",
    "multilabel": "multilabel.png",
}

#: How the accuracy axes of :func:`plot_training` names each task's score.
_SCORE_LABELS = {
    "accuracy": "Accuracy",
    "r2": "R²",
    "subset_accuracy": "Subset accuracy",
    "micro_f1": "Micro-F1",
}

#: :func:`plot_regression` draws at most this many targets (two panels each).
MAX_REGRESSION_TARGETS = 4

# Image shapes of the known datasets by feature count: MNIST, the 8x8 digits and CIFAR-10
# (stored channels first, as the seed's get_CIFAR10_data returns it).
_KNOWN_IMAGE_SHAPES: dict[int, tuple[int, ...]] = {784: (28, 28), 64: (8, 8), 3072: (3, 32, 32)}


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _new_figure(
    width: float, height: float, layout: Literal["tight", "constrained"] = "tight"
) -> Figure:
    """A figure with its own Agg canvas. "constrained" layout makes room for a suptitle."""
    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)  # attaches itself as fig.canvas; no pyplot, no GUI
    return fig


def _get_history(history: Any) -> dict[str, list[float]]:
    """Read the three histories from a Solver (attributes) or a dict (e.g. metrics.json)."""
    out: dict[str, list[float]] = {}
    for key in _HISTORY_KEYS:
        if isinstance(history, Mapping):
            if key not in history:
                raise ConfigError(
                    f"history is missing {key!r}; expected keys {list(_HISTORY_KEYS)}"
                )
            values = history[key]
        elif hasattr(history, key):
            values = getattr(history, key)
        else:
            raise TypeError(
                f"history must be a Solver or a dict with {list(_HISTORY_KEYS)}; "
                f"got {type(history).__name__} without {key!r}"
            )
        out[key] = _numbers(key, values)
    if len(out["train_acc_history"]) != len(out["val_acc_history"]):
        raise ConfigError(
            f"train_acc_history and val_acc_history must have one entry per epoch each; got "
            f"{len(out['train_acc_history'])} and {len(out['val_acc_history'])} entries"
        )
    return out


def _numbers(key: str, values: Any) -> list[float]:
    """``values`` as a list of floats; JSON's null (a NaN/inf loss) becomes NaN, a gap."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"history[{key!r}] must be a list of numbers; got {values!r}")
    try:
        return [math.nan if v is None else float(v) for v in values]
    except (TypeError, ValueError):
        raise TypeError(f"history[{key!r}] must contain only numbers; got {values!r}") from None


def _labels(name: str, y: Any, m: int | None = None) -> np.ndarray:
    """``y`` as a 1-D int64 array of non-negative class labels (of length ``m`` if given)."""
    arr = np.asarray(y)
    if arr.ndim != 1 or not (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)):
        raise ConfigError(
            f"{name} must be a 1-D array of integer labels; got {arr.dtype} of shape {arr.shape}"
        )
    if m is not None and len(arr) != m:
        raise ConfigError(f"{name} must hold one label per example ({m}); got {len(arr)}")
    if arr.size and arr.min() < 0:
        raise ConfigError(f"{name} must hold labels >= 0; got {int(arr.min())}")
    return arr.astype(np.int64, copy=False)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def _grid(k: int) -> tuple[int, int]:
    """(rows, cols) of the squarest grid that holds ``k`` panels: 9 -> 3x3, 10 -> 3x4."""
    cols = max(1, math.ceil(math.sqrt(k)))
    return max(1, math.ceil(k / cols)), cols


def _class_name(class_names: Sequence[str] | None, label: int) -> str:
    if class_names is None:
        return str(label)
    if not 0 <= label < len(class_names):
        raise ConfigError(f"label {label} has no entry in class_names (of {len(class_names)})")
    return str(class_names[label])


# --------------------------------------------------------------------------------------------
# Images: flat rows back to pictures
# --------------------------------------------------------------------------------------------


def infer_image_shape(num_features: int) -> tuple[int, ...]:
    """The image shape of one example with ``num_features`` values.

    784 -> (28, 28) (MNIST), 64 -> (8, 8) (digits), 3072 -> (3, 32, 32) (CIFAR-10, channels
    first); otherwise a square (s, s) or a channels-first colour square (3, s, s).
    """
    d = _positive_int("num_features", num_features)
    if d in _KNOWN_IMAGE_SHAPES:
        return _KNOWN_IMAGE_SHAPES[d]
    side = math.isqrt(d)
    if side * side == d:
        return (side, side)
    side = math.isqrt(d // 3)
    if d % 3 == 0 and 3 * side * side == d:
        return (3, side, side)
    raise ConfigError(
        f"cannot guess the image shape of {d} features (not a square or 3 squares); "
        "pass image_shape, e.g. (28, 28) or (3, 32, 32)"
    )


def _check_image_shape(image_shape: Any, num_features: int) -> tuple[int, ...]:
    shape = tuple(int(s) for s in image_shape)
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ConfigError(f"image_shape must be (H, W), (C, H, W) or (H, W, C); got {image_shape}")
    if math.prod(shape) != num_features:
        raise ConfigError(
            f"image_shape {shape} holds {math.prod(shape)} values, but each example has "
            f"{num_features} features"
        )
    if len(shape) == 3 and shape[0] not in (1, 3) and shape[-1] not in (1, 3):
        raise ConfigError(f"image_shape {shape} has no channel axis of size 1 or 3 at either end")
    return shape


def _to_images(X: Any, image_shape: Sequence[int] | None = None) -> np.ndarray:
    """Examples as displayable images, each rescaled to [0, 1].

    X: (m, d) flat rows, or (m, *image_shape). image_shape: (H, W), channels first (C, H, W)
    or channels last (H, W, C) with C in {1, 3}; None infers it (see
    :func:`infer_image_shape`; a 3-D or 4-D X gives its own shape).

    Returns (m, H, W) for grey images or (m, H, W, 3) for colour. Each image is min-max
    rescaled on its own, because the data may be mean-centred (CIFAR-10) or weights.
    """
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim < 2 or arr.shape[0] == 0:
        raise ConfigError(f"X must be (m, d) or (m, *image_shape) with m >= 1; got {arr.shape}")
    m, d = arr.shape[0], math.prod(arr.shape[1:])
    if image_shape is None:
        image_shape = arr.shape[1:] if arr.ndim in (3, 4) else infer_image_shape(d)
    shape = _check_image_shape(image_shape, d)
    images = arr.reshape(m, *shape)
    if len(shape) == 3 and shape[0] in (1, 3):
        images = images.transpose(0, 2, 3, 1)  # channels first -> (m, H, W, C) for imshow
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    low = images.min(axis=tuple(range(1, images.ndim)), keepdims=True)
    span = images.max(axis=tuple(range(1, images.ndim)), keepdims=True) - low
    # A constant image (span 0) shows as black rather than dividing by zero.
    return (images - low) / np.where(span > 0, span, 1.0)


def _show_image(ax: Any, image: np.ndarray) -> None:
    """One [0, 1] image without ticks: grey images get a fixed grey scale, not a colour map."""
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(image, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


# --------------------------------------------------------------------------------------------
# Curves
# --------------------------------------------------------------------------------------------


def plot_training(history: Any) -> Figure:
    """Loss and accuracy curves of a run, in the layout of the seed notebook.

    history: a Solver after ``train()``, or a dict with ``loss_history`` (one loss per
    iteration), ``train_acc_history`` and ``val_acc_history`` (one accuracy per epoch, index 0
    = before training), as stored in metrics.json. The histories hold the task's score (see
    :mod:`layerwise.tasks`): a dict's ``score_name`` (e.g. ``"r2"``, ``"subset_accuracy"``) or
    a Solver's task names it on the axes; without one it is accuracy.

    Returns a 10x8 inch figure with two stacked axes: the per-iteration training loss as points,
    and train/val accuracy (score) per epoch with a dashed reference line at 0.5.
    """
    h = _get_history(history)
    score = _score_label(history)
    fig = _new_figure(10, 8)

    ax_loss = fig.add_subplot(2, 1, 1)
    ax_loss.set_title("Training loss")
    # Thousands of iterations (a real run) drown in full-size dots; smaller ones stay legible.
    ax_loss.plot(h["loss_history"], "o", markersize=6 if len(h["loss_history"]) <= 300 else 2)
    ax_loss.set_xlabel("Iteration")
    ax_loss.set_ylabel("Loss (minibatch)")

    ax_acc = fig.add_subplot(2, 1, 2)
    ax_acc.set_title(score)
    ax_acc.plot(h["train_acc_history"], "-o", label="train")
    ax_acc.plot(h["val_acc_history"], "-o", label="val")
    ax_acc.plot([0.5] * len(h["val_acc_history"]), "k--")
    ax_acc.set_xlabel("Epoch")
    ax_acc.set_ylabel(score)
    ax_acc.xaxis.set_major_locator(MaxNLocator(integer=True))  # no "epoch 2.5" ticks
    ax_acc.legend(loc="lower right")
    return fig


def _score_label(history: Any) -> str:
    """The axis label of the score in the histories: a dict's ``score_name``, a Solver's task's
    score, else accuracy."""
    if isinstance(history, Mapping):
        name = history.get("score_name", "accuracy")
    else:
        name = getattr(getattr(history, "task", None), "score_name", "accuracy")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"history['score_name'] must be a score's name, e.g. 'r2'; got {name!r}")
    return _SCORE_LABELS.get(name, name.replace("_", " ").capitalize())


def epoch_costs(history: Any) -> tuple[list[int], list[float]]:
    """(epochs, mean training loss of each) from a Solver or a run's metrics dict.

    history: a Solver (``loss_history`` and ``iterations_per_epoch``: the mean over each
    complete epoch's iterations), a metrics dict with ``epochs`` rows (``{"epoch": e,
    "train_loss": mean}``, as metrics.json stores them; epoch 0 has no loss and is skipped),
    or a dict with ``loss_history`` and ``iterations_per_epoch``.
    """
    if isinstance(history, Mapping) and "epochs" in history:
        return _costs_from_rows(history["epochs"])
    get = history.get if isinstance(history, Mapping) else lambda k: getattr(history, k, None)
    loss, per_epoch = get("loss_history"), get("iterations_per_epoch")
    if loss is None or per_epoch is None:
        raise TypeError(
            "history must be a Solver, or a dict with 'epochs' rows or with 'loss_history' and "
            f"'iterations_per_epoch'; got {type(history).__name__}"
        )
    losses = np.asarray(_numbers("loss_history", loss))
    per_epoch = _positive_int("iterations_per_epoch", per_epoch)
    n = len(losses) // per_epoch  # a partial last epoch (an interrupted run) is left out
    means = losses[: n * per_epoch].reshape(n, per_epoch).mean(axis=1)
    return list(range(1, n + 1)), [float(v) for v in means]


def _costs_from_rows(rows: Any) -> tuple[list[int], list[float]]:
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
        raise TypeError(f"history['epochs'] must be a list of rows; got {rows!r}")
    epochs, costs = [], []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping) or "epoch" not in row or "train_loss" not in row:
            raise ConfigError(
                f"history['epochs'][{i}] must be a dict with 'epoch' and 'train_loss'; got {row!r}"
            )
        if row["train_loss"] is not None:  # epoch 0 (before training) has no loss
            epochs.append(int(row["epoch"]))
            costs.append(float(row["train_loss"]))
    return epochs, costs


def plot_cost_per_epoch(history: Any, label: str = "training") -> Figure:
    """The mean training loss of every epoch as points, like the seed's TensorFlow plot.

    history: a Solver after ``train()`` or a run's metrics dict (see :func:`epoch_costs`).
    A run without a complete epoch gets empty axes that say so.
    label: the legend entry of the points (the seed's was "MLP Training phase").
    """
    epochs, costs = epoch_costs(history)
    fig = _new_figure(8, 5)
    ax = fig.add_subplot()
    ax.plot(epochs, costs, "o", label=label)
    if not epochs:  # e.g. a run that diverged in its first epoch: say so, don't fail
        ax.text(0.5, 0.5, "no complete epoch", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("Cost per epoch")
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Cost (mean training loss)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return fig


# --------------------------------------------------------------------------------------------
# Predictions, weights, confusion matrix
# --------------------------------------------------------------------------------------------


def plot_predictions(
    X: Any,
    y_true: Any,
    y_pred: Any,
    correct: bool = True,
    n: int = 9,
    image_shape: Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
) -> Figure:
    """The first ``n`` correctly (or wrongly) classified examples, as in the seed's MNIST grids.

    X: (m, d) or (m, *image_shape) examples; y_true, y_pred: (m,) integer labels.
    correct: True shows examples with ``y_pred == y_true``, False the misclassified ones.
    n: at most this many panels, in a square grid (9 -> 3x3), in the order of X.
    image_shape: see :func:`infer_image_shape` (None: guessed, e.g. 784 -> 28x28).
    class_names: names by label for the titles (default: the label numbers).

    Each panel is titled ``predicted X, classes Y`` like the seed's. With nothing to show
    (e.g. no mistakes), the figure holds one empty panel saying so.
    """
    X = np.asarray(X)
    m = len(X)
    y_true = _labels("y_true", y_true, m)
    y_pred = _labels("y_pred", y_pred, m)
    n = _positive_int("n", n)
    if not isinstance(correct, (bool, np.bool_)):
        raise TypeError(f"correct must be True or False; got {correct!r}")
    matches = np.flatnonzero((y_pred == y_true) == correct)
    chosen = matches[:n]
    kind = "Correctly classified" if correct else "Misclassified"

    titles = [
        f"predicted {_class_name(class_names, int(y_pred[i]))}, "
        f"classes {_class_name(class_names, int(y_true[i]))}"
        for i in chosen
    ]
    rows, cols = _grid(n)
    # Wide enough for the longest title ("predicted automobile, classes airplane" needs 3.4
    # inches at 10 points), so neighbouring titles never run into each other.
    width = max(2.6, 0.09 * max((len(t) for t in titles), default=0))
    fig = _new_figure(width * cols, 2.6 * rows + 0.4, layout="constrained")
    fig.suptitle(f"{kind}: {len(chosen)} shown of {len(matches)} (out of {m} examples)")
    if len(chosen) == 0:
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, f"no {kind.lower()} examples", ha="center", va="center")
        return fig
    images = _to_images(X[chosen], image_shape)
    for k, (image, title) in enumerate(zip(images, titles, strict=True)):
        ax = fig.add_subplot(rows, cols, k + 1)
        _show_image(ax, image)
        ax.set_title(title)
    return fig


def _first_layer(theta1: Any) -> np.ndarray:
    """theta1 from an array (d, h), a model (``params['theta1']``) or a Solver (its model)."""
    source = getattr(theta1, "model", theta1)  # a Solver holds the model it trains
    params = getattr(source, "params", None)
    if isinstance(params, Mapping):
        if "theta1" not in params:
            raise ConfigError(f"the model has no 'theta1' parameter; it has {sorted(params)}")
        theta1 = params["theta1"]
    w = np.asarray(theta1, dtype=np.float64)
    if w.ndim != 2 or 0 in w.shape:
        raise ConfigError(f"theta1 must be a (d, h) weight matrix; got shape {w.shape}")
    return w


def plot_first_layer_weights(
    theta1: Any, image_shape: Sequence[int] | None = None, max_units: int = 64
) -> Figure:
    """The first layer's weights, one image per hidden unit: what each unit looks for.

    theta1: (d, h) weights (column j feeds hidden unit j), or a model / Solver holding them.
    image_shape: the shape of one input, see :func:`infer_image_shape` (None: guessed).
    max_units: draw the first this many units (of h).

    The units are tiled row by row into one image (one axes, not one per unit: 64 small axes
    take seconds to lay out), with ticks naming the units: unit = row label + column label.
    Each unit's weights are rescaled on their own to [0, 1], so dark = most negative and
    bright = most positive weight of that unit.
    """
    w = _first_layer(theta1)
    max_units = _positive_int("max_units", max_units)
    h = w.shape[1]
    k = min(h, max_units)
    images = _to_images(w[:, :k].T, image_shape)
    rows, cols = _grid(k)
    mosaic = _tile(images, rows, cols)
    height, width = images.shape[1:3]

    fig = _new_figure(max(5.0, 0.9 * cols + 1.5), max(4.0, 0.9 * rows + 1.2))
    ax = fig.add_subplot()
    if mosaic.ndim == 2:
        # NaN marks the gaps between tiles; draw them white, apart from the black-white scale.
        cmap = colormaps["gray"].with_extremes(bad="white")
        ax.imshow(mosaic, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(mosaic, interpolation="nearest")
    ax.set_xticks(
        [c * (width + 1) + (width - 1) / 2 for c in range(cols)], [str(c) for c in range(cols)]
    )
    ax.set_yticks(
        [r * (height + 1) + (height - 1) / 2 for r in range(rows)],
        [str(u) for u in range(0, k, cols)],
    )
    ax.tick_params(length=0)
    ax.set_xlabel("Hidden unit: + column")
    ax.set_ylabel("Hidden unit: row")
    shown = f"all {h}" if k == h else f"the first {k} of {h}"
    ax.set_title(f"First-layer weights: {shown} hidden units, each {_shape_text(images)}")
    return fig


def _tile(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """(k, H, W[, 3]) images -> one (rows*(H+1)-1, cols*(W+1)-1[, 3]) mosaic, row by row.

    Gaps of one pixel separate the tiles: NaN for grey images (drawn in a 'bad' colour),
    white for colour images.
    """
    k, height, width = images.shape[:3]
    shape = (rows * (height + 1) - 1, cols * (width + 1) - 1, *images.shape[3:])
    mosaic = np.full(shape, np.nan if images.ndim == 3 else 1.0)
    for j in range(k):
        r, c = divmod(j, cols)
        top, left = r * (height + 1), c * (width + 1)
        mosaic[top : top + height, left : left + width] = images[j]
    return mosaic


def _shape_text(images: np.ndarray) -> str:
    height, width = images.shape[1:3]
    return f"{height}x{width} {'colour ' if images.ndim == 4 else ''}pixels"


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """Counts (C, C): entry [t, p] is the number of examples of class t predicted as p.

    y_true, y_pred: (m,) integer labels; num_classes: C (default: the largest label + 1).
    """
    y_true = _labels("y_true", y_true)
    y_pred = _labels("y_pred", y_pred, len(y_true))
    largest = int(max(y_true.max(initial=-1), y_pred.max(initial=-1)))
    if num_classes is None:
        num_classes = largest + 1
    num_classes = _positive_int("num_classes", num_classes)
    if largest >= num_classes:
        raise ConfigError(f"label {largest} is out of range for num_classes={num_classes}")
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def plot_confusion_matrix(
    y_true: Any,
    y_pred: Any,
    class_names: Sequence[str] | None = None,
    num_classes: int | None = None,
) -> Figure:
    """True class (rows) against predicted class (columns), the count written in every cell.

    y_true, y_pred: (m,) integer labels. class_names: tick labels by label (their number sets
    C); num_classes: C when there are no names (default: the largest label + 1).
    """
    if class_names is not None:
        if num_classes is not None and num_classes != len(class_names):
            raise ConfigError(
                f"num_classes={num_classes} disagrees with {len(class_names)} class_names"
            )
        num_classes = len(class_names)
    counts = confusion_matrix(y_true, y_pred, num_classes)
    C, total = len(counts), int(counts.sum())
    names = [str(c) for c in range(C)] if class_names is None else [str(c) for c in class_names]

    side = max(5.0, 0.6 * C + 2.0)
    fig = _new_figure(side + 1.0, side, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(counts, cmap="Blues", vmin=0)
    fig.colorbar(
        image,
        ax=ax,
        label="Examples",
        shrink=0.8,
        ticks=MaxNLocator(integer=True, steps=[1, 2, 5, 10]),
    )
    ax.set_xticks(range(C), names, rotation=45 if class_names is not None else 0, ha="right")
    ax.set_yticks(range(C), names)
    if class_names is None:
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("center")
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    correct = int(np.trace(counts))
    accuracy = correct / total if total else math.nan
    ax.set_title(f"Confusion matrix: {correct} of {total} correct (accuracy {accuracy:.3f})")
    # White text on dark cells, black on light ones, so every count stays readable; zeros in
    # grey, so the few mistakes stand out among them.
    dark = counts.max(initial=0) / 2
    for t in range(C):
        for p in range(C):
            colour = "white" if counts[t, p] > dark else "black" if counts[t, p] else "0.6"
            ax.text(p, t, str(counts[t, p]), ha="center", va="center", color=colour, fontsize=9)
    return fig


# --------------------------------------------------------------------------------------------
# Regression and multi-label predictions
# --------------------------------------------------------------------------------------------


def _array(name: str, values: Any) -> np.ndarray:
    try:
        return np.asarray(values)
    except (TypeError, ValueError) as e:  # e.g. ragged lists
        raise ConfigError(f"{name} is not an array of numbers ({e})", name) from None


def _real_columns(name: str, values: Any) -> np.ndarray:
    """``values`` (m,) or (m, k) of finite numbers, as (m, k) float64."""
    arr = _array(name, values)
    if arr.dtype.kind not in "biuf" or arr.ndim not in (1, 2) or arr.size == 0:
        raise ConfigError(
            f"{name} must be a non-empty (m,) or (m, k) array of numbers; got {arr.dtype} of "
            f"shape {arr.shape}",
            name,
        )
    cols = arr.astype(np.float64).reshape(len(arr), -1)
    bad = int(np.count_nonzero(~np.isfinite(cols)))
    if bad:
        raise ConfigError(f"{name} contains NaN or infinite values ({bad} of {cols.size})", name)
    return cols


def _indicators(name: str, values: Any) -> np.ndarray:
    """``values`` (m, k) of 0 and 1, as bools."""
    arr = _array(name, values)
    if arr.dtype.kind not in "biuf" or arr.ndim != 2 or arr.size == 0:
        raise ConfigError(
            f"{name} must be a non-empty (m, k) array of 0/1 label indicators; got {arr.dtype} "
            f"of shape {arr.shape}",
            name,
        )
    valid = np.isin(arr, (0, 1))
    if not valid.all():
        bad = arr[~valid].flat[0].item()
        raise ConfigError(f"{name} holds {bad!r}; multi-label indicators are 0 or 1", name)
    return arr.astype(bool)


def _same_shape(true: np.ndarray, pred: np.ndarray, y_true: Any, y_pred: Any) -> None:
    if pred.shape != true.shape:
        raise ConfigError(
            f"y_pred must have the shape of y_true (one value per example and column); got "
            f"{np.shape(y_pred)} for y_true of shape {np.shape(y_true)}",
            "y_pred",
        )


def _column_names(name: str, names: Any, k: int, default: list[str]) -> list[str]:
    """``names`` (one per column) as strings, or ``default`` when None."""
    if names is None:
        return default
    if isinstance(names, np.ndarray):
        names = names.tolist()
    if isinstance(names, (str, bytes)) or not isinstance(names, Sequence):
        raise ConfigError(f"{name} must be a list of {k} names; got {names!r}", name)
    if len(names) != k:
        raise ConfigError(f"{name} must hold one name per column ({k}); got {len(names)}", name)
    return [str(n) for n in names]


def plot_regression(y_true: Any, y_pred: Any, target_names: Sequence[str] | None = None) -> Figure:
    """Predicted against true values, and the residuals, of every target (up to four).

    y_true, y_pred: (m,) for one target or (m, k), finite; a (m,) and a (m, 1) array match.
    target_names: one name per target (default: "target", or "target 0", "target 1", ...).

    Each target gets a row of two axes: the predictions against the true values with the
    dashed y = x diagonal (a perfect model's points lie on it) and the target's R² in the
    title; and the residuals (predicted - true) against the prediction with a dashed zero line
    (a pattern there is what the model misses). Beyond four targets only the first four are
    drawn, and the figure's title says so; its R² is the mean over all targets.
    """
    true = _real_columns("y_true", y_true)
    pred = _real_columns("y_pred", y_pred)
    _same_shape(true, pred, y_true, y_pred)
    m, k = true.shape
    default = ["target"] if k == 1 else [f"target {j}" for j in range(k)]
    names = _column_names("target_names", target_names, k, default)
    shown = min(k, MAX_REGRESSION_TARGETS)

    fig = _new_figure(11, 3.8 * shown + 0.6, layout="constrained")
    which = "" if shown == k else f", the first {shown} of {k} targets shown"
    fig.suptitle(
        f"Regression: {m} examples{which} (R² {r2_score(pred, true):.3f}"
        f"{' averaged over the targets' if k > 1 else ''})"
    )
    size = 16 if m <= 500 else 4  # thousands of full-size points hide each other
    for j in range(shown):
        t, p = true[:, j], pred[:, j]
        ax = fig.add_subplot(shown, 2, 2 * j + 1)
        ax.scatter(t, p, s=size, alpha=0.6)
        low, high = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
        ax.plot([low, high], [low, high], "k--", linewidth=1, label="y = x")
        ax.set_title(f"{names[j]}: R² = {r2_score(p, t):.3f}")
        ax.set_xlabel(f"True {names[j]}")
        ax.set_ylabel(f"Predicted {names[j]}")
        ax.legend(loc="upper left")

        ax_res = fig.add_subplot(shown, 2, 2 * j + 2)
        ax_res.scatter(p, p - t, s=size, alpha=0.6)
        ax_res.axhline(0.0, color="k", linestyle="--", linewidth=1)
        ax_res.set_title(f"{names[j]}: residuals (MAE {float(np.mean(np.abs(p - t))):.3g})")
        ax_res.set_xlabel(f"Predicted {names[j]}")
        ax_res.set_ylabel("Residual (predicted - true)")
    return fig


def multilabel_scores(y_true: Any, y_pred: Any) -> dict[str, np.ndarray]:
    """Per-label ``precision``, ``recall``, ``f1`` and ``support`` (true positives + false
    negatives) of 0/1 indicators (m, k); a score whose denominator is 0 is 0."""
    return _label_scores(*_multilabel_inputs(y_true, y_pred))


def _multilabel_inputs(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    true = _indicators("y_true", y_true)
    pred = _indicators("y_pred", y_pred)
    _same_shape(true, pred, y_true, y_pred)
    return true, pred


def _label_scores(true: np.ndarray, pred: np.ndarray) -> dict[str, np.ndarray]:
    tp = np.sum(pred & true, axis=0).astype(np.float64)
    fp = np.sum(pred & ~true, axis=0).astype(np.float64)
    fn = np.sum(~pred & true, axis=0).astype(np.float64)

    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

    return {
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "support": (tp + fn).astype(np.int64),
    }


def plot_multilabel(y_true: Any, y_pred: Any, label_names: Sequence[str] | None = None) -> Figure:
    """Precision, recall and F1 of every label as grouped bars (see :func:`multilabel_scores`).

    y_true, y_pred: (m, k) 0/1 indicators. label_names: one name per label (default: the
    label numbers). The title gives the subset accuracy (every label of an example right)
    and the micro-F1 (all example-label pairs pooled).
    """
    true, pred = _multilabel_inputs(y_true, y_pred)
    scores = _label_scores(true, pred)
    m, k = true.shape
    names = _column_names("label_names", label_names, k, [str(j) for j in range(k)])

    fig = _new_figure(min(24.0, max(7.0, 0.8 * k + 2.0)), 5.5)
    ax = fig.add_subplot()
    x = np.arange(k)
    width = 0.27
    for i, (key, label) in enumerate(
        (("precision", "precision"), ("recall", "recall"), ("f1", "F1"))
    ):
        ax.bar(x + (i - 1) * width, scores[key], width, label=label)
    ticks = [f"{name}\nn={n}" for name, n in zip(names, scores["support"], strict=True)]
    ax.set_xticks(x, ticks, rotation=45 if k > 10 or max(map(len, names)) > 8 else 0)
    ax.set_ylim(0.0, 1.2)  # room above the 1.0 bars for the legend
    ax.set_yticks(np.linspace(0.0, 1.0, 6))
    ax.set_xlabel("Label (n: examples that have it)")
    ax.set_ylabel("Score")
    ax.legend(loc="upper right", ncols=3)
    ax.set_title(
        f"Multi-label: subset accuracy {subset_accuracy(pred, true):.3f}, micro-F1 "
        f"{micro_f1(pred, true):.3f} ({m} examples, {k} labels)"
    )
    return fig


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> None:
    """Atomically save ``fig`` as a PNG at ``path`` (which must end in .png)."""
    if not isinstance(fig, Figure):
        raise TypeError(f"save_figure: fig must be a matplotlib Figure; got {type(fig).__name__}")
    if not os.fspath(path).lower().endswith(".png"):
        raise ConfigError(f"save_figure: path must end in .png; got {os.fspath(path)!r}")
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)  # a figure from elsewhere: render it with Agg all the same
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    write_bytes(path, buf.getvalue())


def predict_labels(model: Any, X: Any, batch_size: int = 1000) -> np.ndarray:
    """Predicted labels (m,) of ``model`` for X (m, ...): ``model.predict`` or argmax of scores."""
    predict = getattr(model, "predict", None)
    if callable(predict):
        return np.asarray(predict(X))
    X = np.asarray(X)
    starts = range(0, len(X), batch_size)
    chunks = [np.argmax(model.loss(X[i : i + batch_size]), axis=1) for i in starts]
    return np.concatenate(chunks)


def run_figures(task: str = "classification", images: bool = True) -> tuple[str, ...]:
    """The file names :func:`write_run_figures` writes for ``task``, in order.

    Every run gets curves.png and cost.png; a classifier then gets predictions_correct.png,
    predictions_wrong.png and weights.png when its examples are ``images`` (tabular data is
    not), and confusion.png; a regression run regression.png; a multi-label run multilabel.png.
    ``images`` matters only to a classifier.
    """
    name = get_task(task).name
    if not isinstance(images, (bool, np.bool_)):
        raise ConfigError(f"images must be True or False; got {images!r}", "images")
    if name == "classification" and images:
        return RUN_FIGURES
    return ("curves.png", "cost.png", _TASK_FIGURES[name])


def _predict(model: Any, X: np.ndarray, task: str, batch_size: int = 1000) -> np.ndarray:
    """``model.predict(X)``, or the task's predictions from ``model.loss`` scores."""
    predict = getattr(model, "predict", None)
    if callable(predict):
        return np.asarray(predict(X))
    starts = range(0, len(X), batch_size)
    pred = np.concatenate(
        [get_task(task).predict(model.loss(X[i : i + batch_size])) for i in starts]
    )
    return pred[:, 0] if task == "regression" and pred.ndim == 2 and pred.shape[1] == 1 else pred


def write_run_figures(
    run_dir: str | os.PathLike[str],
    model: Any,
    data: Mapping[str, Any],
    metrics: Mapping[str, Any],
    class_names: Sequence[str] | None = None,
    split: str = "test",
    image_shape: Sequence[int] | None = None,
    task: str = "classification",
    images: bool = True,
    units: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[Path]:
    """Draw every figure of a run into ``run_dir``; return the paths, in :func:`run_figures`
    order.

    units: for a regression run trained on standardised targets, what turns targets and
    predictions back into the data's own units for regression.png.

    model: the trained (best) model; data: a dataset dict with ``X_<split>`` (m, ...) and
    ``y_<split>`` (the task's targets); metrics: the run's metrics dict (``loss_history``,
    ``train_acc_history``, ``val_acc_history``, ``epochs`` rows, optionally ``score_name``),
    as in metrics.json.
    class_names: names by label (e.g. CIFAR-10's) for the prediction titles and the matrix;
    for a regression run the target names, for a multi-label run the label names.
    image_shape: one example as an image (the dataset catalog's; None: the split's own shape
    for image-shaped X, else guessed from the feature count).
    task: the model's task (:mod:`layerwise.tasks`); images: whether a classifier's examples
    are images (False for tabular data: no prediction grids or weight images).

    Writes curves.png and cost.png; then a classifier's predictions_correct.png,
    predictions_wrong.png (the first nine of each in the split) and weights.png (the first
    layer) when ``images``, and confusion.png; a regression run's regression.png (see
    :func:`plot_regression`); a multi-label run's multilabel.png (:func:`plot_multilabel`).
    """
    names = run_figures(task, images)
    task = get_task(task).name
    model_task = getattr(model, "task", task)
    if isinstance(model_task, str) and model_task != task:
        raise ConfigError(f"the model's task is {model_task!r}, not task={task!r}", "task")
    folder = Path(run_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"run folder {str(folder)!r} does not exist")
    for key in (f"X_{split}", f"y_{split}"):
        if key not in data:
            raise ConfigError(
                f"data has no {key!r}; expected a dataset dict with the {split} split"
            )
    X, y = np.asarray(data[f"X_{split}"]), np.asarray(data[f"y_{split}"])
    if task != "classification":
        if "score_name" not in metrics:
            # The histories hold the task's score: say which on the curves' axes.
            metrics = {**metrics, "score_name": get_task(task).score_name}
        predictions = _predict(model, X, task)
        figures = {
            "curves.png": plot_training(metrics),
            "cost.png": plot_cost_per_epoch(metrics),
        }
        if task == "regression":
            if units is not None:
                y, predictions = units(y), units(predictions)
            figures["regression.png"] = plot_regression(y, predictions, target_names=class_names)
        else:
            figures["multilabel.png"] = plot_multilabel(y, predictions, label_names=class_names)
        return _save_all(folder, figures, names)

    y_pred = predict_labels(model, X)
    # The number of classes comes from the model's scores, so a class that never occurs in
    # the split still gets its row and column.
    num_classes = int(np.shape(model.loss(X[:1]))[1])
    if image_shape is None and X.ndim > 2:
        image_shape = X.shape[1:]
    figures = {
        "curves.png": plot_training(metrics),
        "cost.png": plot_cost_per_epoch(metrics),
    }
    if images:  # tabular examples are no pictures: no grids, no weight images
        figures["predictions_correct.png"] = plot_predictions(
            X, y, y_pred, correct=True, image_shape=image_shape, class_names=class_names
        )
        figures["predictions_wrong.png"] = plot_predictions(
            X, y, y_pred, correct=False, image_shape=image_shape, class_names=class_names
        )
        figures["weights.png"] = plot_first_layer_weights(model, image_shape=image_shape)
    figures["confusion.png"] = plot_confusion_matrix(
        y, y_pred, class_names=class_names, num_classes=None if class_names else num_classes
    )
    return _save_all(folder, figures, names)


def _save_all(folder: Path, figures: Mapping[str, Figure], names: Sequence[str]) -> list[Path]:
    paths = []
    for name in names:
        save_figure(figures[name], folder / name)
        paths.append(folder / name)
    return paths


# --------------------------------------------------------------------------------------------
# Learning-rate range test
# --------------------------------------------------------------------------------------------

_LR_FIND_KEYS = ("lrs", "losses", "smoothed")


def plot_lr_find(result: Any) -> Figure:
    """The curve of a learning-rate range test (:func:`layerwise.lr_finder.find_lr`).

    result: an ``LRFinderResult``, or the dict its ``to_dict()`` gives (``lr_find.json``):
    ``lrs``, ``losses``, ``smoothed`` (one entry per step) and ``suggested_lr`` (or None).

    Returns an 8x5 inch figure: the smoothed loss, and faintly the raw minibatch losses,
    against the learning rate on a log axis; the suggested rate as a dashed vertical line,
    labelled with its value. The loss axis stops a little above the start of the curve, so
    the divergence at the end does not squash the part that matters.
    """
    get = result.get if isinstance(result, Mapping) else lambda k: getattr(result, k, None)
    curves = {}
    for key in _LR_FIND_KEYS:
        if get(key) is None:
            raise TypeError(
                f"result must be an LRFinderResult or a dict with {list(_LR_FIND_KEYS)}; "
                f"got {type(result).__name__} without {key!r}"
            )
        curves[key] = np.asarray(_numbers(key, get(key)), dtype=np.float64)
    lrs, losses, smoothed = (curves[k] for k in _LR_FIND_KEYS)
    if not len(lrs) == len(losses) == len(smoothed):
        raise ConfigError(
            f"lrs, losses and smoothed must have one entry per step each; got {len(lrs)}, "
            f"{len(losses)} and {len(smoothed)}"
        )
    if not (lrs > 0).all():
        raise ConfigError("lrs must be learning rates > 0 (they go on a log axis)")
    suggested = get("suggested_lr")
    if suggested is not None and not (
        isinstance(suggested, numbers.Real) and math.isfinite(suggested) and float(suggested) > 0
    ):
        raise ConfigError(f"suggested_lr must be a learning rate > 0 or None; got {suggested!r}")

    fig = _new_figure(8, 5)
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ax.plot(lrs, losses, color="C0", alpha=0.25, linewidth=1, label="loss (minibatch)")
    ax.plot(lrs, smoothed, color="C0", linewidth=2, label="smoothed loss")
    if suggested is not None:
        label = f"suggested lr {suggested:.3g}"
        ax.axvline(float(suggested), color="C3", linestyle="--", label=label)
        ax.text(
            float(suggested),
            0.98,
            f" {suggested:.3g}",
            color="C3",
            va="top",
            transform=ax.get_xaxis_transform(),  # x: the rate; y: near the top of the axes
        )
    finite = np.concatenate([losses, smoothed])
    finite = finite[np.isfinite(finite)]
    if np.isfinite(smoothed).any():
        low = float(finite.min())
        start = float(np.nanmax(smoothed[: int(np.nanargmin(smoothed)) + 1]))
        top = min(float(finite.max()), start + 0.5 * max(start - low, 1e-12))
        pad = 0.05 * max(top - low, 1e-12)
        ax.set_ylim(low - pad, top + pad)
    else:  # e.g. a test whose first loss was already NaN: say so, don't fail
        ax.text(0.5, 0.5, "no step measured", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("Learning-rate range test")
    ax.set_xlabel("Learning rate (log scale)")
    ax.set_ylabel("Training loss")
    ax.legend(loc="lower left")
    return fig
