"""layerwise.data.tabular: CSV and NPZ files of one's own, the encoder, the splits.

Every file is written here, in tmp_path; nothing is downloaded.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from layerwise.data.errors import DatasetError
from layerwise.data.tabular import (
    MAX_INFERRED_CLASSES,
    PandasMissing,
    Tabular,
    TabularEncoder,
    prepare,
    read_csv,
    read_npz,
    split,
)
from layerwise.errors import ConfigError, LayerwiseError

CLASSIFICATION = """\
age,color,height,label
31,red,1.80,cat
45,blue,1.65,dog
22,red,1.70,cat
60,green,1.55,bird
38,blue,1.75,dog
29,red,1.62,cat
"""


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(match: str, fn, *args, **kwargs) -> DatasetError:
    with pytest.raises(DatasetError, match=match) as info:
        fn(*args, **kwargs)
    return info.value


# --------------------------------------------------------------------------------------------
# CSV: good files
# --------------------------------------------------------------------------------------------


def test_classification_csv_with_a_categorical_feature_and_text_labels(tmp_path: Path) -> None:
    data = read_csv(write(tmp_path, CLASSIFICATION), "label")
    assert data.task == "classification"
    assert data.classes == ["bird", "cat", "dog"]
    assert data.y.dtype == np.int64
    np.testing.assert_array_equal(data.y, [1, 2, 1, 0, 2, 1])
    assert data.feature_names == ["age", "color", "height"]
    assert data.target_names == ["label"]
    assert list(data.features.index) == [2, 3, 4, 5, 6, 7]  # the file's lines
    assert data.features["age"].dtype == np.float64

    encoder = TabularEncoder(standardize=False).fit(data.features)
    assert encoder.kinds_ == {"age": "numeric", "color": "categorical", "height": "numeric"}
    assert encoder.categories_ == {"color": ["blue", "green", "red"]}
    assert encoder.feature_names_ == ["age", "color=blue", "color=green", "color=red", "height"]
    X = encoder.transform(data.features)
    assert X.dtype == np.float64 and X.shape == (6, 5)
    np.testing.assert_array_equal(X[0], [31, 0, 0, 1, 1.80])
    np.testing.assert_array_equal(X[3], [60, 0, 1, 0, 1.55])
    assert data.target_info() == {
        "target_names": ["label"],
        "classes": ["bird", "cat", "dog"],
        "task": "classification",
    }
    json.dumps(data.target_info())


def test_regression_csv(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{i * 0.5:.2f},{3.25 * i + 0.1:.3f}" for i in range(30))
    data = read_csv(write(tmp_path, "a,b,price\n" + rows + "\n"), "price")
    assert data.task == "regression" and data.classes is None
    assert data.y.dtype == np.float64 and data.y.shape == (30,)
    assert data.y[2] == pytest.approx(6.6)


def test_multilabel_csv_two_binary_target_columns(tmp_path: Path) -> None:
    text = "x,z,sport,music\n1,2,0,1\n3,4,1,1\n5,6,0,0\n7,8,1,0\n"
    data = read_csv(write(tmp_path, text), ["sport", "music"])
    assert data.task == "multilabel"
    assert data.y.dtype == np.int64 and data.y.shape == (4, 2)
    np.testing.assert_array_equal(data.y, [[0, 1], [1, 1], [0, 0], [1, 0]])
    assert data.feature_names == ["x", "z"]
    assert data.target_names == ["sport", "music"]


def test_cells_are_stripped_and_blank_lines_skipped(tmp_path: Path) -> None:
    text = " a , b ,y\n 1 , red ,u\n\n2,red ,v\n   \n3, blue,u\n"
    data = read_csv(write(tmp_path, text), "y")
    assert data.feature_names == ["a", "b"]
    assert list(data.features.index) == [2, 4, 6]
    assert list(data.features["b"]) == ["red", "red", "blue"]


def test_features_selects_columns_and_classes_maps_labels(tmp_path: Path) -> None:
    path = write(tmp_path, "id,age,color,label\n7,31,red,cat\n8,45,blue,dog\n")
    data = read_csv(path, "label", features=["color", "age"], classes=["bird", "cat", "dog"])
    assert data.feature_names == ["color", "age"]
    assert list(data.features.columns) == ["color", "age"]
    np.testing.assert_array_equal(data.y, [1, 2])
    assert data.classes == ["bird", "cat", "dog"] and data.task == "classification"
    err = refused(r"no column 'height'", read_csv, path, "label", features=["height"])
    assert "'age'" in str(err)  # the columns are listed
    refused(
        r"column 'label' holds labels that are not among the model's classes: 'cow' "
        r"\(first at line 3",
        read_csv,
        write(tmp_path, "a,label\n1,cat\n2,cow\n", "new.csv"),
        "label",
        classes=["cat", "dog"],
    )
    unlabelled = read_csv(path, None, features=["age"])
    assert unlabelled.y is None and unlabelled.task is None and unlabelled.target_names == []


def test_numeric_classes_map_whole_numbers(tmp_path: Path) -> None:
    data = read_csv(write(tmp_path, "a,y\n1,3\n2,1.0\n3,3\n"), "y", classes=[1, 3, 5])
    np.testing.assert_array_equal(data.y, [1, 0, 1])


# --------------------------------------------------------------------------------------------
# CSV: bad files
# --------------------------------------------------------------------------------------------


def test_missing_target_column_is_named_and_the_columns_listed(tmp_path: Path) -> None:
    err = refused("no target column 'price'", read_csv, write(tmp_path, "a,b\n1,2\n"), "price")
    assert "data.csv" in str(err) and "'a', 'b'" in str(err)
    assert isinstance(err, LayerwiseError)


def test_semicolon_file_gets_a_hint(tmp_path: Path) -> None:
    refused("separated by commas", read_csv, write(tmp_path, "a;b;y\n1;2;3\n"), "y")


def test_long_ragged_row_names_its_line(tmp_path: Path) -> None:
    text = "a,b,y\n1,2,3\n4,5,6\n\n7,8,9,10\n"
    err = refused(r"line 5 has 4 fields", read_csv, write(tmp_path, text), "y")
    assert str(err).startswith(str(tmp_path / "data.csv"))


def test_short_ragged_row_names_its_line(tmp_path: Path) -> None:
    # pandas pads a short row silently; the reader counts the fields itself.
    text = 'a,b,y\n1,2,3\n"multi\nline",5,6\n4,5\n'
    refused(r"line 5 has 2 fields, but the header has 3", read_csv, write(tmp_path, text), "y")


def test_non_numeric_cell_in_a_numeric_column(tmp_path: Path) -> None:
    text = "age,y\n31,0\n45,1\nforty,0\n22,1\n"
    err = refused(
        r"line 4, column 'age': 'forty' is not a number", read_csv, write(tmp_path, text), "y"
    )
    assert "data.csv" in str(err)


def test_number_in_a_categorical_column(tmp_path: Path) -> None:
    text = "color,y\nred,0\nblue,1\n3,0\ngreen,1\n"
    refused(
        r"line 4, column 'color': '3' is a number, yet 3 of the column's 4 values are text",
        read_csv,
        write(tmp_path, text),
        "y",
    )


def test_infinite_feature_is_refused(tmp_path: Path) -> None:
    refused(
        r"line 3, column 'a': 'inf' is infinite",
        read_csv,
        write(tmp_path, "a,y\n1,0\ninf,1\n"),
        "y",
    )


@pytest.mark.parametrize("text", ["", "\n\n", "   \n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    refused("the file is empty", read_csv, write(tmp_path, text), "y")


def test_header_only_file(tmp_path: Path) -> None:
    refused("has a header row .* but no data rows", read_csv, write(tmp_path, "a,b,y\n"), "y")


def test_headerless_file(tmp_path: Path) -> None:
    refused("needs a header row", read_csv, write(tmp_path, "1,2,3\n4,5,6\n"), "y")


def test_header_names_must_be_present_and_distinct(tmp_path: Path) -> None:
    refused("column 2 has no name", read_csv, write(tmp_path, "a,,y\n1,2,3\n"), "y")
    refused("'a' appears twice", read_csv, write(tmp_path, "a,a,y\n1,2,3\n"), "y")


def test_not_utf8_and_no_such_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("name,y\ncaf\u00e9,1\n".encode("latin-1"))
    refused("not UTF-8", read_csv, path, "y")
    refused("no such file", read_csv, tmp_path / "absent.csv", "y")


@pytest.mark.parametrize("cell, shown", [("", "is empty"), ("NA", "holds 'NA'")])
def test_missing_feature_refused_naming_line_and_column(
    tmp_path: Path, cell: str, shown: str
) -> None:
    text = f"a,b,y\n1,2,0\n3,{cell},1\n5,6,0\n"
    err = refused(rf"line 3, column 'b' {shown}", read_csv, write(tmp_path, text), "y")
    assert "impute" in str(err)


def test_missing_values_imputed_with_the_training_mean_or_median(tmp_path: Path) -> None:
    text = "a,color,y\n1,red,0\n2,,1\n4,blue,0\n,red,1\n9,red,0\n"
    path = write(tmp_path, text)
    for impute, expected in (("mean", 4.0), ("median", 3.0)):
        data = read_csv(path, "y", impute=impute)
        assert data.impute == impute
        encoder = data.encoder(standardize=False).fit(data.features)
        assert encoder.fill_ == {"a": expected, "color": "red"}  # red: the most frequent
        X = encoder.transform(data.features)
        assert X[3, 0] == expected
        np.testing.assert_array_equal(X[1, 1:], [0, 1])  # filled with red


def test_missing_target_is_refused_even_when_imputing(tmp_path: Path) -> None:
    text = "a,y\n1,0\n2,\n3,1\n"
    refused(
        r"line 3, column 'y' is empty; every row needs a target value",
        read_csv,
        write(tmp_path, text),
        "y",
        impute="mean",
    )


@pytest.mark.parametrize("cell", ["inf", "-Infinity"])
def test_infinite_regression_target_is_refused(tmp_path: Path, cell: str) -> None:
    text = "a,y\n" + "".join(f"{i},{i + 0.5}\n" for i in range(5)) + f"9,{cell}\n"
    refused(
        rf"line 7, column 'y': '{re.escape(cell)}' is not a regression target",
        read_csv,
        write(tmp_path, text),
        "y",
    )


def test_nan_text_in_target_is_missing(tmp_path: Path) -> None:
    refused(
        r"line 3, column 'y' holds 'NaN'", read_csv, write(tmp_path, "a,y\n1,0.5\n2,NaN\n"), "y"
    )


def test_pandas_missing_gives_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    with pytest.raises(PandasMissing, match=re.escape("pip install 'layerwise[tabular]'")) as e:
        read_csv(write(tmp_path, CLASSIFICATION), "label")
    assert isinstance(e.value, DatasetError) and isinstance(e.value, ImportError)
    assert "\n" not in str(e.value)
    # NPZ files and the encoder need NumPy only.
    path = tmp_path / "data.npz"
    np.savez(path, X=np.arange(6.0).reshape(3, 2), y=np.array([0.5, 1.5, 2.5]))
    data = read_npz(path)
    assert prepare(data, val_fraction=0.0, test_fraction=0.0)[1]["X_train"].shape == (3, 2)


def test_bad_arguments_are_config_errors(tmp_path: Path) -> None:
    path = write(tmp_path, CLASSIFICATION)
    with pytest.raises(ConfigError, match="task must be one of"):
        read_csv(path, "label", task="ranking")
    with pytest.raises(ConfigError, match="impute must be one of"):
        read_csv(path, "label", impute="mode")
    with pytest.raises(ConfigError, match="target"):
        read_csv(path, 3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="both a feature and a target"):
        read_csv(path, "label", features=["label"])


# --------------------------------------------------------------------------------------------
# Task inference and checking
# --------------------------------------------------------------------------------------------


def _one_target(tmp_path: Path, values: list, **kwargs) -> Tabular:
    text = "a,y\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values))
    return read_csv(write(tmp_path, text), "y", **kwargs)


def test_inference_rules(tmp_path: Path) -> None:
    few = [i % MAX_INFERRED_CLASSES for i in range(60)]
    many = list(range(MAX_INFERRED_CLASSES + 1))
    assert _one_target(tmp_path, few).task == "classification"
    assert _one_target(tmp_path, [3, 1, 2.0, 1]).classes == [1, 2, 3]
    assert _one_target(tmp_path, many).task == "regression"
    assert _one_target(tmp_path, [0.5, 1, 2, 0.5]).task == "regression"
    assert _one_target(tmp_path, ["yes", "no", "yes"]).task == "classification"
    assert _one_target(tmp_path, [0, 1, 1]).task == "classification"  # one 0/1 column
    several = "a,u,v\n1,0.5,2\n2,1,3\n"
    assert read_csv(write(tmp_path, several), ["u", "v"]).task == "regression"
    assert read_csv(write(tmp_path, several), ["u", "v"]).y.shape == (2, 2)


def test_an_explicit_task_is_checked_against_the_values(tmp_path: Path) -> None:
    refused(
        r"'0.5' is not a class label", _one_target, tmp_path, [0, 0.5, 1], task="classification"
    )
    refused(
        r"'2' is not a multilabel target; expected 0 or 1",
        _one_target,
        tmp_path,
        [0, 1, 2],
        task="multilabel",
    )
    refused(
        r"'cat' is not a number; regression targets are numbers",
        _one_target,
        tmp_path,
        ["cat", "dog"],
        task="regression",
    )
    assert _one_target(tmp_path, [1, 2, 3, 1], task="regression").task == "regression"
    data = _one_target(tmp_path, [0, 1, 1], task="multilabel")
    assert data.y.shape == (3, 1) and data.y.dtype == np.int64
    many = _one_target(tmp_path, list(range(30)), task="classification")
    assert len(many.classes) == 30


def test_mixed_target_is_text_labels_only_when_asked(tmp_path: Path) -> None:
    refused("mixes numbers and text", _one_target, tmp_path, [1, 2, "other", 1])
    data = _one_target(tmp_path, [1, 2, "other", 1], task="classification")
    assert data.classes == ["1", "2", "other"]


def test_classification_needs_one_column_and_two_classes(tmp_path: Path) -> None:
    text = "a,u,v\n1,0,1\n2,1,0\n"
    with pytest.raises(ConfigError, match="takes one target column"):
        read_csv(write(tmp_path, text), ["u", "v"], task="classification")
    refused("single class", _one_target, tmp_path, ["cat", "cat"])
    refused(
        r"'x' is not a number; several target columns",
        read_csv,
        write(tmp_path, "a,u,v\n1,0,x\n2,1,0\n"),
        ["u", "v"],
    )


# --------------------------------------------------------------------------------------------
# NPZ
# --------------------------------------------------------------------------------------------


def npz(tmp_path: Path, name: str = "data.npz", **arrays) -> Path:
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_npz_with_string_labels_and_a_test_split(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X, X_test = rng.normal(size=(12, 3)), rng.normal(size=(4, 3))
    y = np.array(["b", "a", "c"] * 4)
    path = npz(tmp_path, X=X, y=y, X_test=X_test, y_test=np.array(["c", "a", "a", "b"]))
    data = read_npz(path)
    assert data.task == "classification" and data.classes == ["a", "b", "c"]
    np.testing.assert_array_equal(data.y[:3], [1, 0, 2])
    np.testing.assert_array_equal(data.y_test, [2, 0, 0, 1])
    assert data.feature_names == ["x0", "x1", "x2"] and data.target_names == ["y"]
    np.testing.assert_array_equal(data.features, X)
    encoder, arrays = prepare(data, val_fraction=0.25, seed=1)
    assert arrays["X_train"].shape == (9, 3) and arrays["X_val"].shape == (3, 3)
    assert arrays["X_test"].shape == (4, 3)
    np.testing.assert_array_equal(arrays["y_test"], data.y_test)
    np.testing.assert_allclose(arrays["X_test"], (X_test - encoder.mean_) / encoder.scale_)
    with pytest.raises(ConfigError, match="own test split"):
        prepare(data, test_fraction=0.2)


def test_npz_integer_classes_regression_and_multilabel(tmp_path: Path) -> None:
    X = np.arange(20.0).reshape(10, 2)
    data = read_npz(npz(tmp_path, X=X, y=np.array([5, -1, 5, 7, -1, 5, 7, 7, 5, -1])))
    assert data.classes == [-1, 5, 7] and data.y[0] == 1
    reg = read_npz(npz(tmp_path, X=X, y=np.linspace(0, 1, 10)[:, None]))
    assert reg.task == "regression" and reg.y.shape == (10, 1)
    labels = np.eye(2, dtype=bool)[np.arange(10) % 2]
    multi = read_npz(npz(tmp_path, X=X, y=labels))
    assert multi.task == "multilabel" and multi.y.dtype == np.int64
    assert multi.target_names == ["y0", "y1"]


def test_npz_test_labels_unseen_in_training_are_named(tmp_path: Path) -> None:
    X = np.zeros((4, 2))
    path = npz(tmp_path, X=X, y=np.array([0, 1, 0, 1]), X_test=X[:2], y_test=np.array([1, 9]))
    refused(
        r"y_test.*labels that y \(the training labels\) does not hold: 9 \(first at "
        r"y_test\[1\]\)",
        read_npz,
        path,
    )


def test_npz_object_array_is_refused(tmp_path: Path) -> None:
    path = npz(tmp_path, X=np.zeros((2, 2)), y=np.array(["a", None], dtype=object))
    err = refused("array 'y' is an object array", read_npz, path)
    assert "pickle" in str(err)


def test_npz_test_arrays_come_in_pairs(tmp_path: Path) -> None:
    X, y = np.zeros((3, 2)), np.array([0, 1, 0])
    refused("has X_test but no y_test", read_npz, npz(tmp_path, X=X, y=y, X_test=X))
    refused("has y_test but no X_test", read_npz, npz(tmp_path, X=X, y=y, y_test=y))


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"X": np.zeros(3), "y": np.zeros(3)}, r"X has shape \(3,\); expected \(n, d\)"),
        ({"X": np.zeros((3, 2)), "y": np.zeros(4)}, r"y has shape \(4,\); expected \(3,\)"),
        ({"X": np.zeros((3, 2)), "y": np.zeros((3, 2, 1))}, r"y has shape \(3, 2, 1\)"),
        (
            {
                "X": np.zeros((3, 2)),
                "y": np.array([0.5, 1.5, 2.5]),
                "X_test": np.zeros((2, 5)),
                "y_test": np.zeros(2),
            },
            r"X_test has shape \(2, 5\); expected 2 columns",
        ),
        (
            {
                "X": np.zeros((3, 2)),
                "y": np.zeros((3, 2)),
                "X_test": np.zeros((2, 2)),
                "y_test": np.zeros((2, 3)),
            },
            r"y_test has shape \(2, 3\); expected 2 target column",
        ),
        ({"X": np.zeros((0, 2)), "y": np.zeros(0)}, r"X has shape \(0, 2\)"),
        ({"X": np.array([["a", "b"]]), "y": np.zeros(1)}, "X has dtype <U1; expected numbers"),
        ({"X": np.zeros((2, 2)), "y": np.array([1.0, np.nan])}, r"y\[1\] is nan; targets "),
        ({"X": np.zeros((2, 2)), "y": np.array([1.0, np.inf])}, r"y\[1\] is inf"),
        ({"X": np.array([[0, np.nan]]), "y": np.zeros(1)}, r"X\[0, 1\] is nan; features must"),
        ({"X": np.zeros((2, 2)), "Y": np.zeros(2)}, "unexpected array 'Y'"),
        ({"X": np.zeros((2, 2))}, "no array 'y'"),
    ],
)
def test_npz_bad_arrays(tmp_path: Path, arrays: dict, match: str) -> None:
    err = refused(match, read_npz, npz(tmp_path, **arrays))
    assert "data.npz" in str(err)


def test_npz_not_an_archive(tmp_path: Path) -> None:
    refused("not an NPZ archive", read_npz, write(tmp_path, "a,b\n1,2\n", "data.npz"))
    np.save(tmp_path / "one.npy", np.zeros(3))
    refused("a .npy file", read_npz, tmp_path / "one.npy")
    refused("no such file", read_npz, tmp_path / "absent.npz")


def test_npz_explicit_task_is_checked(tmp_path: Path) -> None:
    X = np.zeros((3, 1))
    refused(
        r"y\[1\]: 0.5 is not a class label",
        read_npz,
        npz(tmp_path, X=X, y=np.array([0, 0.5, 1])),
        task="classification",
    )
    refused(
        "is not a number; regression targets",
        read_npz,
        npz(tmp_path, X=X, y=np.array(["a", "b", "a"])),
        task="regression",
    )


# --------------------------------------------------------------------------------------------
# The encoder
# --------------------------------------------------------------------------------------------


def _frame(tmp_path: Path) -> Tabular:
    rows = [f"{i},{['red', 'green', 'blue'][i % 3]},{i * i},{i % 2}" for i in range(12)]
    return read_csv(write(tmp_path, "a,color,b,y\n" + "\n".join(rows) + "\n"), "y")


def test_standardisation_statistics_come_from_the_training_rows_only(tmp_path: Path) -> None:
    data = _frame(tmp_path)
    train, _, test = split(data, val_fraction=0.25, test_fraction=0.25, seed=0)
    encoder = data.encoder().fit(data.rows(train))
    raw = TabularEncoder(standardize=False).fit(data.rows(train))
    train_raw = raw.transform(data.rows(train))
    np.testing.assert_allclose(encoder.mean_, train_raw.mean(axis=0))
    np.testing.assert_allclose(encoder.scale_, train_raw.std(axis=0))
    whole = raw.transform(data.features)
    assert not np.allclose(encoder.mean_, whole.mean(axis=0))  # not the statistics of all rows
    X_train = encoder.transform(data.rows(train))
    np.testing.assert_allclose(X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X_train.std(axis=0), 1)
    X_test = encoder.transform(data.rows(test))
    np.testing.assert_allclose(
        X_test, (raw.transform(data.rows(test)) - encoder.mean_) / encoder.scale_
    )


def test_constant_column_is_scaled_by_one(tmp_path: Path) -> None:
    encoder = TabularEncoder().fit(np.array([[0.1, 1.0], [0.1, 2.0], [0.1, 3.0]]))
    assert encoder.scale_[0] == 1.0
    np.testing.assert_allclose(encoder.transform(np.array([[0.1, 2.0]])), [[0.0, 0.0]], atol=1e-15)


def test_unseen_category_encodes_as_zeros(tmp_path: Path) -> None:
    data = _frame(tmp_path)
    encoder = TabularEncoder(standardize=False).fit(data.features)
    new = read_csv(write(tmp_path, "color,a,b\npurple,1,2\nred,3,4\n", "new.csv"), None)
    X = encoder.transform(new.features)  # columns found by name, in the encoder's order
    assert encoder.feature_names_ == ["a", "color=blue", "color=green", "color=red", "b"]
    np.testing.assert_array_equal(X, [[1, 0, 0, 0, 2], [3, 0, 0, 1, 4]])
    standardized = data.encoder().fit(data.features).transform(new.features)
    expected = (X - encoder.transform(data.features).mean(0)) / encoder.transform(
        data.features
    ).std(0)
    np.testing.assert_allclose(standardized, expected)


def test_round_trip_through_json_gives_the_same_transform(tmp_path: Path) -> None:
    text = "a,color,y\n1.5,red,0\n,blue,1\n2.25,,0\n7,red,1\n0.1,green,0\n"
    data = read_csv(write(tmp_path, text), "y", impute="median")
    for standardize in (True, False):
        encoder = data.encoder(standardize).fit(data.rows([0, 1, 2, 3]))
        saved = json.loads(json.dumps(encoder.to_dict()))
        again = TabularEncoder.from_dict(saved, source="model.json")
        assert again.to_dict() == encoder.to_dict()
        np.testing.assert_array_equal(
            again.transform(data.features), encoder.transform(data.features)
        )
        assert repr(again) == repr(encoder)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda d: d.update(format="other"), "'format'"),
        (lambda d: d.update(version=2), "'version' is 2"),
        (lambda d: d.update(impute="mode"), "'impute'"),
        (lambda d: d["columns"][0].update(kind="date"), "kind 'date'"),
        (lambda d: d["columns"][1].update(categories=["x", "x"]), "distinct texts"),
        (lambda d: d["columns"][0].update(fill="x"), "fill value 'x'"),
        (lambda d: d.update(feature_names=["a"]), "'feature_names'"),
        (lambda d: d.update(scale=[1.0, 0.0, 1.0, 1.0]), "'scale' must be positive"),
        (lambda d: d.update(mean=[1.0]), "'mean' must be 4 finite numbers"),
        (lambda d: d.update(columns=[]), "'columns'"),
    ],
)
def test_from_dict_refuses_a_damaged_dict(tmp_path: Path, change, match: str) -> None:
    text = "a,color,y\n1,red,0\n,blue,1\n3,green,0\n"
    encoder = (
        read_csv(write(tmp_path, text), "y", impute="mean")
        .encoder()
        .fit(read_csv(write(tmp_path, text), "y", impute="mean").features)
    )
    d = encoder.to_dict()
    change(d)
    with pytest.raises(DatasetError, match=f"model.json: .*{match}"):
        TabularEncoder.from_dict(d, source="model.json")
    with pytest.raises(DatasetError, match="expected a dict"):
        TabularEncoder.from_dict([1], source="model.json")


def test_transform_checks_the_new_data(tmp_path: Path) -> None:
    data = _frame(tmp_path)
    encoder = data.encoder().fit(data.features)
    new = write(tmp_path, "a,color\n1,red\n", "new.csv")
    err = refused(
        r"new.csv: no column 'b', a feature the encoder was fitted on",
        encoder.transform,
        read_csv(new, None).features,
    )
    assert "'a', 'color'" in str(err)
    import pandas as pd

    frame = pd.DataFrame({"a": ["1", "x"], "color": ["red", "red"], "b": [1.0, 2.0]})
    refused(
        r"row 1, column 'a': 'x' is not a number; the column is numeric", encoder.transform, frame
    )
    holes = pd.DataFrame({"a": [1.0, np.nan], "color": ["red", "red"], "b": [1.0, 2.0]})
    refused(r"row 1, column 'a' is missing", encoder.transform, holes)
    refused(
        "has 2 columns; the encoder was fitted on 3|features have 2 columns",
        encoder.transform,
        np.zeros((1, 2)),
    )
    refused("not fitted", TabularEncoder().transform, np.zeros((1, 2)))


def test_encoder_on_arrays(tmp_path: Path) -> None:
    X = np.array([[1.0, 10.0], [3.0, np.nan], [5.0, 30.0]])
    encoder = TabularEncoder(impute="mean", standardize=False).fit(X)
    assert encoder.columns_ == ["x0", "x1"] and encoder.fill_ == {"x0": 3.0, "x1": 20.0}
    np.testing.assert_array_equal(encoder.transform(X)[1], [3.0, 20.0])
    refused(r"row 1, column 'x1' is missing", TabularEncoder().fit, X)


# --------------------------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------------------------


def _labelled(n_per_class: list[int], task: str = "classification") -> Tabular:
    y = np.repeat(np.arange(len(n_per_class)), n_per_class)
    return Tabular("mem", np.zeros((len(y), 1)), y, ["x0"], ["y"], None, task)


def test_split_is_stratified_deterministic_and_a_partition() -> None:
    data = _labelled([60, 30, 10])
    train, val, test = split(data, 0.2, 0.1, seed=3)
    assert (len(train), len(val), len(test)) == (70, 20, 10)
    assert np.array_equal(np.sort(np.concatenate([train, val, test])), np.arange(100))
    np.testing.assert_array_equal(np.bincount(data.y[val], minlength=3), [12, 6, 2])
    np.testing.assert_array_equal(np.bincount(data.y[test], minlength=3), [6, 3, 1])
    again = split(data, 0.2, 0.1, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again, strict=True))
    other = split(data, 0.2, 0.1, seed=4)
    assert not np.array_equal(other[1], val)
    assert all(p.dtype == np.int64 for p in (train, val, test))


def test_small_classes_keep_one_example_for_training() -> None:
    data = _labelled([2, 2, 2, 20])
    train, val, test = split(data, 0.3, 0.3, seed=0)
    assert set(data.y[train]) == {0, 1, 2, 3}
    assert len(val) == 8 and len(test) == 8


def test_split_falls_back_to_shuffling_for_a_single_example_class_and_regression() -> None:
    lonely = _labelled([10, 1])
    train, val, test = split(lonely, 0.2, 0.0, seed=0)
    assert len(val) == 2 and len(test) == 0 and len(train) == 9
    regression = _labelled([10, 10], task="regression")
    assert len(split(regression, 0.5, 0.0, seed=0)[1]) == 10


def test_split_refuses_bad_fractions_and_too_few_rows() -> None:
    data = _labelled([2, 1])
    with pytest.raises(ConfigError, match="val_fraction must be"):
        split(data, 1.0, 0.0)
    with pytest.raises(ConfigError, match="below 1"):
        split(data, 0.5, 0.5)
    with pytest.raises(ConfigError, match="seed"):
        split(data, 0.1, 0.1, seed=-1)
    refused("2 rows are too few", split, _labelled([1, 1]), 0.3, 0.3)


def test_prepare_csv_gives_the_six_arrays(tmp_path: Path) -> None:
    data = _frame(tmp_path)
    encoder, arrays = prepare(data, val_fraction=0.25, test_fraction=0.25, seed=0, dtype=np.float32)
    assert sorted(arrays) == ["X_test", "X_train", "X_val", "y_test", "y_train", "y_val"]
    assert arrays["X_train"].dtype == np.float32
    assert arrays["X_train"].shape == (6, encoder.n_features) and encoder.n_features == 5
    assert len(arrays["y_val"]) == 3 and arrays["y_val"].dtype == np.int64
    unlabelled = read_csv(write(tmp_path, "a\n1\n2\n", "u.csv"), None)
    with pytest.raises(ConfigError, match="without a target"):
        prepare(unlabelled)


def test_the_saved_encoder_and_target_info_read_a_new_file_the_same_way(tmp_path: Path) -> None:
    data = read_csv(write(tmp_path, CLASSIFICATION), "label")
    encoder, arrays = prepare(data, val_fraction=0.0, test_fraction=0.0)
    saved = json.loads(json.dumps({"encoder": encoder.to_dict(), **data.target_info()}))
    # The same rows, columns reordered, an extra column, as `layerwise evaluate` would read them.
    new_text = "note,label,height,color,age\n" + "".join(
        f"x,{lab},{h},{c},{a}\n"
        for a, c, h, lab in (line.split(",") for line in CLASSIFICATION.splitlines()[1:])
    )
    restored = TabularEncoder.from_dict(saved["encoder"], source="model.json")
    new = read_csv(
        write(tmp_path, new_text, "new.csv"),
        saved["target_names"] or None,
        task=saved["task"],
        impute=restored.impute,
        features=restored.columns_,
        classes=saved["classes"],
    )
    np.testing.assert_array_equal(restored.transform(new.features), arrays["X_train"])
    np.testing.assert_array_equal(new.y, data.y)
