"""Studies in their folder: resuming, the grid's bookkeeping, storages, settings, one run."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from tune_helpers import results, run_tune

from layerwise.tune.space import build_space, parse_grid_flag, searchable_options
from layerwise.tune.study import StudyConfig, enqueue_grid, open_study, study_lock

GRID = ["--grid", "lr=0.5,0.3", "--grid", "hidden=16,32", "--epochs", "2", "--jobs", "1"]


def _trainings(out: str) -> int:
    return sum(line.startswith("Tested ") for line in out.splitlines())


def test_rerunning_resumes_and_never_repeats_finished_trials(tmp_path: Path) -> None:
    study = tmp_path / "s"
    # Stop after 2 of the 4 grid points, then run the full command.
    rc, out, err = run_tune(*GRID, "--trials", "2", "--study", str(study))
    assert rc == 0, err
    assert _trainings(out) == 2
    first = results(study)["trials"]
    assert [t["number"] for t in first] == [0, 1]

    rc, out, err = run_tune(*GRID, "--study", str(study))
    assert rc == 0, err
    assert "Resuming: 2 of 4 trials finished earlier" in out
    assert _trainings(out) == 2  # only the two new grid points were trained
    assert "Tested 0.3, 16" in out and "Tested 0.3, 32" in out and "Tested 0.5" not in out
    trials = results(study)["trials"]
    assert [t["run"] for t in trials] == [1, 1, 2, 2]
    assert trials[:2] == first  # untouched: same values, same times
    assert sorted((t["params"]["lr"], t["params"]["hidden"]) for t in trials) == [
        (0.3, "16"), (0.3, "32"), (0.5, "16"), (0.5, "32"),
    ]  # fmt: skip

    # A finished study: nothing is trained again, the best is reported.
    rc, out, err = run_tune(*GRID, "--study", str(study))
    assert rc == 0, err
    assert _trainings(out) == 0 and "Best params:" in out
    assert "All 4 trials finished earlier; nothing to train" in out
    assert len(results(study)["trials"]) == 4


def test_a_rerun_with_other_settings_is_refused(tmp_path: Path) -> None:
    study = tmp_path / "s"
    assert run_tune(*GRID, "--trials", "1", "--study", str(study))[0] == 0
    rc, _, err = run_tune(*GRID, "--epochs", "3", "--study", str(study))
    assert rc == 2
    assert "holds a study made with other settings" in err and "--epochs" in err
    rc, _, err = run_tune("--grid", "lr=0.5,0.2", "--grid", "hidden=16,32", "--epochs", "2",
                          "--study", str(study))  # fmt: skip
    assert rc == 2 and "space" in err
    # Where the data lives, how many trials, the pruner and the jobs may change.
    rc, out, err = run_tune(*GRID, "--data-dir", str(tmp_path), "--pruner", "none",
                            "--trials", "2", "--study", str(study))  # fmt: skip
    assert rc == 0, err
    assert _trainings(out) == 1


def test_sqlite_storage_resumes_too(tmp_path: Path) -> None:
    study = tmp_path / "s"
    rc, _, err = run_tune(*GRID, "--storage", "sqlite", "--trials", "3", "--study", str(study))
    assert rc == 0, err
    assert (study / "study.db").is_file() and not (study / "journal.log").exists()
    rc, out, err = run_tune(*GRID, "--study", str(study))  # finds the SQLite study itself
    assert rc == 0, err
    assert _trainings(out) == 1
    rc, _, err = run_tune(*GRID, "--storage", "journal", "--study", str(study))
    assert rc == 2 and "already holds a sqlite study" in err


def test_one_run_per_study_folder(tmp_path: Path) -> None:
    study = tmp_path / "s"
    study.mkdir()
    with study_lock(study):
        rc, _, err = run_tune(*GRID, "--study", str(study))
    assert rc == 2 and "is in use by another 'layerwise tune' run" in err


@pytest.fixture
def grid_config(tmp_path: Path) -> StudyConfig:
    options = searchable_options()
    space = build_space(
        [parse_grid_flag("lr=0.1,0.2,0.3", options), parse_grid_flag("dropout=0.0,0.5", options)]
    )
    return StudyConfig(tmp_path, space, (), (), None, sampler="grid")


def test_the_grid_is_enqueued_once_in_order(grid_config: StudyConfig) -> None:
    study, finished = open_study(grid_config)
    assert finished == 0
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"] for t in waiting] == grid_config.space.grid_points()
    assert enqueue_grid(study, grid_config.space) == 0  # idempotent
    study, _ = open_study(grid_config)  # reopening adds nothing either
    assert len(study.get_trials()) == 6

    # Finished and running points are skipped; a point lost before it was enqueued is added.
    dists = {"lr": optuna.distributions.CategoricalDistribution([0.1, 0.2, 0.3]),
             "dropout": optuna.distributions.CategoricalDistribution([0.0, 0.5])}  # fmt: skip
    done = study.ask(dists)
    study.tell(done, 0.5)
    study.ask(dists)  # left running
    assert enqueue_grid(study, grid_config.space) == 0
    assert len(study.get_trials()) == 6


def test_leftovers_of_a_killed_writer_are_cleaned_up(grid_config: StudyConfig) -> None:
    study, _ = open_study(grid_config)
    journal = grid_config.folder / "journal.log"
    lock = Path(f"{journal}.lock")
    lock.symlink_to(grid_config.folder / "gone")  # the journal lock a killed writer held
    with open(journal, "ab") as f:
        f.write(b'{"op_code": 5, "worker_id": "x", "tri')  # a write cut short
    study, _ = open_study(grid_config)  # would wait 30 s for the lock, then fail
    assert not lock.is_symlink()
    assert journal.read_bytes().endswith(b"\n")
    study.enqueue_trial({"lr": 0.1, "dropout": 0.0})  # and the journal is writable again
    assert len(study.get_trials()) == 7


def test_a_trial_killed_while_its_values_were_drawn_is_completed(tmp_path: Path) -> None:
    study_dir = tmp_path / "s"
    argv = ["--sampler", "random", "--trials", "2", "--range", "lr=0.1:0.9",
            "--grid", "hidden=16,32", "--epochs", "1", "--jobs", "1"]  # fmt: skip
    assert run_tune(*argv, "--trials", "1", "--study", str(study_dir))[0] == 0
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(study_dir / "journal.log"))
    )
    study = optuna.load_study(study_name="layerwise", storage=storage)
    half = study.ask()
    lr = half.suggest_float("lr", 0.1, 0.9)  # killed before hidden was drawn
    rc, out, err = run_tune(*argv, "--study", str(study_dir))
    assert rc == 0, err
    assert "1 interrupted trial(s) run again" in out
    trials = results(study_dir)["trials"]
    assert len(trials) == 2 and trials[1]["number"] == half.number
    assert trials[1]["params"]["lr"] == lr and trials[1]["params"]["hidden"] in ("16", "32")
    assert trials[1]["state"] == "complete"
