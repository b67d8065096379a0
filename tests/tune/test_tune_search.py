"""The search loop: seed-style lines, pruning, failed trials, samplers over ranges."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tune_helpers import TINY, by_state, results, run_tune


def test_a_grid_prints_the_seed_lines_in_order_and_the_best(tmp_path: Path) -> None:
    study = tmp_path / "s"
    rc, out, err = run_tune(
        "--grid", "lr=0.5,0.1", "--grid", "activation=relu,tanh", *TINY, "--jobs", "1",
        "--pruner", "none", "--study", str(study),
    )  # fmt: skip
    assert rc == 0, err
    tested = [line for line in out.splitlines() if line.startswith("Tested")]
    prefixes = [line.split(":")[0] for line in tested]
    assert prefixes == [
        "Tested 0.5, relu", "Tested 0.5, tanh", "Tested 0.1, relu", "Tested 0.1, tanh",
    ]  # fmt: skip
    accs = [float(line.rsplit("= ", 1)[1]) for line in tested]
    assert all(0 < a <= 1 for a in accs)
    best = max(range(4), key=lambda i: accs[i])
    lr, act = prefixes[best].removeprefix("Tested ").split(", ")
    assert f"Best params: {{'lr': {lr}, 'activation': '{act}'}} with accuracy {accs[best]}" in out
    assert len(re.findall(r"^progress: \d/4 trials finished", err, re.M)) == 4
    trials = results(study)["trials"]
    assert [t["val_acc"] for t in trials] == accs
    assert all(t["state"] == "complete" and t["epochs"] == 2 for t in trials)


def test_a_terrible_learning_rate_is_pruned_and_recorded(tmp_path: Path) -> None:
    # Two good trials (two seeds) complete first; then lr 1e-5 is far below their median.
    grid = ["--grid", "lr=0.5,1e-5", "--grid", "seed=0,1", *TINY, "--epochs", "3", "--jobs", "1"]
    pruning = ["--prune-startup", "2", "--prune-warmup", "1"]
    rc, out, err = run_tune(*grid, *pruning, "--study", str(tmp_path / "median"))
    assert rc == 0, err
    assert re.search(r"^Tested 1e-05, 0: pruned at epoch 1: validation accuracy 0\.\d+", out, re.M)
    states = by_state(tmp_path / "median")
    assert [t["params"] for t in states["complete"]] == [
        {"lr": 0.5, "seed": 0},
        {"lr": 0.5, "seed": 1},
    ]
    assert [t["params"] for t in states["pruned"]] == [
        {"lr": 1e-5, "seed": 0},
        {"lr": 1e-5, "seed": 1},
    ]
    for pruned in states["pruned"]:
        assert pruned["epochs"] == 1 and "pruned at epoch 1" in pruned["error"]
        assert [e["epoch"] for e in pruned["val_acc_per_epoch"]] == [0, 1]
        assert pruned["val_acc"] is None

    # The same trials without pruning train all their epochs: the pruner is what stopped them.
    rc, out, err = run_tune(*grid, "--pruner", "none", "--study", str(tmp_path / "none"))
    assert rc == 0, err
    trials = results(tmp_path / "none")["trials"]
    assert [t["state"] for t in trials] == ["complete"] * 4
    assert trials[3]["epochs"] == 3 and len(trials[3]["val_acc_per_epoch"]) == 4


def test_a_trial_is_never_pruned_after_its_last_epoch(tmp_path: Path) -> None:
    # One epoch: lr 1e-5's only report after training is its last; pruning would save nothing
    # and lose the result, so it completes (with its poor accuracy).
    grid = ["--grid", "lr=0.5,1e-5", "--grid", "seed=0,1", *TINY, "--epochs", "1", "--jobs", "1"]
    rc, _, err = run_tune(*grid, "--prune-startup", "2", "--study", str(tmp_path / "s"))
    assert rc == 0, err
    trials = results(tmp_path / "s")["trials"]
    assert [t["state"] for t in trials] == ["complete"] * 4
    assert trials[3]["val_acc"] < trials[0]["val_acc"]


# Under pytest layerwise's RuntimeWarnings are errors; let the overflow run into NaN as it would.
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_failing_and_diverging_trials_are_recorded_and_the_study_goes_on(tmp_path: Path) -> None:
    study = tmp_path / "s"
    rc, out, err = run_tune(
        # three-layer needs two hidden sizes: building that model raises; lr 1e12 diverges.
        "--grid", "model=two-layer,three-layer", "--grid", "lr=1e12,0.5", *TINY,
        "--jobs", "1", "--pruner", "none", "--study", str(study),
    )  # fmt: skip
    assert rc == 0, err
    assert "Tested two-layer, 1e+12: failed: the training loss " in out
    assert (
        "Tested three-layer, 0.5: failed: ConfigError: model three-layer needs 2 hidden "
        "size(s)" in out
    )
    states = by_state(study)
    assert len(states["fail"]) == 3 and len(states["complete"]) == 1
    for trial in states["fail"]:
        assert trial["error"] and trial["val_acc"] is None
    diverged = next(t for t in states["fail"] if t["params"]["model"] == "two-layer")
    assert diverged["error"].startswith("the training loss")
    assert "Best params: {'model': 'two-layer', 'lr': 0.5} with accuracy" in out
    assert results(study)["best"]["params"] == {"model": "two-layer", "lr": 0.5}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_all_trials_failing_is_exit_status_1(tmp_path: Path) -> None:
    rc, out, _ = run_tune(
        "--grid", "lr=1e12", *TINY, "--jobs", "1", "--study", str(tmp_path / "s")
    )  # fmt: skip
    assert rc == 1
    assert "No trial completed" in out


def test_tpe_and_random_over_ranges(tmp_path: Path) -> None:
    for sampler in ("tpe", "random"):
        study = tmp_path / sampler
        rc, out, err = run_tune(
            "--sampler", sampler, "--trials", "4", "--range", "lr=0.05:1:log",
            "--grid", "hidden=16,32", "--epochs", "1", "--jobs", "1", "--study", str(study),
        )  # fmt: skip
        assert rc == 0, err
        trials = results(study)["trials"]
        assert len(trials) == 4
        lrs = [t["params"]["lr"] for t in trials]
        assert all(0.05 <= lr <= 1 for lr in lrs) and len(set(lrs)) == 4
        assert {t["params"]["hidden"] for t in trials} <= {"16", "32"}
        assert out.count("Tested ") == 4
