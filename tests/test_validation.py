"""The one set of argument checks (layerwise.validation), and optim.check_config.

Each check returns the value normalised or raises ConfigError whose message names the argument
and the bad value and whose ``field`` is the argument's name.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from layerwise import optim
from layerwise.errors import ConfigError, LayerwiseError
from layerwise.models import TwoLayerNet
from layerwise.solver import Solver
from layerwise.validation import (
    DTYPES,
    check_choice,
    check_float_dtype,
    check_int,
    check_number,
    check_positive_int,
    check_probability,
    check_seed,
    check_splits,
)


def _refused(check: Any, *args: Any, **kwargs: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        check(*args, **kwargs)
    return info.value


def test_config_error_is_a_layerwise_error_and_a_value_error() -> None:
    error = ConfigError("lr must be > 0", "lr")
    assert isinstance(error, LayerwiseError) and isinstance(error, ValueError)
    assert error.field == "lr" and str(error) == "lr must be > 0"
    assert ConfigError("no field").field is None


# --------------------------------------------------------------------------------------------
# integers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "low", "expected"),
    [(0, 0, 0), (7, 0, 7), (1, 1, 1), (5, 5, 5), (np.int64(3), 0, 3), (np.uint8(200), 1, 200)],
)
def test_check_int_accepts_integers_at_or_above_low(value: Any, low: int, expected: int) -> None:
    got = check_int("n", value, low)
    assert got == expected and type(got) is int


@pytest.mark.parametrize(
    ("value", "low", "expected"),
    [
        (-1, 0, "a non-negative integer"),
        (0, 1, "a positive integer"),
        (4, 5, "an integer >= 5"),
        (2.5, 0, "a non-negative integer"),
        (3.0, 0, "a non-negative integer"),  # a float, even a whole one, is refused
        (True, 0, "a non-negative integer"),  # bools are not counts
        (False, 0, "a non-negative integer"),
        (np.bool_(True), 0, "a non-negative integer"),
        ("3", 0, "a non-negative integer"),
        (None, 1, "a positive integer"),
    ],
)
def test_check_int_refuses(value: Any, low: int, expected: str) -> None:
    error = _refused(check_int, "num_rows", value, low)
    assert str(error) == f"num_rows must be {expected}; got {value!r}"
    assert error.field == "num_rows"


def test_check_positive_int() -> None:
    assert check_positive_int("batch_size", 1) == 1
    assert check_positive_int("batch_size", np.int32(64)) == 64
    for bad in (0, -3, 2.5, True):
        error = _refused(check_positive_int, "batch_size", bad)
        assert str(error) == f"batch_size must be a positive integer; got {bad!r}"
        assert error.field == "batch_size"


# --------------------------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kwargs"),
    [
        (0, {}),  # default: >= 0
        (0.0, {}),
        (1e300, {}),
        (np.float32(0.5), {}),
        (np.int64(2), {}),
        (1e-12, {"strict": True}),
        (-5.0, {"low": None}),
        (1.0, {"high": 1.0}),
        (0.999, {"high": 1.0, "high_strict": True}),
        (-1.0, {"low": -1.0}),
    ],
)
def test_check_number_accepts(value: Any, kwargs: dict[str, Any]) -> None:
    got = check_number("x", value, **kwargs)
    assert got == float(value) and type(got) is float


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (-0.1, {}, "a finite number >= 0"),
        (0, {"strict": True}, "a finite number > 0"),
        (0.0, {"strict": True}, "a finite number > 0"),
        (1.0, {"high": 1.0, "high_strict": True}, "a finite number >= 0 and < 1"),
        (1.5, {"high": 1.0}, "a finite number >= 0 and <= 1"),
        (-2.0, {"low": -1.0}, "a finite number >= -1"),
        (math.nan, {}, "a finite number >= 0"),
        (math.inf, {}, "a finite number >= 0"),
        (-math.inf, {"low": None}, "a finite number"),
        (math.nan, {"low": None}, "a finite number"),
        (np.float64("nan"), {}, "a finite number >= 0"),
        (True, {}, "a finite number >= 0"),  # bools are not numbers here
        ("0.5", {}, "a finite number >= 0"),
        (None, {}, "a finite number >= 0"),
        (1 + 2j, {}, "a finite number >= 0"),
    ],
)
def test_check_number_refuses(value: Any, kwargs: dict[str, Any], expected: str) -> None:
    error = _refused(check_number, "lr", value, **kwargs)
    assert str(error) == f"lr must be {expected}; got {value!r}"
    assert error.field == "lr"


@pytest.mark.parametrize("value", [0, 0.0, 0.5, 0.999999])
def test_check_probability_accepts_the_half_open_interval(value: float) -> None:
    assert check_probability("dropout", value) == value


@pytest.mark.parametrize("value", [1, 1.0, -0.01, 2, math.nan, True])
def test_check_probability_refuses(value: Any) -> None:
    error = _refused(check_probability, "dropout", value)
    assert str(error) == f"dropout must be a finite number >= 0 and < 1; got {value!r}"
    assert error.field == "dropout"


# --------------------------------------------------------------------------------------------
# seeds and choices
# --------------------------------------------------------------------------------------------


def test_check_seed_accepts_none_and_non_negative_integers() -> None:
    assert check_seed("seed", None) is None
    assert check_seed("seed", 0) == 0
    got = check_seed("seed", np.int64(2**40))
    assert got == 2**40 and type(got) is int


@pytest.mark.parametrize("value", [-1, True, 1.0, "0", [0]])
def test_check_seed_refuses(value: Any) -> None:
    error = _refused(check_seed, "seed", value)
    assert str(error) == f"seed must be a non-negative integer or None; got {value!r}"
    assert error.field == "seed"


def test_check_choice_returns_the_value_and_lists_the_choices() -> None:
    assert check_choice("norm", "batchnorm", ("batchnorm", "layernorm")) == "batchnorm"
    assert check_choice("n", 2, iter([1, 2, 3])) == 2  # any iterable of choices
    error = _refused(check_choice, "norm", "groupnorm", ("batchnorm", "layernorm"))
    assert str(error) == "norm must be one of 'batchnorm', 'layernorm'; got 'groupnorm'"
    assert error.field == "norm"


@pytest.mark.parametrize("value", [None, [1], {"a": 1}, 1.5, "Relu"])
def test_check_choice_refuses_values_outside_the_choices(value: Any) -> None:
    error = _refused(check_choice, "activation", value, ["relu", "tanh"])
    assert f"got {value!r}" in str(error) and "'relu', 'tanh'" in str(error)


# --------------------------------------------------------------------------------------------
# dtypes
# --------------------------------------------------------------------------------------------


def test_dtypes_are_the_two_model_types() -> None:
    assert DTYPES == ("float32", "float64")


@pytest.mark.parametrize("dtype", ["float32", "float64", np.float32, np.float64, "f8", float])
def test_check_float_dtype_accepts_the_model_types(dtype: Any) -> None:
    got = check_float_dtype(dtype)
    assert isinstance(got, np.dtype) and got == np.dtype(dtype) and got.name in DTYPES


@pytest.mark.parametrize("dtype", ["float16", np.float16, "int32", np.int64, bool, "complex128"])
def test_check_float_dtype_refuses_other_types(dtype: Any) -> None:
    error = _refused(check_float_dtype, dtype)
    assert str(error) == f"dtype must be float32 or float64; got {np.dtype(dtype)}"
    assert error.field == "dtype"


def test_check_float_dtype_any_float_accepts_every_floating_type() -> None:
    assert check_float_dtype("float16", any_float=True) == np.float16
    assert check_float_dtype(np.float32, any_float=True) == np.float32
    assert check_float_dtype(np.longdouble, any_float=True) == np.longdouble
    for dtype in ("int32", np.uint8, bool, "complex64"):
        error = _refused(check_float_dtype, dtype, any_float=True)
        assert str(error) == f"dtype must be a NumPy floating type; got {np.dtype(dtype)}"


@pytest.mark.parametrize("any_float", [False, True])
def test_check_float_dtype_refuses_what_is_no_dtype(any_float: bool) -> None:
    error = _refused(check_float_dtype, "nonsense", "X dtype", any_float)
    assert "X dtype must be" in str(error) and "got 'nonsense'" in str(error)
    assert error.field == "X dtype"


# --------------------------------------------------------------------------------------------
# splits
# --------------------------------------------------------------------------------------------


def test_check_splits_returns_ints_within_the_rows_available() -> None:
    got = check_splits(np.int64(15), 5, 3, n_train=20, n_test=3)
    assert got == (15, 5, 3) and all(type(v) is int for v in got)
    assert check_splits(0, 0, 0, n_train=0, n_test=0) == (0, 0, 0)


def test_check_splits_refuses_more_training_rows_than_exist() -> None:
    error = _refused(check_splits, 16, 5, 3, n_train=20, n_test=3)
    assert str(error) == (
        "num_training + num_validation = 16 + 5 = 21 exceeds the 20 training rows available"
    )
    assert error.field == "num_training"


def test_check_splits_refuses_more_test_rows_than_exist() -> None:
    error = _refused(check_splits, 10, 5, 4, n_train=20, n_test=3)
    assert str(error) == "num_test = 4 exceeds the 3 test rows available"
    assert error.field == "num_test"


@pytest.mark.parametrize(
    ("splits", "field"),
    [((-1, 0, 0), "num_training"), ((1, True, 0), "num_validation"), ((1, 0, 2.0), "num_test")],
)
def test_check_splits_refuses_bad_sizes(splits: tuple[Any, Any, Any], field: str) -> None:
    error = _refused(check_splits, *splits, n_train=100, n_test=100)
    assert error.field == field and str(error).startswith(f"{field} must be")


# --------------------------------------------------------------------------------------------
# optim.check_config
# --------------------------------------------------------------------------------------------


def test_defaults_and_state_cover_every_rule() -> None:
    assert set(optim.DEFAULTS) == set(optim.STATE) == set(optim.UPDATE_RULES)
    for name, defaults in optim.DEFAULTS.items():
        assert "learning_rate" in defaults, name
        assert not set(defaults) & set(optim.STATE[name]), name


def test_rule_name_of_names_and_functions() -> None:
    for name, rule in optim.UPDATE_RULES.items():
        assert optim.rule_name(name) == name
        assert optim.rule_name(rule) == name
    assert optim.rule_name("lbfgs") is None
    assert optim.rule_name(lambda w, dw, config=None: (w, config)) is None


def test_check_config_refuses_an_unknown_key_and_lists_the_known_ones() -> None:
    error = _refused(optim.check_config, "sgd", {"lr": 0.5})
    assert str(error) == (
        "optim_config for 'sgd' has unknown key(s) ['lr']; it takes ['learning_rate'] "
        "(and the state [])"
    )
    assert error.field == "optim_config"
    # The function itself is checked against its table entry too.
    error = _refused(optim.check_config, optim.adam, {"learning_rate": 1e-3, "beta_1": 0.9})
    assert "['beta_1']" in str(error)
    for key in optim.DEFAULTS["adam"]:
        assert repr(key) in str(error)


def test_check_config_allows_hyperparameters_and_state() -> None:
    w = np.zeros(3)
    config = {"learning_rate": 1e-3, "beta1": 0.8, "m": w, "v": w, "t": 4}
    got = optim.check_config("adam", config)
    assert got == config and got is not config  # a new dict
    assert optim.check_config("sgd_momentum", {"velocity": w, "momentum": 0.5})["momentum"] == 0.5
    assert optim.check_config("rmsprop", {"cache": w}) == {"cache": w}
    assert optim.check_config("adamw", {"decay_min_ndim": 1}) == {"decay_min_ndim": 1}
    assert optim.check_config("sgd", {}) == {}


@pytest.mark.parametrize("value", [-0.5, math.nan, math.inf, "0.1", True])
def test_check_config_refuses_bad_hyperparameter_values(value: Any) -> None:
    error = _refused(optim.check_config, "sgd", {"learning_rate": value})
    assert "optim_config['learning_rate']" in str(error) and repr(value) in str(error)


def test_check_config_passes_a_custom_rules_config_through() -> None:
    def halve(w: np.ndarray, dw: np.ndarray, config: Any = None) -> tuple[np.ndarray, Any]:
        return w * 0.5, config

    config = {"lr": "anything", "weird": [1, 2]}
    got = optim.check_config(halve, config)
    assert got == config and got is not config


@pytest.mark.parametrize("config", [None, [("learning_rate", 0.1)], "learning_rate=0.1"])
def test_check_config_needs_a_dict(config: Any) -> None:
    error = _refused(optim.check_config, "sgd", config)
    assert "optim_config must be a dict" in str(error) and type(config).__name__ in str(error)


def test_the_solver_refuses_a_misspelt_optim_config() -> None:
    rng = np.random.default_rng(0)
    data = {
        "X_train": rng.standard_normal((20, 4)),
        "y_train": rng.integers(0, 3, 20),
        "X_val": rng.standard_normal((5, 4)),
        "y_val": rng.integers(0, 3, 5),
    }
    model = TwoLayerNet(input_dim=4, hidden_dim=5, num_classes=3, seed=0)
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['lr'\]") as info:
        Solver(model, data, optim_config={"lr": 0.5}, verbose=False)
    assert info.value.field == "optim_config"
    with pytest.raises(ConfigError, match="momentum"):
        Solver(model, data, update_rule="sgd", optim_config={"momentum": 0.9}, verbose=False)
