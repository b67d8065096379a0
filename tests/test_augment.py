"""Minibatch augmentation (layerwise.augment): specs, each transform's geometry and statistics,
the identity at 0, the seed fixing the draws, and the Solver and recipe around it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

from layerwise import Recipe, Solver
from layerwise.augment import (
    AUGMENT_KEYS,
    Augmenter,
    _smoothing,
    check_augment,
    format_augment,
    parse_augment,
)
from layerwise.errors import ConfigError
from layerwise.models import TwoLayerNet


def images(n=64, shape=(28, 28), seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, int(np.prod(shape))), dtype=np.float32)


# ------------------------------------------------------------------------------------------
# specs


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("shift=2", {"shift": 2}),
        ("shift=4,flip", {"shift": 4, "flip": True}),
        ("rotate=10, scale=0.1", {"rotate": 10.0, "scale": 0.1}),
        ("elastic=34,sigma=6", {"elastic": 34.0, "sigma": 6.0}),
        ("flip=false,shift=1", {"shift": 1}),
        ("none", {}),
        ("shift=0,rotate=0", {}),
    ],
)
def test_parse_and_format_round_trip(text, spec):
    assert parse_augment(text) == spec
    assert parse_augment(format_augment(spec)) == spec


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("shift=x", "shift=VALUE with VALUE an integer"),
        ("shift=-1", "shift must be an integer number of pixels >= 0; got -1"),
        ("shift=1.5", "an integer number of pixels"),
        ("rotate=200", "rotate must be an angle in degrees in [0, 180]"),
        ("scale=1", "scale must be a zoom fraction in [0, 1)"),
        ("elastic=nan", "elastic must be a displacement scale"),
        ("sigma=2", "sigma is the width of the elastic distortion"),
        ("crop=2", "KEY one of shift, flip"),
        ("flip=maybe", "expected flip or flip=true/false"),
    ],
)
def test_bad_specs_are_named(value, words):
    with pytest.raises(ConfigError, match=None) as e:
        parse_augment(value)
    assert words in str(e.value)


def test_check_augment_refuses_what_is_not_a_spec():
    with pytest.raises(ConfigError, match="must be a dict"):
        check_augment("shift=2")
    with pytest.raises(ConfigError, match="unknown setting"):
        check_augment({"zoom": 0.1})
    with pytest.raises(ConfigError, match="flip must be true or false"):
        check_augment({"flip": 1})
    assert set(AUGMENT_KEYS) == {"shift", "flip", "rotate", "scale", "elastic", "sigma"}


def test_a_minibatch_of_the_wrong_size_is_refused():
    with pytest.raises(ConfigError, match=r"images \(28, 28\)"):
        Augmenter({"shift": 1}, (28, 28))(np.zeros((4, 100), np.float32), np.random.default_rng())


# ------------------------------------------------------------------------------------------
# the transforms


def test_identity_at_zero_draws_nothing():
    X = images()
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    out = Augmenter({"shift": 0, "rotate": 0.0, "flip": False}, (28, 28))(X.copy(), rng)
    np.testing.assert_array_equal(out, X)
    assert rng.bit_generator.state == before
    assert not Augmenter({}, (28, 28))


@pytest.mark.parametrize(
    "spec",
    [{"shift": 2}, {"flip": True}, {"rotate": 15.0, "scale": 0.1}, {"elastic": 34.0}],
)
@pytest.mark.parametrize("shape", [(28, 28), (3, 8, 8)])
def test_shape_dtype_and_value_range_are_kept(spec, shape):
    X = images(shape=shape) + 0.5  # values in [0.5, 1.5): the zeros that come in are new
    out = Augmenter(spec, shape)(X.copy(), np.random.default_rng(1))
    assert out.shape == X.shape and out.dtype == X.dtype
    # every output value is a convex combination of input values and zeros
    assert out.min() >= 0 and out.max() <= X.max() + 1e-6
    assert not np.array_equal(out, X)


def test_in_place_and_returned():
    X = images()
    out = Augmenter({"shift": 2}, (28, 28))(X, np.random.default_rng(0))
    assert out is X


def test_shift_is_a_whole_pixel_translation_with_zeros():
    rng = np.random.default_rng(3)
    X = images(200, (3, 6, 6)) + 1.0  # no zero inside an image
    out = Augmenter({"shift": 2}, (3, 6, 6))(X.copy(), rng)
    src, dst = X.reshape(-1, 3, 6, 6), out.reshape(-1, 3, 6, 6)
    seen = set()
    for a, b in zip(src, dst, strict=True):
        padded = np.pad(a, ((0, 0), (2, 2), (2, 2)))
        matches = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if np.array_equal(padded[:, 2 + dy : 8 + dy, 2 + dx : 8 + dx], b)
        ]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) == 25  # every move of the 5 x 5 drawn in 200 images


def test_flip_mirrors_about_half():
    X = images(2000, (3, 4, 4))
    out = Augmenter({"flip": True}, (3, 4, 4))(X.copy(), np.random.default_rng(0))
    src, dst = X.reshape(-1, 3, 4, 4), out.reshape(-1, 3, 4, 4)
    same = np.all(src == dst, axis=(1, 2, 3))
    mirrored = np.all(src[..., ::-1] == dst, axis=(1, 2, 3))
    assert np.all(same ^ mirrored)
    assert 0.45 < mirrored.mean() < 0.55


def test_rotation_and_zoom_match_scipy_bilinear():
    shape = (2, 9, 7)
    X = images(5, shape)
    out = Augmenter({"rotate": 40.0, "scale": 0.2}, shape)(X.copy(), np.random.default_rng(4))
    draws = np.random.default_rng(4)
    angle = np.deg2rad(draws.uniform(-40, 40, 5))
    zoom = 1 + draws.uniform(-0.2, 0.2, 5)
    yy, xx = np.mgrid[0:9, 0:7].astype(float)
    yy, xx = yy - 4, xx - 3
    for i, img in enumerate(X.reshape(5, *shape).astype(np.float64)):
        c, s = np.cos(angle[i]) / zoom[i], np.sin(angle[i]) / zoom[i]
        coords = [c * yy - s * xx + 4, s * yy + c * xx + 3]
        for ch in range(2):
            ref = ndimage.map_coordinates(img[ch], coords, order=1, mode="grid-constant")
            np.testing.assert_allclose(out.reshape(5, *shape)[i, ch], ref, atol=2e-6)


def test_small_rotation_is_nearly_the_identity():
    X = images()
    out = Augmenter({"rotate": 1e-4}, (28, 28))(X.copy(), np.random.default_rng(0))
    np.testing.assert_allclose(out, X, atol=1e-4)


def test_elastic_smoothing_is_scipys_gaussian_filter():
    noise = np.random.default_rng(0).uniform(-1, 1, (28, 28))
    smooth = _smoothing(28, 4.0) @ noise @ _smoothing(28, 4.0).T
    np.testing.assert_allclose(smooth, ndimage.gaussian_filter(noise, 4.0, mode="constant"))


def test_elastic_moves_pixels_by_about_simards_amount():
    # A horizontal ramp image: a pixel's new value tells how far along x it was read from.
    ramp = np.tile(np.arange(28, dtype=np.float32), (28, 1)).reshape(1, -1)
    X = np.repeat(ramp, 200, axis=0)
    out = Augmenter({"elastic": 34.0}, (28, 28))(X.copy(), np.random.default_rng(0))
    inner = (slice(None), slice(6, 22), slice(6, 22))  # away from the zero border
    moved = np.abs(out.reshape(-1, 28, 28)[inner] - X.reshape(-1, 28, 28)[inner])
    assert 0.5 < moved.mean() < 4.0  # Simard's alpha 34, sigma 4: moves of ~2 pixels


def test_the_seed_fixes_the_draw():
    spec = {"shift": 2, "rotate": 10.0, "scale": 0.1, "elastic": 20.0}
    X = images()
    a = Augmenter(spec, (28, 28))(X.copy(), np.random.default_rng(7))
    b = Augmenter(spec, (28, 28))(X.copy(), np.random.default_rng(7))
    c = Augmenter(spec, (28, 28))(X.copy(), np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# ------------------------------------------------------------------------------------------
# the Solver and the recipe


def small_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 64), dtype=np.float32)
    y = rng.integers(0, 10, n)
    return {"X_train": X, "y_train": y, "X_val": X[:50], "y_val": y[:50]}


def make_model():
    return TwoLayerNet(64, 20, 10, rng=np.random.default_rng(0))


def test_the_solver_augments_every_training_batch_and_nothing_else():
    data = small_data()
    original = data["X_train"].copy()
    seen = []

    def record(X, rng):
        assert isinstance(rng, np.random.Generator)
        seen.append(X.shape)
        X *= 0.5

    Solver(
        make_model(), data, augment=record, batch_size=20, num_epochs=2, verbose=False, seed=1
    ).train()
    assert seen == [(20, 64)] * 20
    np.testing.assert_array_equal(data["X_train"], original)  # the training set is untouched


def test_the_solver_refuses_an_augment_that_is_no_function():
    with pytest.raises(ConfigError, match="augment must be a function"):
        Solver(make_model(), small_data(), augment="shift=2")


def test_augmented_training_resumes_bit_identically(tmp_path):
    aug = Augmenter({"shift": 1, "rotate": 10.0}, (8, 8))
    kwargs = dict(batch_size=20, verbose=False, seed=3, restore_best=False, augment=aug)
    data = small_data()
    straight = make_model()
    Solver(straight, data, num_epochs=4, **kwargs).train()
    first = make_model()
    Solver(first, data, num_epochs=2, checkpoint_name=str(tmp_path / "c"), **kwargs).train()
    resumed_model = make_model()
    Solver(resumed_model, data, num_epochs=4, **kwargs).resume(tmp_path / "c_latest").train()
    for k in straight.params:
        np.testing.assert_array_equal(resumed_model.params[k], straight.params[k])
    # and the augmentation changed the run
    plain = make_model()
    Solver(plain, data, num_epochs=4, **{**kwargs, "augment": None}).train()
    assert not np.array_equal(plain.params["theta1"], straight.params["theta1"])


def test_recipe_round_trips_augment_and_builds_the_augmenter():
    recipe = Recipe.from_options(dataset="digits", augment={"shift": 1, "rotate": 5}, epochs=1)
    assert recipe.augment == {"shift": 1, "rotate": 5.0}
    back = Recipe.from_dict(json.loads(json.dumps(recipe.to_dict())))
    assert back == recipe
    data = recipe.build_data()
    solver = recipe.build_solver(recipe.build_model(data), data, verbose=False)
    assert isinstance(solver.augment, Augmenter) and solver.augment.image_shape == (8, 8)
    # no augmentation: the recipe's JSON is as before the setting existed
    assert "augment" not in Recipe.from_options(dataset="digits").to_dict()
    assert Recipe.from_options(dataset="digits", augment={}).augment is None


def test_recipe_refuses_flip_for_digits_and_augment_for_own_files(tmp_path):
    with pytest.raises(ConfigError, match="flip mirrors the images") as e:
        Recipe.from_options(dataset="mnist", augment={"flip": True})
    assert e.value.field == "augment"
    path = tmp_path / "rows.npz"
    np.savez(path, X=np.zeros((20, 3)), y=np.arange(20) % 2)
    with pytest.raises(ConfigError, match="augment is for the image datasets"):
        Recipe.from_options(dataset=f"npz:{path}", augment={"shift": 1})
