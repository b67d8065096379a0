"""The boundaries the fuzz suite found open last, each pinned by a plain example.

Each test names the value that used to get through (or end in a TypeError, ZeroDivisionError,
OverflowError or a NumPy warning) and the documented result it gets now: a LayerwiseError that
names it, or IEEE arithmetic (``layerwise.validation.IEEE``) that the Solver then stops.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerwise import layers, optim, schedules
from layerwise.callbacks import Callback
from layerwise.checkpoint import ARRAYS_FROM, CheckpointError, load_checkpoint, save_checkpoint
from layerwise.errors import ConfigError, LayerwiseError
from layerwise.models import FullyConnectedNet, TwoLayerNet
from layerwise.solver import Solver
from layerwise.validation import check_bool, check_callable


def _data(n: int = 6) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 4))
    y = np.arange(n) % 3
    return {"X_train": X, "y_train": y, "X_val": X, "y_val": y}


def _net() -> TwoLayerNet:
    return TwoLayerNet(input_dim=4, hidden_dim=3, num_classes=3, seed=0)


# --- IEEE arithmetic: overflow is inf, without a warning, and the Solver stops on it ----------


def test_an_affine_product_that_overflows_gives_inf_without_a_warning() -> None:
    x = np.full((1, 2), 1e300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, cache = layers.affine_forward(x, np.full((2, 1), 1e300), np.zeros(1))
        dx, _, _ = layers.affine_backward(np.full((1, 1), 1e300), cache)
    assert np.isinf(out).all() and np.isinf(dx).all()


def test_a_model_fed_values_beyond_float32_gives_inf_scores_without_a_warning() -> None:
    net = FullyConnectedNet([3], 4, 3, normalization="batchnorm", dtype=np.float32, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = net.loss(np.full((2, 4), 1e300))
    assert not np.isfinite(scores).all()


def test_an_update_that_overflows_gives_inf_and_the_solver_stops_as_diverged() -> None:
    w = np.zeros(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optim.adam(w, np.full(3, 1e300), {})
    solver = Solver(_net(), _data(), optim_config={"learning_rate": 1e300}, verbose=False)
    solver.train()
    assert solver.stopped_by is not None and solver.stopped_by.kind == "diverged"
    assert all(np.isfinite(p).all() for p in solver.model.params.values())  # the best kept


def test_a_weight_scale_whose_weights_overflow_the_dtype_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"weight_scale 1e\+300 .*overflow float32"):
        TwoLayerNet(input_dim=4, hidden_dim=3, num_classes=3, weight_scale=1e300, dtype="float32")


def test_a_model_size_beyond_a_float_is_refused_with_its_order_of_magnitude() -> None:
    with pytest.raises(ConfigError, match=r"about 10\^\d+ GiB"):
        FullyConnectedNet([10**400], input_dim=4)


# --- layers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "named"),
    [
        ({"mode": "train", "eps": 0.0}, "eps"),
        ({"mode": "train", "eps": "x"}, "eps"),
        ({"mode": "train", "momentum": 1.5}, "momentum"),
        ({"mode": "train", "running_mean": np.zeros(3)}, "running_mean"),
        ({"mode": "test", "running_var": "abc"}, "running_var"),
    ],
)
def test_batchnorm_refuses_bad_entries_of_bn_param(param: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        layers.batchnorm_forward(np.ones((2, 2)), np.ones(2), np.zeros(2), param)


@pytest.mark.parametrize("ln_param", [{"eps": -1.0}, "eps", [1e-5]])
def test_layernorm_refuses_a_bad_ln_param(ln_param: Any) -> None:
    with pytest.raises(ConfigError, match="ln_param"):
        layers.layernorm_forward(np.ones((2, 2)), np.ones(2), np.zeros(2), ln_param)


@pytest.mark.parametrize("kind", ["batchnorm", "layernorm"])
@pytest.mark.parametrize("dout", [0, np.ones((2, 3)), "x"])
def test_norm_backward_refuses_a_dout_unlike_the_output(kind: str, dout: Any) -> None:
    args = ({"mode": "train"},) if kind == "batchnorm" else ()
    _, cache = getattr(layers, f"{kind}_forward")(np.ones((2, 2)), np.ones(2), np.zeros(2), *args)
    with pytest.raises(ConfigError, match="dout"):
        getattr(layers, f"{kind}_backward")(dout, cache)


def test_leaky_relu_backward_takes_a_list_dout_as_an_array() -> None:
    _, cache = layers.leaky_relu_forward([-1.0, 2.0])
    np.testing.assert_allclose(layers.leaky_relu_backward([1.0, 1.0], cache), [0.01, 1.0])


@pytest.mark.parametrize(
    ("x", "theta", "theta0"),
    [
        (np.ones((1, 0)), np.ones((0, 1)), np.zeros(1)),  # no input features
        (np.ones((1, 1)), np.ones((1, 0)), np.zeros(0)),  # no output units
        (np.ones((1, 1)), np.ones((1, 1)), np.zeros(0)),  # a bias that broadcasts to nothing
    ],
)
def test_affine_refuses_degenerate_widths(x: Any, theta: Any, theta0: Any) -> None:
    with pytest.raises(ConfigError, match="theta"):
        layers.affine_forward(x, theta, theta0)


# --- models ----------------------------------------------------------------------------------


@pytest.mark.parametrize("X", [np.ones((2, 4), complex), np.array([["a"] * 4] * 2)])
def test_a_model_refuses_x_that_is_not_real_numbers(X: Any) -> None:
    with pytest.raises(ConfigError, match="real numbers"):
        _net().loss(X)


@pytest.mark.parametrize("training", [np.array([1, 0]), "yes", 1.5])
def test_model_loss_refuses_a_training_flag_that_is_not_a_bool(training: Any) -> None:
    with pytest.raises(ConfigError, match="training"):
        _net().loss(np.ones((2, 4)), training=training)


# --- update rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "config", "named"),
    [
        ("sgd", {"learning_rate": "0.1"}, "learning_rate"),
        ("adam", {"beta1": 1.0}, "beta1"),  # was a ZeroDivisionError in the bias correction
        ("adam", {"t": "3"}, "t"),
        ("sgd_momentum", {"velocity": 0.5}, "velocity"),
        ("rmsprop", {"cache": np.zeros(2)}, "cache"),  # not w's shape
        ("sgd", "fast", "config"),
        ("sgd", {"lr": 0.1}, "lr"),
    ],
)
def test_update_rules_check_their_config_on_the_first_step(
    rule: str, config: Any, named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        optim.UPDATE_RULES[rule](np.zeros(3), np.ones(3), config)


@pytest.mark.parametrize(
    ("w", "dw", "named"),
    [(np.zeros(3, int), np.ones(3), "w"), ([0.0, 0.0], np.ones(2), "w"), (np.zeros(3), 1, "dw")],
)
def test_update_rules_need_a_float_array_and_a_gradient_of_its_shape(
    w: Any, dw: Any, named: str
) -> None:
    with pytest.raises(ConfigError, match=rf"\b{named}\b"):
        optim.sgd(w, dw, None)


def test_an_update_rule_continues_from_the_config_it_returned() -> None:
    w = np.zeros(2)
    _, config = optim.adam(w, np.ones(2), None)
    _, again = optim.adam(w, np.ones(2), config)
    assert again is config and config["t"] == 2


def test_a_custom_update_rule_with_the_wrong_signature_is_refused_at_set_up() -> None:
    with pytest.raises(ConfigError, match=r"update_rule must accept 3 positional"):
        Solver(_net(), _data(), update_rule=lambda epoch: 0.5, verbose=False)


# --- schedules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factory", "kwargs", "named"),
    [
        (schedules.exponential, {"gamma": math.inf}, "gamma"),
        (schedules.exponential, {"gamma": 1e200}, "gamma"),  # overflowed by epoch 2
        (schedules.step, {"gamma": 10**400}, "gamma"),
        (schedules.step, {"step_size": 2.5}, "step_size"),
        (schedules.cosine, {"num_epochs": 3, "min_factor": None}, "min_factor"),
        (schedules.cosine, {"num_epochs": 0}, "num_epochs"),
    ],
)
def test_schedule_factories_refuse_bad_arguments(
    factory: Any, kwargs: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        factory(**kwargs)


def test_get_schedule_refuses_a_bad_epoch_count_and_a_callable_without_epoch() -> None:
    with pytest.raises(ConfigError, match="num_epochs"):
        schedules.get_schedule("cosine", "3")
    with pytest.raises(ConfigError, match=r"lr_schedule must accept 1"):
        schedules.get_schedule(lambda: 1.0, 3)


# --- Solver ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["verbose", "progress", "restore_best", "keep_checkpoints"])
@pytest.mark.parametrize("value", ["no", 2, None, [True]])
def test_solver_flags_must_be_bools(name: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=name):
        Solver(_net(), _data(), **{name: value})


@pytest.mark.parametrize("callbacks", ["ab", [object()], Callback])
def test_solver_callbacks_must_be_a_list_of_callbacks(callbacks: Any) -> None:
    with pytest.raises(ConfigError, match="callbacks"):
        Solver(_net(), _data(), callbacks=callbacks, verbose=False)


@pytest.mark.parametrize(
    ("X", "y", "named"),
    [
        (0, np.array([], int), "X"),
        ([[1.0, 2.0], [3.0]], [0, 1], "X"),
        (np.ones((2, 4)), np.array(["a", "b"]), "y"),
        (np.ones((2, 4)), np.array([0, 7]), "label 7"),
        (np.full((2, 4), np.nan), np.array([0, 1]), "NaN"),
    ],
)
def test_check_accuracy_validates_like_the_training_data(X: Any, y: Any, named: str) -> None:
    solver = Solver(_net(), _data(), verbose=False)
    with pytest.raises(ConfigError, match=named):
        solver.check_accuracy(X, y)


# --- validation helpers ----------------------------------------------------------------------


def test_check_bool() -> None:
    assert check_bool("v", np.True_) is True and check_bool("v", 0) is False
    with pytest.raises(ConfigError, match=r"v must be True or False; got 'yes'"):
        check_bool("v", "yes")


def test_check_callable_names_the_signature_expected() -> None:
    assert check_callable("f", print, "x") is print  # no signature to check: passed through
    with pytest.raises(
        ConfigError, match=r"f must accept 2 positional argument\(s\), as f\(a, b\)"
    ):
        check_callable("f", lambda a: a, "a", "b")
    with pytest.raises(ConfigError, match="must be callable"):
        check_callable("f", 3, "a")


# --- checkpoints: a crash inside rotate ---------------------------------------------------------


def test_a_checkpoint_json_finds_its_arrays_under_another_name_by_digest(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "a", {"w": np.arange(3.0)}, {"step": 1})
    save_checkpoint(tmp_path / "b", {"w": np.arange(4.0)}, {"step": 2})
    (tmp_path / "b.npz").replace(tmp_path / "a.npz")  # as rotate's first rename leaves them
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "b")
    arrays, meta = load_checkpoint(tmp_path / "b", arrays_at=[tmp_path / "a"])
    np.testing.assert_array_equal(arrays["w"], np.arange(4.0))
    assert meta["step"] == 2 and meta[ARRAYS_FROM] == str(tmp_path / "a.npz")
    with pytest.raises(LayerwiseError, match="do not belong together"):
        load_checkpoint(tmp_path / "a", arrays_at=[tmp_path / "nothing"])
