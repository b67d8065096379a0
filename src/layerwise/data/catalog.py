"""The table of datasets: every name ``load_dataset`` accepts, with what the rest of layerwise
needs to know about it without reading a file.

Each entry gives the shape of one example as an image (the figures draw inputs and first-layer
weights with it, instead of guessing from the feature count), the class names by label (or
None when a label is its own name, as for digits), and the number of training images a
validation split can be taken from. Adding a dataset: one module that loads it, one entry here,
one test module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from . import cifar10, digits, mnist

__all__ = ["CATALOG", "DATASETS", "DatasetInfo", "dataset_info"]


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is, before any of it is loaded.

    - name: the name ``load_dataset`` takes; title: how people write it;
    - image_shape: one example as an image, (H, W) or (C, H, W);
    - num_classes; class_names: names by label, None when the label is its own name;
    - trainable: training images a validation split is taken from (``val_size`` < this);
    - default_val: the default number of validation images;
    - offline: True when it ships with a package (no download);
    - min_split: the fewest images a training or validation split may have (digits splits
      stratified by class, so each split needs one image per class).
    """

    name: str
    title: str
    image_shape: tuple[int, ...]
    num_classes: int
    class_names: tuple[str, ...] | None
    trainable: int
    default_val: int
    offline: bool = False
    min_split: int = 1


CATALOG: Mapping[str, DatasetInfo] = MappingProxyType(
    {
        "digits": DatasetInfo(
            "digits",
            "scikit-learn's 8x8 digits",
            (8, 8),
            10,
            None,
            digits._N_IMAGES - digits._N_TEST,
            180,
            offline=True,
            min_split=digits._N_CLASSES,
        ),
        "mnist": DatasetInfo("mnist", "MNIST", (28, 28), 10, None, mnist._N_TRAIN, 5_000),
        "cifar10": DatasetInfo(
            "cifar10", "CIFAR-10", (3, 32, 32), 10, cifar10.CLASSES, cifar10._N_TRAIN, 1_000
        ),
    }
)

#: Every name :func:`layerwise.data.load_dataset` accepts.
DATASETS: tuple[str, ...] = tuple(CATALOG)


def dataset_info(name: str) -> DatasetInfo:
    """The catalog entry of ``name``; ConfigError listing the names for an unknown one."""
    from layerwise.errors import ConfigError

    try:
        return CATALOG[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}", "dataset"
        ) from None
