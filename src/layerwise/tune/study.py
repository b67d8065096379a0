"""The Optuna study behind ``layerwise tune``: storage, samplers, pruning, resuming.

One study lives in one folder. Only the ``layerwise tune`` process opens its storage (the
trials' reports come to it, :mod:`layerwise.tune.reports`), so with ``--scheduler`` the
workers need neither the folder nor the database. The storage is a file in the folder:

- ``journal.log``: Optuna's JournalStorage (an append-only log with a file lock; safe across
  processes; the default), or
- ``study.db``: SQLite through Optuna's RDBStorage (``--storage sqlite``); or
- a database server, ``--storage postgresql://USER:PASSWORD@HOST/DB`` (or ``mysql://...``,
  any SQLAlchemy URL of those two): Optuna's RDBStorage there, which is what Optuna advises for
  processes on several hosts. The folder then keeps ``database.json`` (the URL without its
  password, and the study's own name in that database, so several study folders can share
  one database); a rerun gives the same ``--storage URL`` again.

Running the same command again resumes: finished trials (complete, pruned or failed) stay as
they are and are not run again; a trial that was running when the last run was killed is run
again under its own number. The settings that define the study (space, fixed training options,
sampler) are stored with it, and a rerun with different ones is refused rather than mixed in.

Samplers: ``grid`` runs every combination of the values in the order given (the seed's nested
loops), ``random`` samples uniformly, ``tpe`` is Optuna's Tree-structured Parzen Estimator.
The grid is not Optuna's ``GridSampler``: that one shuffles the order, maps grid points to trial
numbers (which a rerun after a kill breaks) and, used through ask-and-tell as here, raises from
``study.stop()`` before recording the last trial. Instead every grid point is enqueued as a
waiting trial when the study is made, and only the points that no trial holds yet are added on a
rerun; so each point is trained once, and completed points are never repeated.
"""

from __future__ import annotations

import json
import os
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from layerwise.errors import LayerwiseError
from layerwise.tune.database import is_database_url, redact_url
from layerwise.tune.reports import BEAT_SECONDS, GRACE_SECONDS
from layerwise.tune.space import SearchSpace

STUDY_NAME = "layerwise"
#: The file a study folder keeps for each kind of storage (a database: where it is).
STORAGE_FILES = {"journal": "journal.log", "sqlite": "study.db", "database": "database.json"}

SAMPLERS = ("grid", "random", "tpe")
PRUNERS = ("median", "none")
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
#: How many times a trial lost with its worker is retried (as a new trial each time).
MAX_RETRIES = 2
#: The study's user attribute that records its defining settings.
IDENTITY_ATTR = "layerwise_settings"


class StudyError(LayerwiseError, ValueError):
    """A study folder that cannot be used with these settings."""


@dataclass(frozen=True)
class StudyConfig:
    """Everything that makes a study, resolved from the command line.

    - train_argv: the ``layerwise train`` options fixed for every trial;
    - identity_argv: the same without the options that only say where data lives
      (``--data-dir``), which may differ between runs of one study;
    - hidden_layers: how many layers of ``units`` (None when units is not searched).
    """

    folder: Path
    space: SearchSpace
    train_argv: tuple[str, ...]
    identity_argv: tuple[str, ...]
    hidden_layers: int | None
    sampler: str = "grid"
    sampler_seed: int = 0
    pruner: dict[str, Any] = field(default_factory=lambda: {"name": "median"})
    storage: str = "journal"  # journal, sqlite, or a database server's URL
    study_name: str = STUDY_NAME  # the study's name in its storage (its own in a database)
    grace_period: float = GRACE_SECONDS  # silence after which a running trial is lost

    def identity(self) -> dict[str, Any]:
        """The settings a rerun must repeat to continue this study."""
        return {
            "space": self.space.to_json(),
            "train_argv": list(self.identity_argv),
            "hidden_layers": self.hidden_layers,
            "sampler": self.sampler,
        }

    def recipe_for(self, params: dict[str, Any]) -> Any:
        """The recipe of the trial with these searched values: the fixed options, then them."""
        from layerwise.tune.space import flag_texts, recipe_from_flags

        searched = self.space.option_texts(params, self.hidden_layers or 1)
        return recipe_from_flags({**flag_texts(self.train_argv), **searched})

    def storage_spec(self) -> dict[str, Any]:
        """What :func:`open_storage` needs (plain JSON); ``where`` names the storage in
        messages and results (a database URL without its password)."""
        if is_database_url(self.storage):
            where = redact_url(self.storage)
            return {
                "kind": "database",
                "url": self.storage,
                "where": where,
                "study_name": self.study_name,
                "grace": self.grace_period,
            }
        path = str((self.folder / STORAGE_FILES[self.storage]).resolve())
        return {"kind": self.storage, "path": path, "where": path, "study_name": self.study_name}

    @property
    def storage_name(self) -> str:
        """The storage as results.json records it: journal, sqlite, or the URL unsecretly."""
        return redact_url(self.storage) if is_database_url(self.storage) else self.storage


# --------------------------------------------------------------------------------------------
# Storage, samplers, pruners
# --------------------------------------------------------------------------------------------


def open_storage(spec: dict[str, Any]) -> optuna.storages.BaseStorage:
    """The storage described by :meth:`StudyConfig.storage_spec`."""
    if spec["kind"] == "journal":
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        return JournalStorage(JournalFileBackend(spec["path"]))
    if spec["kind"] == "sqlite":
        # A generous busy timeout: the search and the report desk are two threads.
        return optuna.storages.RDBStorage(
            f"sqlite:///{spec['path']}", engine_kwargs={"connect_args": {"timeout": 60}}
        )
    if spec["kind"] == "database":
        # pool_pre_ping: a connection the server dropped (a restart) is replaced before use.
        # Heartbeats: the driver records one for each trial whose worker is heard from
        # (layerwise.tune.reports), so a trial left running by a driver that is gone for good
        # is seen as stale by any Optuna process, and retried by the callback.
        grace = max(1, round(float(spec.get("grace", GRACE_SECONDS))))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                spec["url"],
                engine_kwargs={"pool_pre_ping": True},
                heartbeat_interval=max(1, round(min(BEAT_SECONDS, grace / 4))),
                grace_period=grace,
                heartbeat_stale_trial_callback=_retry_callback(),
            )
    raise StudyError(f"unknown storage {spec['kind']!r}; expected journal, sqlite or database")


def resolve_storage(folder: Path, requested: str | None) -> tuple[str, str]:
    """(storage, study name) of a study folder: the storage already there, else ``requested``
    or journal. A database study keeps its name in the folder's database.json; a new one gets
    a name of its own (the folder's name and a random suffix)."""
    present = [kind for kind, name in STORAGE_FILES.items() if (folder / name).exists()]
    shown = redact_url(requested) if requested and is_database_url(requested) else requested
    if len(present) > 1:
        raise StudyError(
            f"study folder {str(folder)!r} holds more than one study: "
            f"{', '.join(STORAGE_FILES[k] for k in present)}"
        )
    if present == ["database"]:
        saved = _read_database_file(folder)
        if not is_database_url(requested):
            raise StudyError(
                f"study folder {str(folder)!r} holds a study in the database {saved['url']}; "
                "give --storage with that URL (and its password) to resume it"
            )
        assert requested is not None
        if redact_url(requested) != saved["url"]:
            raise StudyError(
                f"--storage {shown}: study folder {str(folder)!r} holds a study in the "
                f"database {saved['url']}"
            )
        return requested, saved["study_name"]
    kind = "database" if is_database_url(requested) else requested
    if present and requested is not None and kind != present[0]:
        raise StudyError(
            f"--storage {shown}: study folder {str(folder)!r} already holds a "
            f"{present[0]} study ({STORAGE_FILES[present[0]]})"
        )
    if is_database_url(requested):
        assert requested is not None
        return requested, f"layerwise-{folder.name}-{uuid.uuid4().hex[:12]}"
    return (present[0] if present else (requested or "journal")), STUDY_NAME


def _read_database_file(folder: Path) -> dict[str, str]:
    path = folder / STORAGE_FILES["database"]
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(saved, dict) or not {"url", "study_name"} <= set(saved):
            raise ValueError("expected the keys url and study_name")
    except (OSError, ValueError) as e:
        raise StudyError(f"{str(path)!r} is damaged ({e}); it says where the study is") from None
    return {"url": str(saved["url"]), "study_name": str(saved["study_name"])}


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name in ("random", "grid"):
        # For the grid every trial is enqueued with its values, so this sampler never draws.
        return optuna.samplers.RandomSampler(seed=seed)
    raise StudyError(f"unknown sampler {name!r}; expected one of {', '.join(SAMPLERS)}")


def make_pruner(spec: dict[str, Any]) -> optuna.pruners.BasePruner:
    """``{"name": "median", "warmup": W, "startup": S}`` or ``{"name": "none"}``.

    Median: after ``startup`` trials have completed, a trial whose validation accuracy at an
    epoch >= ``warmup`` is below the median of the other trials' at that epoch is stopped.
    """
    if spec["name"] == "none":
        return optuna.pruners.NopPruner()
    if spec["name"] == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=int(spec.get("startup", 5)), n_warmup_steps=int(spec.get("warmup", 1))
        )
    raise StudyError(f"unknown pruner {spec['name']!r}; expected one of {', '.join(PRUNERS)}")


def suggest_all(trial: optuna.Trial, space: SearchSpace) -> dict[str, Any]:
    """Every searched parameter's value for ``trial``, in the space's order.

    Values the trial already has (enqueued grid points, or those a killed run had drawn) are
    kept; the sampler draws the others. So this also completes a trial that a run was killed
    in the middle of asking for.
    """
    for p in space.params:
        if p.values is not None:
            trial.suggest_categorical(p.name, list(p.values))
        elif p.kind == "int":
            trial.suggest_int(p.name, int(p.low or 0), int(p.high or 0), log=p.log)
        else:
            trial.suggest_float(p.name, float(p.low or 0), float(p.high or 0), log=p.log)
    return {name: trial.params[name] for name in space.names}


# --------------------------------------------------------------------------------------------
# Opening a study
# --------------------------------------------------------------------------------------------


def _describe_difference(saved: dict[str, Any], now: dict[str, Any]) -> str:
    keys = [k for k in now if saved.get(k) != now[k]]
    parts = [f"{k}: {json.dumps(saved.get(k))} then, {json.dumps(now[k])} now" for k in keys]
    return "; ".join(parts)


def open_study(config: StudyConfig) -> tuple[optuna.Study, int]:
    """Create the study in its folder, or load it to resume; returns (study, finished trials).

    Raises :class:`StudyError` when the folder holds a study made with other settings.
    """
    recover_journal(config)
    spec = config.storage_spec()
    path = spec["where"]
    try:
        # Reading the storage replays it: a file that is not a study (random bytes as
        # study.db, a line of garbage in journal.log) fails here, deep in Optuna or SQLite.
        storage = open_storage(spec)
        names = optuna.get_all_study_names(storage)
    except StudyError:
        raise
    except Exception as e:  # the third-party parsers' own errors: one line for the user
        detail = " ".join(str(e).split())[:200]
        if spec["kind"] == "database":
            raise StudyError(
                f"cannot open the study database {path} ({type(e).__name__}: {detail}); is "
                "the server running, reachable from here, and its driver installed?"
            ) from None
        raise StudyError(
            f"the study storage {path!r} cannot be read ({type(e).__name__}: {detail}); it is "
            "damaged or not an Optuna study: move it away to start a new study there"
        ) from None
    if spec["kind"] == "database":
        from layerwise.io import write_json

        # Before the study is made: a run killed right after leaves no study without a name.
        write_json(
            config.folder / STORAGE_FILES["database"],
            {"url": path, "study_name": config.study_name},
        )
    sampler = make_sampler(config.sampler, config.sampler_seed)
    pruner = make_pruner(config.pruner)
    identity = config.identity()
    if config.study_name in names:
        study = optuna.load_study(
            study_name=config.study_name, storage=storage, sampler=sampler, pruner=pruner
        )
        saved = study.user_attrs.get(IDENTITY_ATTR)
        # None: the last run was killed between making the study and recording its settings.
        if saved is not None and saved != json.loads(json.dumps(identity)):
            raise StudyError(
                f"study folder {str(config.folder)!r} holds a study made with other settings "
                f"({_describe_difference(saved, identity)}); rerun with its settings to resume "
                "it, or choose a new --study folder"
            )
    else:
        study = optuna.create_study(
            study_name=config.study_name,
            storage=storage,
            sampler=sampler,
            pruner=pruner,
            direction="maximize",
        )
    study.set_user_attr(IDENTITY_ATTR, identity)
    if config.sampler == "grid":
        enqueue_grid(study, config.space)
    finished = len(counted_trials(study))
    return study, finished


def recover_journal(config: StudyConfig) -> None:
    """Undo what a run killed while writing to the journal leaves behind.

    Optuna's journal lock is a ``journal.log.lock`` file, which a killed writer never removes
    (the next writer would wait 30 s and then break it); and a write cut short would leave a
    partial last line that breaks reading once more lines follow. Only one run uses a study
    (:func:`study_lock`) and its workers have not started yet, so both are leftovers.
    """
    if config.storage != "journal":
        return  # SQLite recovers from a killed writer by itself
    path = Path(config.storage_spec()["path"])
    Path(f"{path}.lock").unlink(missing_ok=True)
    if path.is_file() and path.stat().st_size:
        data = path.read_bytes()
        if not data.endswith(b"\n"):
            with open(path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)
            data = data[: data.rfind(b"\n") + 1]
        # Every line must be one JSON object: Optuna would fail on a bad one later, in the
        # middle of the search, with a JSONDecodeError of its own.
        for number, line in enumerate(data.splitlines(), start=1):
            try:
                ok = isinstance(json.loads(line), dict)
            except ValueError:
                ok = False
            if not ok:
                raise StudyError(
                    f"the study storage {str(path)!r} cannot be read (line {number} is not a "
                    "journal entry); it is damaged: move it away to start a new study there"
                )


def trial_params(trial: FrozenTrial) -> dict[str, Any]:
    """A trial's parameters, also for a waiting trial (whose values are only enqueued)."""
    # Both: a run killed between two suggestions leaves a trial with only some params drawn.
    return {**trial.system_attrs.get("fixed_params", {}), **trial.params}


def enqueue_grid(study: optuna.Study, space: SearchSpace) -> int:
    """Enqueue every grid point no trial holds yet (all of them for a new study); returns how
    many were added. Idempotent, so a run killed while enqueueing completes it on the rerun."""
    present = [trial_params(t) for t in study.get_trials(deepcopy=False)]
    added = 0
    for point in space.grid_points():
        if point not in present:
            study.enqueue_trial(point)
            added += 1
    return added


def stale_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Trials left running by a run that was killed (only one run uses a study at a time)."""
    return study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))


def _retry_callback() -> Any:
    """Optuna's callback that re-enqueues a stale trial (named RetryFailedTrialCallback
    before Optuna 5), allowed :data:`MAX_RETRIES` retries."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES)


def _retry_history(trial: FrozenTrial) -> list[int]:
    return list(trial.system_attrs.get("retry_history", []))


def can_retry(study: optuna.Study, trial_id: int) -> bool:
    """Whether a lost trial may be retried: it is not already the :data:`MAX_RETRIES`-th."""
    return len(_retry_history(study._storage.get_trial(trial_id))) < MAX_RETRIES


def retry_trial(study: optuna.Study, trial_id: int) -> int | None:
    """Enqueue a new trial with the lost trial's values through Optuna's retry callback (which
    records the retried trials in the new one's ``retry_history``); returns its number."""
    before = {t.number for t in study.get_trials(deepcopy=False)}
    _retry_callback()(study, study._storage.get_trial(trial_id))
    added = [t.number for t in study.get_trials(deepcopy=False) if t.number not in before]
    return added[0] if added else None


def counted_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The finished trials that count towards the target: all but those failed and retried
    (their retry counts instead, once it finishes)."""
    trials = study.get_trials(deepcopy=False)
    retried = {number for t in trials for number in _retry_history(t)}
    return [
        t
        for t in trials
        if t.state in FINISHED and not (t.state == TrialState.FAIL and t.number in retried)
    ]


def waiting_trials(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


@contextmanager
def study_lock(folder: Path) -> Iterator[None]:
    """Hold the study folder for this run; a second run on the same folder is refused.

    One run at a time is what makes a trial found running at start-up a leftover of a killed
    run, safe to run again. The lock is released by the OS even when the run is killed.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX: no lock, one run at a time by trust
        yield
        return
    with open(folder / ".lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StudyError(
                f"study folder {str(folder)!r} is in use by another 'layerwise tune' run; wait "
                "for it to finish (or stop it) first"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        yield
