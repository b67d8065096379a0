"""The search loop: ask the study for trials, run them on an executor, record what they did.

This process is the only one that asks the study for new trials and tells it their outcomes;
workers only report per-epoch accuracies and ask whether to prune. Keeping the sampler in one
place means no two workers can draw the same grid point, and a trial is recorded as finished
only when its outcome is in the storage: a run killed at any moment loses at most the trials
in flight, which the next run finds still marked running and runs again.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, Trial, TrialState

from layerwise.errors import ConfigError, LayerwiseError
from layerwise.tune.executors import Executor
from layerwise.tune.report import TRIAL_ATTRS, progress_line, tested_line, write_results
from layerwise.tune.study import FINISHED, StudyConfig, stale_trials, suggest_all, waiting_trials

_STATES = {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED, "fail": TrialState.FAIL}


class SetupError(LayerwiseError, RuntimeError):
    """A trial could not even start (e.g. the dataset is missing): the search stops."""


@dataclass
class SearchOutcome:
    counts: Counter[str]  # finished trials of the study by state
    ran: int  # trials finished by this run
    seconds: float
    best: FrozenTrial | None
    records: list[dict[str, Any]]


def _counts(study: optuna.Study) -> Counter[str]:
    return Counter(t.state.name.lower() for t in study.get_trials(deepcopy=False, states=FINISHED))


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
    rerun: list[Trial] = [Trial(study, t._trial_id) for t in stale_trials(study)]
    in_flight: dict[int, tuple[Trial, dict[str, Any]]] = {}
    finished = len(study.get_trials(deepcopy=False, states=FINISHED))
    start = time.perf_counter()
    ran = 0

    def next_trial() -> Trial | None:
        if rerun:
            return rerun.pop(0)
        if finished + len(in_flight) >= target:
            return None
        if config.sampler == "grid" and waiting_trials(study) == 0:
            return None  # every grid point is finished or running
        return study.ask()

    records = write_results(
        config.folder, study.get_trials(), space, summary(config, study, target)
    )
    while True:
        while len(in_flight) < executor.slots:
            trial = next_trial()
            if trial is None:
                break
            params = suggest_all(trial, space)
            spec: dict[str, Any] = {
                "number": trial.number,
                "trial_id": trial._trial_id,
                "storage": config.storage_spec(),
                "pruner": config.pruner,
            }
            try:
                spec["recipe"] = config.recipe_for(params).to_dict()
            except ConfigError as e:  # e.g. a searched model that the fixed hidden sizes misfit
                spec["recipe_error"] = f"{type(e).__name__}: {e}"
            executor.submit(spec)
            in_flight[trial.number] = (trial, params)
        if not in_flight:
            break
        result = executor.next_result()
        trial, params = in_flight.pop(result["number"])
        if result["state"] == "setup_error":
            # Left running: the next run (with the data in place) runs it again.
            raise SetupError(result["error"])
        _tell(study, trial, result, run)
        finished += 1
        ran += 1
        say(tested_line(params, space, result))
        progress(progress_line(_counts(study), target, time.perf_counter() - start, ran))
        records = write_results(
            config.folder, study.get_trials(), space, summary(config, study, target)
        )
    return SearchOutcome(
        _counts(study), ran, time.perf_counter() - start, best_trial(study), records
    )


def _tell(study: optuna.Study, trial: Trial, result: dict[str, Any], run: int) -> None:
    attrs = {**result, "run": run}
    for key in TRIAL_ATTRS:
        if attrs.get(key) is not None:
            trial.set_user_attr(key, attrs[key])
    state = _STATES[result["state"]]
    if state == TrialState.COMPLETE:
        study.tell(trial, float(result["value"]))
    else:
        study.tell(trial, state=state)
