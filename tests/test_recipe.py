"""Recipe: one validated, frozen, JSON round-tripping description of a training run.

Every bad field raises ConfigError naming the field and the value, with ``field`` the option's
name; the recipe builds the data, the model and the Solver always the same way.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import numpy as np
import pytest

from layerwise import options as opts
from layerwise.data import load_digits_data
from layerwise.errors import ConfigError
from layerwise.models import (
    DEFAULT_HIDDEN,
    FullyConnectedNet,
    ThreeLayerNet,
    TwoLayerNet,
)
from layerwise.recipe import SCHEMA_VERSION, Recipe, data_dims
from layerwise.solver import Solver
from layerwise.spec import NetSpec


@pytest.fixture(scope="module")
def digits() -> dict[str, np.ndarray]:
    return load_digits_data()


def small_data(d: int = 12, classes: int = 4, n: int = 40, shape: tuple[int, ...] = ()) -> dict:
    rng = np.random.default_rng(3)
    feature_shape = shape or (d,)
    out = {}
    for split, m in (("train", n), ("val", n // 4), ("test", n // 4)):
        out[f"X_{split}"] = rng.standard_normal((m, *feature_shape)).astype(np.float32)
        out[f"y_{split}"] = rng.integers(0, classes, m)
        out[f"y_{split}"][0] = classes - 1  # the largest label is present
    return out


#: Recipes that use every kind of field, for the round trips.
RECIPES = {
    "default": {},
    "fc-batchnorm-adam-cosine": {
        "model": "fc",
        "hidden": (32, 16, 8),
        "norm": "batchnorm",
        "dropout": 0.25,
        "update_rule": "adam",
        "lr": 1e-3,
        "lr_schedule": {"name": "cosine", "min_factor": 0.1},
        "early_stopping": 3,
        "min_delta": 0.01,
        "val_size": 300,
        "weight_init": "he",
        "dtype": "float64",
        "epochs": 4,
    },
    "three-layer-step-tanh": {
        "model": "three-layer",
        "hidden": (20, 10),
        "activation": "tanh",
        "lr_schedule": {"name": "step", "step_size": 2, "gamma": 0.5},
        "update_rule": "sgd_momentum",
        "reg": 1e-3,
        "seed": 7,
        "batch_size": 32,
    },
    "fc-layernorm-adamw-exponential": {
        "model": "fc",
        "hidden": (5,),
        "norm": "layernorm",
        "weight_init": "xavier",
        "update_rule": "adamw",
        "lr_schedule": {"name": "exponential", "gamma": 0.9},
        "lr_decay": 1.0,
        "weight_scale": 0.05,
        "data_dir": "/some/where",
        "dataset": "mnist",
        "val_size": 1000,
    },
    "keras-engine": {"engine": "keras", "activation": "leaky_relu", "update_rule": "rmsprop"},
}


# --------------------------------------------------------------------------------------------
# making one
# --------------------------------------------------------------------------------------------


def test_defaults_are_the_option_tables() -> None:
    recipe = Recipe.from_options()
    values = recipe.options()
    assert set(values) == set(opts.DEFAULTS)
    for name, default in opts.DEFAULTS.items():
        if name == "hidden":
            assert values[name] == DEFAULT_HIDDEN[recipe.model] == (100,)
        else:
            assert values[name] == default, name
    assert Recipe.from_options(model="three-layer").network.hidden_dims == (100, 100)
    assert Recipe.from_options(model="fc").network.hidden_dims == DEFAULT_HIDDEN["fc"]


def test_the_network_is_a_netspec_without_data_sizes() -> None:
    recipe = Recipe.from_options(lr=0.1, update_rule="adam", reg=0.01, dropout=0.5, model="fc")
    net = recipe.network
    assert isinstance(net, NetSpec)
    assert net.input_dim is None and net.num_classes is None
    assert (net.learning_rate, net.optimizer, net.reg, net.dropout) == (0.1, "adam", 0.01, 0.5)
    assert net.normalization is None  # norm 'none'
    assert Recipe.from_options(model="fc", norm="layernorm").network.normalization == "layernorm"


@pytest.mark.parametrize("name", list(RECIPES))
def test_json_round_trip(name: str) -> None:
    recipe = Recipe.from_options(**RECIPES[name])
    fields = recipe.to_dict()
    assert fields["schema_version"] == SCHEMA_VERSION
    back = Recipe.from_dict(json.loads(json.dumps(fields)))
    assert back == recipe
    assert back.to_dict() == fields


@pytest.mark.parametrize("name", list(RECIPES))
def test_options_round_trip(name: str) -> None:
    recipe = Recipe.from_options(**RECIPES[name])
    assert Recipe.from_options(**recipe.options()) == recipe
    for option_name, value in RECIPES[name].items():
        assert recipe.options()[option_name] == value, option_name


def test_to_dict_layout() -> None:
    fields = Recipe.from_options(**RECIPES["fc-batchnorm-adam-cosine"]).to_dict()
    added = {
        "target",
        "task",
        "impute",
        "loss",
        "monitor",
        "accept_sha256",
        "augment",
        "preprocess",
    }  # left out at their defaults (older layout)
    every = {f.name for f in dataclasses.fields(Recipe)}
    assert set(fields) == {"schema_version"} | (every - added)
    assert fields["network"]["hidden_dims"] == [32, 16, 8]
    assert fields["network"]["input_dim"] is None
    assert fields["network"]["optimizer"] == "adam"
    assert fields["lr_schedule"] == {"name": "cosine", "min_factor": 0.1}
    json.dumps(fields)  # plain JSON types only


def test_replace_changes_options_and_checks_them_again() -> None:
    recipe = Recipe.from_options(**RECIPES["three-layer-step-tanh"])
    longer = recipe.replace(epochs=5, lr=0.1)
    assert longer.epochs == 5 and longer.network.learning_rate == 0.1
    assert recipe.epochs == 20 and recipe.network.learning_rate == 0.5  # unchanged
    assert longer.replace(epochs=recipe.epochs, lr=0.5) == recipe
    assert longer.network.hidden_dims == (20, 10) and longer.lr_schedule == recipe.lr_schedule
    with pytest.raises(ConfigError, match="epochs") as info:
        recipe.replace(epochs=0)
    assert info.value.field == "epochs"
    with pytest.raises(ConfigError) as info:
        recipe.replace(num_epochs=3)  # a Solver keyword, not an option
    assert info.value.field == "num_epochs"


def test_replace_keeps_update_rule_settings_of_a_stored_recipe() -> None:
    """A recipe read back from JSON may carry update-rule settings that are no option (beta1);
    changing another option (e.g. a resume's epochs) must not silently reset them."""
    fields = Recipe.from_options(update_rule="adam", lr=1e-3).to_dict()
    fields["network"]["optimizer_options"]["beta1"] = 0.8
    recipe = Recipe.from_dict(fields)
    assert recipe.network.optimizer_options["beta1"] == 0.8
    assert recipe.replace(epochs=3).network.optimizer_options["beta1"] == 0.8
    # ... until the rule itself changes: the new rule's defaults apply.
    assert "beta1" not in recipe.replace(update_rule="sgd").network.optimizer_options
    # The options are what the table holds; beta1 is none of them.
    assert recipe.options()["update_rule"] == "adam" and "beta1" not in recipe.options()


def test_a_recipe_is_frozen() -> None:
    recipe = Recipe.from_options()
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.epochs = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.network = recipe.network  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.network.learning_rate = 1.0  # type: ignore[misc]
    assert recipe.epochs == 20


def test_the_fields_are_normalised() -> None:
    recipe = Recipe.from_options(
        epochs=np.int64(3), lr=1, hidden=[np.int64(7)], lr_decay=np.float32(0.5)
    )
    assert type(recipe.epochs) is int and recipe.epochs == 3
    assert type(recipe.network.learning_rate) is float and recipe.network.learning_rate == 1.0
    assert recipe.network.hidden_dims == (7,) and type(recipe.network.hidden_dims[0]) is int
    assert type(recipe.lr_decay) is float and recipe.lr_decay == 0.5


# --------------------------------------------------------------------------------------------
# bad fields
# --------------------------------------------------------------------------------------------

# (options, the ConfigError's field, fragments its message must hold: the field and the value)
BAD = [
    ({"epochs": 0}, "epochs", ["epochs", "got 0"]),
    ({"epochs": 2.0}, "epochs", ["epochs", "2.0"]),
    ({"epochs": True}, "epochs", ["epochs", "True"]),
    ({"batch_size": 2.5}, "batch_size", ["batch_size", "2.5"]),
    ({"lr": -1}, "lr", ["lr", "-1"]),
    ({"lr": math.nan}, "lr", ["lr", "nan"]),
    ({"lr": math.inf}, "lr", ["lr", "inf"]),
    ({"lr": 0}, "lr", ["lr", "got 0"]),
    ({"lr_decay": 1.5}, "lr_decay", ["lr_decay", "1.5"]),
    ({"lr_decay": 0}, "lr_decay", ["lr_decay", "got 0"]),
    ({"dropout": 1}, "dropout", ["dropout", "got 1"]),
    ({"dropout": -0.1}, "dropout", ["dropout", "-0.1"]),
    ({"model": "resnet"}, "model", ["model", "'resnet'"]),
    ({"dataset": "imagenet"}, "dataset", ["dataset", "'imagenet'"]),
    ({"hidden": (0,)}, "hidden", ["hidden", "(0,)"]),
    ({"hidden": ()}, "hidden", ["hidden", "()"]),
    ({"hidden": "100"}, "hidden", ["hidden", "'100'"]),
    ({"hidden": (10, 20)}, "hidden", ["hidden", "10,20", "two-layer"]),
    ({"model": "three-layer", "hidden": (10,)}, "hidden", ["hidden", "10", "three-layer"]),
    ({"norm": "batchnorm"}, "norm", ["norm", "batchnorm", "two-layer"]),
    ({"model": "three-layer", "norm": "layernorm"}, "norm", ["norm", "layernorm"]),
    ({"norm": "groupnorm", "model": "fc"}, "norm", ["norm", "'groupnorm'"]),
    ({"model": "three-layer", "weight_init": "he"}, "weight_init", ["weight_init", "'he'"]),
    ({"weight_init": "xavier"}, "weight_init", ["weight_init", "'xavier'", "two-layer"]),
    ({"weight_init": "lecun", "model": "fc"}, "weight_init", ["weight_init", "'lecun'"]),
    ({"val_size": 1437}, "val_size", ["val_size", "1437"]),
    ({"val_size": 0}, "val_size", ["val_size", "got 0"]),
    ({"dataset": "mnist", "val_size": 60_000}, "val_size", ["val_size", "60000"]),
    ({"seed": -1}, "seed", ["seed", "-1"]),
    ({"seed": 1.5}, "seed", ["seed", "1.5"]),
    ({"engine": "jax"}, "engine", ["engine", "'jax'"]),
    (
        {"lr_schedule": {"name": "step", "step_size": 0}},
        "lr_schedule",
        ["lr_schedule", "step_size", "got 0"],
    ),
    ({"lr_schedule": "cosine"}, "lr_schedule", ["lr_schedule", "'cosine'"]),
    ({"reg": -1}, "reg", ["reg", "-1"]),
    ({"weight_scale": 0}, "weight_scale", ["weight_scale", "got 0"]),
    ({"dtype": "float16"}, "dtype", ["dtype", "'float16'"]),
    ({"activation": "gelu"}, "activation", ["activation", "'gelu'"]),
    ({"update_rule": "lbfgs"}, "update_rule", ["update_rule", "'lbfgs'"]),
    ({"early_stopping": 0}, "early_stopping", ["early_stopping", "got 0"]),
    ({"min_delta": -0.5}, "min_delta", ["min_delta", "-0.5"]),
    ({"data_dir": ""}, "data_dir", ["data_dir", "''"]),
    ({"bogus": 1}, "bogus", ["bogus"]),
    ({"learning_rate": 0.1}, "learning_rate", ["learning_rate"]),
]


@pytest.mark.parametrize(
    ("values", "field", "fragments"), BAD, ids=[f"{b[1]}={list(b[0].values())}" for b in BAD]
)
def test_a_bad_field_names_itself_and_its_value(
    values: dict[str, Any], field: str, fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        Recipe.from_options(**values)
    message = str(info.value)
    assert info.value.field == field, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert not message.startswith("NetSpec:")  # said in the recipe's words


def test_an_unknown_option_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        Recipe.from_options(bogus=1, lr=0.1, zz=2)
    message = str(info.value)
    assert "['bogus', 'zz']" in message
    for name in opts.BY_NAME:
        assert repr(name) in message


def test_the_constructor_checks_its_fields_too() -> None:
    good = {f.name: getattr(Recipe.from_options(), f.name) for f in dataclasses.fields(Recipe)}
    assert Recipe(**good) == Recipe.from_options()
    for name, value in (("epochs", 0), ("seed", -3), ("engine", "jax"), ("dataset", "x")):
        with pytest.raises(ConfigError) as info:
            Recipe(**{**good, name: value})
        assert info.value.field == name and repr(value) in str(info.value)
    with pytest.raises(ConfigError, match="network must be a NetSpec; got dict") as info:
        Recipe(**{**good, "network": {"hidden_dims": [100]}})
    assert info.value.field == "network"


# --------------------------------------------------------------------------------------------
# from_dict
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [2, 0, None, "1", "one"])
def test_from_dict_refuses_another_schema_version(version: Any) -> None:
    fields = Recipe.from_options().to_dict()
    fields["schema_version"] = version
    with pytest.raises(ConfigError) as info:
        Recipe.from_dict(fields)
    assert f"schema_version {version!r} is not supported; expected {SCHEMA_VERSION}" in str(
        info.value
    )
    assert info.value.field == "schema_version"


def test_from_dict_refuses_a_missing_schema_version() -> None:
    fields = Recipe.from_options().to_dict()
    del fields["schema_version"]
    with pytest.raises(ConfigError, match="schema_version None is not supported"):
        Recipe.from_dict(fields)


def test_from_dict_refuses_unknown_and_missing_fields() -> None:
    fields = Recipe.from_options().to_dict()
    with pytest.raises(ConfigError, match=r"unknown \['colour'\], missing \[\]") as info:
        Recipe.from_dict({**fields, "colour": "red"})
    assert info.value.field == "recipe"
    del fields["seed"], fields["epochs"]
    with pytest.raises(ConfigError, match=r"unknown \[\], missing \['epochs', 'seed'\]"):
        Recipe.from_dict(fields)


@pytest.mark.parametrize("fields", [None, [1, 2], "recipe", 3])
def test_from_dict_needs_an_object(fields: Any) -> None:
    with pytest.raises(ConfigError, match="a recipe must be a JSON object") as info:
        Recipe.from_dict(fields)
    assert info.value.field == "recipe"


def test_from_dict_checks_the_values_and_the_network() -> None:
    fields = Recipe.from_options().to_dict()
    with pytest.raises(ConfigError) as info:
        Recipe.from_dict({**fields, "epochs": 0})
    assert info.value.field == "epochs"
    network = {**fields["network"], "depth": 3}
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['depth'\]"):
        Recipe.from_dict({**fields, "network": network})
    network = {**fields["network"], "learning_rate": -1}
    with pytest.raises(ConfigError, match="learning_rate") as info:
        Recipe.from_dict({**fields, "network": network})
    with pytest.raises(ConfigError, match="needs 1 hidden size"):
        Recipe.from_dict({**fields, "network": {**fields["network"], "hidden_dims": [3, 4]}})


# --------------------------------------------------------------------------------------------
# building
# --------------------------------------------------------------------------------------------


def test_build_data_follows_the_recipe() -> None:
    data = Recipe.from_options(val_size=300, dtype="float64").build_data()
    assert data["X_train"].shape == (1797 - 360 - 300, 64)
    assert data["X_val"].shape == (300, 64) and data["X_test"].shape == (360, 64)
    assert all(data[f"X_{s}"].dtype == np.float64 for s in ("train", "val", "test"))
    default = Recipe.from_options().build_data()
    assert default["X_train"].shape == (1257, 64) and default["X_train"].dtype == np.float32


def test_data_dims() -> None:
    assert data_dims(small_data(d=12, classes=4)) == (12, 4)
    assert data_dims(small_data(classes=3, shape=(2, 3, 5))) == (30, 3)
    data = small_data(classes=3)
    data["y_test"][1] = 6  # a class seen only in the test split still counts
    assert data_dims(data) == (12, 7)


@pytest.mark.parametrize(
    ("values", "cls", "hidden"),
    [
        ({}, TwoLayerNet, (100,)),
        ({"hidden": (17,)}, TwoLayerNet, (17,)),
        ({"model": "three-layer", "hidden": (9, 8)}, ThreeLayerNet, (9, 8)),
        ({"model": "fc", "hidden": (6, 5, 4)}, FullyConnectedNet, (6, 5, 4)),
        ({"model": "fc"}, FullyConnectedNet, (100, 100)),
    ],
)
def test_build_model_makes_the_architecture_sized_by_the_data(
    values: dict[str, Any], cls: type, hidden: tuple[int, ...]
) -> None:
    recipe = Recipe.from_options(**values)
    model = recipe.build_model(small_data(d=12, classes=4))
    assert type(model) is cls
    assert tuple(model.dims) == (12, *hidden, 4)


def test_build_model_passes_every_network_setting(digits: dict[str, np.ndarray]) -> None:
    recipe = Recipe.from_options(
        model="fc",
        hidden=(11, 7),
        norm="batchnorm",
        weight_init="xavier",
        dropout=0.3,
        reg=0.02,
        activation="tanh",
        dtype="float64",
        weight_scale=0.07,
    )
    config = recipe.build_model(digits).get_config()
    assert config == {
        "hidden_dims": [11, 7],
        "input_dim": 64,
        "num_classes": 10,
        "normalization": "batchnorm",
        "weight_init": "xavier",
        "weight_scale": 0.07,
        "reg": 0.02,
        "dtype": "float64",
        "seed": None,
        "activation": "tanh",
        "dropout": 0.3,
    }
    two = Recipe.from_options(dropout=0.1, reg=0.5, activation="sigmoid", weight_scale=0.2)
    model = two.build_model(digits)
    assert (model.dropout, model.reg, model.activation, model.weight_scale) == (
        0.1,
        0.5,
        "sigmoid",
        0.2,
    )
    assert all(p.dtype == np.float32 for p in model.params.values())


@pytest.mark.parametrize("model", ["two-layer", "three-layer", "fc"])
def test_build_model_weights_come_from_the_seed(model: str) -> None:
    data = small_data()
    a = Recipe.from_options(model=model, seed=3).build_model(data)
    b = Recipe.from_options(model=model, seed=3).build_model(data)
    c = Recipe.from_options(model=model, seed=4).build_model(data)
    assert list(a.params) == list(b.params) == list(c.params)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    weights = [n for n in a.params if a.params[n].ndim == 2]
    assert weights
    for name in weights:
        assert not np.array_equal(a.params[name], c.params[name]), name


def test_build_model_and_training_leave_the_global_stream_alone(
    digits: dict[str, np.ndarray],
) -> None:
    np.random.seed(1234)
    before = np.random.get_state()
    recipe = Recipe.from_options(model="fc", hidden=(8,), dropout=0.5, epochs=1)
    model = recipe.build_model(digits)
    recipe.build_solver(model, digits, verbose=False).train()
    after = np.random.get_state()
    assert before[0] == after[0] and before[2:] == after[2:]
    np.testing.assert_array_equal(before[1], after[1])


def test_build_solver_uses_the_recipes_settings(digits: dict[str, np.ndarray]) -> None:
    recipe = Recipe.from_options(
        update_rule="adam",
        lr=2e-3,
        batch_size=64,
        epochs=3,
        lr_decay=0.9,
        seed=5,
        early_stopping=2,
        min_delta=0.05,
        lr_schedule={"name": "step", "step_size": 1},
    )
    solver = recipe.build_solver(recipe.build_model(digits), digits, verbose=False)
    assert isinstance(solver, Solver)
    assert solver.update_rule_name == "adam"
    assert solver.optim_config == {
        "learning_rate": 2e-3,
        "beta1": 0.9,
        "beta2": 0.999,
        "epsilon": 1e-8,
    }
    assert (solver.batch_size, solver.num_epochs, solver.lr_decay, solver.seed) == (64, 3, 0.9, 5)
    assert (solver.patience, solver.min_delta) == (2, 0.05)
    assert solver.lr_schedule == {"name": "step", "step_size": 1}
    assert solver.verbose is False
    assert solver.iterations_per_epoch == 1257 // 64


@pytest.mark.parametrize("keyword", ["num_epochs", "seed", "update_rule", "patience"])
def test_build_solver_refuses_keywords_that_are_the_recipes(
    keyword: str, digits: dict[str, np.ndarray]
) -> None:
    recipe = Recipe.from_options(epochs=1)
    model = recipe.build_model(digits)
    with pytest.raises(ConfigError, match=f"'{keyword}'"):
        recipe.build_solver(model, digits, **{keyword: 3})


def test_build_solver_refuses_an_engine_keyword(digits: dict[str, np.ndarray]) -> None:
    """The engine is the recipe's too (``engine=``): a clash is a ConfigError, not a
    TypeError from the Solver's call."""
    recipe = Recipe.from_options(epochs=1)
    model = recipe.build_model(digits)
    with pytest.raises(ConfigError, match="engine"):
        recipe.build_solver(model, digits, engine=None)


def test_build_solver_passes_the_callers_keywords(digits: dict[str, np.ndarray]) -> None:
    recipe = Recipe.from_options(epochs=1)
    solver = recipe.build_solver(
        recipe.build_model(digits),
        digits,
        verbose=False,
        print_every=7,
        restore_best=False,
        num_train_samples=None,
    )
    assert (solver.print_every, solver.restore_best, solver.num_train_samples) == (7, False, None)
    with pytest.raises(ConfigError, match="Unrecognized arguments colour"):
        recipe.build_solver(recipe.build_model(digits), digits, colour="red")


def test_accepted_digests_are_part_of_the_recipe() -> None:
    """accept_sha256 is normalised (lowercase, sorted, no duplicates), kept through JSON, and
    left out of the JSON when unset (recipes written before it read as they were)."""
    a, b = "ab" * 32, "0F" * 32
    recipe = Recipe.from_options(dataset="cifar10", accept_sha256=f"{a},{b}, {a}")
    assert recipe.accept_sha256 == f"{b.lower()},{a}"
    assert Recipe.from_dict(recipe.to_dict()) == recipe
    assert "accept_sha256" not in Recipe.from_options().to_dict()
    with pytest.raises(ConfigError, match="accept_sha256"):
        Recipe.from_options(accept_sha256="not-a-digest")
