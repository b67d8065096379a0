"""One trial: train a model exactly as ``layerwise train`` would, reporting to the study.

:func:`run_trial` runs in a worker process (a Dask worker, or the ``layerwise tune`` process
itself with ``--jobs 1``). It takes a plain dict (picklable, cheap to send) and returns one:

- the options are parsed by the ``layerwise train`` parser, the model is built by the same
  function and the Solver gets the same settings (:mod:`layerwise.recipe`), including the
  ``--engine`` that computes the updates (numpy, keras or tensorflow);
- after every accuracy check the validation accuracy is reported to Optuna at step = epoch,
  and the trial is stopped when the pruner says so (state ``pruned``);
- an exception while building or training, or a loss that became NaN or infinite (the Solver
  then stops with ``stopped_reason``), makes the trial ``fail`` with the error as its message;
  the study goes on;
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
from pathlib import Path
from typing import Any

import numpy as np

#: Datasets loaded by this process, by (name, data_dir, dtype, val_size): each worker loads once.
_DATA: dict[tuple[str, str | None, str, int | None], dict[str, np.ndarray]] = {}
#: How many times this process has loaded a dataset (reported with every trial).
_LOADS = {"count": 0}
#: Studies opened by this process, by (storage, pruner): reopening replays the whole journal.
_STUDIES: dict[str, Any] = {}


def cached_data(
    dataset: str, data_dir: str | None, dtype: str, val_size: int | None = None
) -> dict[str, np.ndarray]:
    """The dataset, loaded on first use in this process and kept for later trials."""
    from layerwise.cli import _load_data

    key = (dataset, data_dir, dtype, val_size)
    if key not in _DATA:
        _DATA[key] = _load_data(dataset, data_dir, dtype, val_size)
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
            study_name=STUDY_NAME,
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

    spec: ``number``, ``trial_id``, ``train_argv`` (the full ``layerwise train`` options),
    ``storage`` and ``pruner`` (as :mod:`layerwise.tune.study` makes them).

    Returns ``number``, ``state`` (``complete``, ``pruned``, ``fail`` or ``setup_error``),
    ``value`` (best validation accuracy; None unless complete), ``error``, ``epochs`` (trained),
    ``train_seconds`` (building and training, data loading excluded), ``worker``, ``pid`` and
    ``data_loads`` (how many datasets this process has loaded so far).
    """
    from layerwise.cli import build_parser

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
    try:
        args = build_parser().parse_args(["train", *spec["train_argv"]])
        data_dir = str(Path(args.data_dir).resolve()) if args.data_dir else None
        data = cached_data(args.dataset, data_dir, args.dtype, args.val_size)
    except Exception as e:  # bad data or options: every trial would fail the same way
        out.update(state="setup_error", error=_error_text(e))
        return out
    finally:
        out["data_loads"] = _LOADS["count"]
    import optuna

    study = _cached_study(spec["storage"], spec["pruner"])
    trial = optuna.trial.Trial(study, spec["trial_id"])
    solver = None
    start = time.perf_counter()
    try:
        solver = _build_solver(args, data, _PruningReporter(trial))
        # The Solver warns on stderr when the loss diverges; the trial records that message
        # as its error instead, so the search's output stays one line per trial.
        with contextlib.redirect_stderr(io.StringIO()):
            solver.train()
    except optuna.TrialPruned as e:
        out.update(state="pruned", error=str(e) or None)
    except Exception as e:
        out.update(state="fail", error=_error_text(e))
    else:
        if solver.stopped_reason and not _early_stopped(solver):
            out.update(state="fail", error=solver.stopped_reason)  # diverged: loss NaN/inf
        else:
            out.update(state="complete", value=float(solver.best_val_acc))
    out["train_seconds"] = time.perf_counter() - start
    if solver is not None:
        out["epochs"] = solver.epoch
    return out


def _early_stopped(solver: Any) -> bool:
    # The Solver sets stopped_reason both for early stopping (a normal end) and for a loss
    # that became NaN or infinite; only the first starts with these words.
    return str(solver.stopped_reason).startswith("early stopping")


class _PruningReporter:
    """The Solver's epoch callback: report validation accuracy, stop when the pruner says so."""

    def __init__(self, trial: Any) -> None:
        self.trial = trial

    def __call__(self, solver: Any) -> None:
        import optuna

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


def _build_solver(args: Any, data: dict[str, np.ndarray], reporter: _PruningReporter) -> Any:
    """The model and Solver that ``layerwise train`` would build from these options."""
    from layerwise.cli import _build_model, _check_model_options, _resolve_hidden
    from layerwise.frameworks.engines import make_solver
    from layerwise.recipe import data_dims, solver_options

    hidden = _resolve_hidden(args)
    _check_model_options(args)
    input_dim, num_classes = data_dims(data)
    model = _build_model(args, hidden, input_dim, num_classes)
    return make_solver(
        args.engine,
        model,
        data,
        **solver_options(args),
        print_every=args.print_every,
        verbose=False,
        epoch_callback=reporter,
    )
