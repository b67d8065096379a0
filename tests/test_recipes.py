"""The shipped recipes (``layerwise.recipes``), ``layerwise recipe list|show`` and ``--recipe``."""

from __future__ import annotations

import contextlib
import io
import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dataset_files import LOSSY_CIFAR10_SHA256
from layerwise import cli, recipes
from layerwise.cli.train import make_recipe
from layerwise.data import dataset_info
from layerwise.data.checksum import UnofficialDataWarning
from layerwise.errors import ConfigError
from layerwise.recipe import Recipe
from layerwise.runs import RunFolder, train_run

SHIPPED = ("cifar10-best", "mnist-best")


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    return rc, out.getvalue(), err.getvalue()


def _parsed(argv: list[str]) -> Any:
    args = cli.build_parser().parse_args(argv)
    args.argv = argv
    return args


def _digits_file(tmp_path: Path, **changes: Any) -> Path:
    """A copy of mnist-best made small and pointed at the embedded digits."""
    document = json.loads(recipes.text("mnist-best"))
    recipe = Recipe.from_dict(document["recipe"]).replace(
        dataset="digits", hidden=(24,), epochs=2, augment={"shift": 1}, **changes
    )
    document["recipe"] = recipe.to_dict()
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(document, indent=2))
    return path


# ------------------------------------------------------------------------------------------
# the files


def test_the_shipped_names() -> None:
    assert set(SHIPPED) <= set(recipes.names())
    assert recipes.names() == sorted(recipes.names())


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_file_is_a_canonical_recipe(name: str) -> None:
    document = json.loads(recipes.text(name))
    assert set(document) == {"description", "measured", "recipe"}
    assert document["description"].strip() and document["measured"].strip()
    assert recipes.describe(name) == document["description"]
    recipe = recipes.load(name)
    assert isinstance(recipe, Recipe)
    # The file is exactly what to_dict writes: nothing in it is ignored or defaulted.
    assert recipe.to_dict() == document["recipe"]
    assert recipe.dataset == name.split("-")[0]
    # The recipes say where no data is (the product never depends on a local folder), and
    # they trust no non-official file by themselves.
    assert recipe.data_dir is None and recipe.accept_sha256 is None
    assert recipe.engine == "numpy" and recipe.network.dtype == "float32"


def test_load_reads_a_copy_a_bare_recipe_and_a_run_config(tmp_path: Path) -> None:
    shipped = recipes.load("mnist-best")
    copy = tmp_path / "copy.json"
    copy.write_text(recipes.text("mnist-best"))
    assert recipes.load(copy) == shipped
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(shipped.to_dict()))
    assert recipes.load(str(bare)) == shipped
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"recipe": shipped.to_dict(), "argv": ["train"]}))
    assert recipes.load(config) == shipped


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "is not JSON"),
        ("[1, 2]", "expected a JSON object (a recipe), got list"),
        ('{"recipe": {"schema_version": 1, "dataset": "mnist"}}', "recipe fields do not match"),
        ('{"schema_version": 7}', "schema_version 7 is not supported"),
    ],
)
def test_a_bad_file_is_refused_by_name(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=re.escape(words)) as info:
        recipes.load(path)
    assert str(path) in str(info.value) and info.value.field == "recipe"


def test_a_bad_value_in_a_file_names_the_file(tmp_path: Path) -> None:
    document = json.loads(recipes.text("mnist-best"))
    document["recipe"]["epochs"] = 0
    path = tmp_path / "zero.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match=r"recipe file .*zero\.json.*epochs"):
        recipes.load(path)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("mnist-bets", "no shipped recipe of that name; expected one of cifar10-best"),
        ("nowhere/mine.json", "no such file"),
        ("mine.json", "no such file"),
    ],
)
def test_an_unknown_name_or_missing_file(name: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        recipes.load(name)
    if "/" not in name and not name.endswith(".json"):
        with pytest.raises(ConfigError, match="no shipped recipe 'mnist-bets'"):
            recipes.text(name)


# ------------------------------------------------------------------------------------------
# the command line


def test_recipe_list_and_show() -> None:
    rc, out, err = _run(["recipe", "list"])
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == recipes.names()
    assert all(recipes.describe(line.split()[0]) in line for line in lines)
    rc, out, err = _run(["recipe", "show", "cifar10-best"])
    assert rc == 0 and out == recipes.text("cifar10-best")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["recipe", "show", "mnist"], "argument NAME: no shipped recipe 'mnist'"),
        (["recipe"], "the following arguments are required: VERB"),
        (["train", "--recipe", "nope"], "argument --recipe: recipe 'nope': no shipped recipe"),
        (["train", "--hid", "10"], "unrecognized arguments: --hid 10"),
        (["train", "--resume", "somewhere", "--recipe", "mnist-best"], "--recipe cannot change"),
        (["doctor", "somewhere", "--recipe", "mnist-best"], "--recipe cannot change a run"),
    ],
)
def test_command_line_errors_are_one_line(argv: list[str], words: str, tmp_path: Path) -> None:
    argv = [str(tmp_path / a) if a == "somewhere" else a for a in argv]
    if "--resume" in argv or "doctor" in argv:
        (tmp_path / "somewhere").mkdir()
    rc, out, err = _run(argv)
    assert rc == 2 and out == ""
    assert err.startswith("layerwise: error: ") and words in err and err.count("\n") == 1


def test_flags_given_beside_a_recipe_change_it_and_only_those() -> None:
    shipped = recipes.load("mnist-best")
    same = make_recipe(_parsed(["train", "--recipe", "mnist-best"]))
    assert same == shipped
    changed = make_recipe(
        _parsed(["train", "--recipe", "mnist-best", "--seed", "2", "--lr=0.5", "--epochs", "3"])
    )
    assert changed == shipped.replace(seed=2, lr=0.5, epochs=3)
    # A flag typed at its default value still changes the recipe (dropout 0.2 -> 0.0).
    plain = make_recipe(_parsed(["train", "--recipe", "mnist-best", "--dropout", "0"]))
    assert plain.network.dropout == 0.0 and shipped.network.dropout == 0.2
    with pytest.raises(cli.UsageError, match="argument --augment: augment flip mirrors"):
        make_recipe(_parsed(["train", "--recipe", "mnist-best", "--augment", "flip"]))


def test_lr_find_and_doctor_take_a_recipe_too() -> None:
    for command in ("lr-find", "doctor"):
        args = _parsed([command, "--recipe", "mnist-best", "--seed", "5"])
        assert make_recipe(args) == recipes.load("mnist-best").replace(seed=5)


def test_train_with_a_recipe_file(tmp_path: Path) -> None:
    path = _digits_file(tmp_path)
    run = tmp_path / "run"
    rc, out, err = _run(["train", "--recipe", str(path), "--hidden", "16", "--out", str(run)])
    assert rc == 0, err
    trained = Recipe.from_dict(json.loads((run / "config.json").read_text())["recipe"])
    assert trained == recipes.load(path).replace(hidden=(16,))
    assert trained.network.learning_rate == 1e-3 and trained.augment == {"shift": 1}
    assert "test accuracy" in out
    # The run's own config.json is a recipe file too: the same run again.
    again = tmp_path / "again"
    config = run / "config.json"
    rc, _, err = _run(["train", "--recipe", str(config), "--out", str(again)])
    assert rc == 0, err
    assert (again / "metrics.json").read_text() != ""
    first, second = (json.loads((r / "metrics.json").read_text()) for r in (run, again))
    assert first["test_acc"] == second["test_acc"] and first["val_acc"] == second["val_acc"]


# ------------------------------------------------------------------------------------------
# the shipped recipes on the real data (one epoch each: they run as shipped, and learn)


def _one_epoch(recipe: Recipe, tmp_path: Path) -> Any:
    folder = RunFolder.create(tmp_path / "run")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnofficialDataWarning)
        return train_run(recipe.replace(epochs=1), folder, verbose=False)


@pytest.mark.slow
def test_mnist_best_runs_on_the_real_files(mnist_dir: Path, tmp_path: Path) -> None:
    recipe = recipes.load("mnist-best").replace(data_dir=str(mnist_dir))
    metrics = _one_epoch(recipe, tmp_path).metrics
    assert metrics["val_acc"] >= 0.96  # one epoch of thirty; the whole recipe reaches 0.99


@pytest.mark.slow
def test_cifar10_best_runs_on_the_real_archive(cifar10_dir: Path, tmp_path: Path) -> None:
    recipe = recipes.load("cifar10-best").replace(
        data_dir=str(cifar10_dir), accept_sha256=LOSSY_CIFAR10_SHA256
    )
    result = _one_epoch(recipe, tmp_path)
    assert result.metrics["val_acc"] >= 0.35  # one epoch; chance is 0.10
    run = tmp_path / "run"
    assert (run / "preprocess.npz").is_file() and (run / "pixels.npz").is_file()
    # predict on the archive's own test images (channels last, 0..255) gives the classes the
    # model gives the run's test rows (mean image subtracted, ZCA-whitened), row for row.
    from layerwise.data.cifar10 import load_CIFAR10

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnofficialDataWarning)
        *_, test_images, _ = load_CIFAR10(cifar10_dir)
    np.savez(tmp_path / "new.npz", X=test_images[:300])
    rc, out, err = _run(["predict", str(run), "--input", str(tmp_path / "new.npz")])
    assert rc == 0, err
    names = [line.split(",", 1)[0] for line in out.splitlines()[1:]]
    classes = dataset_info("cifar10").class_names
    assert classes is not None and len(names) == 300
    expected = np.argmax(result.model.loss(result.data["X_test"][:300]), axis=1)
    assert names == [classes[int(k)] for k in expected]
