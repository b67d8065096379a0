"""Lines, results files and the figure of a search."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from tune_helpers import TINY, results, run_tune

from layerwise.tune import report
from layerwise.tune.figures import plot_results
from layerwise.tune.report import csv_rows, progress_line
from layerwise.tune.space import build_space, parse_grid_flag, parse_range_flag, searchable_options


@pytest.fixture(scope="module")
def space():  # type: ignore[no-untyped-def]
    options = searchable_options()
    return build_space(
        [
            parse_grid_flag("lr=0.001,0.01,0.1", options),
            parse_grid_flag("units=256,512", options),
            parse_range_flag("dropout=0.1:0.5", options),
            parse_grid_flag("activation=relu,tanh", options),
        ]
    )


def test_the_seed_line(space) -> None:  # type: ignore[no-untyped-def]
    params = {"lr": 0.001, "units": 256, "dropout": 0.2, "activation": "relu"}
    done = {"state": "complete", "value": 0.9724934697151184}
    assert report.tested_line(params, space, done) == (
        "Tested 0.001, 256, 0.2, relu: Validation accuracy = 0.9724934697151184"
    )
    params["dropout"] = 0.123456789
    pruned = {"state": "pruned", "error": "pruned at epoch 2: ..."}
    assert report.tested_line(params, space, pruned) == (
        "Tested 0.001, 256, 0.123457, relu: pruned at epoch 2: ..."
    )
    failed = {"state": "fail", "error": "the training loss became nan"}
    assert report.tested_line(params, space, failed).endswith(
        ": failed: the training loss became nan"
    )


def test_progress_line() -> None:
    counts = {"complete": 5, "pruned": 1, "fail": 1}
    assert progress_line(counts, 24, 70.0, 7) == (
        "progress: 7/24 trials finished (5 complete, 1 pruned, 1 failed); 1m10s elapsed, "
        "~2m50s left"
    )
    assert progress_line({"complete": 24}, 24, 4000, 24).endswith("1h06m elapsed")


def _record(number: int, state: str, accs: list[float], **params: object) -> dict:
    return {
        "number": number,
        "state": state,
        "val_acc": max(accs) if state == "complete" else None,
        "params": params,
        "val_acc_per_epoch": [{"epoch": e, "val_acc": a} for e, a in enumerate(accs)],
        "duration_s": 1.0,
        "epochs": len(accs) - 1,
        "train_seconds": 0.9,
        "worker": "w",
        "run": 1,
        "error": None if state == "complete" else "why",
    }


def test_csv_rows_have_one_column_per_epoch_any_trial_saw(space) -> None:  # type: ignore[no-untyped-def]
    p = {"lr": 0.1, "units": 256, "dropout": 0.2, "activation": "relu"}
    records = [_record(0, "complete", [0.1, 0.5, 0.7], **p), _record(1, "pruned", [0.1], **p)]
    rows = csv_rows(records, space)
    assert list(rows[0]) == list(rows[1])  # the same columns in every row
    assert rows[1]["val_acc_epoch_2"] is None and rows[0]["val_acc_epoch_2"] == 0.7
    assert [k for k in rows[0] if k.startswith("val_acc_epoch")] == [
        "val_acc_epoch_0", "val_acc_epoch_1", "val_acc_epoch_2",
    ]  # fmt: skip


def test_the_figure_shows_every_trial_and_parameter(space) -> None:  # type: ignore[no-untyped-def]
    p = {"lr": 0.1, "units": 256, "dropout": 0.2, "activation": "relu"}
    records = [
        _record(0, "complete", [0.1, 0.5, 0.7], **p),
        _record(1, "pruned", [0.1, 0.2], **{**p, "lr": 0.001}),
        _record(2, "fail", [], **{**p, "units": 512}),  # nothing to plot, and no error
    ]
    fig = plot_results(records, space)
    assert isinstance(fig, Figure)
    trials_ax, epochs_ax, *param_axes = fig.axes
    assert len(param_axes) == 4
    assert [ax.get_xlabel() for ax in param_axes] == ["lr", "units", "dropout", "activation"]
    assert len(epochs_ax.lines) == 2  # the failed trial reported no epoch
    assert sum(len(c.get_offsets()) for c in trials_ax.collections) == 2


def test_results_files_hold_every_trial(tmp_path: Path) -> None:
    study = tmp_path / "s"
    rc, _, err = run_tune("--grid", "lr=0.5,0.1", *TINY, "--jobs", "1", "--study", str(study))
    assert rc == 0, err
    data = results(study)
    assert data["sampler"] == "grid" and data["target_trials"] == 2
    assert data["train_argv"] == ["--hidden", "32", "--epochs", "2"]
    for trial in data["trials"]:
        assert set(trial) >= {"number", "state", "val_acc", "params", "val_acc_per_epoch",
                              "duration_s", "error", "worker", "train_seconds"}  # fmt: skip
        assert [e["epoch"] for e in trial["val_acc_per_epoch"]] == [0, 1, 2]
        assert trial["val_acc"] == max(e["val_acc"] for e in trial["val_acc_per_epoch"])
        assert trial["duration_s"] > 0
    with open(study / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["lr"] for r in rows] == ["0.5", "0.1"]
    assert [float(r["val_acc"]) for r in rows] == [t["val_acc"] for t in data["trials"]]
    assert (study / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(study.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_the_lines_and_figure_name_the_task_score(space) -> None:  # type: ignore[no-untyped-def]
    from layerwise.tune.figures import _score

    params = {"lr": 0.001, "units": 256, "dropout": 0.2, "activation": "relu"}
    done = {"state": "complete", "value": 0.5, "score_name": "r2"}
    assert report.tested_line(params, space, done).endswith(": Validation R2 = 0.5")
    assert _score([{"score_name": "r2"}, {"score_name": None}]) == "R²"
    assert _score([{}]) == "accuracy"
    assert _score([{"score_name": "r2"}, {"score_name": "accuracy"}]) == "accuracy"
