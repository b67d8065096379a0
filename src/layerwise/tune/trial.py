"""One trial: train a model exactly as ``layerwise train`` would, reporting to the study.

:func:`run_trial` runs in a worker process (a Dask worker, or the ``layerwise tune`` process
itself with ``--jobs 1``). It takes a plain dict (picklable, cheap to send) and returns one:

- the trial is a :class:`~layerwise.recipe.Recipe` (sent as its dict) and trains through
  :func:`layerwise.runs.train_run`, exactly as ``layerwise train`` would, on its engine
  (numpy, keras or tensorflow), recording no run folder;
- after every accuracy check a callback reports the validation accuracy to Optuna at
  step = epoch, and stops the trial when the pruner says so (state ``pruned``);
- an exception while building or training, or a loss that became NaN or infinite (the Solver
  then stops with ``stopped_by.kind == "diverged"``), makes the trial ``fail`` with the error as
  its message; the study goes on;
- the dataset is loaded once per process and kept (:data:`_DATA`), since workers run trial
  after trial on the same data; a dataset that cannot be loaded is a ``setup_error``, which
  stops the whole search (every trial would fail the same way).
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import sys
import time
import warnings
from typing import Any

import numpy as np

from layerwise.callbacks import Callback
from layerwise.recipe import Recipe

#: Datasets loaded by this process, by (name, data_dir, dtype, val_size, preprocess): each
#: worker loads once.
_DATA: dict[tuple[str, str | None, str, int | None, str], dict[str, np.ndarray]] = {}
#: How many times this process has loaded a dataset (reported with every trial).
_LOADS = {"count": 0}
#: Studies opened by this process, by (storage, pruner): reopening replays the whole journal.
_STUDIES: dict[str, Any] = {}


def cached_data(recipe: Recipe) -> dict[str, np.ndarray]:
    """The recipe's dataset, loaded on first use in this process and kept for later trials."""
    key = (
        recipe.dataset,
        recipe.data_dir,
        recipe.network.dtype,
        recipe.val_size,
        recipe.preprocess,
    )
    if key not in _DATA:
        _DATA[key] = recipe.build_data()
        _LOADS["count"] += 1
    return _DATA[key]


def _cached_study(storage: dict[str, str], pruner: dict[str, Any]) -> Any:
    import json

    import optuna

    from layerwise.tune.study import STUDY_NAME, make_pruner, open_storage

    key = json.dumps([storage, pruner], sort_keys=True)
    if key not in _STUDIES:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        _STUDIES[key] = optuna.load_study(
            study_name=storage.get("study_name", STUDY_NAME),
            storage=open_storage(storage),
            sampler=optuna.samplers.RandomSampler(),  # workers report; they never sample
            pruner=make_pruner(pruner),
        )
    return _STUDIES[key]


def worker_name() -> str:
    """The Dask worker's address, or ``host:pid`` outside a Dask worker."""
    if sys.modules.get("distributed") is not None:  # only a Dask worker has imported it
        from distributed import get_worker

        with contextlib.suppress(ValueError):
            return str(get_worker().address)
    return f"{socket.gethostname()}:{os.getpid()}"


def _error_text(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_trial(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the trial ``spec`` describes; return its outcome.

    spec: ``number``, ``trial_id``, ``recipe`` (:meth:`Recipe.to_dict`; or ``recipe_error``
    when the configuration makes no valid recipe), ``storage`` and ``pruner`` (as
    :mod:`layerwise.tune.study` makes them).

    Returns ``number``, ``state`` (``complete``, ``pruned``, ``fail`` or ``setup_error``),
    ``value`` (best validation accuracy; None unless complete), ``error``, ``epochs`` (trained),
    ``train_seconds`` (building and training, data loading excluded), ``worker``, ``pid`` and
    ``data_loads`` (how many datasets this process has loaded so far).
    """
    from layerwise.runs import train_run

    out: dict[str, Any] = {
        "number": spec["number"],
        "state": "fail",
        "value": None,
        "error": None,
        "epochs": 0,
        "train_seconds": 0.0,
        "worker": worker_name(),
        "pid": os.getpid(),
    }
    if spec.get("recipe_error"):  # this configuration is no recipe: the trial fails
        out.update(error=spec["recipe_error"], data_loads=_LOADS["count"])
        return out
    try:
        recipe = Recipe.from_dict(spec["recipe"])
        data = cached_data(recipe)
    except Exception as e:  # bad data or options: every trial would fail the same way
        out.update(state="setup_error", error=_error_text(e))
        return out
    finally:
        out["data_loads"] = _LOADS["count"]
    import optuna

    study = _cached_study(spec["storage"], spec["pruner"])
    trial = optuna.trial.Trial(study, spec["trial_id"])
    reporter = PruningReporter(trial)
    start = time.perf_counter()
    try:
        # The Solver warns on stderr when the loss diverges; the trial records that message
        # as its error instead, so the search's output stays one line per trial.
        with contextlib.redirect_stderr(io.StringIO()):
            result = train_run(recipe, None, data=data, verbose=False, callbacks=[reporter])
    except optuna.TrialPruned as e:
        out.update(state="pruned", error=str(e) or None)
    except Exception as e:
        out.update(state="fail", error=_error_text(e))
    else:
        stopped = result.solver.stopped_by
        if stopped is not None and stopped.kind == "diverged":
            out.update(state="fail", error=stopped.message)
        else:
            out.update(
                state="complete",
                value=float(result.solver.best_val_acc),
                score_name=result.solver.task.score_name,
            )
    out["train_seconds"] = time.perf_counter() - start
    out["epochs"] = reporter.epochs
    return out


class PruningReporter(Callback):
    """Reports the validation accuracy at every check; stops the trial when the pruner says."""

    def __init__(self, trial: Any) -> None:
        self.trial = trial
        self.epochs = 0  # epochs trained so far

    def on_epoch_end(self, solver: Any) -> None:
        import optuna

        self.epochs = solver.epoch
        value = float(solver.val_acc_history[-1])
        with warnings.catch_warnings():
            # A trial run again after a kill re-reports its first epochs; Optuna keeps the
            # first value (the same, as training is seeded) and warns.
            warnings.simplefilter("ignore", UserWarning)
            self.trial.report(value, step=solver.epoch)
        # After the last epoch there is nothing left to save: the trial completes instead.
        if solver.epoch < solver.num_epochs and self.trial.should_prune():
            raise optuna.TrialPruned(
                f"pruned at epoch {solver.epoch}: validation accuracy {value:.4f} was below "
                "the median of the other trials"
            )
