"""The learning-rate range test (layerwise.lr_finder), its figure and ``layerwise lr-find``.

The model must come out of the test bit for bit as it went in; the rates must be the promised
geometric sequence; divergence must stop the test without a warning; bad arguments must be
refused naming the field; and the suggestion must be worth taking: on digits and on MNIST,
training at it beats training at 10x and at 0.01x of it (the issue's acceptance test).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.lines import Line2D

from layerwise import cli, optim
from layerwise.data import load_dataset
from layerwise.errors import ConfigError
from layerwise.lr_finder import LRFinderResult, find_lr, find_lr_for_recipe, suggest_lr
from layerwise.models import FullyConnectedNet, TwoLayerNet
from layerwise.plots import plot_lr_find
from layerwise.recipe import Recipe
from layerwise.runs import train_run
from layerwise.solver import Solver


@pytest.fixture(scope="module")
def digits() -> dict[str, np.ndarray]:
    return load_dataset("digits", dtype=np.float64)


def _net(**kwargs: Any) -> FullyConnectedNet:
    """A net with everything the test must put back: batchnorm buffers and a dropout rng."""
    options = {"normalization": "batchnorm", "dropout": 0.1, "rng": np.random.default_rng(3)}
    return FullyConnectedNet(
        [32, 16], input_dim=64, num_classes=10, dtype=np.float64, **{**options, **kwargs}
    )


def _state(model: Any) -> dict[str, Any]:
    """Everything of the model's state as bytes, and NumPy's global stream."""
    return {
        "params": {k: (v.dtype.str, v.shape, v.tobytes()) for k, v in model.params.items()},
        "buffers": {k: v.tobytes() for k, v in model.get_buffers().items()},
        "rng": json.dumps(model.get_rng_state()),
        "global": repr(np.random.get_state()),
    }


# --------------------------------------------------------------------------------------------
# The model is left exactly as it was


def test_params_buffers_and_rng_are_unchanged_bit_for_bit(digits: dict[str, np.ndarray]) -> None:
    model = _net()
    arrays = dict(model.params)
    before = _state(model)
    result = find_lr(model, digits, update_rule="adam", batch_size=32, end_lr=1.0, num_steps=40)
    assert _state(model) == before
    assert all(model.params[k] is v for k, v in arrays.items())  # the very same arrays
    assert len(set(result.losses)) > 1  # and it did train (a copy)


def test_a_model_without_generator_keeps_the_global_stream(digits: dict[str, np.ndarray]) -> None:
    model = _net(rng=None)  # dropout masks from NumPy's global stream
    np.random.seed(5)
    expected = np.random.random(3)
    np.random.seed(5)
    find_lr(model, digits, num_steps=20)
    assert np.array_equal(np.random.random(3), expected)


def test_training_after_the_test_is_the_training_without_it(
    digits: dict[str, np.ndarray],
) -> None:
    def train(probe_first: bool) -> dict[str, np.ndarray]:
        model = _net()
        if probe_first:
            find_lr(model, digits, update_rule="sgd_momentum", num_steps=30)
        solver = Solver(
            model,
            digits,
            update_rule="sgd_momentum",
            num_epochs=1,
            batch_size=100,
            seed=0,
            verbose=False,
        )
        solver.train()
        return model.params

    with_test, without = train(True), train(False)
    assert all(np.array_equal(with_test[k], without[k]) for k in without)


# --------------------------------------------------------------------------------------------
# The rates, the smoothing, stopping


def test_rates_are_geometric_from_start_to_end(digits: dict[str, np.ndarray]) -> None:
    result = find_lr(_net(), digits, start_lr=1e-6, end_lr=1e-2, num_steps=50)
    lrs = np.array(result.lrs)
    assert len(lrs) == 50 and not result.stopped_early and result.reason is None
    assert lrs[0] == 1e-6 and lrs[-1] == pytest.approx(1e-2, rel=1e-12)
    assert (np.diff(lrs) > 0).all()
    ratios = lrs[1:] / lrs[:-1]
    assert ratios == pytest.approx(np.full(49, 1e4 ** (1 / 49)), rel=1e-9)


def test_smoothed_is_the_bias_corrected_moving_average(digits: dict[str, np.ndarray]) -> None:
    result = find_lr(_net(), digits, num_steps=30, smoothing=0.9, end_lr=1e-2)
    avg, expected = 0.0, []
    for i, loss in enumerate(result.losses):
        avg = 0.9 * avg + 0.1 * loss
        expected.append(avg / (1 - 0.9 ** (i + 1)))
    assert result.smoothed == pytest.approx(expected, rel=1e-12)
    assert result.smoothed[0] == result.losses[0]


def test_divergence_stops_early_with_the_reason(digits: dict[str, np.ndarray]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow while diverging prints nothing
        result = find_lr(TwoLayerNet(64, 50, 10, seed=0), digits, end_lr=1e8, num_steps=100)
    assert result.stopped_early
    assert "exceeded 4 times its minimum" in str(result.reason)
    assert len(result.lrs) < 100 and result.lrs[-1] < 1e8
    assert result.smoothed[-1] > 4 * min(result.smoothed)
    values = result.lrs + result.losses + result.smoothed
    assert all(math.isfinite(v) for v in values)
    json.dumps(result.to_dict(), allow_nan=False)  # strict JSON


class _Bowl:
    """A model of one's own: loss w**2, which SGD makes grow once lr > 1, then NaN."""

    def __init__(self) -> None:
        self.params = {"w": np.array([1.0])}

    def loss(self, X: Any, y: Any = None) -> Any:
        w = self.params["w"]
        return (float(w[0] ** 2) if abs(w[0]) < 1e100 else math.nan), {"w": 2 * w}


def test_a_loss_that_is_no_longer_finite_stops_the_test(digits: dict[str, np.ndarray]) -> None:
    model = _Bowl()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = find_lr(model, digits, start_lr=1e-3, end_lr=1e6, diverge_factor=1e300)
    assert result.stopped_early and str(result.reason).startswith("the loss became nan")
    assert all(math.isfinite(v) for v in result.losses + result.smoothed)
    assert model.params["w"].tolist() == [1.0]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start_lr": 0.0}, "start_lr"),
        ({"start_lr": -1e-3}, "start_lr"),
        ({"start_lr": 1.0, "end_lr": 0.1}, "start_lr"),
        ({"start_lr": 0.1, "end_lr": 0.1}, "start_lr"),
        ({"end_lr": math.nan}, "end_lr"),
        ({"end_lr": math.inf}, "end_lr"),
        ({"end_lr": "10"}, "end_lr"),
        ({"start_lr": 1.0, "end_lr": 1.0 + 1e-15}, "end_lr"),
        ({"num_steps": 9}, "num_steps"),
        ({"num_steps": 3}, "num_steps"),
        ({"num_steps": 20.0}, "num_steps"),
        ({"smoothing": 1.0}, "smoothing"),
        ({"smoothing": -0.1}, "smoothing"),
        ({"diverge_factor": 1.0}, "diverge_factor"),
        ({"batch_size": 0}, "batch_size"),
        ({"seed": -1}, "seed"),
        ({"update_rule": "newton"}, "update_rule"),
        ({"update_rule": optim.sgd}, "update_rule"),
        ({"optim_config": {"learning_rate": 0.1}}, "optim_config"),
        ({"optim_config": {"lr": 0.1}}, "optim_config"),
        ({"update_rule": "sgd_momentum", "optim_config": {"momentum": 2.0}}, "momentum"),
        ({"sample_weight": np.ones(3)}, "sample_weight"),
        ({"sample_weight": "heavy"}, "sample_weight"),
    ],
)
def test_bad_arguments_are_refused_naming_the_field(
    digits: dict[str, np.ndarray], kwargs: dict[str, Any], field: str
) -> None:
    model = _net()
    before = _state(model)
    with pytest.raises(ConfigError) as info:
        find_lr(model, digits, **kwargs)
    assert field in str(info.value.field)
    assert _state(model) == before


def test_an_update_rule_without_a_learning_rate_is_refused(
    digits: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(optim.UPDATE_RULES, "fixed", optim.sgd)
    monkeypatch.setitem(optim.DEFAULTS, "fixed", {})
    monkeypatch.setitem(optim.STATE, "fixed", ())
    with pytest.raises(ConfigError, match="no learning_rate") as info:
        find_lr(_net(), digits, update_rule="fixed")
    assert info.value.field == "update_rule"


def test_bad_model_and_data_are_refused(digits: dict[str, np.ndarray]) -> None:
    with pytest.raises(ConfigError) as info:
        find_lr(object(), digits)
    assert info.value.field == "model"
    for data in (
        None,
        {"X_train": digits["X_train"]},
        {**digits, "y_train": digits["y_train"][:5]},
    ):
        with pytest.raises(ConfigError) as info:
            find_lr(_net(), data)  # type: ignore[arg-type]
        assert info.value.field == "data"


def test_sample_weights_are_used(digits: dict[str, np.ndarray]) -> None:
    weights = np.where(digits["y_train"] == 0, 5.0, 1.0)
    plain = find_lr(_net(), digits, num_steps=20, end_lr=1e-3)
    weighted = find_lr(_net(), digits, num_steps=20, end_lr=1e-3, sample_weight=weights)
    assert plain.lrs == weighted.lrs and plain.losses != weighted.losses


# --------------------------------------------------------------------------------------------
# The suggestion


def _curve(n: int = 100) -> tuple[list[float], list[float]]:
    """Flat at 2.3, falling from step 60 to its bottom at step 85, then shooting up."""
    lrs = np.geomspace(1e-7, 10, n)
    t = np.arange(n)
    losses = 2.3 - 1.5 / (1 + np.exp(-(t - 72) / 4)) + np.where(t > 85, 0.2 * (t - 85) ** 2, 0)
    return lrs.tolist(), losses.tolist()


def test_suggestion_is_the_steepest_descent_below_the_minimum() -> None:
    lrs, losses = _curve()
    suggested = suggest_lr(lrs, losses, 100)
    assert suggested is not None
    i = lrs.index(suggested)
    i_min = int(np.argmin(losses))
    assert 65 <= i <= 78  # on the falling part, near its steepest point (72)
    assert suggested <= lrs[i_min] / 2


def test_suggestion_keeps_clear_of_a_minimum_next_to_the_steepest_point() -> None:
    lrs, losses = _curve()
    losses = [v if i <= 74 else 5.0 for i, v in enumerate(losses)]  # the fall ends abruptly
    suggested = suggest_lr(lrs, losses, 100)
    # The steepest point (72) is next to the minimum of the (centred) curve: half its rate.
    assert any(suggested == pytest.approx(lrs[i] / 2) for i in range(70, 75)), suggested


@pytest.mark.parametrize(
    "losses",
    [[2.0, 1.0], list(np.linspace(1, 3, 50)), []],
    ids=["two points", "never falls", "none"],
)
def test_no_suggestion_without_a_fall(losses: list[float]) -> None:
    lrs = list(np.geomspace(1e-3, 1, len(losses)))
    assert suggest_lr(lrs, losses) is None


def test_a_minimum_among_the_first_steps_gives_a_tenth_of_its_rate() -> None:
    lrs = list(np.geomspace(1e-3, 1, 100))
    losses = [3.0 - 2.0 * math.exp(-((i - 4) ** 2) / 2) for i in range(100)]
    assert suggest_lr(lrs, losses, 100) == pytest.approx(lrs[4] / 10)


# --------------------------------------------------------------------------------------------
# From a recipe


def test_find_lr_for_recipe_uses_the_recipe(digits: dict[str, np.ndarray]) -> None:
    recipe = Recipe.from_options(
        update_rule="sgd_momentum", batch_size=25, seed=4, dtype="float64", lr=123.0
    )
    data = recipe.build_data()
    result = find_lr_for_recipe(recipe, data, num_steps=30)
    model = recipe.build_model(data)
    same = find_lr(model, data, "sgd_momentum", {"momentum": 0.9}, 25, num_steps=30, seed=4)
    assert result == same
    with pytest.raises(ConfigError, match="the recipe's"):
        find_lr_for_recipe(recipe, data, batch_size=10)
    with pytest.raises(ConfigError) as info:
        find_lr_for_recipe(recipe.replace(engine="keras"), data)
    assert info.value.field == "engine"


# --------------------------------------------------------------------------------------------
# The figure


def test_figure_has_a_log_axis_and_the_marked_suggestion(digits: dict[str, np.ndarray]) -> None:
    result = find_lr(TwoLayerNet(64, 50, 10, seed=0), digits, batch_size=50)
    assert result.suggested_lr is not None
    for given in (result, json.loads(json.dumps(result.to_dict()))):
        fig = plot_lr_find(given)
        (ax,) = fig.axes
        assert ax.get_xscale() == "log"
        marks = [
            line
            for line in ax.get_lines()
            if isinstance(line, Line2D) and list(line.get_xdata()) == [result.suggested_lr] * 2
        ]
        assert len(marks) == 1 and marks[0].get_linestyle() == "--"
        label = f"{result.suggested_lr:.3g}"
        assert any(label in t.get_text() for t in ax.get_legend().get_texts())
        assert any(label in t.get_text() for t in ax.texts)
        curves = [line for line in ax.get_lines() if len(line.get_xdata()) == len(result.lrs)]
        assert len(curves) == 2  # the raw losses and the smoothed ones
        fig.canvas.draw()


def test_figure_without_a_suggestion_and_bad_input() -> None:
    bare = LRFinderResult([1e-3, 1e-2], [2.0, 3.0], [2.0, 2.5], None, True, "diverged")
    ax = plot_lr_find(bare).axes[0]
    assert ax.get_xscale() == "log" and len(ax.get_lines()) == 2
    with pytest.raises(TypeError):
        plot_lr_find({"lrs": [1.0]})
    with pytest.raises(ConfigError):
        plot_lr_find({"lrs": [1.0, 2.0], "losses": [1.0], "smoothed": [1.0]})
    with pytest.raises(ConfigError):
        plot_lr_find({"lrs": [0.0], "losses": [1.0], "smoothed": [1.0]})


# --------------------------------------------------------------------------------------------
# The command


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    return rc, out.getvalue(), err.getvalue()


def test_cli_writes_the_figure_and_the_json_and_prints_the_flag(tmp_path: Path) -> None:
    out_dir = tmp_path / "lr"
    rc, out, err = _run(["lr-find", "--hidden", "50", "--steps", "60", "--out", str(out_dir)])
    assert rc == 0, err
    assert {p.name for p in out_dir.iterdir()} == {".run.lock", "lr_find.png", "lr_find.json"}
    assert (out_dir / "lr_find.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    record = json.loads((out_dir / "lr_find.json").read_text())
    assert len(record["lrs"]) <= 60 and record["num_steps"] == 60
    assert Recipe.from_dict(record["recipe"]).network.hidden_dims == (50,)
    lr = f"{record['suggested_lr']:.3g}"
    assert f"suggested learning rate: {lr}  (paste: --lr {lr})" in out.splitlines()
    assert "(Step 6 / 60)" in out
    assert "(Step 60 / 60)" in out or record["stopped_early"]
    # The pasted flag is one that layerwise train takes.
    assert cli.build_parser().parse_args(["train", "--lr", lr]).lr == float(lr)
    plot_lr_find(record)


def test_cli_default_folder_is_new_under_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _run(["lr-find", "--steps", "20"])[0] == 0
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.endswith("lr-find-digits-two-layer") and (folder / "lr_find.json").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--steps", "3"], "argument --steps: expected an integer >= 10, got '3'"),
        (["--start-lr", "1", "--end-lr", "0.5"], "argument --start-lr: start_lr 1"),
        (["--end-lr", "-1"], "argument --end-lr: expected a number > 0"),
        (["--hidden", "0"], "argument --hidden"),
        (["--engine", "keras"], "argument --engine"),
    ],
)
def test_cli_bad_flag_is_one_error_line(tmp_path: Path, argv: list[str], message: str) -> None:
    out_dir = tmp_path / "lr"
    rc, _, err = _run(["lr-find", *argv, "--out", str(out_dir)])
    assert rc == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("layerwise: error: ")
    assert message in lines[0]
    assert not out_dir.exists()  # no folder is left behind


def test_cli_never_overwrites_a_folder(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    rc, _, err = _run(["lr-find", "--out", str(tmp_path)])
    assert rc == 2 and "not empty" in err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


# --------------------------------------------------------------------------------------------
# The acceptance test: "training at the suggested rate beats training at 10x and 0.01x of it"


def _three_runs(recipe: Recipe, data: dict[str, Any]) -> tuple[float, dict[float, float]]:
    """The suggestion for ``recipe`` and the validation accuracy of training at 1x, 10x and
    0.01x of it (the same seed, so the same initial weights and minibatches)."""
    suggested = find_lr_for_recipe(recipe, data).suggested_lr
    assert suggested is not None
    accuracy = {}
    for factor in (1.0, 10.0, 0.01):
        run = train_run(recipe.replace(lr=suggested * factor), None, data=data, verbose=False)
        accuracy[factor] = run.metrics["val_acc"]
    return suggested, accuracy


def test_suggested_rate_wins_on_digits() -> None:
    recipe = Recipe.from_options(model="two-layer", hidden=(100,), update_rule="sgd", epochs=5)
    suggested, accuracy = _three_runs(recipe, recipe.build_data())
    assert accuracy[1.0] > max(accuracy[10.0], accuracy[0.01]), (suggested, accuracy)


@pytest.mark.slow
def test_suggested_rate_wins_on_mnist(mnist_dir: Path) -> None:
    recipe = Recipe.from_options(
        dataset="mnist",
        data_dir=str(mnist_dir),
        model="two-layer",
        hidden=(100,),
        update_rule="sgd",
        epochs=2,
    )
    data = recipe.build_data()
    data = {**data, "X_train": data["X_train"][:5000], "y_train": data["y_train"][:5000]}
    suggested, accuracy = _three_runs(recipe, data)
    assert accuracy[1.0] > max(accuracy[10.0], accuracy[0.01]), (suggested, accuracy)
