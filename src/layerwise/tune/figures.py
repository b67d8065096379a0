"""The figure of a search: validation accuracy per trial, per epoch and per parameter value.

Built as a plain :class:`matplotlib.figure.Figure` (no ``pyplot`` state, as in
:mod:`layerwise.plots`) from the trial records of :mod:`layerwise.tune.report`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from layerwise.tune.space import SearchSpace, show

#: Marker and colour by trial state.
STYLE: dict[str, dict[str, Any]] = {
    "complete": {"marker": "o", "color": "tab:blue"},
    "pruned": {"marker": "x", "color": "tab:orange"},
    "fail": {"marker": "v", "color": "tab:red"},
}


def _reached(record: Mapping[str, Any]) -> float:
    """The accuracy a trial is plotted at: its result, or the best it reached before stopping
    (NaN when it reached none)."""
    if record["val_acc"] is not None:
        return float(record["val_acc"])
    seen = [e["val_acc"] for e in record["val_acc_per_epoch"] if e["val_acc"] is not None]
    return float(max(seen)) if seen else math.nan


def _by_state(records: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {state: [] for state in STYLE}
    for r in records:
        if r["state"] in groups and not math.isnan(_reached(r)):
            groups[r["state"]].append(r)
    return groups


#: How the figure names a trial's value, by the task's score (accuracy unless the data says).
_SCORE_TITLES = {"accuracy": "accuracy", "r2": "R²", "subset_accuracy": "subset accuracy"}


def _score(records: Sequence[Mapping[str, Any]]) -> str:
    """The score the trials were measured by (their records say; accuracy by default)."""
    names = {str(r["score_name"]) for r in records if r.get("score_name")}
    return _SCORE_TITLES.get(names.pop(), "score") if len(names) == 1 else "accuracy"


def _per_trial(ax: Axes, records: Sequence[Mapping[str, Any]]) -> None:
    for state, group in _by_state(records).items():
        if group:
            ax.scatter(
                [r["number"] for r in group],
                [_reached(r) for r in group],
                label=f"{state} ({len(group)})",
                **STYLE[state],
            )
    ax.set_title(f"Validation {_score(records)} per trial")
    ax.set_xlabel("Trial")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="lower right", fontsize="small")


def _per_epoch(ax: Axes, records: Sequence[Mapping[str, Any]]) -> None:
    for r in records:
        points = [(e["epoch"], e["val_acc"]) for e in r["val_acc_per_epoch"]]
        if points:
            xs, ys = zip(*points, strict=True)
            style = STYLE.get(r["state"], STYLE["fail"])
            ax.plot(
                xs,
                ys,
                color=style["color"],
                alpha=0.6,
                lw=1,
                ls="-" if r["state"] == "complete" else "--",
            )
    ax.set_title(f"Validation {_score(records)} per epoch (dashed: stopped)")
    ax.set_xlabel("Epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _per_value(ax: Axes, records: Sequence[Mapping[str, Any]], name: str, param: Any) -> None:
    numeric = param.is_range
    if not numeric:  # values: one column per value, in the order given
        labels = [show(v) for v in param.values]
        ax.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 4 else 0)
        ax.set_xlim(-0.5, len(labels) - 0.5)
    for state, group in _by_state(records).items():
        xs = []
        for r in group:
            v = r["params"].get(name)
            xs.append(v if numeric else param.values.index(v) if v in param.values else math.nan)
        if group:
            ax.scatter(xs, [_reached(r) for r in group], alpha=0.7, **STYLE[state])
    if numeric and param.log:
        ax.set_xscale("log")
    ax.set_xlabel(name)


def plot_results(records: Sequence[Mapping[str, Any]], space: SearchSpace) -> Figure:
    """Trials (top left), their per-epoch curves (top right), accuracy per parameter (below)."""
    n = len(space.params)
    fig = Figure(figsize=(max(10.0, 3.2 * n), 7.5))
    # A fixed grid rather than a constrained layout: drawing stays fast (it is redrawn after
    # every run) and two columns above share the width of n below.
    grid = fig.add_gridspec(2, 2 * n, hspace=0.45, wspace=0.6, left=0.07, right=0.98, top=0.94)
    ax_trials = fig.add_subplot(grid[0, :n])
    ax_epochs = fig.add_subplot(grid[0, n:])
    _per_trial(ax_trials, records)
    _per_epoch(ax_epochs, records)
    ax_trials.set_ylabel(f"Validation {_score(records)}")
    first = fig.add_subplot(grid[1, 0:2])
    axes = [first] + [
        fig.add_subplot(grid[1, 2 * i : 2 * i + 2], sharey=first) for i in range(1, n)
    ]
    for ax, param in zip(axes, space.params, strict=True):
        _per_value(ax, records, param.name, param)
    first.set_ylabel(f"Validation {_score(records)} by value")
    return fig
