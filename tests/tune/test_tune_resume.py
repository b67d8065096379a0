"""A search killed (SIGKILL) mid-study resumes: finished trials kept, not trained again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tune_helpers import finished_trials

import layerwise

SRC = Path(layerwise.__file__).resolve().parent.parent
GRID = ["--grid", "lr=0.5,0.4,0.3", "--grid", "hidden=32,48", "--epochs", "40", "--pruner", "none"]


def _tune(study: Path, jobs: str) -> list[str]:
    return [sys.executable, "-m", "layerwise", "tune", *GRID, "--jobs", jobs, "--study", str(study)]


def test_a_killed_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    study = tmp_path / "s"
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        _tune(study, "1"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 90
        while len(finished_trials(study)) < 2:  # results.json is rewritten after every trial
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no two trials finished in 90 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # no chance to clean up
    finally:
        proc.kill()
        proc.communicate()
    before = {t["number"]: t for t in finished_trials(study)}
    assert 2 <= len(before) < 6

    out = subprocess.run(
        _tune(study, "1"), env=env, capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert f"Resuming: {len(before)} of 6 trials finished earlier" in out
    trainings = [line for line in out.splitlines() if line.startswith("Tested ")]
    assert len(trainings) == 6 - len(before)  # only the unfinished grid points were trained

    trials = json.loads((study / "results.json").read_text())["trials"]
    assert [t["number"] for t in trials] == list(range(6))  # no extra trial for a rerun
    assert all(t["state"] == "complete" for t in trials)
    points = {(t["params"]["lr"], t["params"]["hidden"]) for t in trials}
    assert len(points) == 6  # every grid point exactly once
    for number, old in before.items():
        assert trials[number] == old  # kept as it was: same accuracy, times, run
        assert trials[number]["run"] == 1
    assert sum(t["run"] == 2 for t in trials) == 6 - len(before)
