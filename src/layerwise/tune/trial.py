"""One trial: train a model exactly as ``layerwise train`` would, reporting to the study.

:func:`run_trial` runs in a worker process (a Dask worker, or the ``layerwise tune`` process
itself with ``--jobs 1``). It takes a plain dict (picklable, cheap to send) and returns one:

- the trial is a :class:`~layerwise.recipe.Recipe` (sent as its dict) and trains through
  :func:`layerwise.runs.train_run`, exactly as ``layerwise train`` would, on its engine
  (numpy, keras or tensorflow), recording no run folder;
- after every accuracy check a callback reports the validation accuracy at step = epoch
  through a link (:mod:`layerwise.tune.reports`) to the ``layerwise tune`` process, which
  alone opens the study's storage, and stops the trial when the pruner says so (``pruned``);
- an exception while building or training, or a loss that became NaN or infinite (the Solver
  then stops with ``stopped_by.kind == "diverged"``), makes the trial ``fail`` with the error as
  its message; the study goes on;
- the arrays come from the driver (on Dask: shipped once to each worker, which keeps them
  for all its trials), or else are loaded once per process and kept (:data:`_DATA`); a
  dataset that cannot be loaded is a ``setup_error``, which stops the whole search (every
  trial would fail the same way).
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import sys
import time
from typing import Any

import numpy as np

from layerwise.callbacks import Callback
from layerwise.recipe import Recipe

#: Datasets loaded by this process, by (name, data_dir, dtype, val_size, preprocess): each
#: worker loads once.
_DATA: dict[tuple[str, str | None, str, int | None, str], dict[str, np.ndarray]] = {}
#: How many times this process has loaded a dataset (reported with every trial).
_LOADS = {"count": 0}


def data_key(recipe: Recipe) -> tuple[str, str | None, str, int | None, str]:
    """What the arrays a recipe trains on depend on: trials with the same key share them."""
    return (
        recipe.dataset,
        recipe.data_dir,
        recipe.network.dtype,
        recipe.val_size,
        recipe.preprocess,
    )


#: The arrays a driver shipped to this process, as received and as made ready to train on.
_SHIPPED: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def ready_to_train(data: dict[str, Any]) -> dict[str, Any]:
    """Shipped arrays, each aligned and C-ordered: Dask hands a worker arrays that
    view its receive buffer, which may be misaligned (seen: X_train at an odd address), and
    NumPy's loops then take slow paths. A misaligned one is copied once per process."""
    held = _SHIPPED.get(id(data))
    if held is None or held[0] is not data:
        ready = {
            k: np.require(v, requirements=["A", "C"]) if isinstance(v, np.ndarray) else v
            for k, v in data.items()
        }
        _SHIPPED.clear()  # one dataset at a time: the last one shipped
        _SHIPPED[id(data)] = held = (data, ready)
    return held[1]


def cached_data(recipe: Recipe) -> dict[str, np.ndarray]:
    """The recipe's dataset, loaded on first use in this process and kept for later trials."""
    key = data_key(recipe)
    if key not in _DATA:
        _DATA[key] = recipe.build_data()
        _LOADS["count"] += 1
    return _DATA[key]


def worker_name() -> str:
    """The Dask worker's address, or ``host:pid`` outside a Dask worker."""
    if sys.modules.get("distributed") is not None:  # only a Dask worker has imported it
        from distributed import get_worker

        with contextlib.suppress(ValueError):
            return str(get_worker().address)
    return f"{socket.gethostname()}:{os.getpid()}"


def error_text(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_trial(
    spec: dict[str, Any], data: dict[str, np.ndarray] | None = None, link: Any = None
) -> dict[str, Any]:
    """Run the trial ``spec`` describes; return its outcome.

    spec: ``number``, ``trial_id``, ``recipe`` (:meth:`Recipe.to_dict`; or ``recipe_error``
    when the configuration makes no valid recipe), and on a Dask worker ``link``
    (:meth:`layerwise.tune.reports.ReportDesk.link_spec`). ``data``: the arrays, as the
    driver shipped them (None: loaded here, once per process). ``link``: where the epochs'
    reports go (None: a :class:`~layerwise.tune.reports.QueueLink` from ``spec["link"]``).

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
        data = cached_data(recipe) if data is None else ready_to_train(data)
    except Exception as e:  # bad data or options: every trial would fail the same way
        out.update(state="setup_error", error=error_text(e))
        return out
    finally:
        out["data_loads"] = _LOADS["count"]
    import optuna

    from layerwise.tune.reports import LinkError, QueueLink

    if link is None:
        link = QueueLink({**spec["link"], "trial_id": spec["trial_id"]}, out["worker"])
    reporter = PruningReporter(link)
    start = time.perf_counter()
    try:
        # The Solver warns on stderr when the loss diverges; the trial records that message
        # as its error instead, so the search's output stays one line per trial.
        with contextlib.redirect_stderr(io.StringIO()):
            result = train_run(recipe, None, data=data, verbose=False, callbacks=[reporter])
    except optuna.TrialPruned as e:
        out.update(state="pruned", error=str(e) or None)
    except LinkError as e:  # the driver gave the trial up, or cannot record it: not its fault
        out.update(state="lost", error=f"lost: {e}")
    except Exception as e:
        out.update(state="fail", error=error_text(e))
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
    finally:
        link.close()
    out["train_seconds"] = time.perf_counter() - start
    out["epochs"] = reporter.epochs
    return out


class PruningReporter(Callback):
    """Reports the validation accuracy at every check; stops the trial when the pruner says.

    ``link``: :class:`~layerwise.tune.reports.LocalLink` or
    :class:`~layerwise.tune.reports.QueueLink`, which take the report to the study.
    """

    def __init__(self, link: Any) -> None:
        self.link = link
        self.epochs = 0  # epochs trained so far

    def on_epoch_end(self, solver: Any) -> None:
        import optuna

        self.epochs = solver.epoch
        value = float(solver.val_acc_history[-1])
        reason = self.link.report(solver.epoch, value, last=solver.epoch >= solver.num_epochs)
        if reason is not None:
            raise optuna.TrialPruned(reason)
