"""Helpers shared by the tune tests (imported by name: pytest puts tests/tune on sys.path)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from pathlib import Path
from typing import Any

import layerwise
from layerwise import cli

#: The source folder, put first on a subprocess's PYTHONPATH (the driver under test).
SRC = Path(layerwise.__file__).resolve().parent.parent

#: A tiny two-layer net, fast enough for a trial in ~0.1 s.
TINY = ["--hidden", "32", "--epochs", "2"]


def run_tune(*argv: str) -> tuple[int, str, str]:
    """``layerwise tune ARGV`` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(["tune", *argv])
    return rc, out.getvalue(), err.getvalue()


def results(study: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((study / "results.json").read_text())
    return data


def by_state(study: Path) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for trial in results(study)["trials"]:
        groups.setdefault(trial["state"], []).append(trial)
    return groups


def finished_trials(study: Path) -> list[dict[str, Any]]:
    """The finished trials results.json lists now ([] while it is not written yet)."""
    try:
        trials: list[dict[str, Any]] = json.loads((study / "results.json").read_text())["trials"]
    except (FileNotFoundError, json.JSONDecodeError):
        return []
    return [t for t in trials if t["state"] != "running"]


def postgres_url(server: Any) -> str:
    """A pgserver's URL for SQLAlchemy's psycopg2 driver (user postgres, its unix socket)."""
    uri: str = server.get_uri()
    return uri.replace("postgresql://", "postgresql+psycopg2://", 1)


def trials_in_database(url: str, folder: Path) -> list[Any]:
    """The trials of the study that ``folder``'s database.json names, read from the server."""
    import optuna

    name = json.loads((folder / "database.json").read_text())["study_name"]
    storage = optuna.storages.RDBStorage(url)
    return optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)


def driver_env() -> dict[str, str]:
    """The environment of a ``python -m layerwise tune`` subprocess: this source first."""
    return {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def wait_for_finished(proc: Any, study: Path, count: int, timeout: float = 90) -> None:
    """Wait until ``count`` trials of ``study`` have finished while ``proc`` runs it."""
    deadline = time.monotonic() + timeout
    while len(finished_trials(study)) < count:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"no {count} trials finished in {timeout:.0f} s"
        time.sleep(0.05)
