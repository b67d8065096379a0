"""Your own data on the command line: ``--dataset csv:PATH --target ...`` and ``npz:PATH``,
for every task, then ``evaluate`` and ``predict`` on the run folder; bad files and options give
one error line and leave no run folder."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerwise.cli import main
from layerwise.recipe import Recipe
from layerwise.runs import RunFolder, train_run

FAST = ["--model", "fc", "--hidden", "16", "--update-rule", "adam", "--lr", "0.01"]
FAST += ["--lr-decay", "1", "--weight-init", "he", "--quiet"]


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("own")
    rng = np.random.default_rng(0)
    n = 300
    x = rng.uniform(-1, 1, (n, 2))
    color = rng.choice(["red", "green", "blue"], n)
    shift = {"red": 1.0, "green": 0.0, "blue": -1.0}
    price = 3 * x[:, 0] - 2 * x[:, 1] + np.array([shift[c] for c in color])
    kind = np.where(price > 0.5, "dear", np.where(price < -0.5, "cheap", "fair"))
    rows = [
        [f"{a:.4f}", f"{b:.4f}", c, f"{p:.4f}", k, int(a > 0), int(b > 0)]
        for a, b, c, p, k in zip(x[:, 0], x[:, 1], color, price, kind, strict=True)
    ]
    header = ["a", "b", "color", "price", "kind", "a_pos", "b_pos"]
    out = {"csv": _write_csv(folder / "table.csv", header, rows)}
    X = rng.standard_normal((200, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    np.savez(folder / "arrays.npz", X=X[:160], y=y[:160], X_test=X[160:], y_test=y[160:])
    out["npz"] = folder / "arrays.npz"
    return out


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.mark.parametrize(
    ("target", "extra", "score", "floor", "figure"),
    [
        ("kind", [], "accuracy", 0.8, "confusion.png"),
        ("price", ["--epochs", "60"], "R2", 0.9, "regression.png"),
        ("a_pos,b_pos", ["--epochs", "40"], "subset accuracy", 0.8, "multilabel.png"),
    ],
)
def test_train_evaluate_and_predict_a_csv_for_every_task(
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    target: str,
    extra: list[str],
    score: str,
    floor: float,
    figure: str,
) -> None:
    run = tmp_path / "run"
    features = ["a", "b", "color"]
    drop = [c for c in ("price", "kind", "a_pos", "b_pos") if c not in target.split(",")]
    table = _keep_columns(files["csv"], tmp_path / "t.csv", drop)
    rc, out, err = _cli(
        ["train", "--dataset", f"csv:{table}", "--target", target, "--out", run, *FAST, *extra],
        capsys,
    )
    assert rc == 0, err
    value = float(out.splitlines()[-2].rsplit(":", 1)[1])
    assert out.splitlines()[-2].startswith(f"test {score}:") and value >= floor, out
    assert (run / figure).is_file() and not (run / "weights.png").exists()  # no images
    rc, out, _ = _cli(["evaluate", run], capsys)
    assert rc == 0 and float(out.rsplit(":", 1)[1]) == pytest.approx(value)

    new = _keep_columns(files["csv"], tmp_path / "new.csv", ["price", "kind", "a_pos", "b_pos"])
    rc, _, err = _cli(["predict", run, "--input", new, "--output", tmp_path / "p.csv"], capsys)
    assert rc == 0, err
    with (tmp_path / "p.csv").open() as f:
        predicted = list(csv.DictReader(f))
    assert len(predicted) == 300
    prep = json.loads((run / "preprocessing.json").read_text())
    assert [c["name"] for c in prep["encoder"]["columns"]] == features
    if score == "accuracy":
        assert {r["prediction"] for r in predicted} <= {"cheap", "fair", "dear"}
        first = predicted[0]
        assert abs(sum(float(first[f"p_{c}"]) for c in ("cheap", "dear", "fair")) - 1) < 1e-5
    elif score == "R2":
        assert set(predicted[0]) == {"price"}
    else:
        assert set(predicted[0]) == {"a_pos", "b_pos", "p_a_pos", "p_b_pos"}


def _keep_columns(src: Path, dst: Path, drop: list[str]) -> Path:
    with src.open() as f:
        rows = list(csv.DictReader(f))
    header = [c for c in rows[0] if c not in drop]
    return _write_csv(dst, header, [[r[c] for c in header] for r in rows])


def test_an_npz_file_trains_on_its_own_test_split(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    rc, out, err = _cli(["train", "--dataset", f"npz:{files['npz']}", "--out", run, *FAST], capsys)
    assert rc == 0, err
    config = json.loads((run / "config.json").read_text())
    assert config["num_test"] == 40 and config["task"] == "classification"
    assert float(out.splitlines()[-2].rsplit(":", 1)[1]) > 0.8
    rc, out, _ = _cli(["predict", run, "--input", files["npz"]], capsys)
    assert rc == 0 and out.splitlines()[0] == "prediction,p_0,p_1" and len(out.splitlines()) == 161


def test_a_regression_run_resumes_to_the_uninterrupted_result(
    files: dict[str, Path], tmp_path: Path
) -> None:
    recipe = Recipe.from_options(
        dataset=f"csv:{files['csv']}",
        target=("price",),
        model="fc",
        hidden=(8,),
        update_rule="adam",
        lr=0.01,
        epochs=4,
        batch_size=50,
    )
    whole = train_run(recipe, RunFolder.create(tmp_path / "whole"), verbose=False, figures=False)
    half = RunFolder.create(tmp_path / "half")
    train_run(recipe.replace(epochs=2), half, verbose=False, figures=False)
    resumed = train_run(
        recipe, RunFolder.open(tmp_path / "half"), resume=True, verbose=False, figures=False
    )
    assert resumed.metrics["val_acc_history"] == whole.metrics["val_acc_history"]
    assert resumed.metrics["test_metrics"] == whole.metrics["test_metrics"]


def test_the_recipe_of_an_own_file_round_trips_and_old_recipes_still_read(
    files: dict[str, Path],
) -> None:
    recipe = Recipe.from_options(
        dataset=f"csv:{files['csv']}", target=("price",), task="regression"
    )
    assert Recipe.from_dict(json.loads(json.dumps(recipe.to_dict()))) == recipe
    plain = Recipe.from_options()
    assert "target" not in plain.to_dict() and "task" not in plain.to_dict()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dataset", "csv:{csv}"], "needs --target COLUMN"),
        (["--dataset", "csv:{csv}", "--target", "nope"], "no target column 'nope'"),
        (["--dataset", "csv:/no/such.csv", "--target", "a"], "no such file"),
        (["--dataset", "csv:"], "expected csv:PATH or npz:PATH with a file's path"),
        (["--dataset", "npz:{npz}", "--target", "y"], "leave --target out"),
        (["--target", "a"], "target is for a CSV file of your own"),
        (["--task", "regression"], "digits is a classification dataset"),
        (["--dataset", "csv:{csv}", "--target", "kind", "--loss", "mse"], "does not fit task"),
        (
            [
                "--dataset",
                "csv:{csv}",
                "--target",
                "price",
                "--engine",
                "keras",
                "--task",
                "regression",
            ],
            "engine 'keras' trains classifiers only",
        ),
    ],
)
def test_bad_own_data_options_are_one_error_line(
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    argv = [a.format(csv=files["csv"], npz=files["npz"]) for a in argv]
    rc, _, err = _cli(["train", *argv, "--out", tmp_path / "run", "--quiet"], capsys)
    assert rc == 2 and err.count("\n") == 1 and err.startswith("layerwise: error:"), err
    assert message in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["1", "2", "x"], ["3"]], "line 3"),  # ragged
        ([["1", "oops", "x"], ["2", "3", "y"], ["4", "5", "x"]], "oops"),  # text in numbers
        ([["1", "", "x"], ["2", "3", "y"]], "missing"),
    ],
)
def test_a_damaged_csv_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: list[list[str]], message: str
) -> None:
    table = _write_csv(tmp_path / "bad.csv", ["a", "b", "label"], rows)
    rc, _, err = _cli(
        ["train", "--dataset", f"csv:{table}", "--target", "label", "--out", tmp_path / "run"],
        capsys,
    )
    assert rc == 2 and err.startswith("layerwise: error:") and message in err, err
    assert not (tmp_path / "run").exists()


def test_predict_needs_images_for_a_digits_run_and_an_own_runs_columns(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    digits_run = tmp_path / "digits"
    assert _cli(["train", "--epochs", "1", "--out", digits_run, "--quiet"], capsys)[0] == 0
    rc, _, err = _cli(["predict", digits_run, "--input", files["csv"]], capsys)
    # A digits run predicts images (tests/data/test_pixels.py), not a CSV file's rows.
    assert rc == 2 and "a run trained on digits predicts images from an .npz file" in err
    run = tmp_path / "run"
    table = _keep_columns(files["csv"], tmp_path / "t.csv", ["price", "a_pos", "b_pos"])
    _cli(["train", "--dataset", f"csv:{table}", "--target", "kind", "--out", run, *FAST], capsys)
    short = _keep_columns(files["csv"], tmp_path / "short.csv", ["color"])
    rc, _, err = _cli(["predict", run, "--input", short], capsys)
    assert rc == 2 and "no column 'color'" in err, err


def test_regression_targets_train_standardised_and_come_back_in_the_files_units(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The default recipe (plain SGD at 0.5) on raw prices: standardised targets make it
    converge; predictions and MAE are in the file's units."""
    run = tmp_path / "run"
    table = _keep_columns(files["csv"], tmp_path / "t.csv", ["kind", "a_pos", "b_pos"])
    rc, out, err = _cli(
        ["train", "--dataset", f"csv:{table}", "--target", "price", "--out", run, "--quiet"],
        capsys,
    )
    assert rc == 0, err
    prep = json.loads((run / "preprocessing.json").read_text())["target"]
    with table.open() as f:
        prices = np.array([float(r["price"]) for r in csv.DictReader(f)])
    assert abs(prep["y_mean"][0] - prices.mean()) < 0.2 * prices.std()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test_acc"] > 0.9 and metrics["test_metrics"]["mae"] < 0.3 * prices.std()
    rc, out, _ = _cli(["predict", run, "--input", table], capsys)
    predicted = np.array([float(v) for v in out.splitlines()[1:]])
    assert rc == 0 and np.corrcoef(predicted, prices)[0, 1] > 0.95
    assert abs(predicted.mean() - prices.mean()) < 0.1 * prices.std()


def test_a_run_of_a_file_without_out_is_named_after_the_file(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """The dataset name csv:PATH holds ':' and '/': the new folder under runs/ takes the
    file's name instead (``<time>-table-two-layer``)."""
    monkeypatch.chdir(tmp_path)
    rc, _, err = _cli(["train", "--dataset", f"csv:{files['csv']}", "--target", "kind",
                       "--epochs", "1", "--quiet"], capsys)  # fmt: skip
    assert rc == 0, err
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.endswith("-table-two-layer")
    assert (run / "metrics.json").is_file()
