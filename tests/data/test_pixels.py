"""PixelScaling: new images made into model inputs exactly as each built-in loader makes its own,
and ``layerwise predict`` on a run trained on images."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from dataset_files import make_small_cifar
from layerwise import cli
from layerwise.data import get_CIFAR10_data, load_dataset
from layerwise.data.pixels import PixelScaling
from layerwise.errors import ConfigError
from layerwise.recipe import Recipe
from layerwise.runs import RunFolder


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    return rc, out.getvalue(), err.getvalue()


def _digit_images() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return np.asarray(digits.images), np.asarray(digits.target)  # (1797, 8, 8) 0..16


def test_digits_rows_are_the_loaders_rows() -> None:
    data = load_dataset("digits", pixels=True)
    pixels = data["pixels"]
    assert isinstance(pixels, PixelScaling) and pixels.mean is None
    images, _ = _digit_images()
    rows = pixels.transform(images)
    assert rows.shape == (1797, 64) and rows.dtype == np.float32
    made = {r.tobytes() for r in rows}
    # Every row the loader gave is, bit for bit, one of the rows made from the pixels.
    for split in ("train", "val", "test"):
        assert all(r.tobytes() in made for r in data[f"X_{split}"])
    assert np.array_equal(pixels.transform(images.reshape(-1, 64)), rows)
    assert "pixels" not in load_dataset("digits")  # only when asked for


@pytest.mark.slow
def test_mnist_rows_are_the_loaders_rows(mnist_dir: Path) -> None:
    from layerwise.data.mnist import load_mnist

    data = load_dataset("mnist", data_dir=mnist_dir, pixels=True)
    _, _, test_images, _ = load_mnist(mnist_dir)
    rows = data["pixels"].transform(test_images[:500])
    assert np.array_equal(rows, data["X_test"][:500])


def test_cifar10_rows_are_the_loaders_rows(tmp_path: Path) -> None:
    small = make_small_cifar(tmp_path / "cifar")
    data = get_CIFAR10_data(40, 5, 7, data_dir=small.root, dtype=np.float32, return_mean=True)
    mean = data.pop("mean_image")
    assert mean.shape == (3, 32, 32) and mean.dtype == np.float64
    expected = small.train_rows[:40].astype(np.float64).mean(axis=0).reshape(3, 32, 32)
    assert np.array_equal(mean, expected)
    pixels = PixelScaling("cifar10", mean)
    flat = small.test_rows  # (7, 3072) channels first, as the batches hold them
    channels_last = flat.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    want = data["X_test"].reshape(7, -1)
    for images in (flat, flat.reshape(-1, 3, 32, 32), channels_last, flat.astype(np.float64)):
        assert np.array_equal(pixels.transform(images), want)
    f64 = pixels.transform(flat, dtype=np.float64)
    assert f64.dtype == np.float64 and np.allclose(f64, want, atol=1e-4)
    with pytest.raises(ConfigError, match="return_mean=True needs subtract_mean=True"):
        get_CIFAR10_data(40, 5, 7, subtract_mean=False, data_dir=small.root, return_mean=True)


@pytest.mark.parametrize(
    ("images", "words"),
    [
        (np.zeros((3, 27, 28)), "expected mnist images of shape (N, 784) or (N, 28, 28)"),
        (np.zeros((0, 784)), "with N >= 1; got shape (0, 784)"),
        (np.zeros(784), "got shape (784,)"),
        (np.full((2, 784), 256), "in 0..255 (the mnist files' range); image 0 has 256.0"),
        (np.full((2, 784), -1.0), "image 0 has -1.0"),
        (np.where(np.eye(2, 784) > 0, np.nan, 0), "image 0 has nan"),
        (np.zeros((2, 784), dtype=bool), "expected pixel values (integers or floats), got dtype"),
        (np.array([["a"] * 784]), "got dtype <U1"),
    ],
)
def test_bad_images_are_refused_by_name(images: np.ndarray, words: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(words)) as info:
        PixelScaling("mnist").transform(images, source="new.npz")
    assert str(info.value).startswith("new.npz: ") and info.value.field == "input"


def test_constructor_checks() -> None:
    with pytest.raises(ConfigError, match="built-in image datasets"):
        PixelScaling("csv:x.csv")
    with pytest.raises(ConfigError, match="cifar10's pixel scaling needs mean image"):
        PixelScaling("cifar10")
    with pytest.raises(ConfigError, match="mnist's pixel scaling takes no mean image"):
        PixelScaling("mnist", np.zeros((28, 28)))
    with pytest.raises(ConfigError, match=r"of shape \(3, 32, 32\); got shape \(3072,\)"):
        PixelScaling("cifar10", np.zeros(3072))
    with pytest.raises(ConfigError, match="must be finite"):
        PixelScaling("cifar10", np.full((3, 32, 32), np.inf))


def test_save_and_load(tmp_path: Path) -> None:
    mean = np.random.default_rng(0).uniform(0, 255, (3, 32, 32))
    back = PixelScaling.load(PixelScaling("cifar10", mean).save(tmp_path / "pixels.npz"))
    assert back.dataset == "cifar10" and np.array_equal(back.mean, mean)
    assert PixelScaling.load(PixelScaling("digits").save(tmp_path / "d.npz")).mean is None
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="not a readable pixel-scaling file"):
        PixelScaling.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "nomean.npz", dataset=np.array("cifar10"))
    with pytest.raises(ConfigError, match="is damaged: cifar10's pixel scaling needs"):
        PixelScaling.load(tmp_path / "nomean.npz")


# ------------------------------------------------------------------------------------------
# layerwise predict on an image run


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("pixels") / "run"
    argv = ["train", "--hidden", "32", "--epochs", "8", "--preprocess", "standardize"]
    rc, _, err = _run([*argv, "--quiet", "--out", str(run)])
    assert rc == 0, err
    return run


def _predictions(run: Path, images: np.ndarray, tmp_path: Path) -> list[dict[str, str]]:
    path = tmp_path / "new.npz"
    np.savez(path, X=images)
    rc, out, err = _run(["predict", str(run), "--input", str(path)])
    assert rc == 0, err
    return list(csv.DictReader(io.StringIO(out)))


def test_predict_digit_images(digits_run: Path, tmp_path: Path) -> None:
    assert (digits_run / "pixels.npz").is_file() and (digits_run / "preprocess.npz").is_file()
    images, labels = _digit_images()
    rows = _predictions(digits_run, images.astype(np.uint8), tmp_path)
    assert len(rows) == 1797
    assert list(rows[0]) == ["prediction", *(f"p_{k}" for k in range(10))]
    predicted = np.array([int(r["prediction"]) for r in rows])
    assert (predicted == labels).mean() >= 0.9  # mostly its own training images
    probs = np.array([[float(r[f"p_{k}"]) for k in range(10)] for r in rows])
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    # The same as the model on the loader's own (standardised) test rows, row for row.
    folder = RunFolder(digits_run)
    data = folder.recipe().build_data(preprocessor=folder.load_preprocessor())
    model = folder.load_model()
    by_row = {r.tobytes(): i for i, r in enumerate(folder.load_pixels().transform(images))}
    raw = load_dataset("digits")["X_test"]
    index = [by_row[r.tobytes()] for r in raw]
    expected = np.argmax(model.loss(data["X_test"]), axis=1)
    assert np.array_equal(predicted[index], expected)


def test_predict_a_run_from_before_pixels_npz(digits_run: Path, tmp_path: Path) -> None:
    import shutil

    old = Path(shutil.copytree(digits_run, tmp_path / "old"))
    (old / ".run.lock").unlink(missing_ok=True)
    (old / "pixels.npz").unlink()
    images, _ = _digit_images()
    fresh = _predictions(digits_run, images[:20], tmp_path)
    assert _predictions(old, images[:20], tmp_path) == fresh  # digits need nothing fitted


def test_predict_image_errors(digits_run: Path, tmp_path: Path) -> None:
    np.savez(tmp_path / "big.npz", X=np.full((2, 8, 8), 17))
    rc, out, err = _run(["predict", str(digits_run), "--input", str(tmp_path / "big.npz")])
    assert rc == 2 and out == "" and "0..16 (the digits files' range)" in err
    (tmp_path / "rows.csv").write_text("a,b\n1,2\n")
    rc, _, err = _run(["predict", str(digits_run), "--input", str(tmp_path / "rows.csv")])
    assert rc == 2 and "predicts images from an .npz file" in err
    # A CIFAR-10 run from before runs kept its mean image says so.
    old = tmp_path / "cifar-run"
    old.mkdir()
    recipe = Recipe.from_options(dataset="cifar10")
    (old / "config.json").write_text(json.dumps({"recipe": recipe.to_dict()}))
    with pytest.raises(ConfigError, match=r"has no pixels\.npz .*train it again"):
        RunFolder(old).load_pixels()
