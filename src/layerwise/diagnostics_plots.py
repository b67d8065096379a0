"""Figures of a :class:`~layerwise.diagnostics.Diagnostics` record (``diagnostics.json``).

- :func:`plot_histograms`: per hidden layer, the activations' histogram, and per weight matrix,
  the gradient's, at the first check (before the first update) and the last (as in CS231n's
  weight-initialisation and batchnorm notebooks): a layer whose activations collapse to 0 or
  pile up at ±1, or whose gradients are a spike at 0, shows here at once;
- :func:`plot_update_ratios`: the update/weight ratio ``||dw|| / ||w||`` of every weight
  matrix against the iteration, on a log axis, with CS231n's 1e-3 guide line.

Both take the dict of ``diagnostics.json`` and return Agg figures (:mod:`layerwise.plots`).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from layerwise.errors import ConfigError
from layerwise.plots import _new_figure

#: CS231n's rule of thumb for the update/weight ratio, and the band doctor accepts.
GUIDE_RATIO, HEALTHY_RATIOS = 1e-3, (1e-4, 1e-2)


def _record(diagnostics: Any) -> dict[str, Any]:
    if not (isinstance(diagnostics, dict) and isinstance(diagnostics.get("checks"), list)):
        raise ConfigError(
            "diagnostics must be the dict of diagnostics.json (with a list of checks); got "
            f"{type(diagnostics).__name__}"
        )
    return diagnostics


def _weight_names(params: dict[str, Any]) -> list[str]:
    names = [k for k in params if re.fullmatch(r"theta\d+", k)]
    return sorted(names, key=lambda k: int(k[5:]))


def _bars(ax: Any, hist: dict[str, list[float]], label: str, color: str) -> None:
    edges, counts = hist.get("edges") or [], hist.get("counts") or []
    if not counts:
        return
    edges_a = np.asarray(edges)
    ax.stairs(counts, edges_a, fill=True, alpha=0.45, color=color, label=label)


def plot_histograms(diagnostics: Any) -> Figure:
    """Activation (top row) and weight-gradient (bottom row) histograms per layer, first check
    against last."""
    record = _record(diagnostics)
    hists = record.get("histograms") or {}
    first, last = hists.get("first") or {}, hists.get("last") or {}
    layers = sorted((first.get("activations") or {}), key=int)
    weights = sorted((first.get("gradients") or {}), key=lambda k: int(k[5:]))
    cols = max(len(layers), len(weights), 1)
    fig = _new_figure(3.2 * cols, 6.0, layout="constrained")
    axes = fig.subplots(2, cols, squeeze=False)
    when = f"iteration {first.get('iteration', 0)} / {last.get('iteration', '?')}"
    for j in range(cols):
        for row, (kind, names, title) in enumerate(
            [("activations", layers, "layer {} activations"), ("gradients", weights, "d{}")]
        ):
            ax = axes[row][j]
            if j >= len(names):
                ax.set_visible(False)
                continue
            name = names[j]
            _bars(ax, first[kind][name], "first", "tab:blue")
            if last:
                _bars(ax, last[kind].get(name, {}), "last", "tab:orange")
            ax.set_title(title.format(name), fontsize=9)
            ax.tick_params(labelsize=7)
            ax.legend(fontsize=7)
    fig.suptitle(f"{record.get('activation') or 'hidden'} activations and gradients ({when})")
    return fig


def update_ratios(diagnostics: Any) -> dict[str, tuple[list[int], list[float]]]:
    """Per weight matrix: (iterations, update/weight ratios) of the checks that have one."""
    record = _record(diagnostics)
    series: dict[str, tuple[list[int], list[float]]] = {}
    for check in record["checks"]:
        for name in _weight_names(check.get("params") or {}):
            ratio = check["params"][name].get("update_ratio")
            if ratio is not None and ratio > 0:
                its, values = series.setdefault(name, ([], []))
                its.append(int(check["iteration"]))
                values.append(float(ratio))
    return series


def plot_update_ratios(diagnostics: Any) -> Figure:
    """The update/weight ratio of every weight matrix over training (log axis), with the 1e-3
    guide line and the [1e-4, 1e-2] band."""
    series = update_ratios(diagnostics)
    fig = _new_figure(7.0, 4.0)
    ax = fig.subplots()
    for name, (its, values) in series.items():
        ax.plot(its, values, "-", marker=".", label=name)
    ax.axhline(GUIDE_RATIO, color="k", linestyle="--", linewidth=1, label="1e-3 guide")
    ax.axhspan(*HEALTHY_RATIOS, color="tab:green", alpha=0.08)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("||update|| / ||weights||")
    ax.set_title("Update/weight ratio per layer")
    if not series:
        ax.text(0.5, 0.5, "no update measured yet", ha="center", transform=ax.transAxes)
    ax.legend(fontsize=8)
    return fig
