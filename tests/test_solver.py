"""The Solver: the seed's API and printed lines, histories, best parameters, and the traps."""

import json
import os
import re
import signal

import numpy as np
import pytest

from layerwise import optim
from layerwise.checkpoint import CheckpointError
from layerwise.errors import ConfigError
from layerwise.models import FullyConnectedNet, ThreeLayerNet, TwoLayerNet
from layerwise.solver import Solver


def blobs(rng, n=300, d=6, classes=3, spread=0.4):
    """A learnable problem: Gaussian clusters around random centres."""
    centres = rng.standard_normal((classes, d)) * 2
    y = rng.integers(classes, size=n)
    X = centres[y] + spread * rng.standard_normal((n, d))
    return X, y


@pytest.fixture
def data(rng):
    X, y = blobs(rng, n=400)
    return {"X_train": X[:300], "y_train": y[:300], "X_val": X[300:], "y_val": y[300:]}


def make_model(**kw):
    return TwoLayerNet(input_dim=6, hidden_dim=20, num_classes=3, weight_scale=1e-1, seed=0, **kw)


def test_trains_and_keeps_the_best_params(data, capsys):
    model = make_model()
    solver = Solver(
        model,
        data,
        update_rule="sgd",
        optim_config={"learning_rate": 0.5},
        lr_decay=0.95,
        num_epochs=4,
        batch_size=50,
        print_every=2,
        seed=0,
    )
    solver.train()
    assert solver.iterations_per_epoch == 6
    assert len(solver.loss_history) == solver.num_iterations == 24
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 5
    assert np.mean(solver.loss_history[-6:]) < np.mean(solver.loss_history[:6])
    assert solver.best_val_acc == max(solver.val_acc_history) > 0.9
    for k, v in model.params.items():
        np.testing.assert_array_equal(v, solver.best_params[k])
    assert solver.check_accuracy(data["X_val"], data["y_val"]) == solver.best_val_acc
    out = capsys.readouterr().out.splitlines()
    iteration_lines = [l for l in out if l.startswith("(Iteration")]
    epoch_lines = [l for l in out if l.startswith("(Epoch")]
    assert len(iteration_lines) == 12 and iteration_lines[0].startswith("(Iteration 1 / 24) loss: ")
    assert all(re.fullmatch(r"\(Iteration \d+ / 24\) loss: \d+\.\d{6}", l) for l in iteration_lines)
    assert [l.split(")")[0] for l in epoch_lines] == [f"(Epoch {e} / 4" for e in range(5)]
    assert all(
        re.fullmatch(r"\(Epoch \d / 4\) train acc: \d\.\d{6}; val_acc: \d\.\d{6}", l)
        for l in epoch_lines
    )


def test_lr_decay_applies_each_epoch(data):
    solver = Solver(
        make_model(),
        data,
        optim_config={"learning_rate": 0.1},
        lr_decay=0.5,
        num_epochs=3,
        batch_size=100,
        verbose=False,
        seed=0,
    )
    solver.train()
    for config in solver.optim_configs.values():
        assert config["learning_rate"] == pytest.approx(0.1 * 0.5**3)


def test_iterations_per_epoch_is_at_least_one(data):
    solver = Solver(make_model(), data, batch_size=1000, num_epochs=2, verbose=False)
    assert solver.iterations_per_epoch == 1 and solver.num_iterations == 2


def test_run_that_never_beats_zero_keeps_the_initial_params(data):
    # Validation labels the model can never predict, and an update that changes every parameter:
    # the best params must stay the initial ones, not an empty dict or the last ones.
    model = make_model()
    model.params["theta2_0"][:] = [1e6, 1e6, -1e6]
    initial = {k: v.copy() for k, v in model.params.items()}
    bad_val = dict(data, y_val=np.full_like(data["y_val"], 2))
    shift = lambda w, dw, config=None: (w + 1.0, config or {})  # noqa: E731
    solver = Solver(
        model, bad_val, update_rule=shift, num_epochs=2, batch_size=100, verbose=False, seed=0
    )
    solver.train()
    assert solver.val_acc_history == [0.0, 0.0, 0.0]
    for k in initial:
        np.testing.assert_array_equal(model.params[k], initial[k])


def test_nan_loss_stops_with_a_message_and_keeps_best(data, capsys):
    model = make_model()
    calls = {"n": 0}

    def explode(w, dw, config=None):
        calls["n"] += 1
        config = config or {}
        # A few good steps, then parameters that make the loss NaN.
        if calls["n"] > 4 * 9:
            return w * np.nan, config
        return w - 0.5 * dw, config

    solver = Solver(
        model, data, update_rule=explode, num_epochs=5, batch_size=50, verbose=False, seed=0
    )
    solver.train()
    assert solver.stopped_reason is not None and "nan" in solver.stopped_reason
    assert len(solver.loss_history) < solver.num_iterations
    assert all(np.isfinite(v).all() for v in model.params.values())
    assert solver.best_val_acc > 0
    assert "training stopped" in capsys.readouterr().err


def test_seed_makes_runs_identical_and_spares_the_global_stream(data):
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    results = []
    for _ in range(2):
        model = make_model()
        Solver(
            model,
            data,
            optim_config={"learning_rate": 0.2},
            num_epochs=2,
            batch_size=30,
            num_train_samples=50,
            verbose=False,
            seed=9,
        ).train()
        results.append(model.params)
    for k in results[0]:
        np.testing.assert_array_equal(results[0][k], results[1][k])
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_without_seed_the_global_stream_reproduces(data):
    params = []
    for _ in range(2):
        np.random.seed(0)
        model = ThreeLayerNet(input_dim=6, hidden_dim_1=8, hidden_dim_2=8, num_classes=3)
        Solver(model, data, num_epochs=1, batch_size=50, verbose=False).train()
        params.append(model.params["theta1"])
    np.testing.assert_array_equal(params[0], params[1])


def test_checkpoints_are_npz_and_json(data, tmp_path):
    name = str(tmp_path / "ckpt" / "two_layer")
    solver = Solver(
        make_model(),
        data,
        num_epochs=2,
        batch_size=100,
        verbose=False,
        checkpoint_name=name,
        seed=0,
    )
    solver.train()
    with np.load(f"{name}_epoch_2.npz", allow_pickle=False) as f:
        assert {f"param.{k}" for k in solver.model.params} <= set(f.files)
    meta = json.loads((tmp_path / "ckpt" / "two_layer_epoch_2.json").read_text())
    assert meta["epoch"] == 2 and len(meta["val_acc_history"]) == 3
    assert (tmp_path / "ckpt" / "two_layer_latest.npz").exists()
    assert not list((tmp_path / "ckpt").glob("*.tmp*"))


def test_float32_training_stays_float32(data):
    model = TwoLayerNet(input_dim=6, hidden_dim=10, num_classes=3, dtype=np.float32, seed=0)
    f32 = {k: (v.astype(np.float32) if k.startswith("X") else v) for k, v in data.items()}
    Solver(
        model,
        f32,
        optim_config={"learning_rate": 0.3},
        num_epochs=2,
        batch_size=50,
        verbose=False,
        seed=0,
    ).train()
    assert all(v.dtype == np.float32 for v in model.params.values())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": 1e-3}, "Unrecognized arguments learning_rate"),
        ({"update_rule": "adagrad"}, "adagrad"),
        ({"batch_size": 0}, "batch_size"),
        ({"num_epochs": -1}, "num_epochs"),
        ({"lr_decay": 0}, "lr_decay"),
        ({"optim_config": 0.1}, "optim_config"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_options_are_named(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Solver(make_model(), data, **kwargs)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.pop("y_val"), "missing"),
        (lambda d: d.__setitem__("y_train", d["y_train"].astype(float)), "integer labels"),
        (lambda d: d["X_train"].__setitem__((0, 0), np.nan), "NaN"),
        (lambda d: d.__setitem__("y_train", d["y_train"][:-1]), "shape"),
    ],
)
def test_bad_data_is_named(data, change, match):
    data = {k: v.copy() for k, v in data.items()}
    change(data)
    with pytest.raises(ValueError, match=match):
        Solver(make_model(), data)


def test_model_without_loss_is_refused(data):
    with pytest.raises(ConfigError, match="params"):
        Solver(object(), data)


# --------------------------------------------------------------------------------------------
# schedules, early stopping, histories, checkpoints and exact resume


def test_val_loss_history_is_recorded(data):
    solver = Solver(
        make_model(),
        data,
        optim_config={"learning_rate": 0.5},
        num_epochs=3,
        batch_size=50,
        verbose=False,
        seed=0,
    )
    solver.train()
    assert len(solver.val_loss_history) == 4
    assert solver.val_loss_history[-1] < solver.val_loss_history[0]


@pytest.mark.parametrize(
    ("schedule", "factor_at_3"),
    [
        ({"name": "step", "step_size": 2, "gamma": 0.5}, 0.5),
        ({"name": "exponential", "gamma": 0.8}, 0.8**3),
        ("cosine", 0.0),
    ],
)
def test_lr_schedule_combines_with_decay(data, schedule, factor_at_3):
    solver = Solver(
        make_model(),
        data,
        optim_config={"learning_rate": 0.1},
        lr_decay=0.9,
        lr_schedule=schedule,
        num_epochs=3,
        batch_size=100,
        verbose=False,
        seed=0,
    )
    solver.train()
    for config in solver.optim_configs.values():
        assert config["learning_rate"] == pytest.approx(0.1 * factor_at_3 * 0.9**3, abs=1e-15)


def test_bad_lr_schedule_is_named(data):
    with pytest.raises(ValueError, match="'warmup'"):
        Solver(make_model(), data, lr_schedule="warmup")


def test_early_stopping_restores_best(data):
    # A learning rate of 1e-12 never improves after the first check: patience 2 stops at
    # epoch 2. (0 is refused: a rate must be > 0.)
    model = make_model()
    solver = Solver(
        model,
        data,
        optim_config={"learning_rate": 1e-12},
        num_epochs=10,
        batch_size=50,
        verbose=False,
        patience=2,
        seed=0,
    )
    solver.train()
    assert solver.epoch == 2
    assert solver.stopped_reason is not None and "early stopping" in solver.stopped_reason
    assert len(solver.val_acc_history) == 3


def test_adamw_decays_only_weights(data):
    # No special case in the Solver: every parameter gets the same config, and the rule's own
    # decay_min_ndim (2) leaves the biases undecayed.
    model = make_model()
    solver = Solver(model, data, update_rule="adamw", verbose=False, num_epochs=1)
    assert all(c == {} for c in solver.optim_configs.values())
    b = model.params["theta1_0"] + 1.0
    next_b, config = solver.update_rule(b.copy(), np.zeros_like(b), {})
    np.testing.assert_array_equal(next_b, b)
    assert config["weight_decay"] == 0.01


def _fc_model():
    return FullyConnectedNet(
        [16, 12],
        input_dim=6,
        num_classes=3,
        dropout=0.2,
        normalization="batchnorm",
        weight_scale=0.2,
        rng=np.random.default_rng(5),
    )


@pytest.mark.parametrize("rule", ["sgd_momentum", "adam"])
@pytest.mark.parametrize("make", [make_model, _fc_model], ids=["two-layer", "fc-dropout-bn"])
def test_resume_is_bit_identical(data, tmp_path, rule, make):
    kwargs = dict(
        update_rule=rule,
        optim_config={"learning_rate": 1e-2},
        lr_decay=0.9,
        batch_size=40,
        num_train_samples=100,
        verbose=False,
        seed=3,
        restore_best=False,
    )
    straight = make()
    Solver(straight, data, num_epochs=4, **kwargs).train()

    first = make()
    Solver(first, data, num_epochs=2, checkpoint_name=str(tmp_path / "c"), **kwargs).train()
    resumed_model = make()
    resumed = Solver(resumed_model, data, num_epochs=4, **kwargs).resume(tmp_path / "c_latest")
    assert resumed.epoch == 2
    resumed.train()

    for k in straight.params:
        np.testing.assert_array_equal(resumed_model.params[k], straight.params[k])
    if hasattr(straight, "get_buffers"):
        for k, v in straight.get_buffers().items():
            np.testing.assert_array_equal(resumed_model.get_buffers()[k], v)


def test_ctrl_c_writes_a_checkpoint_and_resume_finishes_identically(data, tmp_path):
    kwargs = dict(
        optim_config={"learning_rate": 0.05},
        batch_size=40,
        verbose=False,
        seed=1,
        num_epochs=3,
        restore_best=False,
    )
    straight = make_model()
    Solver(straight, data, update_rule="sgd_momentum", **kwargs).train()

    calls = {"n": 0}

    def interrupting_rule(w, dw, config=None):
        calls["n"] += 1
        if calls["n"] == 4 * 10 + 1:  # in the middle of iteration 11 (epoch 2)
            os.kill(os.getpid(), signal.SIGINT)
        return optim.sgd_momentum(w, dw, config)

    interrupted = make_model()
    solver = Solver(
        interrupted,
        data,
        update_rule=interrupting_rule,
        checkpoint_name=str(tmp_path / "run"),
        **kwargs,
    )
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when the suite runs in the background
    with pytest.raises(KeyboardInterrupt):
        solver.train()
    assert signal.getsignal(signal.SIGINT) is before  # the Solver's handler is gone again
    meta = json.loads((tmp_path / "run_latest.json").read_text())
    assert meta["t"] == 11  # the step in flight finished before the checkpoint

    resumed_model = make_model()
    # The same rule (its name is checked on resume); it will not interrupt a second time.
    resumed = Solver(resumed_model, data, update_rule=interrupting_rule, **kwargs)
    resumed.resume(tmp_path / "run_latest.json")
    resumed.train()
    for k in straight.params:
        np.testing.assert_array_equal(resumed_model.params[k], straight.params[k])


def test_resume_refuses_a_mismatched_solver(data, tmp_path):
    Solver(
        make_model(),
        data,
        num_epochs=1,
        batch_size=50,
        verbose=False,
        seed=0,
        checkpoint_name=str(tmp_path / "c"),
    ).train()
    other = Solver(make_model(), data, num_epochs=2, batch_size=60, verbose=False, seed=0)
    with pytest.raises(CheckpointError, match="batch_size=50"):
        other.resume(tmp_path / "c_latest")
    with pytest.raises(CheckpointError, match="does not exist"):
        other.resume(tmp_path / "missing")


def test_epoch_callback_sees_each_epoch_and_can_stop(data):
    seen = []

    def callback(solver):
        seen.append((solver.epoch, solver.val_acc_history[-1]))
        return "enough" if solver.epoch == 2 else None

    solver = Solver(
        make_model(),
        data,
        num_epochs=5,
        batch_size=50,
        verbose=False,
        seed=0,
        epoch_callback=callback,
    )
    solver.train()
    assert [e for e, _ in seen] == [0, 1, 2]
    assert solver.stopped_reason == "enough"


def test_epoch_callback_exceptions_propagate(data):
    class Pruned(Exception):
        pass

    def prune(solver):
        raise Pruned

    solver = Solver(make_model(), data, num_epochs=2, verbose=False, epoch_callback=prune)
    with pytest.raises(Pruned):
        solver.train()
    with pytest.raises(ValueError, match="epoch_callback"):
        Solver(make_model(), data, epoch_callback=3)


def test_bad_calls_get_a_named_error(data, tmp_path):
    model = make_model()
    solver = Solver(model, data, verbose=False, num_epochs=1)
    with pytest.raises(ConfigError, match="num_samples must be a positive integer; got 0"):
        solver.check_accuracy(data["X_val"], data["y_val"], num_samples=0)
    broken = Solver(model, data, update_rule=lambda w, dw, c: None, verbose=False, num_epochs=1)
    with pytest.raises(ConfigError, match=r"returned NoneType for parameter 'theta1'"):
        broken.train()
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match=r"checkpoint_name: cannot make the folder"):
        Solver(model, data, checkpoint_name=str(tmp_path / "file" / "ckpt"), verbose=False)


def test_labels_must_be_classes_of_the_model(data):
    for bad, match in ((10, "label 10, but the model has"), (-1, "label -1; labels are")):
        y = data["y_train"].copy()
        y[3] = bad
        with pytest.raises(ConfigError, match=match):
            Solver(make_model(), {**data, "y_train": y}, verbose=False)
    with pytest.raises(ConfigError, match="must hold real numbers; got dtype complex"):
        Solver(make_model(), {**data, "X_train": data["X_train"].astype(complex)}, verbose=False)
    with pytest.raises(ConfigError, match=r"data must be a dict"):
        Solver(make_model(), None, verbose=False)  # type: ignore[arg-type]


def test_an_lr_schedule_returning_nan_or_a_negative_factor_is_refused(data):
    for value in (float("nan"), -0.5):
        solver = Solver(
            make_model(), data, lr_schedule=lambda epoch, v=value: v, verbose=False, num_epochs=2
        )
        with pytest.raises(ConfigError, match=r"lr_schedule returned .* at epoch 1"):
            solver.train()


def test_a_loss_growing_far_above_its_start_is_divergence(data):
    solver = Solver(
        make_model(), data, optim_config={"learning_rate": 1e6}, num_epochs=3, verbose=False
    )
    solver.train()
    assert solver.stopped_by is not None and solver.stopped_by.kind == "diverged"
    assert "over 1000 times its first value" in solver.stopped_by.message
    assert all(np.isfinite(w).all() for w in solver.model.params.values())


def test_without_evaluation_the_updates_are_the_same_and_nothing_is_measured(data):
    """evaluate=False changes which forward passes run, never an update: the same seed gives
    the same losses and parameters, the callbacks still see every epoch's end, and the score
    histories stay empty."""
    runs = {}
    for evaluate in (True, False):
        seen = []
        solver = Solver(
            make_model(),
            data,
            update_rule="adam",
            optim_config={"learning_rate": 1e-2},
            num_epochs=3,
            batch_size=50,
            verbose=False,
            restore_best=False,
            seed=0,
            evaluate=evaluate,
            epoch_callback=lambda s, seen=seen: seen.append(s.epoch),
        )
        solver.train()
        runs[evaluate] = solver, seen
    (measured, seen_measured), (unmeasured, seen_unmeasured) = runs[True], runs[False]
    assert seen_unmeasured == seen_measured == [0, 1, 2, 3]
    assert unmeasured.loss_history == measured.loss_history
    for k, v in measured.model.params.items():
        np.testing.assert_array_equal(unmeasured.model.params[k], v)
    assert len(measured.val_acc_history) == 4
    assert unmeasured.train_acc_history == unmeasured.val_acc_history == []
    assert unmeasured.val_loss_history == []


@pytest.mark.parametrize(
    "kwargs, field",
    [({}, "restore_best"), ({"restore_best": False}, "verbose"),
     ({"restore_best": False, "verbose": False, "patience": 2}, "patience")],
)  # fmt: skip
def test_without_evaluation_settings_that_need_a_score_are_refused(data, kwargs, field):
    with pytest.raises(ConfigError, match=f"evaluate=False .* {field}=") as info:
        Solver(make_model(), data, evaluate=False, **kwargs)
    assert info.value.field == field


# --------------------------------------------------------------------------------------------
# the minibatch path: no allocation that grows with the data or the steps


def _step_memory(n_train, steps, weights=False):
    """Peak bytes traced during one step above what was live before it (the worst of
    ``steps`` steps, after 100 warm-up steps), and the bytes still live after them."""
    import tracemalloc

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_train, 64)).astype(np.float32)
    y = rng.integers(10, size=n_train)
    data = {"X_train": X, "y_train": y, "X_val": X[:50], "y_val": y[:50]}
    model = FullyConnectedNet([32], input_dim=64, num_classes=10, dtype=np.float32, seed=0)
    kwargs = {"sample_weight": rng.random(n_train)} if weights else {}
    solver = Solver(model, data, batch_size=100, seed=0, verbose=False, **kwargs)
    # Warm-up: the batch buffers, the optimiser state, and NumPy's caches of small blocks
    # (which fill up over the first few dozen steps and then stay as they are).
    tracemalloc.start()
    try:
        for _ in range(100):
            solver._step()
        before = tracemalloc.get_traced_memory()[0]
        peaks = []
        for _ in range(steps):
            current = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            solver._step()
            peaks.append(tracemalloc.get_traced_memory()[1] - current)
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return max(peaks), growth


@pytest.mark.parametrize("weights", [False, True])
def test_a_step_allocates_the_same_whatever_the_data_and_the_step(weights):
    """A step's allocations are bounded by a constant: they do not grow with the training set
    (the minibatch is gathered into the Solver's own arrays, not a new copy) nor with the
    steps taken (nothing accumulates but the loss history's floats)."""
    small_peak, small_growth = _step_memory(1_000, 20, weights)
    large_peak, large_growth = _step_memory(20_000, 60, weights)
    batch_bytes = 100 * 64 * 4  # one float32 minibatch of X
    assert abs(large_peak - small_peak) < batch_bytes // 4, (small_peak, large_peak)
    # Each step keeps its loss: a float and a slot of the history's list (which grows by
    # chunks): about 75 bytes traced per step, nothing else.
    assert small_growth < 20 * 128 and large_growth < 60 * 128, (small_growth, large_growth)


def test_the_minibatch_is_gathered_into_the_same_arrays():
    """No batch-sized allocation: the gather writes into buffers reused at every step, and
    what it writes is X_train[idx] for the indices the seeded generator draws."""
    import tracemalloc

    X, y = blobs(np.random.default_rng(1), n=400, d=64)
    data = {"X_train": X[:300], "y_train": y[:300], "X_val": X[300:], "y_val": y[300:]}
    model = TwoLayerNet(input_dim=64, hidden_dim=20, num_classes=3, seed=0)
    solver = Solver(model, data, batch_size=50, seed=4, verbose=False)
    first = solver._minibatch()
    expected_idx = np.random.default_rng(4).integers(0, 300, 50)
    np.testing.assert_array_equal(first[0], X[expected_idx])
    np.testing.assert_array_equal(first[1], y[expected_idx])
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        second = solver._minibatch()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert all(a is b for a, b in zip(first, second, strict=True))
    assert peak < X[:50].nbytes // 4, peak  # the 50 indices, not a 50 x 64 batch
