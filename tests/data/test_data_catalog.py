"""The dataset catalog (layerwise.data.catalog): one entry per loadable dataset, whose image
shape, classes and trainable count agree with what its loader gives."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from dataset_files import CIFAR_BATCH_SIZES, CIFAR_LABEL_NAMES, SmallCifar, SmallMnist
from layerwise import data as data_pkg
from layerwise.data import (
    CATALOG,
    DATASETS,
    DatasetInfo,
    check_val_size,
    dataset_info,
    get_CIFAR10_data,
    get_MNIST_data,
    load_dataset,
    load_digits_data,
)
from layerwise.data import cifar10 as cifar_module
from layerwise.errors import ConfigError


def test_every_dataset_has_an_entry() -> None:
    assert DATASETS == tuple(CATALOG) == ("digits", "mnist", "cifar10")
    for name in DATASETS:
        info = dataset_info(name)
        assert info is CATALOG[name] and info.name == name and info.title
        assert info.num_classes == 10
        assert 0 < info.default_val < info.trainable


def test_entries_are_read_only() -> None:
    with pytest.raises(TypeError):
        CATALOG["x"] = CATALOG["digits"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        CATALOG["digits"].trainable = 5  # type: ignore[misc]


@pytest.mark.parametrize("name", DATASETS)
def test_class_names_are_none_or_one_per_class(name: str) -> None:
    info = dataset_info(name)
    if info.class_names is not None:
        assert len(info.class_names) == info.num_classes
        assert len(set(info.class_names)) == info.num_classes
        assert all(isinstance(c, str) and c for c in info.class_names)


def test_the_known_shapes_and_names() -> None:
    assert dataset_info("digits").image_shape == (8, 8)
    assert dataset_info("mnist").image_shape == (28, 28)
    assert dataset_info("cifar10").image_shape == (3, 32, 32)
    assert math.prod(dataset_info("mnist").image_shape) == 784
    assert math.prod(dataset_info("cifar10").image_shape) == 3 * 32 * 32
    assert dataset_info("digits").class_names is None
    assert dataset_info("mnist").class_names is None
    assert dataset_info("cifar10").class_names == tuple(CIFAR_LABEL_NAMES)
    assert dataset_info("digits").offline and not dataset_info("mnist").offline
    assert (dataset_info("mnist").trainable, dataset_info("cifar10").trainable) == (60_000, 50_000)
    assert dataset_info("digits").trainable == 1797 - 360


def test_digits_agrees_with_its_loader() -> None:
    info = dataset_info("digits")
    data = load_digits_data(num_validation=info.default_val)
    assert data["X_train"].shape[1] == math.prod(info.image_shape) == 64
    assert len(data["X_train"]) + len(data["X_val"]) == info.trainable
    assert len(data["X_val"]) == info.default_val
    labels = np.concatenate([data[f"y_{s}"] for s in ("train", "val", "test")])
    assert set(labels.tolist()) == set(range(info.num_classes))
    default = load_dataset("digits")
    assert len(default["X_val"]) == info.default_val


def test_mnist_agrees_with_its_loader(small_mnist: SmallMnist) -> None:
    info = dataset_info("mnist")
    flat = get_MNIST_data(20, 5, 6, data_dir=small_mnist.folder, verify=False)
    assert flat["X_train"].shape == (20, math.prod(info.image_shape))
    images = get_MNIST_data(20, 5, 6, data_dir=small_mnist.folder, verify=False, flatten=False)
    assert images["X_train"].shape[2:] == info.image_shape


def test_cifar10_agrees_with_its_loader(small_cifar: SmallCifar) -> None:
    info = dataset_info("cifar10")
    data = get_CIFAR10_data(30, 10, 5, data_dir=small_cifar.root)
    assert data["X_train"].shape == (30, *info.image_shape)
    assert int(np.prod(data["X_train"].shape[1:])) == 3 * 32 * 32
    assert info.class_names == cifar_module.CLASSES
    assert sum(CIFAR_BATCH_SIZES) < info.trainable  # the small copy is only part of it


@pytest.mark.parametrize("name", ["imagenet", "", "MNIST", None, 3])
def test_an_unknown_dataset_lists_the_names(name: object) -> None:
    with pytest.raises(ConfigError) as info:
        dataset_info(name)  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith(f"unknown dataset {name!r}; expected one of")
    assert "digits, mnist, cifar10" in message
    assert info.value.field == "dataset"


# --------------------------------------------------------------------------------------------
# check_val_size
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DATASETS)
def test_check_val_size_splits_the_trainable_images(name: str) -> None:
    trainable, least = dataset_info(name).trainable, dataset_info(name).min_split
    assert check_val_size(name, None) is None
    assert check_val_size(name, least) == (trainable - least, least)
    assert check_val_size(name, np.int64(100)) == (trainable - 100, 100)
    assert check_val_size(name, trainable - least) == (least, trainable - least)
    with pytest.raises(ConfigError, match=f"val_size {trainable} leaves no training") as info:
        check_val_size(name, trainable)
    assert info.value.field == "val_size"
    assert f"{trainable:,} training images" in str(info.value)


@pytest.mark.parametrize("value", [0, -5, 2.5, True, "10"])
def test_check_val_size_refuses_what_is_no_count(value: object) -> None:
    with pytest.raises(ConfigError, match="val_size must be a positive integer") as info:
        check_val_size("digits", value)
    assert info.value.field == "val_size" and repr(value) in str(info.value)


def test_check_val_size_refuses_an_unknown_dataset() -> None:
    with pytest.raises(ConfigError, match="unknown dataset 'imagenet'"):
        check_val_size("imagenet", None)


def test_check_val_size_reads_the_catalogs_trainable(monkeypatch: pytest.MonkeyPatch) -> None:
    small = dataclasses.replace(CATALOG["mnist"], trainable=50)
    monkeypatch.setattr(data_pkg, "dataset_info", lambda name: small)
    assert check_val_size("mnist", 49) == (1, 49)
    with pytest.raises(ConfigError, match="mnist has 50 training images"):
        check_val_size("mnist", 50)


@pytest.mark.parametrize("val_size", [5, 1430])
def test_check_val_size_refuses_what_digits_cannot_load(val_size: int) -> None:
    """digits' split is stratified, so each split needs a row per class: the check (which
    needs no files) refuses what the loader would, naming --val-size's field."""
    with pytest.raises(ConfigError, match="needs at least 10 in each split") as info:
        check_val_size("digits", val_size)
    assert info.value.field == "val_size"


@pytest.mark.parametrize("val_size", [10, 1427])
def test_check_val_size_accepts_only_what_digits_can_load(val_size: int) -> None:
    """A val_size that passes the check must load."""
    check_val_size("digits", val_size)
    data = load_dataset("digits", val_size=val_size)
    assert len(data["X_val"]) == val_size


def test_a_dataset_info_is_a_plain_record() -> None:
    info = DatasetInfo("toy", "Toy", (2, 2), 3, ("a", "b", "c"), 10, 2)
    assert info.offline is False and math.prod(info.image_shape) == 4
