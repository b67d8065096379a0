"""Search spaces from flags and TOML: values typed by the train options, errors that name them."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerwise.tune.space import (
    UNITS,
    SpaceError,
    build_space,
    load_toml,
    parse_grid_flag,
    parse_range_flag,
    searchable_options,
    split_values,
)


@pytest.fixture(scope="module")
def options() -> dict:
    return searchable_options()


def test_the_seed_grid_from_flags(options: dict) -> None:
    space = build_space(
        [
            parse_grid_flag("lr=0.001,0.01,0.1", options),
            parse_grid_flag("units=256,512", options),
            parse_grid_flag("dropout=0.2,0.5", options),
            parse_grid_flag("activation=relu,tanh", options),
        ]
    )
    assert space.names == ["lr", "units", "dropout", "activation"]
    assert [p.kind for p in space.params] == ["float", "int", "float", "str"]
    points = space.grid_points()
    assert len(points) == 24
    # The seed's nested loops: the last parameter varies fastest.
    assert points[0] == {"lr": 0.001, "units": 256, "dropout": 0.2, "activation": "relu"}
    assert points[1] == {"lr": 0.001, "units": 256, "dropout": 0.2, "activation": "tanh"}
    assert points[-1] == {"lr": 0.1, "units": 512, "dropout": 0.5, "activation": "tanh"}
    argv = space.train_argv(points[-1], hidden_layers=3)
    assert argv == [
        "--lr",
        "0.1",
        "--hidden",
        "512,512,512",
        "--dropout",
        "0.5",
        "--activation",
        "tanh",
    ]


def test_names_accept_dashes_underscores_and_flags(options: dict) -> None:
    for text in ("update-rule=adam,sgd", "update_rule=adam,sgd", "--update-rule=adam,sgd"):
        p = parse_grid_flag(text, options)
        assert (p.name, p.option, p.values) == ("update-rule", "--update-rule", ("adam", "sgd"))
    assert parse_grid_flag("batch-size=32,64", options).values == (32, 64)
    assert parse_grid_flag("epochs=1,3", options).kind == "int"
    assert parse_grid_flag("lr=1", options).values == (1.0,)  # a float option stays float


def test_values_with_commas_are_split_on_semicolons(options: dict) -> None:
    assert split_values("256,256;512,512") == ["256,256", "512,512"]
    p = parse_grid_flag("hidden=256,256;512", options)
    assert p.values == ("256,256", "512") and p.kind == "str"
    assert parse_grid_flag("hidden=64,128", options).values == ("64", "128")
    assert parse_grid_flag("lr-schedule=cosine;step:5:0.5", options).values == (
        "cosine",
        "step:5:0.5",
    )


def test_ranges_int_float_and_log(options: dict) -> None:
    lr = parse_range_flag("lr=1e-4:1e-1:log", options)
    assert (lr.kind, lr.low, lr.high, lr.log) == ("float", 1e-4, 0.1, True)
    batch = parse_range_flag("batch-size=16:256", options)
    assert (batch.kind, batch.low, batch.high, batch.log) == ("int", 16, 256, False)
    assert parse_range_flag("units=32:512:log", options).kind == "int"
    space = build_space([lr, batch])
    assert not space.is_discrete
    with pytest.raises(SpaceError, match=r"lr, batch-size are ranges.*--grid"):
        space.grid_points()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("learning_rate=0.1", r"unknown parameter 'learning_rate'.*\blr\b.*update-rule"),
        ("out=a,b", r"unknown parameter 'out'"),  # where output goes is not a hyperparameter
        ("lr=0.1,-1", r"parameter lr: bad value '-1': expected a number > 0"),
        ("lr=0.1,abc", r"parameter lr: bad value 'abc': expected a number"),
        ("dropout=0.2,1.5", r"parameter dropout: bad value '1.5'.*\[0, 1\)"),
        ("activation=relu,swish", r"parameter activation: bad value 'swish'.*one of relu"),
        ("update-rule=adam,sgdd", r"parameter update-rule: bad value 'sgdd'.*adam"),
        ("units=256,0", r"parameter units: bad value '0': expected an integer >= 1"),
        ("epochs=1.5", r"parameter epochs: bad value '1.5': expected an integer"),
        ("lr=0.1,0.1", r"parameter lr: value\(s\) 0.1 given more than once"),
        ("lr", r"--grid: expected NAME=V1,V2"),
        ("lr=", r"--grid: expected NAME=V1,V2"),
        ("lr=0.1,,0.2", r"--grid: empty value"),
    ],
)
def test_bad_grid_flags_name_what_is_wrong(options: dict, text: str, message: str) -> None:
    with pytest.raises(SpaceError, match=message):
        parse_grid_flag(text, options)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lr=0.1:0.01", r"parameter lr: range 0.1:0.01 is empty; expected LOW < HIGH"),
        ("reg=0:1:log", r"parameter reg: a log range needs LOW > 0; got 0"),
        ("activation=relu:tanh", r"a range needs a numeric option.*--grid"),
        ("lr=0.1", r"expected LOW:HIGH or LOW:HIGH:log, got '0.1'"),
        ("lr=0.1:1:ln", r"expected LOW:HIGH or LOW:HIGH:log, got '0.1:1:ln'"),
        ("dropout=0:1", r"parameter dropout: bad value '1'"),
        ("nope=1:2", r"unknown parameter 'nope'"),
    ],
)
def test_bad_range_flags_name_what_is_wrong(options: dict, text: str, message: str) -> None:
    with pytest.raises(SpaceError, match=message):
        parse_range_flag(text, options)


def test_a_parameter_given_twice_or_hidden_with_units(options: dict) -> None:
    with pytest.raises(SpaceError, match="parameter lr is given twice"):
        build_space([parse_grid_flag("lr=0.1", options), parse_range_flag("lr=0.1:1", options)])
    with pytest.raises(SpaceError, match=r"either hidden .* or units"):
        build_space(
            [parse_grid_flag("hidden=32", options), parse_grid_flag(f"{UNITS}=32", options)]
        )
    with pytest.raises(SpaceError, match="nothing to search"):
        build_space([])


def test_toml_space(options: dict, tmp_path: Path) -> None:
    path = tmp_path / "space.toml"
    path.write_text(
        """
lr = {low = 1e-4, high = 0.1, log = true}
units = [256, 512]
dropout = "0.0:0.5"
activation = ["relu", "tanh"]
update_rule = ["adam", "sgd_momentum"]
hidden = [[64, 64], [128]]
"""
    )
    params = load_toml(path, options)
    assert [p.name for p in params] == [
        "lr",
        "units",
        "dropout",
        "activation",
        "update-rule",
        "hidden",
    ]
    assert (params[0].low, params[0].high, params[0].log, params[0].kind) == (
        1e-4,
        0.1,
        True,
        "float",
    )
    assert params[1].values == (256, 512)
    assert (params[2].low, params[2].high, params[2].log) == (0.0, 0.5, False)
    assert params[4].values == ("adam", "sgd_momentum")
    assert params[5].values == ("64,64", "128")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("lr = [0.1, -2.0]", r"parameter lr: bad value '-2.0': expected a number > 0"),
        ("momentum = [0.9]", r"unknown parameter 'momentum'"),
        ("lr = {low = 0.1}", r"lr: a range is \{low = \.\.\., high = \.\.\., log"),
        ("lr = {low = 0.1, high = 1, step = 2}", r"got keys \['high', 'low', 'step'\]"),
        ("lr = {low = 0.1, high = 1, log = 'yes'}", r"lr: log must be true or false"),
        ("dropout = [true]", r"dropout: expected a number or a string, got True"),
        ("lr = 0.1", r"lr: expected a list of values, a range table"),
        ("lr = [0.1", r"is not valid TOML"),
        ("", r"names no parameters"),
    ],
)
def test_bad_toml_names_the_file_and_value(
    options: dict, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "space.toml"
    path.write_text(content)
    with pytest.raises(SpaceError, match=message) as info:
        load_toml(path, options)
    assert "space.toml" in str(info.value) or "parameter" in str(info.value)


def test_missing_toml_file(options: dict, tmp_path: Path) -> None:
    with pytest.raises(SpaceError, match=r"--space: file .*nope.toml' does not exist"):
        load_toml(tmp_path / "nope.toml", options)
