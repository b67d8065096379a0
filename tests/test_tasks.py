"""Tasks: the metrics against scikit-learn's, models and the Solver for regression and
multi-label, gradient checks of every task's model, and sample and class weights."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from layerwise.errors import ConfigError
from layerwise.gradient_check import eval_numerical_gradient, rel_error
from layerwise.models import FullyConnectedNet, ThreeLayerNet, TwoLayerNet
from layerwise.solver import Solver
from layerwise.tasks import TASKS, get_task, micro_f1, r2_score, subset_accuracy

# --- metrics ---------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 3])
def test_r2_matches_scikit_learn(rng: np.random.Generator, k: int) -> None:
    y = rng.standard_normal((20, k))
    pred = y + 0.5 * rng.standard_normal((20, k))
    w = rng.uniform(0.1, 2, 20)
    assert r2_score(pred, y) == pytest.approx(skm.r2_score(y, pred))
    assert r2_score(pred, y, w) == pytest.approx(skm.r2_score(y, pred, sample_weight=w))


def test_r2_of_a_constant_target_follows_scikit_learn() -> None:
    y = np.ones((4, 1))
    assert r2_score(y, y) == 1.0 == skm.r2_score(y, y)
    assert r2_score(y + 1, y) == 0.0 == skm.r2_score(y, y + 1)


def test_multilabel_metrics_match_scikit_learn(rng: np.random.Generator) -> None:
    y = rng.integers(0, 2, (30, 4))
    pred = np.where(rng.random((30, 4)) < 0.8, y, 1 - y)
    assert subset_accuracy(pred, y) == pytest.approx(skm.accuracy_score(y, pred))
    assert micro_f1(pred, y) == pytest.approx(skm.f1_score(y, pred, average="micro"))
    assert micro_f1(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0


def test_every_task_has_its_losses_and_score() -> None:
    assert {t: TASKS[t].default_loss for t in TASKS} == {
        "classification": "softmax",
        "regression": "mse",
        "multilabel": "sigmoid_cross_entropy",
    }
    with pytest.raises(ConfigError, match="task must be one of"):
        get_task("ranking")
    with pytest.raises(ConfigError, match=r"loss 'mse' does not fit task 'classification'"):
        get_task("classification").check_loss("mse")


@pytest.mark.parametrize(
    ("task", "y", "named"),
    [
        ("regression", np.array([1.0, np.nan]), "NaN"),
        ("regression", np.array(["a", "b"]), "numbers"),
        ("regression", np.ones((2, 2, 2)), "shape"),
        ("multilabel", np.array([[0, 2], [1, 0]]), "0/1"),
        ("multilabel", np.array([0, 1]), "shape"),
        ("classification", np.array([0.5, 1.0]), "integer"),
        ("classification", np.array([-1, 0]), "label -1"),
    ],
)
def test_targets_are_checked_for_their_task(task: str, y: Any, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        get_task(task).check_targets(y)


# --- models ----------------------------------------------------------------------------------


def _nets(task: str, loss: str | None, outputs: int) -> list[Any]:
    common = {"task": task, "loss": loss, "dtype": np.float64, "seed": 0}
    return [
        TwoLayerNet(input_dim=5, hidden_dim=4, num_classes=outputs, weight_scale=0.5, **common),
        ThreeLayerNet(5, 4, 3, outputs, weight_scale=0.5, reg=0.1, **common),
        FullyConnectedNet(
            [4, 3], 5, outputs, normalization="batchnorm", weight_scale=0.5, reg=0.1, **common
        ),
    ]


def _targets(task: str, rng: np.random.Generator, m: int, k: int) -> np.ndarray:
    if task == "regression":
        return rng.standard_normal((m, k)) if k > 1 else rng.standard_normal(m)
    if task == "multilabel":
        return rng.integers(0, 2, (m, k))
    return rng.integers(0, k, m)


CASES = [
    ("regression", None, 1),
    ("regression", "mse", 3),
    ("regression", "mae", 2),
    ("regression", "huber", 2),
    ("multilabel", None, 3),
    ("classification", "svm", 3),
]


@pytest.mark.parametrize(("task", "loss", "k"), CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_every_tasks_model_is_gradient_checked(
    rng: np.random.Generator, task: str, loss: str | None, k: int, weighted: bool
) -> None:
    X = rng.standard_normal((6, 5))
    y = _targets(task, rng, 6, k)
    w = rng.uniform(0, 2, 6) if weighted else None
    for net in _nets(task, loss, k):
        for name, value in net.params.items():  # zero biases put a dead row exactly on a kink
            if name.endswith("_0") or name.startswith("beta"):
                value += 0.1 * rng.standard_normal(value.shape)
        _, grads = net.loss(X, y, sample_weight=w)
        for name in sorted(net.params):

            def f(_: Any, net: Any = net) -> float:
                return float(net.loss(X, y, sample_weight=w)[0])

            num = eval_numerical_gradient(f, net.params[name], verbose=False, h=1e-6)
            if net.normalization and name.endswith("_0") and name != f"theta{net.num_layers}_0":
                # a bias before batch norm is cancelled by it: its gradient is zero
                assert np.abs(num).max() < 1e-8 and np.abs(grads[name]).max() < 1e-12
            else:
                assert rel_error(num, grads[name]) < 1e-5, (type(net).__name__, name)


def test_a_regression_model_predicts_values_and_round_trips_its_config() -> None:
    net = FullyConnectedNet([4], 3, 1, task="regression", loss="huber", huber_delta=2.0, seed=0)
    assert net.predict(np.ones((5, 3))).shape == (5,)
    config = net.get_config()
    assert config["task"] == "regression" and config["huber_delta"] == 2.0
    assert FullyConnectedNet(**config).get_config() == config
    multi = FullyConnectedNet([4], 3, 2, task="multilabel", seed=0)
    assert set(np.unique(multi.predict(np.ones((5, 3))))) <= {0, 1}
    assert "task" not in FullyConnectedNet([4], 3, 2, seed=0).get_config()  # as before tasks


# --- Solver ----------------------------------------------------------------------------------


def _regression_data(rng: np.random.Generator, n: int = 200, k: int = 1) -> dict[str, Any]:
    X = rng.standard_normal((n, 4))
    coef = rng.standard_normal((4, k))
    y = X @ coef + 0.05 * rng.standard_normal((n, k))
    y = y[:, 0] if k == 1 else y
    return {"X_train": X[:150], "y_train": y[:150], "X_val": X[150:], "y_val": y[150:]}


def test_the_solver_fits_a_regression_and_reports_r2(
    rng: np.random.Generator, capsys: pytest.CaptureFixture[str]
) -> None:
    net = FullyConnectedNet([16], 4, 1, task="regression", weight_init="he", seed=0)
    solver = Solver(
        net,
        _regression_data(rng),
        update_rule="adam",
        optim_config={"learning_rate": 1e-2},
        num_epochs=30,
        batch_size=32,
        seed=0,
        print_every=1000,
    )
    solver.train()
    assert "train r2:" in capsys.readouterr().out
    assert solver.best_val_acc > 0.95  # R² of a nearly linear target
    assert solver.best_val_acc == pytest.approx(solver.check_accuracy(solver.X_val, solver.y_val))


def test_the_solver_fits_multilabel_targets(rng: np.random.Generator) -> None:
    X = rng.standard_normal((300, 4))
    y = np.stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0], axis=1).astype(int)
    data = {"X_train": X[:240], "y_train": y[:240], "X_val": X[240:], "y_val": y[240:]}
    net = FullyConnectedNet([16], 4, 2, task="multilabel", weight_init="he", seed=0)
    solver = Solver(
        net,
        data,
        update_rule="adam",
        optim_config={"learning_rate": 1e-2},
        num_epochs=20,
        batch_size=32,
        seed=0,
        verbose=False,
    )
    solver.train()
    assert solver.best_val_acc > 0.85  # subset accuracy


def test_a_regression_run_resumes_bit_for_bit(rng: np.random.Generator, tmp_path: Any) -> None:
    data = _regression_data(rng, k=2)

    def solver(epochs: int) -> Solver:
        net = FullyConnectedNet([8], 4, 2, task="regression", seed=0)
        return Solver(
            net,
            data,
            update_rule="adam",
            num_epochs=epochs,
            batch_size=50,
            seed=1,
            verbose=False,
            checkpoint_name=str(tmp_path / "ck"),
        )

    whole = solver(4)
    whole.train()
    first = solver(2)
    first.train()
    resumed = solver(4).resume(tmp_path / "ck_latest")
    resumed.train()
    assert resumed.val_acc_history == whole.val_acc_history
    for name, w in whole.model.params.items():
        np.testing.assert_array_equal(resumed.model.params[name], w)


def test_targets_must_fit_the_models_outputs(rng: np.random.Generator) -> None:
    data = _regression_data(rng, k=3)
    with pytest.raises(ConfigError, match=r"y_train has 3 target column\(s\), but the model has 1"):
        Solver(FullyConnectedNet([4], 4, 1, task="regression"), data)


def test_zero_sample_weight_is_the_same_as_leaving_the_example_out(
    rng: np.random.Generator,
) -> None:
    net = TwoLayerNet(4, 5, 3, dtype=np.float64, seed=0)
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    w = np.array([1.0, 1, 1, 1, 0, 0])
    loss_w, grads_w = net.loss(X, y, sample_weight=w)
    loss, grads = net.loss(X[:4], y[:4])
    assert loss_w == pytest.approx(loss)
    for name in grads:
        np.testing.assert_allclose(grads_w[name], grads[name])


def test_balanced_class_weights_follow_scikit_learn(rng: np.random.Generator) -> None:
    from sklearn.utils.class_weight import compute_sample_weight

    y = np.array([0] * 8 + [1] * 2)
    data = {"X_train": rng.standard_normal((10, 4)), "y_train": y}
    data.update(X_val=data["X_train"], y_val=y)
    solver = Solver(TwoLayerNet(4, 3, 2), data, class_weight="balanced", verbose=False)
    np.testing.assert_allclose(solver.train_weights, compute_sample_weight("balanced", y))
    solver = Solver(
        TwoLayerNet(4, 3, 2),
        data,
        class_weight={1: 3.0},
        sample_weight=np.full(10, 2.0),
        verbose=False,
    )
    np.testing.assert_allclose(solver.train_weights, np.where(y == 1, 6.0, 2.0))


def test_class_weight_moves_the_decision_toward_the_rare_class(rng: np.random.Generator) -> None:
    X = rng.standard_normal((400, 2))
    y = (X[:, 0] > 1.0).astype(int)  # about 16 % positives
    data = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
    predicted = []
    for class_weight in (None, "balanced"):
        net = TwoLayerNet(2, 8, 2, weight_scale=0.1, seed=0)
        Solver(
            net,
            data,
            class_weight=class_weight,
            optim_config={"learning_rate": 0.5},
            num_epochs=10,
            batch_size=50,
            seed=0,
            verbose=False,
        ).train()
        predicted.append(int(net.predict(X).sum()))
    assert predicted[1] > predicted[0]


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"sample_weight": np.ones(3)}, r"sample_weight has shape \(3,\); expected \(10,\)"),
        ({"sample_weight": np.full(10, -1.0)}, "sample_weight must be finite, >= 0"),
        ({"sample_weight": "heavy"}, "sample_weight must be an array"),
        ({"class_weight": "even"}, "class_weight must be None, 'balanced' or a dict"),
        ({"class_weight": {0: -1}}, r"class_weight\[0\]"),
        ({"class_weight": {0: 0, 1: 0}}, "weight 0"),
    ],
)
def test_bad_weights_are_refused(
    rng: np.random.Generator, kwargs: dict[str, Any], named: str
) -> None:
    y = np.array([0, 1] * 5)
    data = {"X_train": rng.standard_normal((10, 4)), "y_train": y}
    data.update(X_val=data["X_train"], y_val=y)
    with pytest.raises(ConfigError, match=named):
        Solver(TwoLayerNet(4, 3, 2), data, verbose=False, **kwargs)


def test_class_weight_is_for_classifiers(rng: np.random.Generator) -> None:
    with pytest.raises(ConfigError, match="class_weight applies to classification"):
        Solver(
            FullyConnectedNet([4], 4, 1, task="regression"),
            _regression_data(rng),
            class_weight="balanced",
        )


def test_monitor_val_loss_keeps_the_lowest_validation_loss(rng: np.random.Generator) -> None:
    data = _regression_data(rng)
    kept = {}
    for monitor in ("score", "val_loss"):
        net = FullyConnectedNet([8], 4, 1, task="regression", seed=0)
        solver = Solver(
            net,
            data,
            update_rule="adam",
            optim_config={"learning_rate": 0.05},
            num_epochs=15,
            batch_size=16,
            seed=0,
            verbose=False,
            monitor=monitor,
        )
        solver.train()
        kept[monitor] = solver
    by_loss = kept["val_loss"]
    best = int(np.argmin(by_loss.val_loss_history))
    assert by_loss.best_val_loss == by_loss.val_loss_history[best]
    assert by_loss.best_val_acc == by_loss.val_acc_history[best]
    by_score = kept["score"]
    assert by_score.best_val_acc == max(by_score.val_acc_history)
    with pytest.raises(ConfigError, match="monitor must be one of"):
        Solver(FullyConnectedNet([8], 4, 1, task="regression"), data, monitor="loss")


def test_early_stopping_on_the_validation_loss(rng: np.random.Generator) -> None:
    net = FullyConnectedNet([8], 4, 1, task="regression", seed=0)
    solver = Solver(
        net,
        _regression_data(rng),
        update_rule="adam",
        optim_config={"learning_rate": 0.5},
        num_epochs=50,
        batch_size=16,
        seed=0,
        verbose=False,
        monitor="val_loss",
        patience=2,
    )
    solver.train()
    assert solver.stopped_by is not None and solver.stopped_by.kind == "early_stopping"
    assert "validation loss did not improve" in solver.stopped_by.message
