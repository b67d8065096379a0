"""The Diagnostics callback: what it measures, that it changes nothing in training, and what a
run folder gets from it."""

import json

import numpy as np
import pytest

from layerwise.cli import main
from layerwise.diagnostics import Diagnostics, activation_stats
from layerwise.errors import ConfigError
from layerwise.models import FullyConnectedNet, TwoLayerNet
from layerwise.recipe import Recipe
from layerwise.runs import RunFolder, train_run
from layerwise.solver import Solver


def blobs(rng, n=400, d=6, classes=3):
    centres = rng.standard_normal((classes, d)) * 2
    y = rng.integers(classes, size=n)
    X = centres[y] + 0.4 * rng.standard_normal((n, d))
    return {"X_train": X[:300], "y_train": y[:300], "X_val": X[300:], "y_val": y[300:]}


def fc(**kw):
    kw = {"dropout": 0.3, "normalization": "batchnorm", "rng": np.random.default_rng(5), **kw}
    return FullyConnectedNet([16, 12], input_dim=6, num_classes=3, weight_scale=0.3, **kw)


def train(model, data, callbacks=(), **kw):
    kw = {"update_rule": "sgd", "optim_config": {"learning_rate": 0.1}, "num_epochs": 3, **kw}
    solver = Solver(
        model, data, batch_size=30, verbose=False, seed=0, callbacks=list(callbacks), **kw
    )
    solver.train()
    return solver


def test_a_run_with_diagnostics_is_bit_identical_to_one_without(rng):
    """The extra pass uses dropout and batchnorm in training mode; their generator and running
    statistics are put back, so nothing of the run changes."""
    data = blobs(rng)
    plain, watched = fc(), fc()
    diagnostics = Diagnostics(every=1)
    a = train(plain, data)
    b = train(watched, data, [diagnostics])
    assert a.loss_history == b.loss_history
    for name, w in plain.params.items():
        np.testing.assert_array_equal(watched.params[name], w)
    for name, v in plain.get_buffers().items():
        np.testing.assert_array_equal(watched.get_buffers()[name], v)
    assert len(diagnostics.checks) == a.num_iterations + 1


def test_checks_ten_times_an_epoch_from_the_first_iteration(rng):
    data = blobs(rng)
    diagnostics = Diagnostics()  # 10 per epoch of 10 iterations: every iteration
    solver = train(fc(), data, [diagnostics], num_epochs=2)
    assert solver.iterations_per_epoch == 10 and diagnostics.every == 1
    assert [c["iteration"] for c in diagnostics.checks] == list(range(21))
    sparse = Diagnostics(checks_per_epoch=2)
    train(fc(), data, [sparse], num_epochs=2)
    assert sparse.every == 5
    assert [c["iteration"] for c in sparse.checks] == [0, 5, 10, 15, 20]
    first, later = sparse.checks[0], sparse.checks[1]
    assert all(p["update_ratio"] is None for p in first["params"].values())
    assert all(later["params"][k]["update_ratio"] > 0 for k in ("theta1", "theta2", "theta3"))
    assert set(first["activations"]) == {"1", "2"}


def test_the_update_ratio_is_the_size_of_the_last_update(rng):
    """With SGD the update of iteration t is lr * dw: recompute it from a copy of the weights
    before that update."""
    data = blobs(rng)
    model = TwoLayerNet(input_dim=6, hidden_dim=10, num_classes=3, weight_scale=0.1, seed=0)
    diagnostics = Diagnostics(every=4)
    kept = {}

    class Keep:
        def on_batch_end(self, solver):
            if solver.iteration == 7:
                kept.update({k: v.copy() for k, v in solver.model.params.items()})
            if solver.iteration == 8:
                kept["after"] = {k: v.copy() for k, v in solver.model.params.items()}

    train(model, data, [diagnostics, Keep()], num_epochs=1)
    check = next(c for c in diagnostics.checks if c["iteration"] == 8)
    for name in ("theta1", "theta2"):
        w, before = kept["after"][name], kept[name]
        expected = np.linalg.norm(w - before) / np.linalg.norm(w)
        assert check["params"][name]["update_ratio"] == pytest.approx(expected, rel=1e-6)
        assert check["params"][name]["weight_norm"] == pytest.approx(np.linalg.norm(w), rel=1e-6)


def test_dead_and_saturated_units_are_counted():
    a = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]])
    assert activation_stats(a, "relu")["dead"] == pytest.approx(1 / 3)
    assert activation_stats(a, "relu")["saturated"] is None
    s = np.array([[0.999, 0.5], [0.0001, 0.6]])
    assert activation_stats(s, "sigmoid")["saturated"] == pytest.approx(0.5)
    t = np.array([[0.995, -0.999], [0.2, -0.1]])
    assert activation_stats(t, "tanh")["saturated"] == pytest.approx(0.5)
    assert activation_stats(t, "tanh")["dead"] is None


def test_a_saturating_sigmoid_net_is_seen_saturated(rng):
    data = blobs(rng)
    model = TwoLayerNet(
        input_dim=6, hidden_dim=20, num_classes=3, weight_scale=10.0, activation="sigmoid", seed=0
    )
    diagnostics = Diagnostics(every=5)
    train(model, data, [diagnostics], num_epochs=1)
    assert diagnostics.checks[0]["activations"]["1"]["saturated"] > 0.5
    healthy = Diagnostics(every=5)
    train(TwoLayerNet(input_dim=6, hidden_dim=20, num_classes=3, weight_scale=0.1,
                      activation="sigmoid", seed=0), data, [healthy], num_epochs=1)  # fmt: skip
    assert healthy.checks[0]["activations"]["1"]["saturated"] < 0.05


def test_a_model_of_ones_own_gets_parameter_statistics_only(rng):
    data = blobs(rng)

    class Linear:
        def __init__(self):
            self.params = {"W": np.zeros((6, 3))}

        def loss(self, X, y=None):
            scores = X @ self.params["W"]
            if y is None:
                return scores
            p = np.exp(scores - scores.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            loss = -np.log(p[np.arange(len(y)), y]).mean()
            p[np.arange(len(y)), y] -= 1
            return loss, {"W": X.T @ p / len(y)}

    diagnostics = Diagnostics(every=5)
    train(Linear(), data, [diagnostics], num_epochs=1)
    assert diagnostics.checks[-1]["activations"] == {}
    assert diagnostics.checks[-1]["params"]["W"]["grad_norm"] > 0
    assert diagnostics.checks[0]["params"]["W"]["update_ratio"] is None  # ||W|| = 0 at first


def test_histograms_count_every_value(rng):
    data = blobs(rng)
    diagnostics = Diagnostics(every=5, sample_size=50)
    train(fc(dropout=0.0), data, [diagnostics], num_epochs=1)
    record = diagnostics.to_dict()
    first, last = record["histograms"]["first"], record["histograms"]["last"]
    assert first["iteration"] == 0 and last["iteration"] == 10
    assert sum(first["activations"]["1"]["counts"]) == 50 * 16
    assert sum(last["gradients"]["theta2"]["counts"]) == 16 * 12
    assert set(first["gradients"]) == {"theta1", "theta2", "theta3"}
    assert len(first["activations"]["2"]["edges"]) == len(first["activations"]["2"]["counts"]) + 1


@pytest.mark.parametrize(
    "kwargs, field",
    [({"checks_per_epoch": 0}, "checks_per_epoch"), ({"every": -1}, "every"),
     ({"sample_size": 1.5}, "sample_size"), ({"seed": -3}, "seed")],
)  # fmt: skip
def test_bad_settings_are_named(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        Diagnostics(**kwargs)


def test_a_run_folder_gets_the_record_the_csv_and_two_figures(tmp_path):
    recipe = Recipe.from_options(dataset="digits", epochs=2)
    folder = RunFolder.create(tmp_path / "run")
    diagnostics = Diagnostics()
    result = train_run(recipe, folder, verbose=False, diagnostics=diagnostics)
    plain = train_run(recipe, None, verbose=False)
    assert result.metrics["test_acc"] == plain.metrics["test_acc"]
    record = folder.read_diagnostics()
    assert record == json.loads(json.dumps(diagnostics.to_dict()))
    assert record["format"] == "layerwise-diagnostics" and record["every"] == 2
    rows = (folder.path / "diagnostics.csv").read_text().splitlines()
    assert rows[0].startswith("iteration,epoch,kind,name,mean,std,dead,saturated")
    assert len(rows) == 1 + len(record["checks"]) * (1 + 4)  # one layer, four parameters
    for name in ("diagnostics_histograms.png", "update_ratio.png"):
        assert (folder.path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert RunFolder(tmp_path / "run").read_diagnostics() is not None
    assert RunFolder.create(tmp_path / "other").read_diagnostics() is None


def test_the_command_records_diagnostics_and_a_resume_continues_them(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--epochs", "2", "--quiet", "--diagnostics", "5"]) == 0
    first = json.loads((run / "diagnostics.json").read_text())
    assert first["every"] == 5 and first["checks"][-1]["iteration"] == 50
    assert main(["train", "--resume", str(run), "--epochs", "3", "--quiet"]) == 0
    record = json.loads((run / "diagnostics.json").read_text())
    its = [c["iteration"] for c in record["checks"]]
    assert its == sorted(set(its)) and its[0] == 0 and its[-1] == 75
    assert main(["train", "--out", str(tmp_path / "bad"), "--diagnostics", "0"]) == 2
    assert "layerwise: error: argument --diagnostics: checks_per_epoch" in capsys.readouterr().err
