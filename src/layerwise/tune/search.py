"""The search loop: ask the study for trials, run them on an executor, record what they did.

This process is the only one that asks the study for new trials and tells it their outcomes;
workers only report per-epoch accuracies (through :mod:`layerwise.tune.reports`), and this
process records them and answers whether to prune. Keeping the sampler in one
place means no two workers can draw the same grid point, and a trial is recorded as finished
only when its outcome is in the storage: a run killed at any moment loses at most the trials
in flight, which the next run finds still marked running and runs again.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, Trial, TrialState

from layerwise.errors import ConfigError
from layerwise.tune.database import persist
from layerwise.tune.executors import Executor, SetupError
from layerwise.tune.report import TRIAL_ATTRS, progress_line, tested_line, write_results
from layerwise.tune.study import (
    StudyConfig,
    can_retry,
    counted_trials,
    retry_trial,
    stale_trials,
    suggest_all,
    waiting_trials,
)

__all__ = ["SearchOutcome", "SetupError", "best_trial", "run_search", "summary"]

_STATES = {
    "complete": TrialState.COMPLETE,
    "pruned": TrialState.PRUNED,
    "fail": TrialState.FAIL,
    "lost": TrialState.FAIL,
}


@dataclass
class SearchOutcome:
    counts: Counter[str]  # finished trials of the study by state
    ran: int  # trials finished by this run
    seconds: float
    best: FrozenTrial | None
    records: list[dict[str, Any]]


def _counts(study: optuna.Study) -> Counter[str]:
    return Counter(t.state.name.lower() for t in counted_trials(study))


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return max(complete, key=lambda t: (t.value, -t.number)) if complete else None


def summary(config: StudyConfig, study: optuna.Study, target: int) -> dict[str, Any]:
    """The study-wide part of results.json."""
    best = best_trial(study)
    return {
        "study": str(config.folder),
        "metric": "validation accuracy (best epoch), maximised",
        "space": config.space.to_json(),
        "train_argv": list(config.train_argv),
        "hidden_layers": config.hidden_layers,
        "sampler": config.sampler,
        "pruner": config.pruner,
        "storage": config.storage_name,
        "target_trials": target,
        "best": None
        if best is None
        else {"number": best.number, "val_acc": best.value, "params": best.params},
    }


def run_search(
    study: optuna.Study,
    config: StudyConfig,
    executor: Executor,
    target: int,
    say: Callable[[str], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> SearchOutcome:
    """Run trials until ``target`` have finished in the study (earlier runs' count too).

    Trials found running (left by a killed run) run again first. ``say`` gets one line per
    finished trial (default: stdout); ``progress`` a progress line after each (default:
    stderr). Both are flushed at once: a search runs for long, often into a log file.
    """
    if say is None:
        say = lambda line: print(line, flush=True)  # noqa: E731
    if progress is None:
        progress = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    space = config.space
    run = int(study.user_attrs.get("runs", 0)) + 1
    study.set_user_attr("runs", run)
    in_flight: dict[int, tuple[Trial, dict[str, Any]]] = {}
    finished = len(counted_trials(study))
    executor.start(study)
    start = time.perf_counter()
    ran = 0

    def next_trial() -> Trial | None:
        # A trial running in the storage that this run does not hold: left by a killed run,
        # or an ask whose answer was lost (the database went away after it had marked the
        # trial running). It runs (again) first, under its own number.
        orphans = [t for t in stale_trials(study) if t.number not in in_flight]
        if orphans:
            return Trial(study, orphans[0]._trial_id)
        if finished + len(in_flight) >= target:
            return None
        if config.sampler == "grid" and waiting_trials(study) == 0:
            return None  # every grid point is finished or running
        with warnings.catch_warnings():  # heartbeats are ours, not Study.optimize's
            warnings.filterwarnings("ignore", "Heartbeat of storage", UserWarning)
            return study.ask()

    def save() -> list[dict[str, Any]]:
        return write_results(
            config.folder, study.get_trials(), space, summary(config, study, target)
        )

    records = persist("writing the results", save)
    while True:
        while len(in_flight) < executor.slots:
            trial = persist("asking for a trial", next_trial)
            if trial is None:
                break
            params = persist("drawing a trial's values", suggest_all, trial, space)
            spec: dict[str, Any] = {"number": trial.number, "trial_id": trial._trial_id}
            recipe = None
            try:
                recipe = config.recipe_for(params)
                spec["recipe"] = recipe.to_dict()
            except ConfigError as e:  # e.g. a searched model that the fixed hidden sizes misfit
                spec["recipe_error"] = f"{type(e).__name__}: {e}"
            executor.submit(spec, recipe, trial)
            in_flight[trial.number] = (trial, params)
        if not in_flight:
            break
        result = executor.next_result()
        trial, params = in_flight.pop(result["number"])
        if result["state"] == "setup_error":
            # Left running: the next run (with the data in place) runs it again.
            raise SetupError(result["error"])
        if persist(f"recording trial {trial.number}", _record, study, trial, result, run) is None:
            finished += 1  # a retried trial counts once, when its retry finishes
        ran += 1
        say(tested_line(params, space, result))
        counts = persist("counting trials", _counts, study)
        progress(progress_line(counts, target, time.perf_counter() - start, ran))
        records = persist("writing the results", save)
    return SearchOutcome(
        _counts(study), ran, time.perf_counter() - start, best_trial(study), records
    )


def _record(study: optuna.Study, trial: Trial, result: dict[str, Any], run: int) -> int | None:
    """Tell the study the trial's outcome; a lost trial is retried as a new one, whose number
    is returned (None: no retry)."""
    if result["state"] != "lost":
        _tell(study, trial, result, run)
        return None
    again = can_retry(study, trial._trial_id)
    error = result["error"]
    result["error"] += "; retried as a new trial" if again else "; no retry left"
    _tell(study, trial, result, run)
    result["error"] = error
    if not again:
        return None
    retry = retry_trial(study, trial._trial_id)
    result["error"] += f"; retried as trial {retry}"
    return retry


def _tell(study: optuna.Study, trial: Trial, result: dict[str, Any], run: int) -> None:
    attrs = {**result, "run": run}
    for key in TRIAL_ATTRS:
        # "error" always: a retry inherits the lost trial's attributes, not its error.
        if attrs.get(key) is not None or key == "error":
            trial.set_user_attr(key, attrs.get(key))
    state = _STATES[result["state"]]
    if state == TrialState.COMPLETE:
        study.tell(trial, float(result["value"]))
    else:
        study.tell(trial, state=state)
