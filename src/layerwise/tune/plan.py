"""From ``layerwise tune`` arguments to a checked plan: the study's settings and how to run it.

Everything that can be wrong with the command line is found here, before a cluster starts or
a dataset loads: unknown or repeated parameters, values the options table rejects, a parameter
both searched and fixed, a range under the grid sampler, a folder that is not a study, and the
recipe itself (the first configuration is made into a recipe, which checks it like a train
run). ``args`` is any object with the ``layerwise tune`` settings as attributes (the command
line's namespace).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerwise.errors import ConfigError, LayerwiseError
from layerwise.models import DEFAULT_HIDDEN
from layerwise.tune.database import is_database_url
from layerwise.tune.space import (
    UNITS,
    SearchSpace,
    SpaceError,
    build_space,
    flag_texts,
    load_toml,
    parse_grid_flag,
    parse_range_flag,
    recipe_from_flags,
    searchable_options,
)
from layerwise.tune.study import STORAGE_FILES, StudyConfig, StudyError, resolve_storage

DEFAULT_TRIALS = 20
#: Options that say where the data is, not what is trained: they may change between runs.
LOCATION_OPTIONS = frozenset({"--data-dir"})


class PlanError(LayerwiseError, ValueError):
    """A ``layerwise tune`` command line that cannot run; the message says what to change."""


@dataclass(frozen=True)
class Plan:
    config: StudyConfig
    target: int  # trials the study should hold, finished, in all
    grid_size: int | None
    jobs: int | None
    scheduler: str | None
    retrain_best: bool

    @property
    def needs_cluster(self) -> bool:
        from layerwise.tune.executors import default_jobs

        return self.scheduler is not None or (self.jobs or default_jobs()) > 1


def make_plan(args: Any) -> Plan:
    """Check ``args`` (the tune settings) and resolve them into a :class:`Plan`."""
    try:
        space = _space(args)
    except SpaceError as e:
        raise PlanError(str(e)) from None
    fixed: dict[str, str] = dict(args.train_options or {})
    _check_conflicts(space, fixed)
    hidden_layers = _hidden_layers(args, space, fixed)

    sampler = args.sampler or ("grid" if space.is_discrete else "tpe")
    grid_size = None
    if sampler == "grid":
        try:
            grid_size = len(space.grid_points())
        except SpaceError as e:
            raise PlanError(str(e)) from None
        target = grid_size if args.trials is None else min(args.trials, grid_size)
    else:
        target = args.trials or DEFAULT_TRIALS

    train_argv = [part for flag, text in fixed.items() for part in (flag, text)]
    identity_argv = [
        part
        for flag, text in fixed.items()
        if flag not in LOCATION_OPTIONS
        for part in (flag, text)
    ]
    _check_first_configuration(train_argv, space, hidden_layers)

    _check_scheduler(args.scheduler)
    folder = Path(args.study)
    _check_folder(folder)
    try:
        storage, study_name = resolve_storage(folder, args.storage)
    except StudyError as e:
        raise PlanError(str(e)) from None
    pruner: dict[str, Any] = (
        {"name": "none"}
        if args.pruner == "none"
        else {"name": "median", "warmup": args.prune_warmup, "startup": args.prune_startup}
    )
    config = StudyConfig(
        folder=folder,
        space=space,
        train_argv=tuple(train_argv),
        identity_argv=tuple(identity_argv),
        hidden_layers=hidden_layers,
        sampler=sampler,
        sampler_seed=args.sampler_seed,
        pruner=pruner,
        storage=storage,
        study_name=study_name,
        grace_period=args.grace_period,
    )
    if not is_database_url(storage):
        check_local_file_system(folder, storage)
    return Plan(config, target, grid_size, args.jobs, args.scheduler, args.retrain_best)


#: File systems that other hosts may write too, where Optuna's file locks do not hold:
#: journal lines lost or torn (optuna #5138), SQLite "database is locked" (#820, #4994).
NETWORK_FILE_SYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "beegfs",
        "afs",
        "fuse.sshfs",
        "fuse.glusterfs",
        "fuse.cephfs",
        "fuse.s3fs",
        "fuse.gcsfuse",
        "fuse.juicefs",
        "fuse.rclone",
    }
)


def file_system_type(path: Path, mountinfo: str | None = None) -> str | None:
    """The type of the file system ``path`` is on, from ``/proc/self/mountinfo`` (Linux);
    None where that cannot be read."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text(encoding="utf-8")
        except OSError:
            return None
    target = str(path.resolve())
    best, kind = -1, None
    for line in mountinfo.splitlines():
        # ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER_OPTIONS
        fields = line.split()
        if "-" not in fields or len(fields) < 5:
            continue
        point = fields[4].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > best:
            best, kind = len(point), fields[fields.index("-") + 1]
    return kind


def check_local_file_system(folder: Path, storage: str, mountinfo: str | None = None) -> None:
    """A journal or SQLite study must be on this host's own disk: refuse a network one."""
    kind = file_system_type(folder, mountinfo)  # resolve() also works for a folder to be made
    if kind in NETWORK_FILE_SYSTEMS:
        raise PlanError(
            f"--study {str(folder)!r} is on a network file system ({kind}), where the {storage} "
            "storage's file lock does not hold across hosts; put the study folder on a local "
            "disk (only this process writes it; workers never need it), or keep the study in "
            "a database server: --storage postgresql://USER:PASSWORD@HOST/DB"
        )


def _space(args: Any) -> SearchSpace:
    options = searchable_options()
    params = [parse_grid_flag(text, options) for text in args.grid]
    params += [parse_range_flag(text, options) for text in args.range]
    if args.space is not None:
        params += load_toml(args.space, options)
    return build_space(params)


def _check_conflicts(space: SearchSpace, fixed: dict[str, str]) -> None:
    for p in space.params:
        if p.option in fixed:
            given = f"{p.option} {fixed[p.option]}"
            raise PlanError(f"{p.name} is both searched and fixed ({given}); give it only one way")


def _hidden_layers(args: Any, space: SearchSpace, fixed: dict[str, str]) -> int | None:
    if UNITS not in space.names:
        if args.hidden_layers is not None:
            raise PlanError(
                f"--hidden-layers {args.hidden_layers} sets how many layers of units to build; "
                "search units too (e.g. --grid units=256,512), or give --hidden instead"
            )
        return None
    if args.hidden_layers is not None:
        return int(args.hidden_layers)
    if "model" in space.names:
        raise PlanError("units with a searched model needs --hidden-layers N")
    model = fixed.get("--model", "two-layer")
    return len(DEFAULT_HIDDEN[model])


def _check_first_configuration(
    train_argv: list[str], space: SearchSpace, hidden_layers: int | None
) -> None:
    """Make the first configuration's recipe, which checks it like ``layerwise train`` would."""
    first: dict[str, int | float | str] = {
        p.name: p.values[0] if p.values is not None else (p.low or 0) for p in space.params
    }
    try:
        recipe_from_flags(
            {**flag_texts(train_argv), **space.option_texts(first, hidden_layers or 1)}
        )
    except ConfigError as e:
        raise PlanError(str(e)) from None


#: A Dask scheduler address: [protocol://]host:port.
_ADDRESS = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?[^\s/:]+:\d{1,5}$")


def _check_scheduler(address: str | None) -> None:
    if address is not None and not _ADDRESS.match(address):
        raise PlanError(
            f"--scheduler: {address!r} is not a Dask scheduler address; expected "
            "[protocol://]host:port, e.g. tcp://127.0.0.1:8786"
        )


def _check_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise PlanError(f"--study: {str(folder)!r} is a file; expected a study folder")
    # A lone lock file is a study whose first run was stopped before its storage was made.
    if folder.is_dir() and any(f.name != ".lock" for f in folder.iterdir()):
        if not any((folder / name).exists() for name in STORAGE_FILES.values()):
            raise PlanError(
                f"--study: {str(folder)!r} holds other files and no study "
                f"({' or '.join(STORAGE_FILES.values())}); choose a new or empty folder"
            )
