"""Run folders and train_run (layerwise.runs): the layout, the recipe written and read back,
resuming bit for bit, runs from before recipes, and training without a folder."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerwise.errors import ConfigError, LayerwiseError
from layerwise.io import RunDirError
from layerwise.models import TwoLayerNet
from layerwise.plots import RUN_FIGURES
from layerwise.recipe import Recipe
from layerwise.runs import (
    RunFolder,
    RunResult,
    accuracy,
    epoch_rows,
    recipe_from_legacy_config,
    train_run,
)
from layerwise.solver import Solver

HERE = Path(__file__).resolve().parent
LEGACY_RUN = HERE / "fixtures" / "run_before_recipe"
FIGURES = RUN_FIGURES  # the figures a run folder holds


@pytest.fixture(scope="module")
def digits() -> dict[str, np.ndarray]:
    return Recipe.from_options().build_data()


def _same_params(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert list(a) == list(b)
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def _quiet(recipe: Recipe, folder: RunFolder | None = None, **kwargs: Any) -> RunResult:
    kwargs.setdefault("figures", False)
    return train_run(recipe, folder, verbose=False, **kwargs)


# --------------------------------------------------------------------------------------------
# The historic recipe, bit for bit
# --------------------------------------------------------------------------------------------


def test_the_default_recipe_is_the_historic_hand_built_run(capsys: pytest.CaptureFixture) -> None:
    result = train_run(Recipe.from_options(epochs=2), None)
    out = capsys.readouterr().out
    assert out.startswith(
        "Training TwoLayerNet (hidden 100) on digits: 1257 training examples of 64 features, "
        "10 classes\n"
    )

    data = Recipe.from_options().build_data()
    model = TwoLayerNet(
        input_dim=64,
        hidden_dim=100,
        num_classes=10,
        weight_scale=0.1,
        dtype=np.float32,
        rng=np.random.default_rng([0, 1]),
    )
    solver = Solver(
        model,
        data,
        update_rule="sgd",
        optim_config={"learning_rate": 0.5},
        lr_decay=0.98,
        batch_size=50,
        num_epochs=2,
        seed=0,
        verbose=False,
    )
    solver.train()
    assert len(solver.loss_history) == 50
    assert result.solver.loss_history == solver.loss_history
    assert result.solver.val_acc_history == solver.val_acc_history
    _same_params(result.model.params, model.params)
    assert result.metrics["val_acc"] == accuracy(model, data["X_val"], data["y_val"])
    assert result.folder is None


# --------------------------------------------------------------------------------------------
# RunFolder
# --------------------------------------------------------------------------------------------


def test_run_dir_error_is_a_layerwise_error() -> None:
    assert issubclass(RunDirError, LayerwiseError) and issubclass(RunDirError, FileExistsError)


def test_create_makes_a_new_folder_and_accepts_an_empty_one(tmp_path: Path) -> None:
    folder = RunFolder.create(tmp_path / "a" / "b")
    assert folder.path == tmp_path / "a" / "b" and folder.path.is_dir()
    folder.release()
    (tmp_path / "empty").mkdir()
    folder = RunFolder.create(tmp_path / "empty")
    assert folder.path == tmp_path / "empty"
    folder.release()


def test_create_refuses_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="already exists and is not empty"):
        RunFolder.create(tmp_path / "taken")
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def test_create_refuses_a_file_and_the_empty_path(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(RunDirError, match="is a file"):
        RunFolder.create(tmp_path / "f")
    with pytest.raises(RunDirError, match="not a path"):
        RunFolder.create("")


def test_create_twice_gives_two_folders(tmp_path: Path) -> None:
    a = RunFolder.create(None, base=tmp_path, name_hint="digits-fc")
    b = RunFolder.create(None, base=tmp_path, name_hint="digits-fc")
    assert a.path != b.path
    assert a.path.parent == b.path.parent == tmp_path
    assert a.path.name.endswith("-digits-fc")
    a.release()
    b.release()


def test_open_needs_a_folder_with_a_config(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="does not exist"):
        RunFolder.open(tmp_path / "nowhere")
    (tmp_path / "bare").mkdir()
    with pytest.raises(RunDirError, match=r"config\.json") as info:
        RunFolder.open(tmp_path / "bare")
    assert isinstance(info.value, LayerwiseError)
    folder = RunFolder.open(LEGACY_RUN)
    assert folder.path == LEGACY_RUN and folder.has_checkpoint()


def test_paths_of_the_layout(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "r")
    assert folder.config_path == tmp_path / "r" / "config.json"
    assert folder.metrics_path == tmp_path / "r" / "metrics.json"
    assert folder.model_path == tmp_path / "r" / "model.npz"
    assert folder.checkpoint_base == str(tmp_path / "r" / "checkpoints" / "ckpt")
    assert folder.latest_checkpoint == tmp_path / "r" / "checkpoints" / "ckpt_latest"
    assert str(folder) == str(tmp_path / "r")
    assert not folder.has_checkpoint()


def test_read_metrics_of_an_unfinished_run(tmp_path: Path) -> None:
    folder = RunFolder.create(tmp_path / "r")
    with pytest.raises(RunDirError, match="never finished training"):
        folder.read_metrics()
    folder.remove_if_empty()
    assert not folder.path.exists()


# --------------------------------------------------------------------------------------------
# train_run into a folder
# --------------------------------------------------------------------------------------------


def test_train_run_writes_the_run_folder(tmp_path: Path, digits: dict[str, np.ndarray]) -> None:
    recipe = Recipe.from_options(epochs=2, model="fc", hidden=(20,), norm="batchnorm")
    folder = RunFolder.create(tmp_path / "run")
    result = train_run(
        recipe, folder, data=digits, verbose=False, extra_config={"argv": ["train", "x"]}
    )
    path = folder.path
    for name in ("config.json", "metrics.json", "metrics.csv", "model.npz", "model.json"):
        assert (path / name).is_file(), name
    for name in FIGURES:
        assert (path / name).is_file() and (path / name).stat().st_size > 0, name
    assert (path / "checkpoints" / "ckpt_latest.npz").is_file()
    assert (path / "checkpoints" / "ckpt_latest.json").is_file()
    assert not list((path / "checkpoints").glob("*_epoch_*"))  # only the latest is kept

    config = json.loads((path / "config.json").read_text())
    assert Recipe.from_dict(config["recipe"]) == recipe
    assert folder.recipe() == RunFolder.open(path).recipe() == recipe
    assert config["argv"] == ["train", "x"]
    assert (config["input_dim"], config["num_classes"], config["num_train"]) == (64, 10, 1257)
    assert (config["epochs"], config["learning_rate"], config["hidden"]) == (2, 0.5, [20])
    assert config["model_class"] == "FullyConnectedNet" and config["engine"] == "numpy"

    metrics = json.loads((path / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(result.metrics))
    assert [row["epoch"] for row in metrics["epochs"]] == [0, 1, 2]
    assert metrics["num_iterations"] == len(metrics["loss_history"]) == 50
    assert metrics["stopped_by"] is None and metrics["stopped_reason"] is None
    with open(path / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert float(rows[2]["val_acc"]) == metrics["epochs"][2]["val_acc"]

    saved = folder.load_model()
    _same_params(saved.params, result.model.params)
    np.testing.assert_array_equal(
        saved.predict(digits["X_test"]), result.model.predict(digits["X_test"])
    )
    assert accuracy(saved, digits["X_test"], digits["y_test"]) == metrics["test_acc"]


def test_resume_continues_bit_for_bit(tmp_path: Path, digits: dict[str, np.ndarray]) -> None:
    recipe = Recipe.from_options(epochs=2, model="fc", hidden=(16,), dropout=0.2)
    folder = RunFolder.create(tmp_path / "run")
    first = _quiet(recipe, folder, data=digits)
    assert len(first.solver.loss_history) == 50

    longer = recipe.replace(epochs=3)
    resumed = _quiet(longer, RunFolder.open(folder.path), resume=True, data=digits)
    straight = _quiet(longer, None, data=digits)
    assert resumed.solver.loss_history[:50] == first.solver.loss_history
    assert resumed.solver.loss_history == straight.solver.loss_history
    assert resumed.solver.val_acc_history == straight.solver.val_acc_history
    _same_params(resumed.model.params, straight.model.params)
    assert resumed.metrics["epochs"] == straight.metrics["epochs"]
    assert (resumed.metrics["val_acc"], resumed.metrics["test_acc"]) == (
        straight.metrics["val_acc"],
        straight.metrics["test_acc"],
    )
    on_disk = json.loads(folder.metrics_path.read_text())
    assert [row["epoch"] for row in on_disk["epochs"]] == [0, 1, 2, 3]
    assert folder.recipe() == longer  # config.json records what the run now is
    _same_params(folder.load_model().params, straight.model.params)


def test_resume_of_a_finished_run_needs_more_epochs(
    tmp_path: Path, digits: dict[str, np.ndarray]
) -> None:
    recipe = Recipe.from_options(epochs=1)
    folder = RunFolder.create(tmp_path / "run")
    _quiet(recipe, folder, data=digits)
    before = folder.metrics_path.read_bytes()
    with pytest.raises(
        ConfigError, match=r"already finished \(planned 1 epochs, trained 1\)"
    ) as info:
        _quiet(recipe, folder, resume=True, data=digits)
    assert info.value.field == "epochs"
    assert folder.metrics_path.read_bytes() == before
    assert folder.recipe() == recipe


def test_a_refused_resume_leaves_the_run_as_it_was(
    tmp_path: Path, digits: dict[str, np.ndarray]
) -> None:
    """A resume whose recipe does not fit the checkpoint (another batch size) is refused, and
    config.json must still describe the run, so that the right resume still works."""
    from layerwise.checkpoint import CheckpointError

    recipe = Recipe.from_options(epochs=2)
    folder = RunFolder.create(tmp_path / "run")
    _quiet(recipe, folder, data=digits)
    config_before = folder.config_path.read_bytes()
    with pytest.raises(CheckpointError, match="batch_size"):
        _quiet(recipe.replace(epochs=3, batch_size=64), folder, resume=True, data=digits)
    assert folder.recipe() == recipe
    assert folder.config_path.read_bytes() == config_before
    resumed = _quiet(recipe.replace(epochs=3), folder, resume=True, data=digits)
    assert resumed.solver.epoch == 3


def test_an_interrupted_extension_resumes_to_its_end(
    tmp_path: Path, digits: dict[str, np.ndarray]
) -> None:
    """A finished 2-epoch run extended to 4 epochs and interrupted (Ctrl-C) at epoch 3 must
    resume to epoch 4, bit for bit, with the same recipe."""

    class Interrupt:
        def on_epoch_end(self, solver: Solver) -> None:
            if solver.epoch == 3:
                raise KeyboardInterrupt

    recipe = Recipe.from_options(epochs=2)
    folder = RunFolder.create(tmp_path / "run")
    _quiet(recipe, folder, data=digits)
    longer = recipe.replace(epochs=4)
    with pytest.raises(KeyboardInterrupt):
        _quiet(longer, folder, resume=True, data=digits, callbacks=[Interrupt()])
    resumed = _quiet(longer, folder, resume=True, data=digits)
    straight = _quiet(longer, None, data=digits)
    assert resumed.solver.epoch == 4
    assert resumed.solver.loss_history == straight.solver.loss_history
    _same_params(resumed.model.params, straight.model.params)


def test_resume_needs_a_folder() -> None:
    with pytest.raises(ConfigError, match="resume needs the run folder"):
        train_run(Recipe.from_options(epochs=1), None, resume=True)


def test_train_run_without_a_folder_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, digits: dict[str, np.ndarray]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = train_run(Recipe.from_options(epochs=1), None, data=digits, verbose=False)
    assert result.folder is None
    assert list(tmp_path.iterdir()) == []
    assert result.metrics["num_iterations"] == 25
    assert 0.0 <= result.metrics["test_acc"] <= 1.0


def test_train_run_reuses_the_data_given(
    monkeypatch: pytest.MonkeyPatch, digits: dict[str, np.ndarray]
) -> None:
    def no_loading(self: Recipe) -> None:
        raise AssertionError("build_data called although data= was given")

    monkeypatch.setattr(Recipe, "build_data", no_loading)
    result = _quiet(Recipe.from_options(epochs=1), None, data=digits)
    assert result.data is digits
    assert result.solver.X_train is digits["X_train"]
    assert result.metrics["val_acc"] == accuracy(result.model, digits["X_val"], digits["y_val"])


def test_train_run_trains_on_train_data_and_measures_on_data(
    digits: dict[str, np.ndarray],
) -> None:
    subset = {
        "X_train": digits["X_train"][:400],
        "y_train": digits["y_train"][:400],
        "X_val": digits["X_val"][:50],
        "y_val": digits["y_val"][:50],
    }
    result = _quiet(Recipe.from_options(epochs=2), None, data=digits, train_data=subset)
    solver = result.solver
    assert solver.X_train.shape[0] == 400 and solver.iterations_per_epoch == 8
    assert solver.X_val.shape[0] == 50
    assert len(solver.loss_history) == 16
    assert result.data is digits
    metrics = result.metrics
    assert metrics["val_acc"] == accuracy(result.model, digits["X_val"], digits["y_val"])
    assert metrics["test_acc"] == accuracy(result.model, digits["X_test"], digits["y_test"])
    full = _quiet(Recipe.from_options(epochs=2), None, data=digits)
    assert full.solver.loss_history != solver.loss_history


def test_early_stopping_is_recorded_in_the_metrics(digits: dict[str, np.ndarray]) -> None:
    result = _quiet(Recipe.from_options(epochs=30, early_stopping=2), None, data=digits)
    stopped = result.metrics["stopped_by"]
    assert stopped is not None and stopped["kind"] == "early_stopping"
    assert stopped["message"] == result.metrics["stopped_reason"]
    last = result.metrics["epochs"][-1]["epoch"]
    assert last == result.solver.epoch < 30
    assert f"early stopping at epoch {last}" in stopped["message"]


def test_a_callback_passed_to_train_run_is_run(digits: dict[str, np.ndarray]) -> None:
    seen: list[int] = []

    class Record:
        def on_epoch_end(self, solver: Solver) -> None:
            seen.append(solver.epoch)

    _quiet(Recipe.from_options(epochs=2), None, data=digits, callbacks=[Record()])
    assert seen == [0, 1, 2]


# --------------------------------------------------------------------------------------------
# Runs from before recipes
# --------------------------------------------------------------------------------------------


def test_a_legacy_config_becomes_its_recipe() -> None:
    config = json.loads((LEGACY_RUN / "config.json").read_text())
    assert "recipe" not in config
    recipe = recipe_from_legacy_config(config)
    assert recipe == Recipe.from_options(epochs=2)
    assert recipe.network.learning_rate == config["learning_rate"] == 0.5
    assert RunFolder(LEGACY_RUN).recipe() == recipe


def test_a_legacy_config_keeps_its_own_values() -> None:
    config = json.loads((LEGACY_RUN / "config.json").read_text())
    config.update(
        model="fc",
        hidden=[30, 20],
        learning_rate=0.01,
        update_rule="adam",
        norm="layernorm",
        lr_schedule={"name": "cosine"},
        early_stopping=4,
        epochs=7,
    )
    recipe = recipe_from_legacy_config(config)
    assert recipe == Recipe.from_options(
        model="fc",
        hidden=(30, 20),
        lr=0.01,
        update_rule="adam",
        norm="layernorm",
        lr_schedule={"name": "cosine"},
        early_stopping=4,
        epochs=7,
    )


@pytest.mark.parametrize("key", ["dataset", "model", "hidden"])
def test_a_legacy_config_must_name_the_architecture(key: str) -> None:
    config = json.loads((LEGACY_RUN / "config.json").read_text())
    del config[key]
    with pytest.raises(ConfigError, match=f"it names no {key}"):
        recipe_from_legacy_config(config)


def test_a_bad_legacy_config_names_the_file(tmp_path: Path) -> None:
    config = json.loads((LEGACY_RUN / "config.json").read_text())
    config["learning_rate"] = -1
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="cannot rebuild the run's recipe") as info:
        RunFolder(tmp_path).recipe()
    assert "config.json" in str(info.value) and "lr" in str(info.value)


def test_a_legacy_run_resumes(tmp_path: Path, digits: dict[str, np.ndarray]) -> None:
    copy = tmp_path / "legacy"
    shutil.copytree(LEGACY_RUN, copy)
    folder = RunFolder.open(copy)
    old = json.loads((copy / "metrics.json").read_text())
    recipe = folder.recipe().replace(epochs=3)
    result = _quiet(recipe, folder, resume=True, data=digits)
    assert len(result.solver.loss_history) == 75
    assert result.solver.loss_history[:50] == old["loss_history"]
    straight = _quiet(recipe, None, data=digits)
    assert result.solver.loss_history == straight.solver.loss_history
    _same_params(result.model.params, straight.model.params)
    # The fixture itself is left alone.
    assert "recipe" not in json.loads((LEGACY_RUN / "config.json").read_text())


# --------------------------------------------------------------------------------------------
# Metrics helpers
# --------------------------------------------------------------------------------------------


def test_epoch_rows_average_each_epochs_losses() -> None:
    rows = epoch_rows(
        [4.0, 2.0, 3.0, 1.0], [0.1, 0.5, 0.9], [0.2, 0.4, 0.8], iterations_per_epoch=2, last_epoch=2
    )
    assert rows == [
        {"epoch": 0, "train_loss": None, "train_acc": 0.1, "val_acc": 0.2},
        {"epoch": 1, "train_loss": 3.0, "train_acc": 0.5, "val_acc": 0.4},
        {"epoch": 2, "train_loss": 2.0, "train_acc": 0.9, "val_acc": 0.8},
    ]


def test_epoch_rows_count_back_from_the_last_epoch() -> None:
    # One iteration per epoch: the first record is already epoch 1.
    rows = epoch_rows([5.0, 4.0], [0.3, 0.6], [0.3, 0.5], iterations_per_epoch=1, last_epoch=2)
    assert [(r["epoch"], r["train_loss"]) for r in rows] == [(1, 5.0), (2, 4.0)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([1.0], [0.1], [0.1, 0.2], 1, 1), "must have the same length"),
        (([1.0], [0.1], [0.1], 0, 0), "iterations_per_epoch must be >= 1"),
        (([1.0], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3], 1, 1), "cannot end at epoch 1"),
    ],
)
def test_epoch_rows_refuses_inconsistent_histories(args: tuple, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        epoch_rows(*args)


def test_accuracy() -> None:
    class Fixed:
        def predict(self, X: np.ndarray) -> np.ndarray:
            return np.zeros(len(X), dtype=np.int64)

    X = np.zeros((4, 2))
    assert accuracy(Fixed(), X, np.array([0, 1, 0, 0])) == 0.75
    with pytest.raises(ConfigError, match="as many labels as examples"):
        accuracy(Fixed(), X, np.array([0, 1]))
    with pytest.raises(ConfigError, match="at least one"):
        accuracy(Fixed(), X[:0], np.array([], dtype=np.int64))
