"""``layerwise tune --scheduler``: a real Dask cluster whose workers cannot see the study.

A ``dask scheduler`` and two ``dask worker`` processes, started from the command line on
loopback (:mod:`cluster_helpers`), each worker in its own working directory and temporary
folder, with the folder that holds the studies hidden from it. Only the ``layerwise tune``
process (the driver) reads and writes the study; the workers get the arrays and the trials'
recipes through Dask and send their reports back the same way.

Cases: a grid completes with every trial recorded once (journal and PostgreSQL); kill -9 of
a worker in the middle of a trial (Dask runs it again on the other worker); a worker frozen
with SIGSTOP (its trial is declared lost after the grace period, recorded failed and retried
on the other worker); kill -9 of the driver (the rerun resumes); PostgreSQL restarted in the
middle of the study (the driver reconnects; no finished trial is lost).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_helpers import Cluster, hiding_method, wait_until_running
from tune_helpers import (
    by_state,
    driver_env,
    finished_trials,
    postgres_url,
    results,
    run_tune,
    trials_in_database,
    wait_for_finished,
)

from conftest import under_ci

#: Four grid points; 60 epochs of the digits make a trial of about 2 s.
GRID = ["--grid", "lr=0.5,0.3", "--grid", "hidden=24,32", "--pruner", "none"]
SLOW = ["--epochs", "60"]
POINTS = {(0.5, 24), (0.5, 32), (0.3, 24), (0.3, 32)}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    hidden = tmp_path / "driver"
    method = hiding_method(tmp_path / "probe")
    if method is None:
        message = "neither a mount namespace nor another user can hide the study from workers"
        if under_ci():
            pytest.fail(message)
        pytest.skip(message)
    c = Cluster(tmp_path / "cluster", hidden, method)
    try:
        yield c
    finally:
        c.close()


def _points(trials: list[dict[str, Any]]) -> Counter[tuple[float, int]]:
    return Counter((t["params"]["lr"], int(t["params"]["hidden"])) for t in trials)


def _check_recorded_once(study: Path, cluster: Cluster) -> list[dict[str, Any]]:
    complete = by_state(study)["complete"]
    assert _points(complete) == Counter(POINTS), results(study)["trials"]
    assert {t["worker"] for t in complete} <= set(cluster.workers)
    assert all(t["data_loads"] == 0 for t in complete)  # the arrays came from the driver
    assert os.getpid() not in {t["pid"] for t in complete}
    return complete


def _driver(*argv: str) -> list[str]:
    return [sys.executable, "-m", "layerwise", "tune", *argv]


def test_the_workers_cannot_see_the_study(cluster: Cluster) -> None:
    assert not any(cluster.sees_hidden.values()), cluster.sees_hidden
    assert len(set(cluster.cwd.values())) == 2 and os.getcwd() not in cluster.cwd.values()
    assert len(set(cluster.tmp.values())) == 2


@pytest.mark.parametrize("storage", ["journal", "postgresql"])
def test_a_grid_completes_with_each_trial_recorded_once(
    cluster: Cluster, storage: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    study = cluster.hidden / "study"
    where = (
        ["--storage", postgres_url(request.getfixturevalue("postgres"))]
        if storage != "journal"
        else []
    )
    rc, out, err = run_tune(
        *GRID, "--epochs", "3", "--scheduler", cluster.address, "--study", str(study), *where
    )
    assert rc == 0, err + cluster.logs()
    assert f"Running trials on the Dask cluster at {cluster.address}" in out
    _check_recorded_once(study, cluster)
    assert len(results(study)["trials"]) == 4
    if storage != "journal":
        assert len(trials_in_database(where[1], study)) == 4


def test_a_killed_workers_trial_runs_again_on_the_other(cluster: Cluster) -> None:
    study = cluster.hidden / "study"
    proc = subprocess.Popen(
        _driver(*GRID, *SLOW, "--scheduler", cluster.address, "--study", str(study)),
        env=driver_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        victim = wait_until_running(cluster)
        time.sleep(0.5)  # in the middle of its trial
        cluster.signal_worker(victim, signal.SIGKILL)
        _, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, err + cluster.logs()
    complete = _check_recorded_once(study, cluster)
    assert len(results(study)["trials"]) == 4  # the killed trial was not recorded twice
    survivor = (set(cluster.workers) - {victim}).pop()
    assert survivor in {t["worker"] for t in complete}


@pytest.mark.xfail(
    strict=False,
    reason="known gap: under load the retries of a trial lost on the frozen worker are at "
    "times lost too (placed on it again, or declared lost while starting), so the point ends "
    "failed; passes on an idle machine",
)
def test_a_frozen_workers_trial_is_recorded_failed_and_retried(cluster: Cluster) -> None:
    study = cluster.hidden / "study"
    proc = subprocess.Popen(
        _driver(*GRID, *SLOW, "--scheduler", cluster.address, "--study", str(study),
                "--grace-period", "5"),
        env=driver_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        victim = wait_until_running(cluster)
        time.sleep(1.0)  # (stopped before its first beat, it is lost after 30 s instead)
        cluster.signal_worker(victim, signal.SIGSTOP)  # alive for Dask, silent for layerwise
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, err + cluster.logs()
    complete = _check_recorded_once(study, cluster)
    failed = by_state(study)["fail"]
    assert len(failed) == 1, failed
    assert failed[0]["error"].startswith(f"lost: no word from its worker {victim} for 5 s")
    assert "retried as a new trial" in failed[0]["error"]
    retry = [t for t in complete if _points([t]) == _points(failed)]
    assert len(retry) == 1 and retry[0]["worker"] != victim
    assert "failed: lost: no word" in out and "progress: 4/4 trials finished" in err


def test_a_killed_driver_resumes_without_repeating_finished_trials(cluster: Cluster) -> None:
    study = cluster.hidden / "study"
    grid = ["--grid", "lr=0.5,0.4,0.3", "--grid", "hidden=24,32", "--pruner", "none", *SLOW]
    argv = _driver(*grid, "--scheduler", cluster.address, "--study", str(study))
    proc = subprocess.Popen(argv, env=driver_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_finished(proc, study, 2)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate()
    before = {t["number"]: t for t in finished_trials(study)}
    assert 2 <= len(before) < 6
    out = subprocess.run(argv, env=driver_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr + cluster.logs()
    assert f"Resuming: {len(before)} of 6 trials finished earlier" in out.stdout
    assert out.stdout.count("Tested ") == 6 - len(before)
    trials = results(study)["trials"]
    assert [t["state"] for t in trials] == ["complete"] * 6
    for number, earlier in before.items():  # kept as they were, not trained again
        assert trials[number]["run"] == earlier["run"] == 1


def test_a_postgresql_restart_mid_study_loses_nothing(cluster: Cluster, postgres: Any) -> None:
    from pgserver._commands import pg_ctl

    url, study = postgres_url(postgres), cluster.hidden / "study"
    grid = ["--grid", "lr=0.5,0.4,0.3", "--grid", "hidden=24,32", "--pruner", "none", *SLOW]
    argv = _driver(*grid, "--scheduler", cluster.address, "--study", str(study), "--storage", url)
    proc = subprocess.Popen(
        argv, env=driver_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for_finished(proc, study, 1)
        pg_ctl(["-w", "-m", "fast", "restart"], pgdata=postgres.pgdata, user=postgres.system_user)
        _, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, err + cluster.logs()
    trials = trials_in_database(url, study)
    assert sorted(t.number for t in trials) == list(range(6))
    assert all(t.state.name == "COMPLETE" for t in trials), [
        (t.number, t.state, t.user_attrs.get("error")) for t in trials
    ]


def test_the_pruner_stops_trials_through_the_workers_reports(cluster: Cluster) -> None:
    # Two good trials complete first (one per worker); then lr 1e-5 is far below their median.
    study = cluster.hidden / "study"
    grid = ["--grid", "lr=0.5,1e-5", "--grid", "seed=0,1", "--hidden", "32", "--epochs", "3"]
    pruning = ["--prune-startup", "2", "--prune-warmup", "1"]
    rc, _, err = run_tune(*grid, *pruning, "--scheduler", cluster.address, "--study", str(study))
    assert rc == 0, err + cluster.logs()
    states = by_state(study)
    assert [t["params"]["lr"] for t in states["complete"]] == [0.5, 0.5]
    assert [t["params"]["lr"] for t in states["pruned"]] == [1e-5, 1e-5]
    for pruned in states["pruned"]:
        assert pruned["epochs"] == 1 and "pruned at epoch 1" in pruned["error"]
        assert pruned["worker"] in cluster.workers
