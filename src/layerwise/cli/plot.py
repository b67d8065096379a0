"""``layerwise plot RUN [--show]``: draw a trained run's figures again (and show them)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from layerwise.cli._common import PROG, UsageError
from layerwise.cli.evaluate import load_run
from layerwise.errors import LayerwiseError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    plot = sub.add_parser(
        "plot",
        help="draw a trained run's figures again",
        description="Reload a run folder's model, metrics and dataset and write its figures "
        "again: curves.png, cost.png, predictions_correct.png, predictions_wrong.png, "
        "weights.png and confusion.png (on the test split).",
    )
    plot.add_argument("run", metavar="RUN", help="run folder written by 'layerwise train'")
    plot.add_argument(
        "--data-dir", metavar="DIR", help="dataset folder (default: the one the run used)"
    )
    plot.add_argument(
        "--show", action="store_true", help="also open them in windows (when there is a display)"
    )
    plot.set_defaults(func=run)
    return plot


def run(args: argparse.Namespace) -> int:
    folder, recipe, model, data = load_run(args.run, args.data_dir)
    metrics = folder.read_metrics()
    try:
        paths = folder.write_figures(model, data, metrics, recipe.dataset)
    except (LayerwiseError, ValueError, TypeError) as e:
        # A hand-edited or truncated metrics.json, or a model that does not fit the data.
        raise UsageError(f"cannot draw the figures of {str(folder)!r}: {e}") from None
    for path in paths:
        print(path)
    if args.show:
        show_figures(paths)
    return 0


# Matplotlib backends that draw to files only: with one of them, plt.show() opens nothing.
_FILE_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


def _has_display() -> bool:
    """Whether windows can open: on macOS and Windows, or with an X11 or Wayland display."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def show_figures(paths: Sequence[Path]) -> None:
    """Open each PNG in a window of its own; without a display, say so in one line."""
    folder = paths[0].parent
    if not _has_display():
        print(f"{PROG}: note: no display to show figures on; they are in {folder}", file=sys.stderr)
        return
    import matplotlib.pyplot as plt

    if plt.get_backend().lower() in _FILE_BACKENDS:  # e.g. no GUI toolkit installed
        print(
            f"{PROG}: note: matplotlib has no window backend here ({plt.get_backend()}); "
            f"the figures are in {folder}",
            file=sys.stderr,
        )
        return
    for path in paths:
        image = plt.imread(path)
        # One window per file, at the PNG's own size (it was saved at 100 dpi).
        fig = plt.figure(path.name, figsize=(image.shape[1] / 100, image.shape[0] / 100))
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.imshow(image)
        ax.set_axis_off()
    plt.show()
