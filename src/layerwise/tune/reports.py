"""How a running trial talks to the study: per-epoch reports, pruning answers, heartbeats.

Only the ``layerwise tune`` process (the driver) opens the study's storage. A trial reports
its validation accuracy after every epoch through a *link* and gets back whether to stop:

- :class:`LocalLink` (``--jobs 1``): the trial runs in the driver, which reports straight to
  Optuna;
- :class:`QueueLink` (a Dask worker): the report goes to the driver through a Dask queue on
  the scheduler, and the answer comes back through another. The worker also sends a beat
  every :data:`BEAT_SECONDS` while the trial runs. Workers therefore need no access to the
  study folder or the database, only to the scheduler.

:class:`ReportDesk`, a thread of the driver, takes those messages: it records each report
in the study (``Trial.report``), asks the pruner, answers, records Optuna heartbeats where the
storage keeps them (a database), and declares *lost* a running trial that has sent nothing for
``grace`` seconds (its worker is frozen, cut off, or gone with its task), so that the search
records it as failed and retries it elsewhere instead of waiting for it forever.

Why queues through the scheduler rather than optuna-integration's ``DaskStorage``: that one
keeps the storage inside the scheduler process, which with ``--scheduler`` runs on another
host, where the study folder and database credentials would have to be; here they stay with
the driver, and a report costs two small messages (measured in docs/tune.md).
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from typing import Any

from layerwise.errors import LayerwiseError
from layerwise.tune.database import persist

#: Seconds between a running trial's beats.
BEAT_SECONDS = 5.0
#: Seconds without a message after which a running trial is lost (``--grace-period``).
GRACE_SECONDS = 60.0
#: Seconds a trial a worker has begun may take to send its first message (a worker's first
#: trial imports the library and receives the arrays): at least this, or the grace period.
START_SECONDS = 30.0
#: Seconds a worker waits for the driver's answer to a report before it gives the trial up.
ANSWER_SECONDS = 300.0


class LinkError(LayerwiseError, RuntimeError):
    """The driver stopped answering a trial's reports."""


class LocalLink:
    """Reports of a trial that runs in the driver, straight to its Optuna trial."""

    def __init__(self, trial: Any) -> None:
        self.trial = trial

    def report(self, step: int, value: float, last: bool) -> str | None:
        """Record ``value`` at ``step``; why the pruner stops the trial now, or None.

        Raises :class:`LinkError` when the trial cannot go on (the driver gave it up)."""
        return judge(self.trial, step, value, last)

    def close(self) -> None:
        pass


def judge(trial: Any, step: int, value: float, last: bool) -> str | None:
    """Report to the Optuna ``trial``; say why it should stop (pruned), or None."""
    with warnings.catch_warnings():
        # A trial run again after a kill re-reports its first epochs; Optuna keeps the first
        # value (the same, as training is seeded) and warns.
        warnings.simplefilter("ignore", UserWarning)
        trial.report(value, step=step)
    # After the last epoch there is nothing left to save: the trial completes instead.
    if not last and trial.should_prune():
        return (
            f"pruned at epoch {step}: validation accuracy {value:.4f} was below the median of "
            "the other trials"
        )
    return None


# --------------------------------------------------------------------------------------------
# The worker's side
# --------------------------------------------------------------------------------------------


def _queue(name: str) -> Any:
    from distributed import Queue

    return Queue(name)


def _current_task() -> Any:
    """The key of the Dask task this thread runs (None outside one)."""
    with contextlib.suppress(Exception):
        from distributed import get_worker

        return get_worker().get_current_task()
    return None


def _cancelled(key: Any) -> bool:
    """Whether the scheduler has let go of task ``key`` (its client left, or cancelled it):
    a trial that a killed driver left running would otherwise hold its worker."""
    if key is None:
        return False
    with contextlib.suppress(Exception):
        from distributed import get_worker

        task = get_worker().state.tasks.get(key)
        return task is None or task.state in {"cancelled", "released", "forgotten"}
    return False


def _close(queue: Any) -> None:
    """Let the scheduler drop ``queue`` once no one holds it."""
    with contextlib.suppress(Exception):
        queue.close()


class QueueLink:
    """A trial's link to the driver from a Dask worker: reports, answers and beats.

    ``spec``: ``{"queue": the driver's queue name, "answers": this trial's answer queue,
    "trial_id": ..., "beat": seconds}`` as :meth:`ReportDesk.link_spec` makes it.
    """

    def __init__(self, spec: dict[str, Any], worker: str) -> None:
        self.trial_id = int(spec["trial_id"])
        self.worker = worker
        self._reports = _queue(spec["queue"])
        self._answers = _queue(spec["answers"])
        self._task = _current_task()
        self._stop = threading.Event()
        self._send("beat")
        self._beats = threading.Thread(
            target=self._beat, args=(float(spec["beat"]),), daemon=True, name="layerwise-beat"
        )
        self._beats.start()

    def _send(self, kind: str, **fields: Any) -> None:
        self._reports.put(
            {"kind": kind, "trial_id": self.trial_id, "worker": self.worker, **fields}
        )

    def _beat(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            with contextlib.suppress(Exception):  # the driver is gone: the answer wait says so
                self._send("beat")

    def report(self, step: int, value: float, last: bool) -> str | None:
        self._send("report", step=step, value=value, last=last)
        deadline = time.monotonic() + ANSWER_SECONDS
        while True:
            try:
                # Short waits: between them, see whether the driver is still there.
                answer = self._answers.get(timeout=1.0)
            except TimeoutError:
                if _cancelled(self._task):
                    raise LinkError(
                        f"trial {self.trial_id} was cancelled: the layerwise tune process that "
                        "ran it is gone or gave it up"
                    ) from None
                if time.monotonic() > deadline:
                    raise LinkError(
                        f"the layerwise tune process did not answer trial {self.trial_id}'s "
                        f"report for epoch {step} within {ANSWER_SECONDS:.0f} s"
                    ) from None
                continue
            # An answer left by an earlier attempt of this trial (its worker died) is for
            # another epoch: skip it.
            if answer.get("step") == step:
                if answer.get("abort"):
                    raise LinkError(str(answer["abort"]))
                prune = answer.get("prune")
                return None if prune is None else str(prune)

    def close(self) -> None:
        self._stop.set()
        self._beats.join(timeout=1.0)
        _close(self._reports)
        _close(self._answers)


# --------------------------------------------------------------------------------------------
# The driver's side
# --------------------------------------------------------------------------------------------


class ReportDesk:
    """The driver's thread that answers trials' reports and watches their beats.

    ``on_lost(number, reason)`` is called (from this thread) for a trial in flight that has
    sent nothing for ``grace`` seconds since its last message, or since ``started()`` (the
    trials that workers have begun, by number: the worker's address) first named it: a
    worker that froze before the trial's first beat is caught too, a trial still queued
    is not.
    """

    def __init__(
        self,
        study: Any,
        grace: float = GRACE_SECONDS,
        on_lost: Callable[[int, str], None] | None = None,
        beat: float | None = None,
        started: Callable[[], dict[int, str]] | None = None,
    ) -> None:
        self.study = study
        self.grace = float(grace)
        self.beat = float(beat if beat is not None else min(BEAT_SECONDS, self.grace / 4))
        self.on_lost = on_lost
        self.started = started
        self.name = f"layerwise-reports-{uuid.uuid4().hex}"
        self._reports = _queue(self.name)
        self._lock = threading.Lock()
        self._trials: dict[int, dict[str, Any]] = {}  # trial_id -> number, trial, last, worker
        self._stop = threading.Event()
        self.suspects: set[str] = set()  # workers whose trial was lost
        self.messages = 0
        self._heartbeats = _heartbeat_storage(study)
        self._thread = threading.Thread(target=self._serve, daemon=True, name="layerwise-desk")
        self._thread.start()
        self._watch = threading.Thread(
            target=self._watch_beats, daemon=True, name="layerwise-watch"
        )
        self._watch.start()

    def link_spec(self, trial_id: int) -> dict[str, Any]:
        return {
            "queue": self.name,
            "answers": f"{self.name}-{trial_id}",
            "trial_id": trial_id,
            "beat": self.beat,
        }

    def watch(self, trial: Any) -> None:
        """Take reports for the Optuna ``trial`` (the search's own object: no storage read)."""
        trial_id = trial._trial_id
        with self._lock:
            self._trials[trial_id] = {
                "number": trial.number,
                "trial": trial,
                "last": None,  # no message yet: a task waiting for a free worker is not lost
                "stored": 0.0,  # when its heartbeat was last written to the storage
                "worker": None,
                "answers": _queue(f"{self.name}-{trial_id}"),
            }

    def forget(self, trial_id: int) -> None:
        with self._lock:
            entry = self._trials.pop(trial_id, None)
        if entry is not None:
            _close(entry["answers"])

    def worker_of(self, trial_id: int) -> str | None:
        with self._lock:
            entry = self._trials.get(trial_id)
            return None if entry is None else entry["worker"]

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(Exception):
            self._reports.put({"kind": "stop"})  # wakes the thread that waits for messages
        self._thread.join(timeout=10.0)
        self._watch.join(timeout=10.0)
        with self._lock:
            entries, self._trials = list(self._trials.values()), {}
        for entry in entries:
            _close(entry["answers"])
        _close(self._reports)

    def _serve(self) -> None:
        # A blocking get: one with a timeout makes the scheduler log an error each time.
        while not self._stop.is_set():
            try:
                message = self._reports.get()
            except Exception:  # the client is closing
                if self._stop.wait(0.1):
                    return
                continue
            if message.get("kind") == "stop":
                return
            self.messages += 1
            self._handle(message)

    def _watch_beats(self) -> None:
        while not self._stop.wait(self.beat):
            self._find_lost()

    def _handle(self, message: dict[str, Any]) -> None:
        trial_id = int(message["trial_id"])
        now = time.monotonic()
        with self._lock:
            entry = self._trials.get(trial_id)
            beat = False
            if entry is not None:
                # A database heartbeat is a write: one per beat interval per trial at most.
                beat = entry["last"] is None or now - entry["stored"] >= self.beat
                entry["last"] = now
                entry["stored"] = now if beat else entry["stored"]
                entry["worker"] = message.get("worker")
                self.suspects.discard(str(message.get("worker")))
        if self._heartbeats is not None and beat:
            with contextlib.suppress(Exception):  # a heartbeat missed is no harm
                self._heartbeats.record_heartbeat(trial_id)
        if message["kind"] != "report":
            return
        step = int(message["step"])
        answer: dict[str, Any] = {"step": step, "prune": None, "abort": None}
        if entry is None:  # lost, or finished: its late reports end it
            answer["abort"] = "the search no longer runs this trial (it was declared lost)"
        else:
            try:
                answer["prune"] = persist(
                    f"recording trial {entry['number']}'s epoch {step}",
                    judge,
                    entry["trial"],
                    step,
                    float(message["value"]),
                    bool(message["last"]),
                )
            except Exception as e:  # the storage failed: the trial cannot go on
                answer["abort"] = f"cannot record the report ({type(e).__name__}: {e})"
        answers = _queue(f"{self.name}-{trial_id}") if entry is None else entry["answers"]
        with contextlib.suppress(Exception):
            answers.put(answer)
        if entry is None:
            _close(answers)

    def _find_lost(self) -> None:
        now = time.monotonic()
        with self._lock:
            silent = [e for e in self._trials.values() if e["last"] is None]
        if silent and self.started is not None:
            try:
                begun = self.started()
            except Exception:  # the scheduler is away for a moment: next time
                begun = {}
            with self._lock:
                for entry in silent:
                    if entry["number"] in begun and entry["last"] is None:
                        # Its clock starts now, with time to start up.
                        entry["last"] = now + max(0.0, START_SECONDS - self.grace)
                        entry["worker"] = begun[entry["number"]]
        lost = []
        with self._lock:
            for trial_id, entry in list(self._trials.items()):
                if entry["last"] is not None and now - entry["last"] > self.grace:
                    lost.append((entry["number"], entry["worker"]))
                    if entry["worker"]:
                        self.suspects.add(str(entry["worker"]))
                    _close(self._trials.pop(trial_id)["answers"])
        for number, worker in lost:
            if self.on_lost is not None:
                self.on_lost(
                    number,
                    f"lost: no word from its worker {worker} for {self.grace:.0f} s",
                )


def _heartbeat_storage(study: Any) -> Any:
    """The study's storage when it records Optuna heartbeats (a database), else None."""
    from optuna.storages._heartbeat import is_heartbeat_enabled

    storage = study._storage
    return storage if is_heartbeat_enabled(storage) else None
