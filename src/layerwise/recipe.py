"""Recipe: everything that decides what a training run computes, as one validated object.

A :class:`Recipe` holds the dataset and its split, the architecture (``model`` and the
:class:`~layerwise.spec.NetSpec`, which also carries the update rule and its settings), and the
loop settings (epochs, batch size, learning-rate decay and schedule, early stopping, seed,
engine). It is frozen, checked once when it is made (every error names the field, the value and
what is allowed), and round-trips through JSON (:meth:`Recipe.to_dict` /
:meth:`Recipe.from_dict`, with a schema version). A run folder's ``config.json`` stores it under
``"recipe"``, and everything that trains builds one: ``layerwise train``, each tune trial, the
retraining of the best trial, ``layerwise compare``.

It builds the three things a run needs, always the same way::

    recipe = Recipe.from_options(dataset="mnist", model="fc", hidden=(512, 512), lr=1e-3,
                                 update_rule="adam", epochs=5)
    data = recipe.build_data()
    model = recipe.build_model(data)
    solver = recipe.build_solver(model, data, verbose=False)

Printing, progress bars, checkpoints and callbacks are the caller's (keyword arguments of
:meth:`Recipe.build_solver`); they do not change what is computed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from layerwise import options as opts
from layerwise.errors import ConfigError
from layerwise.models import ARCHITECTURES, DEFAULT_HIDDEN
from layerwise.spec import NetSpec

__all__ = ["SCHEMA_VERSION", "Recipe", "data_dims", "data_task"]

#: The version of :meth:`Recipe.to_dict`'s layout; bumped when it changes incompatibly.
SCHEMA_VERSION = 1

#: Recipe fields that are options of the same name (checked by the options table).
_LOOP_FIELDS = (
    "dataset",
    "data_dir",
    "accept_sha256",
    "val_size",
    "model",
    "epochs",
    "batch_size",
    "lr_decay",
    "lr_schedule",
    "early_stopping",
    "min_delta",
    "seed",
    "engine",
    "target",
    "task",
    "impute",
    "loss",
    "monitor",
    "augment",
    "preprocess",
)
#: Fields added after schema version 1 was first written, with the value a recipe without them
#: means (to_dict leaves them out at that value, so such a recipe's JSON is as it was).
_ADDED_FIELDS = {
    "target": None,
    "task": "auto",
    "impute": "none",
    "loss": "auto",
    "monitor": "score",
    "accept_sha256": None,
    "augment": None,
    "preprocess": "none",
}
#: Options that set a field of the network, by option name: the NetSpec field.
_NETWORK_FIELDS = {
    "hidden": "hidden_dims",
    "lr": "learning_rate",
    "update_rule": "optimizer",
    "reg": "reg",
    "weight_scale": "weight_scale",
    "dtype": "dtype",
    "activation": "activation",
    "dropout": "dropout",
    "norm": "normalization",
    "weight_init": "weight_init",
}


@dataclasses.dataclass(frozen=True)
class Recipe:
    """What to train. Make one with :meth:`from_options` (defaults for what is not given) or
    :meth:`from_dict`; every field is described by the option of the same name in
    :data:`layerwise.options.OPTIONS` (the network's by ``hidden``, ``lr``, ...).

    - dataset, data_dir, val_size: the data and the validation split; accept_sha256: digests
      of non-official dataset files to use anyway (:mod:`layerwise.data.checksum`);
    - model: the architecture (``two-layer``, ``three-layer``, ``fc``);
    - network: the :class:`~layerwise.spec.NetSpec` (its ``input_dim`` and ``num_classes`` are
      None: the data decides them);
    - epochs, batch_size, lr_decay, lr_schedule, early_stopping (patience), min_delta, seed,
      engine: the loop;
    - augment: the minibatch augmentation (:mod:`layerwise.augment`), None for none;
      preprocess: what is fitted on the training images and applied to every split
      (:mod:`layerwise.preprocess`);
    - target, task, impute, loss: what to predict (:mod:`layerwise.tasks`); ``target`` and
      ``impute`` are for a CSV file of one's own (``dataset="csv:PATH"``); monitor: what the
      kept model and early stopping go by (the score, or the validation loss).
    """

    dataset: str
    data_dir: str | None
    val_size: int | None
    model: str
    network: NetSpec
    epochs: int
    batch_size: int
    lr_decay: float
    lr_schedule: dict[str, Any] | None
    early_stopping: int | None
    min_delta: float
    seed: int
    engine: str
    target: tuple[str, ...] | None = None
    task: str = "auto"
    impute: str = "none"
    loss: str = "auto"
    monitor: str = "score"
    accept_sha256: str | None = None
    augment: dict[str, Any] | None = None
    preprocess: str = "none"

    def __post_init__(self) -> None:
        for name in _LOOP_FIELDS:
            object.__setattr__(self, name, opts.option(name).check(getattr(self, name)))
        if not isinstance(self.network, NetSpec):
            raise ConfigError(
                f"network must be a NetSpec; got {type(self.network).__name__}", "network"
            )
        _, depth = ARCHITECTURES[self.model]
        hidden = self.network.hidden_dims
        if depth is not None and len(hidden) != depth:
            raise ConfigError(
                f"model {self.model} needs {depth} hidden size(s), got {len(hidden)} "
                f"({','.join(map(str, hidden))}); use model fc for any depth",
                "hidden",
            )
        if self.model != "fc":
            if self.network.normalization is not None:
                raise ConfigError(
                    f"norm {self.network.normalization!r}: only model fc normalises, not "
                    f"{self.model}",
                    "norm",
                )
            if self.network.weight_init is not None:
                raise ConfigError(
                    f"weight_init {self.network.weight_init!r}: only model fc takes it, not "
                    f"{self.model}",
                    "weight_init",
                )
        self._check_task()
        self._check_images()

    def _check_images(self) -> None:
        """Augmentation and preprocessing are for the image datasets; a flip is not for
        digits (a mirrored 2 is no digit)."""
        from layerwise.data.own import is_own

        for name, unset in (("augment", None), ("preprocess", "none")):
            if getattr(self, name) != unset and is_own(self.dataset):
                raise ConfigError(
                    f"{name} is for the image datasets (digits, mnist, cifar10), not "
                    f"{self.dataset}",
                    name,
                )
        if self.augment and self.augment.get("flip") and self.dataset in ("digits", "mnist"):
            raise ConfigError(
                f"augment flip mirrors the images, which turns the digits of {self.dataset} "
                "into other shapes; use it for cifar10, or drop flip",
                "augment",
            )

    def _check_task(self) -> None:
        from layerwise.data import check_val_size
        from layerwise.data.own import check_own, is_own
        from layerwise.tasks import get_task

        if is_own(self.dataset):
            check_own(self.dataset, self.target, None if self.impute == "none" else self.impute)
        else:
            check_val_size(self.dataset, self.val_size)
            for name, unset in (("target", None), ("impute", "none")):
                if getattr(self, name) != unset:
                    raise ConfigError(
                        f"{name} is for a CSV file of your own (dataset csv:PATH), not "
                        f"{self.dataset}",
                        name,
                    )
            if self.task not in ("auto", "classification"):
                raise ConfigError(
                    f"task {self.task!r}: {self.dataset} is a classification dataset", "task"
                )
        if self.task != "auto" and self.loss != "auto":
            get_task(self.task).check_loss(self.loss)
        if self.engine != "numpy" and (self.task not in ("auto", "classification")):
            raise ConfigError(
                f"engine {self.engine!r} trains classifiers only; task {self.task!r} needs "
                "engine numpy",
                "engine",
            )

    # ----------------------------------------------------------------------------------------
    # making one

    @classmethod
    def from_options(cls, **values: Any) -> Recipe:
        """A recipe from option values by name (:data:`layerwise.options.OPTIONS`); options not
        given get their defaults, ``hidden`` the architecture's."""
        unknown = sorted(set(values) - set(opts.BY_NAME))
        if unknown:
            raise ConfigError(
                f"unknown option(s) {unknown}; expected some of {sorted(opts.BY_NAME)}",
                unknown[0],
            )
        v = {
            name: opts.option(name).check(values.get(name, default))
            for name, default in opts.DEFAULTS.items()
        }
        model = v["model"]
        hidden = v["hidden"] if v["hidden"] is not None else DEFAULT_HIDDEN[model]
        try:
            network = NetSpec(
                input_dim=None,
                hidden_dims=hidden,
                num_classes=None,
                activation=v["activation"],
                dropout=v["dropout"],
                normalization=None if v["norm"] == "none" else v["norm"],
                optimizer=v["update_rule"],
                learning_rate=v["lr"],
                reg=v["reg"],
                dtype=v["dtype"],
                weight_scale=v["weight_scale"],
                weight_init=v["weight_init"],
            )
        except ConfigError as e:
            raise _as_option_error(e) from None
        return cls(network=network, **{name: v[name] for name in _LOOP_FIELDS})

    def options(self) -> dict[str, Any]:
        """The option values that make this recipe: ``Recipe.from_options(**r.options()) == r``
        (but for update-rule settings that are no option, e.g. Adam's beta1 in a recipe read
        from JSON: those only :meth:`replace` carries over)."""
        out = {name: getattr(self, name) for name in _LOOP_FIELDS}
        for option_name, field in _NETWORK_FIELDS.items():
            out[option_name] = getattr(self.network, field)
        out["norm"] = out["norm"] or "none"
        return out

    def replace(self, **values: Any) -> Recipe:
        """A copy with some options changed, by option name (checked again). The update rule's
        own settings (``network.optimizer_options``, e.g. Adam's betas) are kept unless the
        rule itself changes."""
        new = Recipe.from_options(**{**self.options(), **values})
        if new.network.optimizer != self.network.optimizer:
            return new
        network = new.network.replace(optimizer_options=dict(self.network.optimizer_options))
        return dataclasses.replace(new, network=network)

    # ----------------------------------------------------------------------------------------
    # JSON

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict with ``schema_version``; :meth:`from_dict` reads it back."""
        out: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in _ADDED_FIELDS and value == _ADDED_FIELDS[f.name]:
                continue
            if isinstance(value, tuple):
                value = list(value)
            out[f.name] = value.to_dict() if isinstance(value, NetSpec) else value
        return out

    @classmethod
    def from_dict(cls, fields: Any) -> Recipe:
        """The recipe :meth:`to_dict` wrote (e.g. ``config.json["recipe"]``)."""
        if not isinstance(fields, Mapping):
            raise ConfigError(f"a recipe must be a JSON object; got {fields!r}", "recipe")
        version = fields.get("schema_version")
        if type(version) is not int or version != SCHEMA_VERSION:
            raise ConfigError(
                f"recipe schema_version {version!r} is not supported; expected {SCHEMA_VERSION}",
                "schema_version",
            )
        names = [f.name for f in dataclasses.fields(cls)]
        given = {**_ADDED_FIELDS, **{k: v for k, v in fields.items() if k != "schema_version"}}
        if isinstance(given["target"], list):
            given["target"] = tuple(given["target"])
        unknown = sorted(set(given) - set(names))
        missing = sorted(set(names) - set(given))
        if unknown or missing:
            raise ConfigError(
                f"recipe fields do not match: unknown {unknown}, missing {missing}", "recipe"
            )
        given["network"] = NetSpec.from_dict(given["network"])
        if isinstance(given.get("lr_schedule"), Mapping):
            given["lr_schedule"] = dict(given["lr_schedule"])
        return cls(**given)

    # ----------------------------------------------------------------------------------------
    # building

    def build_data(self, preprocessor: Any = None) -> dict[str, Any]:
        """The dataset dict (``X_train, y_train, X_val, y_val, X_test, y_test``) it trains on.

        With a ``preprocess`` setting, the images are transformed in place by a
        :class:`~layerwise.preprocess.Preprocessor` fitted on ``X_train`` (or by
        ``preprocessor``, one fitted before: a run's saved one), which the dict also holds
        under ``"preprocessor"``. A built-in dataset's dict also holds ``"pixels"``, the
        :class:`~layerwise.data.pixels.PixelScaling` that made its pixels model inputs."""
        data = self._load_data()
        if self.preprocess == "none":
            return data
        from layerwise.data import dataset_info
        from layerwise.preprocess import Preprocessor

        if preprocessor is None:
            shape = dataset_info(self.dataset).image_shape
            channels = shape[0] if len(shape) == 3 else 1
            preprocessor = Preprocessor(self.preprocess, channels).fit(data["X_train"])
        elif preprocessor.kind != self.preprocess:
            raise ConfigError(
                f"the saved preprocessing is {preprocessor.kind!r}, the recipe's "
                f"{self.preprocess!r}",
                "preprocess",
            )
        for split in ("train", "val", "test"):
            preprocessor.transform(data[f"X_{split}"], inplace=True)
        data["preprocessor"] = preprocessor
        return data

    def _load_data(self) -> dict[str, Any]:
        from layerwise.data import dataset_info, load_dataset
        from layerwise.data.own import is_own, load_own

        if is_own(self.dataset):
            data = load_own(
                self.dataset,
                self.target,
                None if self.task == "auto" else self.task,
                None if self.impute == "none" else self.impute,
                self.val_size,
                self.seed,
                np.dtype(self.network.dtype),
            )
            if self.loss != "auto":
                from layerwise.tasks import get_task

                get_task(data["target"]["task"]).check_loss(self.loss)
            return data
        if self.data_dir is not None and dataset_info(self.dataset).offline:
            from pathlib import Path

            if not Path(self.data_dir).is_dir():
                raise ConfigError(
                    f"data_dir {self.data_dir!r} does not exist ({self.dataset} ships with its "
                    "package and reads no folder; leave data_dir out)",
                    "data_dir",
                )
        return load_dataset(
            self.dataset,
            data_dir=self.data_dir,
            dtype=np.dtype(self.network.dtype),
            val_size=self.val_size,
            accept_sha256=self.accept_sha256,
            pixels=True,
        )

    def build_model(self, data: Mapping[str, np.ndarray]) -> Any:
        """The model, sized by the data, its weights drawn from the recipe's seed."""
        input_dim, num_classes = data_dims(data)
        spec = self.network.with_data(input_dim, num_classes)
        model_cls, _ = ARCHITECTURES[self.model]
        common: dict[str, Any] = {
            "input_dim": input_dim,
            "num_classes": num_classes,
            "weight_scale": spec.weight_scale,
            "reg": spec.reg,
            "dtype": spec.dtype,
            "activation": spec.activation,
            "dropout": spec.dropout,
            # A private generator for the weights and fresh dropout masks: the same seed gives
            # the same run, and the global stream is left alone. (seed= would fix the masks.)
            "rng": np.random.default_rng([self.seed, 1]),
        }
        task = data_task(data)
        if task != "classification" or self.loss != "auto":
            common.update(task=task, loss=None if self.loss == "auto" else self.loss)
        hidden = spec.hidden_dims
        if self.model == "two-layer":
            dims: dict[str, Any] = {"hidden_dim": hidden[0]}
        elif self.model == "three-layer":
            dims = {"hidden_dim_1": hidden[0], "hidden_dim_2": hidden[1]}
        else:
            dims = {
                "hidden_dims": list(hidden),
                "normalization": spec.normalization,
                "weight_init": spec.weight_init,
            }
        constructor: Any = model_cls  # each class has its own keywords
        return constructor(**common, **dims)

    def check_data(self, data: Mapping[str, Any]) -> None:
        """Refuse training data this recipe cannot train on: a batch larger than the
        training set. (The Solver itself allows that, as CS231n's does: one update per epoch,
        drawn with replacement; a recipe trains real data, where it is a mistake.)"""
        num_train = len(data["X_train"])
        if self.batch_size > num_train:
            raise ConfigError(
                f"batch_size {self.batch_size} is larger than the {num_train} training examples; "
                "expected at most that many",
                "batch_size",
            )

    def solver_options(self) -> dict[str, Any]:
        """The :class:`~layerwise.solver.Solver` keywords of the training recipe itself."""
        return {
            "update_rule": self.network.optimizer,
            "optim_config": self.network.optim_config(),
            "lr_decay": self.lr_decay,
            "lr_schedule": self.lr_schedule,
            "batch_size": self.batch_size,
            "num_epochs": self.epochs,
            "seed": self.seed,
            "patience": self.early_stopping,
            "min_delta": self.min_delta,
            "monitor": self.monitor,
        }

    def build_solver(self, model: Any, data: dict[str, Any], **extra: Any) -> Any:
        """The Solver that trains ``model`` on ``data`` with this recipe, on its engine.

        extra: the caller's Solver keywords (``verbose``, ``print_every``, ``progress``,
        ``checkpoint_name``, ``callbacks``, ``restore_best``, ...); they may not override the
        recipe's own settings.
        """
        from layerwise.solver import Solver

        settings = self.solver_options()
        clash = sorted((set(settings) | {"engine", "augment"}) & set(extra))
        if clash:
            raise ConfigError(f"build_solver: {clash} are the recipe's; change the recipe")
        self.check_data(data)
        if self.augment:
            from layerwise.augment import Augmenter
            from layerwise.data import dataset_info

            extra["augment"] = Augmenter(self.augment, dataset_info(self.dataset).image_shape)
        engine = None
        if self.engine != "numpy":
            from layerwise.frameworks.engines import make_engine

            engine = make_engine(self.engine)
        return Solver(model, data, engine=engine, **settings, **extra)


def data_task(data: Mapping[str, Any]) -> str:
    """The task of a dataset dict: its ``"target"`` entry's (own data), else classification."""
    target = data.get("target")
    return str(target["task"]) if isinstance(target, Mapping) else "classification"


def data_dims(data: Mapping[str, Any]) -> tuple[int, int]:
    """(input_dim, outputs) of a dataset dict: features per example, and the classes (the
    largest label + 1, or the file's class list), targets or labels."""
    input_dim = int(np.prod(data["X_train"].shape[1:]))
    target = data.get("target")
    if data_task(data) != "classification":
        y = data["y_train"]
        return input_dim, 1 if y.ndim == 1 else int(y.shape[1])
    if isinstance(target, Mapping) and target.get("classes"):
        return input_dim, len(target["classes"])
    num_classes = int(max(data[f"y_{s}"].max() for s in ("train", "val", "test"))) + 1
    return input_dim, num_classes


def _as_option_error(error: ConfigError) -> ConfigError:
    """A NetSpec error renamed to the option that set the field (``learning_rate`` -> ``lr``)."""
    by_field = {field: name for name, field in _NETWORK_FIELDS.items()}
    field = by_field.get(error.field or "", error.field)
    return ConfigError(str(error).removeprefix("NetSpec: "), field)
