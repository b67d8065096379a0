"""Trials on Dask: an existing LocalCluster of 2 worker processes, and ``--jobs 2``.

Both check that trials ran on both workers, each worker process running several, and that no
worker loaded the dataset itself (the driver ships the arrays).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from tune_helpers import results, run_tune

GRID = ["--grid", "lr=0.5,0.4,0.3", "--grid", "hidden=16,24", "--epochs", "2", "--pruner", "none"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # loopback, any free port
    ) as c:
        yield c


def _check_spread_and_loads(trials: list[dict], workers: set[str] | None = None) -> None:
    assert [t["state"] for t in trials] == ["complete"] * 6
    by_worker: dict[str, list[dict]] = defaultdict(list)
    for t in trials:
        by_worker[t["worker"]].append(t)
    assert len(by_worker) == 2, f"trials ran on {sorted(by_worker)}"
    if workers is not None:
        assert set(by_worker) == workers
    assert {t["pid"] for t in trials}.isdisjoint({os.getpid()})  # not in this process
    for ran in by_worker.values():
        assert len({t["pid"] for t in ran}) == 1
        # The arrays were shipped by the driver: no worker read the dataset itself.
        assert [t["data_loads"] for t in ran] == [0] * len(ran)
    assert max(len(ran) for ran in by_worker.values()) >= 2  # so "once" is not "per trial"


def test_trials_run_on_an_existing_cluster(cluster: object, tmp_path: Path) -> None:
    address = cluster.scheduler_address  # type: ignore[attr-defined]
    study = tmp_path / "s"
    rc, out, err = run_tune(*GRID, "--scheduler", address, "--study", str(study))
    assert rc == 0, err
    assert f"Running trials on the Dask cluster at {address}" in out
    assert out.count("Tested ") == 6
    workers = set(cluster.scheduler_info["workers"])  # type: ignore[attr-defined]
    _check_spread_and_loads(results(study)["trials"], workers)


def test_jobs_starts_a_local_cluster_of_that_many_processes(tmp_path: Path) -> None:
    study = tmp_path / "s"
    rc, out, err = run_tune(*GRID, "--jobs", "2", "--study", str(study))
    assert rc == 0, err
    assert "Running trials on a local Dask cluster of 2 worker processes" in out
    trials = results(study)["trials"]
    _check_spread_and_loads(trials)
    assert all(t["worker"].startswith("tcp://127.0.0.1:") for t in trials)


def test_an_unreachable_scheduler_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from layerwise.tune import executors

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", 1.0)
    with socket.socket() as s:  # a loopback port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc, _, err = run_tune(
        *GRID, "--scheduler", f"tcp://127.0.0.1:{port}", "--study", str(tmp_path / "s")
    )
    assert rc == 2 and err.startswith("layerwise: error: cannot start or reach tcp://127.0.0.1")


def test_shipped_arrays_are_made_aligned_once_per_process() -> None:
    """Dask may hand a worker arrays at odd addresses (seen for MNIST's X_train); training on
    them took NumPy's slow paths, many times slower. They are copied aligned, once."""
    import numpy as np

    from layerwise.tune.trial import ready_to_train

    raw = bytearray(4 * 600 + 2)
    odd = np.frombuffer(raw, dtype=np.float32, offset=2, count=600).reshape(20, 30)
    assert not odd.flags.aligned
    shipped = {"X_train": odd, "y_train": np.arange(20), "classes": ["a", "b"]}
    ready = ready_to_train(shipped)
    assert ready["X_train"].flags.aligned and ready["X_train"].flags.c_contiguous
    assert np.array_equal(ready["X_train"], odd)
    assert ready["y_train"] is shipped["y_train"]  # already fine: not copied
    assert ready["classes"] is shipped["classes"]
    assert ready_to_train(shipped) is ready  # kept for the next trial
