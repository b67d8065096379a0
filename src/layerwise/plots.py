"""Figures of a training run, built as plain :class:`matplotlib.figure.Figure` objects.

Nothing here touches ``matplotlib.pyplot``: a figure made through pyplot is registered in a
global list (and may try to open a window), which leaks memory in long sessions and breaks on
machines without a display. Each figure gets its own Agg canvas instead, so this module works
headless and from several threads.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from layerwise.io import write_bytes

_HISTORY_KEYS = ("loss_history", "train_acc_history", "val_acc_history")


def _get_history(history: Any) -> dict[str, list[float]]:
    """Read the three histories from a Solver (attributes) or a dict (e.g. metrics.json)."""
    out: dict[str, list[float]] = {}
    for key in _HISTORY_KEYS:
        if isinstance(history, Mapping):
            if key not in history:
                raise ValueError(f"history is missing {key!r}; expected keys {list(_HISTORY_KEYS)}")
            values = history[key]
        elif hasattr(history, key):
            values = getattr(history, key)
        else:
            raise TypeError(
                f"history must be a Solver or a dict with {list(_HISTORY_KEYS)}; "
                f"got {type(history).__name__} without {key!r}"
            )
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise TypeError(f"history[{key!r}] must be a list of numbers; got {values!r}")
        try:
            # JSON stores a NaN/inf loss as null; plot it as a gap (NaN), not a crash.
            out[key] = [math.nan if v is None else float(v) for v in values]
        except (TypeError, ValueError):
            raise TypeError(f"history[{key!r}] must contain only numbers; got {values!r}") from None
    if len(out["train_acc_history"]) != len(out["val_acc_history"]):
        raise ValueError(
            f"train_acc_history and val_acc_history must have one entry per epoch each; got "
            f"{len(out['train_acc_history'])} and {len(out['val_acc_history'])} entries"
        )
    return out


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="tight")
    FigureCanvasAgg(fig)  # attaches itself as fig.canvas; no pyplot, no GUI
    return fig


def plot_training(history: Any) -> Figure:
    """Loss and accuracy curves of a run, in the layout of the seed notebook.

    history: a Solver after ``train()``, or a dict with ``loss_history`` (one loss per
    iteration), ``train_acc_history`` and ``val_acc_history`` (one accuracy per epoch, index 0
    = before training), as stored in metrics.json.

    Returns a 10x8 inch figure with two stacked axes: the per-iteration training loss as points,
    and train/val accuracy per epoch with a dashed reference line at 0.5.
    """
    h = _get_history(history)
    fig = _new_figure(10, 8)

    ax_loss = fig.add_subplot(2, 1, 1)
    ax_loss.set_title("Training loss")
    ax_loss.plot(h["loss_history"], "o")
    ax_loss.set_xlabel("Iteration")

    ax_acc = fig.add_subplot(2, 1, 2)
    ax_acc.set_title("Accuracy")
    ax_acc.plot(h["train_acc_history"], "-o", label="train")
    ax_acc.plot(h["val_acc_history"], "-o", label="val")
    ax_acc.plot([0.5] * len(h["val_acc_history"]), "k--")
    ax_acc.set_xlabel("Epoch")
    ax_acc.xaxis.set_major_locator(MaxNLocator(integer=True))  # no "epoch 2.5" ticks
    ax_acc.legend(loc="lower right")
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> None:
    """Atomically save ``fig`` as a PNG at ``path`` (which must end in .png)."""
    if not isinstance(fig, Figure):
        raise TypeError(f"save_figure: fig must be a matplotlib Figure; got {type(fig).__name__}")
    if not os.fspath(path).lower().endswith(".png"):
        raise ValueError(f"save_figure: path must end in .png; got {os.fspath(path)!r}")
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)  # a figure from elsewhere: render it with Agg all the same
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    write_bytes(path, buf.getvalue())
