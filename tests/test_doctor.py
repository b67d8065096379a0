"""`layerwise doctor`: every check fails on the recipe made to break it and passes on a
healthy one; the README's cases are diagnosed as the issue asks."""

import json
import math

import numpy as np
import pytest

from layerwise.cli import main
from layerwise.doctor import examine
from layerwise.doctor.measure import Measurements
from layerwise.doctor.rules import Context, data_scale, judge, overall
from layerwise.models import TwoLayerNet
from layerwise.recipe import Recipe


@pytest.fixture(scope="module")
def default_report():
    return examine(Recipe.from_options(dataset="digits"))


def digits(**options):
    return examine(Recipe.from_options(dataset="digits", **options))


def verdicts(report):
    return {c.name: c.verdict for c in report.checks}


def test_the_default_recipe_is_healthy(default_report):
    assert set(verdicts(default_report).values()) == {"pass"}
    assert default_report.verdict == "pass" and default_report.healthy
    initial = default_report.by_name("initial_loss")
    assert abs(float(initial.value) - math.log(10)) < 0.1
    assert all(c.cause is None and c.fix is None for c in default_report.checks)


def test_a_learning_rate_of_a_million_diverges():
    report = digits(lr=1e6)
    v = verdicts(report)
    assert v["divergence"] == v["update_ratio"] == v["overfit"] == "fail"
    assert v["initial_loss"] == v["gradients"] == v["signal"] == "pass"
    div = report.by_name("divergence")
    assert "diverged" in div.value
    assert div.fix.startswith("--lr ") and float(div.fix.split()[1]) < 1e6 / 1e3
    assert "largest power-of-ten step down" in div.cause


def test_a_sigmoid_net_at_weight_scale_10_saturates():
    report = digits(activation="sigmoid", weight_scale=10.0)
    units = report.by_name("units")
    assert units.verdict == "fail" and "saturated" in units.value
    assert units.fix.startswith("--weight-scale ") and float(units.fix.split()[1]) < 1
    assert report.by_name("initial_loss").verdict == "fail"
    assert float(report.by_name("initial_loss").value) > 10 * math.log(10)


@pytest.mark.slow
def test_the_seed_mnist_recipe_is_a_vanishing_signal(mnist_dir):
    """README: this recipe reaches 0.1175 test accuracy. Weights of scale 1e-3 on [0, 1]
    inputs make the hidden layer's signal and the first layer's updates vanish."""
    recipe = Recipe.from_options(
        dataset="mnist", data_dir=str(mnist_dir), model="two-layer", hidden=(100,),
        update_rule="sgd", lr=1e-3, lr_decay=0.95, batch_size=100, epochs=10,
        weight_scale=1e-3, reg=0.0,
    )  # fmt: skip
    report = examine(recipe)
    v = verdicts(report)
    assert v["signal"] == v["overfit"] == v["update_ratio"] == "fail"
    assert v["initial_loss"] == v["gradients"] == v["divergence"] == "pass"
    signal = report.by_name("signal")
    assert "vanishes" in signal.cause
    # He's scale for 784 inputs: sqrt(2 / 784)
    assert signal.fix == f"--weight-scale {math.sqrt(2 / 784):.3g}"
    assert "theta1" in report.by_name("update_ratio").cause
    fixed = examine(recipe.replace(weight_scale=float(signal.fix.split()[1]), lr=0.1))
    assert fixed.healthy, fixed.lines()


def test_tiny_weights_vanish_and_a_tiny_rate_cannot_overfit():
    report = digits(weight_scale=1e-4)
    assert report.by_name("signal").verdict == "fail"
    slow = digits(lr=1e-6)
    assert slow.by_name("overfit").verdict == "fail"
    assert slow.by_name("overfit").fix == "--lr 1e-05"
    assert slow.by_name("update_ratio").verdict == "fail"
    assert "learning rate is too small" in slow.by_name("update_ratio").cause


def test_a_wrong_backward_pass_is_named(monkeypatch):
    """Scale theta2's analytic gradient: the numeric one disagrees there first."""
    real = TwoLayerNet.loss

    def wrong(self, X, y=None, **kw):
        out = real(self, X, y, **kw)
        if y is None:
            return out
        loss, grads = out
        return loss, {**grads, "theta2": grads["theta2"] * 1.1}

    monkeypatch.setattr(TwoLayerNet, "loss", wrong)
    check = examine(Recipe.from_options(dataset="digits")).by_name("gradients")
    assert check.verdict == "fail"
    assert "first at theta2" in check.cause and check.fix == "layerwise gradcheck"


def test_dead_relus_are_seen():
    m = Measurements(10, "classification", "softmax", "relu")
    m.layers = [{"mean": 0.0, "std": 0.1, "dead": 0.7, "saturated": None}]
    ctx = Context("fc", 0.1, 0.1, None, 64, 100)
    units = next(c for c in judge(m, ctx) if c.name == "units")
    assert units.verdict == "fail" and units.fix == "--weight-init he"
    m.layers[0]["dead"] = 0.3
    assert next(c for c in judge(m, ctx) if c.name == "units").verdict == "warn"


def test_raw_pixel_values_get_a_warning_not_a_failure():
    ctx = Context("two-layer", 0.1, 0.1, None, 64, 100)
    m = Measurements(10, "classification", "softmax", "relu", input_std=60.0, input_mean=120.0)
    check = data_scale(m, ctx)
    assert check.verdict == "warn" and "standardise" in check.cause
    m.input_std, m.input_mean = 1.0, 0.1
    assert data_scale(m, ctx).verdict == "pass"
    assert overall([check]) == "warn"


def test_the_doctor_leaves_the_global_stream_alone():
    state = np.random.get_state()[1].copy()
    digits(epochs=1)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_the_command_exits_0_healthy_1_failing_2_bad_input(tmp_path, capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "overall: PASS" in out and out.count("PASS ") >= 8
    report = tmp_path / "doctor.json"
    assert main(["doctor", "--lr", "1e6", "--json", str(report)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  learning rate stability" in out and "try:   --lr " in out
    saved = json.loads(report.read_text())
    assert saved["format"] == "layerwise-doctor" and saved["verdict"] == "fail"
    assert saved["recipe"]["network"]["learning_rate"] == 1e6
    assert main(["doctor", "--hidden", "0"]) == 2
    assert capsys.readouterr().err.startswith("layerwise: error: argument --hidden")


def test_a_run_folder_is_examined_with_its_own_recipe(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--epochs", "1", "--quiet"]) == 0
    assert main(["doctor", str(run)]) == 0
    saved = json.loads((run / "doctor.json").read_text())
    assert saved["verdict"] == "pass" and len(saved["checks"]) == 8
    capsys.readouterr()
    assert main(["doctor", str(run), "--lr", "3"]) == 2
    assert "cannot change a run's recipe" in capsys.readouterr().err
    assert main(["doctor", str(tmp_path / "missing")]) == 2
