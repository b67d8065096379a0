"""``layerwise tune --storage postgresql://...``: a study kept in a real PostgreSQL server.

The server is PostgreSQL itself, from the ``pgserver`` wheel (the ``postgres`` fixture of
conftest.py); never a mock, never SQLite in its place.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tune_helpers import (
    TINY,
    by_state,
    driver_env,
    finished_trials,
    postgres_url,
    results,
    run_tune,
    trials_in_database,
    wait_for_finished,
)

GRID = ["--grid", "lr=0.5,0.3", "--grid", "hidden=16,24", "--pruner", "none", "--jobs", "1"]
SHORT = ["--epochs", "2"]


def test_a_grid_study_in_postgresql_completes_and_resumes(postgres: Any, tmp_path: Path) -> None:
    url, study = postgres_url(postgres), tmp_path / "study"
    rc, out, err = run_tune(*GRID, *SHORT, "--study", str(study), "--storage", url)
    assert rc == 0, err
    assert len(by_state(study)["complete"]) == 4
    kept = json.loads((study / "database.json").read_text())
    assert kept["url"].startswith("postgresql+psycopg2://postgres")
    assert kept["study_name"].startswith("layerwise-study-")
    assert results(study)["storage"] == kept["url"]
    assert not (study / "journal.log").exists() and not (study / "study.db").exists()
    trials = trials_in_database(url, study)
    assert [t.number for t in trials] == [0, 1, 2, 3]
    points = {(t.params["lr"], int(t.params["hidden"])) for t in trials}
    assert points == {(0.5, 16), (0.5, 24), (0.3, 16), (0.3, 24)}  # each grid point once

    rc, out, err = run_tune(*GRID, *SHORT, "--study", str(study), "--storage", url)
    assert rc == 0, err
    assert not [line for line in out.splitlines() if line.startswith("Tested ")]
    assert len(trials_in_database(url, study)) == 4  # nothing trained again


def test_a_database_study_needs_its_url_again(postgres: Any, tmp_path: Path) -> None:
    url, study = postgres_url(postgres), tmp_path / "study"
    rc, _, err = run_tune(*GRID[:2], *GRID[4:], *TINY, "--study", str(study), "--storage", url)
    assert rc == 0, err
    for argv, words in (
        ([], "holds a study in the database postgresql+psycopg2://postgres"),
        (["--storage", "journal"], "give --storage with that URL"),
        (["--storage", url.replace("/postgres?", "/other?")], "holds a study in the database"),
    ):
        rc, out, err = run_tune(*GRID[:2], *GRID[4:], *TINY, "--study", str(study), *argv)
        assert rc == 2 and out == "" and words in err, err
        assert err.startswith("layerwise: error: ") and err.count("\n") == 1


def test_two_study_folders_share_one_database(postgres: Any, tmp_path: Path) -> None:
    url = postgres_url(postgres)
    for name, grid in (("a", "lr=0.5"), ("b", "lr=0.5,0.2")):
        rc, _, err = run_tune(
            "--grid", grid, *TINY, "--study", str(tmp_path / name), "--storage", url
        )
        assert rc == 0, err
    names = {json.loads((tmp_path / n / "database.json").read_text())["study_name"] for n in "ab"}
    assert len(names) == 2
    assert [len(trials_in_database(url, tmp_path / n)) for n in "ab"] == [1, 2]


def test_storage_errors_are_one_line_and_keep_the_password(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    assert run_tune("--grid", "lr=0.5", *TINY, "--study", str(journal))[0] == 0
    cases = [
        (["--study", str(journal), "--storage", "postgresql://u:pw@localhost/db"], "journal study"),
        (["--study", str(tmp_path / "n"), "--storage", "redis://x"], "expected journal, sqlite"),
        (
            ["--study", str(tmp_path / "m"), "--storage",
             "postgresql+psycopg2://u:s3cret@/db?host=/nonexistent"],
            "cannot open the study database postgresql+psycopg2://u:***@/db",
        ),
    ]  # fmt: skip
    for argv, words in cases:
        rc, _, err = run_tune("--grid", "lr=0.5", *TINY, *argv)
        assert rc == 2 and words in err, err
        assert err.startswith("layerwise: error: ") and err.count("\n") == 1
        assert "s3cret" not in err and not (tmp_path / "m" / "database.json").exists()


def test_a_killed_driver_resumes_from_the_database(postgres: Any, tmp_path: Path) -> None:
    """kill -9 of ``layerwise tune`` mid-study, then the same command: the finished trials are
    kept in PostgreSQL and not trained again, the others are."""
    url, study = postgres_url(postgres), tmp_path / "study"
    grid = ["--grid", "lr=0.5,0.4,0.3", "--grid", "hidden=32,48", "--epochs", "40"]
    argv = [sys.executable, "-m", "layerwise", "tune", *grid, "--pruner", "none", "--jobs", "1"]
    argv += ["--study", str(study), "--storage", url]
    env = driver_env()
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for_finished(proc, study, 2)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate()
    before = len(finished_trials(study))
    assert 2 <= before < 6
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert f"Resuming: {before} of 6 trials finished earlier" in out.stdout
    trained = [line for line in out.stdout.splitlines() if line.startswith("Tested ")]
    assert len(trained) == 6 - before
    trials = trials_in_database(url, study)
    shown = [(t.number, t.state.name, t.params, t.user_attrs.get("run")) for t in trials]
    assert [t.number for t in trials] == list(range(6)), shown
    assert all(t.state.name == "COMPLETE" for t in trials), shown
