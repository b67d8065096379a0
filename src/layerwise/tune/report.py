"""What a search prints and leaves in its folder.

- one line per finished trial, as the seed notebook printed them:
  ``Tested 0.001, 256, 0.2, relu: Validation accuracy = 0.9725`` (the searched values in the
  space's order), ``... pruned at epoch 2 (...)`` or ``... failed: <error>``;
- a progress line after each (stderr), and the best parameters at the end;
- ``results.json`` and ``results.csv``: every trial with its parameters, state, validation
  accuracy per epoch, duration and error, rewritten atomically after each trial.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from layerwise.io import write_csv, write_json
from layerwise.tune.space import SearchSpace, show
from layerwise.tune.study import trial_params

RESULTS_JSON = "results.json"
RESULTS_CSV = "results.csv"
#: User attributes a trial carries (set by the search from the worker's outcome).
TRIAL_ATTRS = (
    "error",
    "epochs",
    "train_seconds",
    "worker",
    "pid",
    "data_loads",
    "run",
    "score_name",
)
#: How the lines name a trial's value: the task's score (accuracy unless the data says not).
_SCORE_WORDS = {"accuracy": "accuracy", "r2": "R2", "subset_accuracy": "subset accuracy"}


def _state(trial: FrozenTrial) -> str:
    return trial.state.name.lower()


def trial_record(trial: FrozenTrial, space: SearchSpace) -> dict[str, Any]:
    """One trial as plain JSON: number, state, value, params, val accuracy per epoch, ..."""
    params = trial_params(trial)
    duration = trial.duration.total_seconds() if trial.duration is not None else None
    record: dict[str, Any] = {
        "number": trial.number,
        "state": _state(trial),
        "val_acc": trial.value if trial.state == TrialState.COMPLETE else None,
        "params": {name: params.get(name) for name in space.names},
        "val_acc_per_epoch": [
            {"epoch": step, "val_acc": value}
            for step, value in sorted(trial.intermediate_values.items())
        ],
        "duration_s": duration,
        "started": trial.datetime_start.isoformat() if trial.datetime_start else None,
        "finished": trial.datetime_complete.isoformat() if trial.datetime_complete else None,
    }
    for key in TRIAL_ATTRS:
        record[key] = trial.user_attrs.get(key)
    return record


def csv_rows(records: Sequence[Mapping[str, Any]], space: SearchSpace) -> list[dict[str, Any]]:
    """Flat rows: params as columns, one ``val_acc_epoch_E`` column per epoch any trial saw."""
    epochs = sorted({e["epoch"] for r in records for e in r["val_acc_per_epoch"]})
    rows = []
    for r in records:
        per_epoch = {e["epoch"]: e["val_acc"] for e in r["val_acc_per_epoch"]}
        row: dict[str, Any] = {"number": r["number"], "state": r["state"], "val_acc": r["val_acc"]}
        row.update({name: r["params"].get(name) for name in space.names})
        row.update({f"val_acc_epoch_{e}": per_epoch.get(e) for e in epochs})
        row.update(
            {k: r[k] for k in ("duration_s", "epochs", "train_seconds", "worker", "run", "error")}
        )
        rows.append(row)
    return rows


def write_results(
    folder: Path, trials: Sequence[FrozenTrial], space: SearchSpace, summary: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Write results.json (``summary`` plus every trial) and results.csv; return the records."""
    records = [trial_record(t, space) for t in trials if t.state != TrialState.WAITING]
    write_json(folder / RESULTS_JSON, {**summary, "trials": records})
    write_csv(folder / RESULTS_CSV, csv_rows(records, space))
    return records


# --------------------------------------------------------------------------------------------
# Lines
# --------------------------------------------------------------------------------------------


def values_text(params: Mapping[str, Any], space: SearchSpace) -> str:
    return ", ".join(show(params.get(name)) for name in space.names)


def tested_line(params: Mapping[str, Any], space: SearchSpace, result: Mapping[str, Any]) -> str:
    """The seed's line for a finished trial (pruned and failed ones say so instead)."""
    head = f"Tested {values_text(params, space)}"
    if result["state"] == "complete":
        score = _SCORE_WORDS.get(result.get("score_name") or "accuracy", "accuracy")
        return f"{head}: Validation {score} = {result['value']}"
    if result["state"] == "pruned":
        return f"{head}: {result.get('error') or 'pruned'}"
    return f"{head}: failed: {result.get('error')}"


def progress_line(counts: Mapping[str, int], target: int, elapsed: float, done_here: int) -> str:
    """``progress: 7/24 trials finished (6 complete, 1 pruned, 0 failed); 1m12s, ~3m left``."""
    finished = sum(counts.values())
    text = (
        f"progress: {finished}/{target} trials finished ({counts.get('complete', 0)} complete, "
        f"{counts.get('pruned', 0)} pruned, {counts.get('fail', 0)} failed); "
        f"{_duration(elapsed)} elapsed"
    )
    if done_here and finished < target:
        left = elapsed / done_here * (target - finished)
        text += f", ~{_duration(left)} left"
    return text


def _duration(exact: float) -> str:
    seconds = round(exact)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def best_line(trial: FrozenTrial, space: SearchSpace) -> str:
    """``Best params: {'lr': 0.1, ...} with accuracy 0.9779`` (the seed's last line)."""
    params = trial_params(trial)
    score = _SCORE_WORDS.get(trial.user_attrs.get("score_name") or "accuracy", "accuracy")
    return f"Best params: { {n: params[n] for n in space.names} } with {score} {trial.value}"
