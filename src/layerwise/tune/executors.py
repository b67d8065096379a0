"""Where trials run: in this process, or on a Dask distributed cluster.

An executor takes trial specs (:func:`layerwise.tune.trial.run_trial`'s argument) and gives
back their outcomes as they finish. The search keeps ``slots`` trials in flight, no more, so
the sampler learns from finished trials and a killed run loses only the trials in flight.

- :class:`InlineExecutor` (``--jobs 1``): trials run one after the other in this process.
- :class:`DaskExecutor`: ``--jobs N`` starts a ``LocalCluster`` of N worker processes on
  127.0.0.1 (one thread each, BLAS limited to one thread, so N trials share the cores without
  oversubscribing them); ``--scheduler ADDRESS`` uses an existing cluster instead. Both are the
  same code: local parallelism is a cluster that happens to be on this machine.

Workers need no shared file system: this process loads the dataset once and ships the arrays
to every worker (``client.scatter(broadcast=True)``; each keeps them for all its trials), and
the trials' reports come back to this process (:mod:`layerwise.tune.reports`), the only one
that opens the study's storage. A trial whose worker dies is run again by Dask elsewhere; one
that goes silent for the grace period, or that Dask gives up on, comes back ``lost``, and the
search records it failed and retries it (:mod:`layerwise.tune.search`).
"""

from __future__ import annotations

import collections
import logging
import os
import signal
from typing import Any, Protocol

from layerwise.errors import LayerwiseError
from layerwise.recipe import Recipe
from layerwise.tune.reports import GRACE_SECONDS, LocalLink, ReportDesk
from layerwise.tune.trial import cached_data, data_key, error_text, run_trial

#: Environment of LocalCluster workers: one BLAS/OpenMP thread per worker process.
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


#: Seconds to wait for an existing cluster's scheduler to answer.
CONNECT_TIMEOUT = 30.0


def _worker_config() -> dict[str, Any]:
    """Dask settings for the local workers: what a CPU-bound NumPy training loop needs.

    - Dask's nanny exports ``MALLOC_TRIM_THRESHOLD_=65536`` to its workers, so that glibc
      hands freed memory back to the OS at once; a training loop frees temporary arrays of a
      few hundred KiB at every step, and trimming after each made trials 1.5-1.7x slower
      (measured on MNIST). Workers get glibc's own adaptive threshold instead.
    - The statistical profiler samples every thread's stack every 10 ms for the dashboard,
      which a LocalCluster here does not run.
    """
    import dask

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return {
        "distributed.nanny.pre-spawn-environ": environ,
        "distributed.worker.profile.enabled": False,
    }


def dask_setup(worker: Any) -> None:
    """Dask preload hook, run in each local worker process as it starts (main thread).

    Ctrl-C in a terminal reaches every process of the foreground group, the workers too; the
    ``layerwise tune`` process handles it (and closes the cluster), so the workers ignore it
    rather than each printing a KeyboardInterrupt traceback.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ExecutorError(LayerwiseError, RuntimeError):
    """The cluster cannot be started or reached."""


class SetupError(LayerwiseError, RuntimeError):
    """A trial could not even start (e.g. the dataset is missing): the search stops."""


class Executor(Protocol):
    slots: int
    description: str

    def start(self, study: Any) -> None: ...

    def submit(self, spec: dict[str, Any], recipe: Recipe | None, trial: Any) -> None: ...

    def next_result(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


def default_jobs() -> int:
    """One trial per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


class InlineExecutor:
    """Runs each trial in this process when its result is asked for."""

    slots = 1
    description = "this process (--jobs 1)"

    def __init__(self) -> None:
        self._queue: collections.deque[tuple[dict[str, Any], Any]] = collections.deque()
        self._study: Any = None

    def start(self, study: Any) -> None:
        self._study = study

    def submit(self, spec: dict[str, Any], recipe: Recipe | None, trial: Any) -> None:
        self._queue.append((spec, trial))

    def next_result(self) -> dict[str, Any]:
        spec, trial = self._queue.popleft()
        return run_trial(spec, link=LocalLink(trial))

    def close(self) -> None:
        self._queue.clear()


class DaskExecutor:
    """Runs trials as tasks on a Dask cluster: a new local one, or one at ``scheduler``."""

    def __init__(
        self, jobs: int | None = None, scheduler: str | None = None, grace: float = GRACE_SECONDS
    ) -> None:
        import dask
        from distributed import Client, LocalCluster, as_completed

        self._cluster: Any = None
        try:
            if scheduler is None:
                workers = jobs or default_jobs()
                with dask.config.set(_worker_config()):  # read as the workers start
                    self._cluster = LocalCluster(
                        n_workers=workers,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        # No dashboard; the scheduler's small HTTP server (health checks) on a
                        # free loopback port, not 8787, which another cluster may hold.
                        dashboard_address=None,
                        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                        env=SINGLE_THREAD_ENV,
                        preload=[__name__],  # dask_setup above
                        silence_logs=logging.ERROR,
                    )
                self.client = Client(self._cluster)
                self.description = f"a local Dask cluster of {workers} worker processes"
            else:
                self.client = Client(scheduler, timeout=CONNECT_TIMEOUT)
                self.description = f"the Dask cluster at {scheduler}"
        except (OSError, TimeoutError, ValueError, TypeError) as e:
            # ValueError/TypeError: an address Dask cannot parse ('', 'garbage', 'tcp://')
            self._close_cluster()
            where = scheduler or "a local cluster"
            raise ExecutorError(f"cannot start or reach {where}: {e}") from None
        threads = sum(self.client.nthreads().values())
        if threads == 0:
            self.close()
            raise ExecutorError(f"{self.description} has no workers")
        self.slots = jobs or threads
        self.grace = grace
        self.desk: ReportDesk | None = None
        self._futures: Any = as_completed()
        self._in_flight: dict[Any, dict[str, Any]] = {}  # future key -> spec
        self._by_number: dict[int, Any] = {}  # trial number -> future
        self._lost: dict[int, str] = {}  # trial number -> why it was declared lost
        self._data: dict[tuple[Any, ...], Any] = {}  # data key -> the scattered arrays

    def start(self, study: Any) -> None:
        self.desk = ReportDesk(study, self.grace, on_lost=self._declare_lost, started=self._started)

    def _started(self) -> dict[int, str]:
        """The desk's thread: the trials whose tasks the scheduler has given to a worker, by
        number: that worker's address."""
        where = {str(k): w for w, tasks in self.client.processing().items() for k in tasks}
        return {
            spec["number"]: where[str(key)]
            for key, spec in list(self._in_flight.items())
            if str(key) in where
        }

    def _arrays(self, recipe: Recipe) -> Any:
        """The recipe's arrays on the workers: loaded here and scattered once per key."""
        key = data_key(recipe)
        future = self._data.get(key)
        if future is None or future.status != "finished":  # new, or lost with its workers
            try:
                data = cached_data(recipe)
            except Exception as e:  # every trial would fail the same way
                raise SetupError(error_text(e)) from None
            # One future for the whole dict (a dict given as such scatters each array apart).
            self._data[key] = self.client.scatter([data], broadcast=True, hash=False)[0]
        return self._data[key]

    def submit(self, spec: dict[str, Any], recipe: Recipe | None, trial: Any) -> None:
        """Send the trial ``spec`` (its Optuna ``trial`` takes the reports) to the cluster."""
        assert self.desk is not None, "start() first"
        spec = {**spec, "link": self.desk.link_spec(spec["trial_id"])}
        data = None if recipe is None else self._arrays(recipe)
        placement: dict[str, Any] = {}
        if self.desk.suspects:  # keep retries off a worker that went silent
            healthy = [w for w in self.client.scheduler_info()["workers"]]
            healthy = [w for w in healthy if w not in self.desk.suspects]
            if healthy:
                placement = {"workers": healthy, "allow_other_workers": False}
        self.desk.watch(trial)
        future = self.client.submit(run_trial, spec, data, pure=False, **placement)
        self._in_flight[future.key] = spec
        self._by_number[spec["number"]] = future
        self._futures.add(future)

    def _declare_lost(self, number: int, reason: str) -> None:
        """The desk's thread: stop waiting for trial ``number``; its result will say why."""
        self._lost[number] = reason
        future = self._by_number.get(number)
        if future is not None:
            future.cancel()

    def next_result(self) -> dict[str, Any]:
        future = next(self._futures)
        spec = self._in_flight.pop(future.key)
        number = spec["number"]
        self._by_number.pop(number, None)
        assert self.desk is not None
        worker = self.desk.worker_of(spec["trial_id"])
        self.desk.forget(spec["trial_id"])
        lost = self._lost.pop(number, None)
        if lost is None:
            try:
                result: dict[str, Any] = future.result()
                return result
            except Exception as e:  # Dask gave up on it: its workers kept dying, or it is gone
                lost = f"lost: {error_text(e)} on the cluster"
        return {
            "number": number,
            "state": "lost",
            "value": None,
            "error": lost,
            "epochs": 0,
            "worker": worker,
        }

    def close(self) -> None:
        if self.desk is not None:
            self.desk.close()
        self.client.close()
        self._close_cluster()

    def _close_cluster(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def make_executor(
    jobs: int | None, scheduler: str | None, grace: float = GRACE_SECONDS
) -> Executor:
    """Inline for one local job; a Dask cluster otherwise (``jobs`` None: one per core)."""
    if scheduler is None and (jobs or default_jobs()) == 1:
        return InlineExecutor()
    return DaskExecutor(jobs, scheduler, grace)
