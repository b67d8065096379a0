"""Where trials run: in this process, or on a Dask distributed cluster.

An executor takes trial specs (:func:`layerwise.tune.trial.run_trial`'s argument) and gives
back their outcomes as they finish. The search keeps ``slots`` trials in flight, no more, so
the sampler learns from finished trials and a killed run loses only the trials in flight.

- :class:`InlineExecutor` (``--jobs 1``): trials run one after the other in this process.
- :class:`DaskExecutor`: ``--jobs N`` starts a ``LocalCluster`` of N worker processes on
  127.0.0.1 (one thread each, BLAS limited to one thread, so N trials share the cores without
  oversubscribing them); ``--scheduler ADDRESS`` uses an existing cluster instead. Both are the
  same code: local parallelism is a cluster that happens to be on this machine. Each worker
  process loads the dataset once and keeps it for all the trials it runs (see
  :data:`layerwise.tune.trial._DATA`).
"""

from __future__ import annotations

import collections
import logging
import os
import signal
from typing import Any, Protocol

from layerwise.errors import LayerwiseError
from layerwise.tune.trial import run_trial

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


class Executor(Protocol):
    slots: int
    description: str

    def submit(self, spec: dict[str, Any]) -> None: ...

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
        self._queue: collections.deque[dict[str, Any]] = collections.deque()

    def submit(self, spec: dict[str, Any]) -> None:
        self._queue.append(spec)

    def next_result(self) -> dict[str, Any]:
        return run_trial(self._queue.popleft())

    def close(self) -> None:
        self._queue.clear()


class DaskExecutor:
    """Runs trials as tasks on a Dask cluster: a new local one, or one at ``scheduler``."""

    def __init__(self, jobs: int | None = None, scheduler: str | None = None) -> None:
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
        self._futures: Any = as_completed()
        self._numbers: dict[Any, int] = {}

    def submit(self, spec: dict[str, Any]) -> None:
        future = self.client.submit(run_trial, spec, pure=False)
        self._numbers[future.key] = spec["number"]
        self._futures.add(future)

    def next_result(self) -> dict[str, Any]:
        future = next(self._futures)
        number = self._numbers.pop(future.key)
        try:
            result: dict[str, Any] = future.result()
        except Exception as e:  # the worker died (e.g. out of memory) or the task was lost
            result = {"number": number, "state": "fail", "value": None, "epochs": 0}
            result["error"] = f"{type(e).__name__} on the cluster: {e}"
        return result

    def close(self) -> None:
        self.client.close()
        self._close_cluster()

    def _close_cluster(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def make_executor(jobs: int | None, scheduler: str | None) -> Executor:
    """Inline for one local job; a Dask cluster otherwise (``jobs`` None: one per core)."""
    if scheduler is None and (jobs or default_jobs()) == 1:
        return InlineExecutor()
    return DaskExecutor(jobs, scheduler)
