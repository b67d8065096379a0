"""The options table (layerwise.options): its rows, their constraints' two forms, the lookup.

A constraint reads text (``parse``: a flag, a search-space entry) with messages like
``expected a number > 0, got '-1'``, and checks a Python value (``check``) with messages like
``lr must be a number > 0; got -1``; both raise ConfigError.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerwise import options as opts
from layerwise.data import DATASETS
from layerwise.engine import ENGINES
from layerwise.errors import ConfigError
from layerwise.models import ARCHITECTURES
from layerwise.optim import UPDATE_RULES
from layerwise.options import (
    BY_NAME,
    DEFAULTS,
    OPTIONS,
    Choice,
    Hidden,
    Number,
    Option,
    Schedule,
    Text,
    option,
)
from layerwise.validation import DTYPES

# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


def test_names_are_unique_and_indexed() -> None:
    names = [o.name for o in OPTIONS]
    assert len(names) == len(set(names))
    assert list(BY_NAME) == names and list(DEFAULTS) == names
    for o in OPTIONS:
        assert BY_NAME[o.name] is o and DEFAULTS[o.name] == o.default


def test_the_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        BY_NAME["lr"] = BY_NAME["epochs"]  # type: ignore[index]
    with pytest.raises(TypeError):
        DEFAULTS["lr"] = 1.0  # type: ignore[index]
    with pytest.raises(AttributeError):
        OPTIONS[0].default = "mnist"  # type: ignore[misc]


@pytest.mark.parametrize("o", OPTIONS, ids=lambda o: o.name)
def test_every_default_passes_its_own_check(o: Option) -> None:
    assert o.check(o.default) == o.default
    assert o.help and o.help.strip() == o.help


@pytest.mark.parametrize("o", OPTIONS, ids=lambda o: o.name)
def test_flags_are_dashes_and_name_the_option(o: Option) -> None:
    assert o.flag == "--" + o.name.replace("_", "-")
    assert "_" not in o.flag
    assert option(o.flag) is o and option(o.name) is o


def test_option_finds_names_with_dashes_or_underscores() -> None:
    assert option("update-rule") is option("update_rule") is option("--update-rule")
    assert option("  lr ") is BY_NAME["lr"]
    assert option("lr-decay").name == "lr_decay"


@pytest.mark.parametrize("name", ["learning_rate", "LR", "", "--", "hidden_dims"])
def test_an_unknown_option_raises_listing_the_names(name: str) -> None:
    with pytest.raises(ConfigError, match=f"unknown option {name!r}; expected one of") as info:
        option(name)
    for known in BY_NAME:
        assert known in str(info.value)


def test_choices_follow_the_tables_they_come_from() -> None:
    assert option("dataset").constraint.choices == DATASETS  # type: ignore[union-attr]
    assert set(option("model").choices or ()) == set(ARCHITECTURES)
    assert set(option("update_rule").choices or ()) == set(UPDATE_RULES)
    assert option("dtype").choices == DTYPES
    assert option("engine").choices == ENGINES
    assert option("norm").choices == ("none", "batchnorm", "layernorm")
    assert option("weight_init").choices == ("he", "xavier")
    assert option("lr").choices is None and option("hidden").choices is None


def test_the_defaults_are_the_documented_recipe() -> None:
    expected = {
        "dataset": "digits",
        "model": "two-layer",
        "hidden": None,
        "epochs": 20,
        "batch_size": 50,
        "lr": 0.5,
        "lr_decay": 0.98,
        "update_rule": "sgd",
        "reg": 0.0,
        "weight_scale": 0.1,
        "dtype": "float32",
        "seed": 0,
        "dropout": 0.0,
        "norm": "none",
        "engine": "numpy",
        "early_stopping": None,
    }
    assert {k: DEFAULTS[k] for k in expected} == expected


def test_only_the_data_options_are_not_searchable() -> None:
    data = {"dataset", "data_dir", "accept_sha256", "target", "task", "impute"}
    data |= {"augment", "preprocess"}  # what is done to the images: fixed by a study
    assert {o.name for o in OPTIONS if not o.searchable} == data


def test_kinds_of_the_constraints() -> None:
    assert option("epochs").constraint.kind == "int"
    assert option("lr").constraint.kind == "float"
    for name in ("model", "hidden", "lr_schedule", "data_dir"):
        assert option(name).constraint.kind == "str"


# --------------------------------------------------------------------------------------------
# Number
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("lr", "-1", "expected a number > 0, got '-1'"),
        ("lr", "0", "expected a number > 0, got '0'"),
        ("lr", "abc", "expected a number, got 'abc'"),
        ("lr", "nan", "expected a finite number, got 'nan'"),
        ("lr", "inf", "expected a finite number, got 'inf'"),
        ("epochs", "0", "expected an integer >= 1, got '0'"),
        ("epochs", "2.5", "expected an integer, got '2.5'"),
        ("seed", "-1", "expected an integer >= 0, got '-1'"),
        ("dropout", "1", "expected a probability in [0, 1), got '1'"),
        ("dropout", "-0.5", "expected a probability in [0, 1), got '-0.5'"),
        ("lr_decay", "1.5", "expected a factor in (0, 1], got '1.5'"),
        ("lr_decay", "0", "expected a factor in (0, 1], got '0'"),
        ("reg", "-1e-3", "expected a number >= 0, got '-1e-3'"),
    ],
)
def test_number_parse_messages(name: str, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        option(name).parse(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("lr", "0.5", 0.5),
        ("lr", "1e-3", 1e-3),
        ("lr_decay", "1", 1.0),
        ("dropout", "0", 0.0),
        ("epochs", "3", 3),
        ("seed", "0", 0),
        ("val_size", " 100 ", 100),
    ],
)
def test_number_parse_values(name: str, text: str, value: float) -> None:
    got = option(name).parse(text)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("lr", -1, "lr must be a number > 0; got -1"),
        ("lr", math.nan, "lr must be a number > 0; got nan"),
        ("lr", math.inf, "lr must be a number > 0; got inf"),
        ("lr", True, "lr must be a number > 0; got True"),
        ("lr", "0.5", "lr must be a number > 0; got '0.5'"),
        ("lr", None, "lr must be a number > 0; got None"),  # lr may not be unset
        ("epochs", 2.0, "epochs must be an integer >= 1; got 2.0"),
        ("epochs", True, "epochs must be an integer >= 1; got True"),
        ("dropout", 1, "dropout must be a probability in [0, 1); got 1"),
        ("lr_decay", 1.5, "lr_decay must be a factor in (0, 1]; got 1.5"),
    ],
)
def test_number_check_messages(name: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        option(name).check(value)
    assert str(info.value) == message and info.value.field == name


def test_number_check_normalises_numpy_scalars() -> None:
    got = option("epochs").check(np.int64(4))
    assert got == 4 and type(got) is int
    got = option("lr").check(np.float32(0.25))
    assert got == 0.25 and type(got) is float
    assert option("lr").check(1) == 1.0 and type(option("lr").check(1)) is float


def test_number_intervals() -> None:
    closed_above = Number("x", low=0.0, high=1.0)
    assert closed_above.check("x", 1.0) == 1.0 and closed_above.check("x", 0.0) == 0.0
    open_below = Number("x", strict=True)
    with pytest.raises(ConfigError):
        open_below.check("x", 0.0)
    unbounded = Number("any number", low=None)
    assert unbounded.parse("-1e9") == -1e9


def test_unset_options_take_none_the_others_do_not() -> None:
    for o in OPTIONS:
        if o.default is None:
            assert o.check(None) is None, o.name
        else:
            with pytest.raises(ConfigError):
                o.check(None)


# --------------------------------------------------------------------------------------------
# Choice and Text
# --------------------------------------------------------------------------------------------


def test_choice_parse_and_check() -> None:
    model = option("model")
    assert model.parse("fc") == "fc" and model.check("three-layer") == "three-layer"
    with pytest.raises(ConfigError) as info:
        model.parse("resnet")
    assert str(info.value) == (
        "invalid choice: 'resnet' (choose from 'fc', 'three-layer', 'two-layer')"
    )
    with pytest.raises(ConfigError) as info:
        model.check("resnet")
    assert str(info.value) == (
        "model must be one of 'fc', 'three-layer', 'two-layer'; got 'resnet'"
    )
    assert info.value.field == "model"
    with pytest.raises(ConfigError):
        Choice(("1", "2")).check("n", 1)  # the name, not a number that prints like it


def test_text_parse_and_check() -> None:
    data_dir = option("data_dir")
    assert data_dir.parse("/tmp/x") == "/tmp/x" and data_dir.check("d") == "d"
    with pytest.raises(ConfigError, match="expected a non-empty text, got ''"):
        data_dir.parse("")
    for bad in ("", 3, b"dir"):
        with pytest.raises(ConfigError, match="data_dir must be a non-empty text") as info:
            data_dir.check(bad)
        assert info.value.field == "data_dir"
    assert Text().check("x", "y") == "y"


# --------------------------------------------------------------------------------------------
# Hidden
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sizes"), [("100", (100,)), ("100,50", (100, 50)), (" 7 , 8 ,9", (7, 8, 9))]
)
def test_hidden_parse(text: str, sizes: tuple[int, ...]) -> None:
    assert option("hidden").parse(text) == sizes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "hidden sizes must be >= 1, got '0'"),
        ("100,-5", "hidden sizes must be >= 1, got '100,-5'"),
        ("a", "expected comma-separated positive integers like 100 or 100,100, got 'a'"),
        ("", "expected comma-separated positive integers like 100 or 100,100, got ''"),
        ("100,", "expected comma-separated positive integers like 100 or 100,100, got '100,'"),
        ("1.5", "expected comma-separated positive integers like 100 or 100,100, got '1.5'"),
    ],
)
def test_hidden_parse_refuses(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Hidden().parse(text)
    assert str(info.value) == message


def test_hidden_check() -> None:
    hidden = option("hidden")
    assert hidden.check([100, 50]) == (100, 50)
    assert hidden.check((np.int64(3),)) == (3,)
    assert type(hidden.check((np.int64(3),))[0]) is int
    for bad in ((), [0], (10, 0), (True,), (2.0,), "100", 100, {"a": 1}):
        with pytest.raises(ConfigError, match="hidden must be a non-empty list") as info:
            hidden.check(bad)
        assert info.value.field == "hidden" and repr(bad) in str(info.value)


# --------------------------------------------------------------------------------------------
# Schedule
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("cosine", {"name": "cosine"}),
        ("cosine:0.1", {"name": "cosine", "min_factor": 0.1}),
        ("exponential", {"name": "exponential"}),
        ("exponential:0.9", {"name": "exponential", "gamma": 0.9}),
        ("step", {"name": "step"}),
        ("step:5", {"name": "step", "step_size": 5}),
        ("step:5:0.5", {"name": "step", "step_size": 5, "gamma": 0.5}),
    ],
)
def test_schedule_parse(text: str, spec: dict[str, Any]) -> None:
    got = option("lr_schedule").parse(text)
    assert got == spec
    if "step_size" in spec:
        assert type(got["step_size"]) is int


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "linear",
            "expected cosine[:MIN_FACTOR], exponential[:GAMMA] or step[:STEP_SIZE[:GAMMA]], "
            "got 'linear'",
        ),
        (
            "cosine:0.1:2",
            "expected cosine[:MIN_FACTOR], exponential[:GAMMA] or step[:STEP_SIZE[:GAMMA]], "
            "got 'cosine:0.1:2'",
        ),
        ("step:0", "step_size must be a positive integer; got 0"),
        ("step:2.5", "step_size must be a positive integer; got 2.5"),
        ("cosine:2", "min_factor must be a finite number >= 0 and <= 1; got 2.0"),
        ("exponential:0", "gamma must be a finite number > 0 and <= 1; got 0.0"),
        ("exponential:x", "expected a number, got 'x'"),
    ],
)
def test_schedule_parse_refuses(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Schedule().parse(text)
    assert str(info.value) == message


def test_schedule_check() -> None:
    schedule = option("lr_schedule")
    spec = {"name": "step", "step_size": 3, "gamma": 0.5}
    got = schedule.check(spec)
    assert got == spec and got is not spec  # a plain copy
    assert schedule.check({"name": "cosine", "min_factor": 0.0}) == {
        "name": "cosine",
        "min_factor": 0.0,
    }
    with pytest.raises(ConfigError) as info:
        schedule.check({"name": "step", "step_size": 0})
    assert str(info.value) == "lr_schedule: step_size must be a positive integer; got 0"
    assert info.value.field == "lr_schedule"
    with pytest.raises(ConfigError, match="lr_schedule: bad options for lr_schedule 'step'"):
        schedule.check({"name": "step", "size": 2})


@pytest.mark.parametrize(
    "value", ["cosine", {"name": "constant"}, {"gamma": 0.5}, {"name": "linear"}, 0.5]
)
def test_schedule_check_refuses_what_is_not_a_schedule_dict(value: Any) -> None:
    with pytest.raises(ConfigError, match=r"lr_schedule must be a dict \{'name'") as info:
        option("lr_schedule").check(value)
    assert info.value.field == "lr_schedule" and repr(value) in str(info.value)


def test_parse_then_check_agree() -> None:
    """What parse reads, check accepts unchanged (the CLI parses, the recipe checks)."""
    texts = {
        "lr": "0.1",
        "epochs": "4",
        "hidden": "30,20",
        "lr_schedule": "step:2:0.5",
        "model": "fc",
        "data_dir": "here",
        "val_size": "100",
    }
    for name, text in texts.items():
        value = opts.option(name).parse(text)
        assert opts.option(name).check(value) == value, name


def test_docs_options_page_is_the_table() -> None:
    """docs/options.md is made from the table (the docs and the validation are one source)."""
    from layerwise.options import OPTIONS, markdown_table

    page = (Path(__file__).resolve().parents[1] / "docs" / "options.md").read_text()
    assert markdown_table() in page, "regenerate docs/options.md (see its first paragraph)"
    for row in OPTIONS:
        assert f"`{row.flag}`" in page
