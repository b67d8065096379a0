"""Preprocessing fitted on the training images (layerwise.preprocess): the statistics it learns,
ZCA's whitening, the file it is saved in, and the recipe, run folder and evaluate around it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from layerwise import Recipe
from layerwise.errors import ConfigError
from layerwise.preprocess import Preprocessor, check_preprocess


def correlated(n=3000, channels=2, side=3, seed=0):
    """Images whose pixels are strongly correlated, with channel offsets and scales."""
    rng = np.random.default_rng(seed)
    d = channels * side * side
    mixing = rng.normal(size=(d, d)) + 3 * np.eye(d)
    X = rng.normal(size=(n, d)) @ mixing
    X = (
        X.reshape(n, channels, side, side) * np.array([2.0, 50.0])[:, None, None]
        + np.array([5.0, -100.0])[:, None, None]
    )
    return X.astype(np.float64)


@pytest.mark.parametrize(
    ("value", "normal"),
    [
        ("none", "none"),
        ("standardize", "standardize"),
        ("zca", "zca:0.1"),
        ("zca:1e-3", "zca:0.001"),
    ],
)
def test_check_preprocess_normalises(value, normal):
    assert check_preprocess(value) == normal


@pytest.mark.parametrize(
    ("value", "words"),
    [("whiten", "one of none, standardize, zca[:EPS]"), ("zca:0", "EPS must be a number > 0"),
     ("zca:x", "EPS must be a number > 0"), ("standardize:1", "one of none"), (3, "one of none")],
)  # fmt: skip
def test_bad_kinds_are_named(value, words):
    with pytest.raises(ConfigError) as e:
        check_preprocess(value)
    assert words in str(e.value) and e.value.field == "preprocess"


def test_standardize_gives_each_channel_mean_0_and_std_1():
    X = correlated()
    pre = Preprocessor("standardize", channels=2).fit(X)
    Z = pre.transform(X).reshape(len(X), 2, -1)
    np.testing.assert_allclose(Z.mean(axis=(0, 2)), 0, atol=1e-10)
    np.testing.assert_allclose(Z.std(axis=(0, 2)), 1, rtol=1e-10)
    np.testing.assert_allclose(pre.mean_, X.reshape(len(X), 2, -1).mean(axis=(0, 2)))


def test_zca_whitens_the_training_images():
    X = correlated()
    pre = Preprocessor("zca:1e-8", channels=2).fit(X)
    Z = pre.transform(X).reshape(len(X), -1)
    np.testing.assert_allclose(np.cov(Z, rowvar=False, bias=True), np.eye(18), atol=1e-4)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-8)
    np.testing.assert_allclose(pre.whitening_, pre.whitening_.T, atol=1e-10)  # ZCA: symmetric


def test_zca_epsilon_damps_the_smallest_directions():
    X = correlated()
    tight = Preprocessor("zca:1e-8", channels=2).fit(X).transform(X).reshape(len(X), -1)
    damped = Preprocessor("zca:1", channels=2).fit(X).transform(X).reshape(len(X), -1)
    assert np.linalg.eigvalsh(np.cov(damped, rowvar=False)).max() < 1.0
    assert np.linalg.eigvalsh(np.cov(tight, rowvar=False)).min() > 0.99


def test_fitted_on_the_training_images_only():
    X = correlated()
    train, other = X[:2000], X[2000:] + 7.0
    pre = Preprocessor("standardize", channels=2).fit(train)
    by_channel = train.reshape(len(train), 2, -1)
    mean, std = by_channel.mean(axis=(0, 2)), by_channel.std(axis=(0, 2))
    expected = (other - mean[:, None, None]) / std[:, None, None]
    np.testing.assert_allclose(pre.transform(other), expected, rtol=1e-10)


def test_in_place_keeps_dtype_and_shape():
    X = correlated().astype(np.float32)
    pre = Preprocessor("zca", channels=2).fit(X)
    expected = pre.transform(X)
    out = pre.transform(X, inplace=True)
    assert out is X and out.dtype == np.float32 and out.shape == (3000, 2, 3, 3)
    np.testing.assert_array_equal(X, expected)


def test_transform_refuses_other_images_and_an_unfitted_preprocessor():
    pre = Preprocessor("standardize", channels=2)
    with pytest.raises(ConfigError, match="before fit"):
        pre.transform(correlated())
    pre.fit(correlated())
    with pytest.raises(ConfigError, match="fitted on 18"):
        pre.transform(np.zeros((3, 2, 4, 4)))
    with pytest.raises(ConfigError, match="do not split into 2 channels"):
        pre.transform(np.zeros((3, 5)))
    with pytest.raises(ConfigError, match="expected a float array"):
        pre.fit(np.zeros((3, 18), dtype=np.int64))


@pytest.mark.parametrize("kind", ["standardize", "zca:0.01"])
def test_save_and_load_round_trip(tmp_path, kind):
    X = correlated()
    pre = Preprocessor(kind, channels=2).fit(X)
    path = pre.save(tmp_path / "preprocess.npz")
    back = Preprocessor.load(path)
    assert back.kind == kind and back.channels == 2
    np.testing.assert_allclose(back.transform(X), pre.transform(X), rtol=1e-5, atol=1e-5)
    with np.load(path, allow_pickle=False) as f:  # nothing pickled
        assert {"kind", "mean", "std"} <= set(f.files)


def test_a_damaged_file_is_named(tmp_path):
    bad = tmp_path / "preprocess.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="not a readable preprocessing file"):
        Preprocessor.load(bad)


def test_recipe_preprocesses_every_split_and_the_run_keeps_it(tmp_path, capsys):
    from layerwise.cli import main
    from layerwise.runs import RunFolder, train_run

    recipe = Recipe.from_options(dataset="digits", preprocess="standardize", epochs=2)
    assert Recipe.from_dict(json.loads(json.dumps(recipe.to_dict()))) == recipe
    assert "preprocess" not in Recipe.from_options(dataset="digits").to_dict()
    data = recipe.build_data()
    assert isinstance(data["preprocessor"], Preprocessor)
    assert abs(float(data["X_train"].mean())) < 1e-5
    assert abs(float(data["X_train"].std()) - 1) < 1e-4
    folder = RunFolder.create(tmp_path / "run")
    result = train_run(recipe, folder, verbose=False, figures=False)
    saved = folder.load_preprocessor()
    np.testing.assert_allclose(saved.mean_, data["preprocessor"].mean_)
    # evaluate applies the saved transform: the same test accuracy as the run's metrics
    capsys.readouterr()
    assert main(["evaluate", str(folder.path)]) == 0
    assert f"test accuracy: {result.metrics['test_acc']:.6f}" in capsys.readouterr().out
    # and without it the numbers would differ: the raw images give another accuracy
    raw = Recipe.from_options(dataset="digits", epochs=2).build_data()
    from layerwise.runs import accuracy

    assert accuracy(result.model, raw["X_test"], raw["y_test"]) != result.metrics["test_acc"]
    with pytest.raises(ConfigError, match="saved preprocessing is 'standardize'"):
        recipe.replace(preprocess="zca").build_data(preprocessor=saved)


def test_recipe_refuses_preprocess_for_own_files(tmp_path):
    path = tmp_path / "rows.npz"
    np.savez(path, X=np.zeros((20, 3)), y=np.arange(20) % 2)
    with pytest.raises(ConfigError, match="preprocess is for the image datasets"):
        Recipe.from_options(dataset=f"npz:{path}", preprocess="standardize")
