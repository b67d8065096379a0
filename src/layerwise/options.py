"""The options table: every setting of a training recipe, its constraint, default and help.

One declarative table (as scikit-learn's ``_parameter_constraints``) drives everything that
names a recipe setting:

- :meth:`layerwise.recipe.Recipe.from_options` checks each value against its constraint;
- the command line makes its ``layerwise train`` flags from it (``--NAME`` with dashes, the
  help text, the default, the choices), and ``layerwise tune`` and ``layerwise compare`` take
  the same flags from it;
- ``layerwise tune`` takes its search-space names from it (every ``searchable`` option, plus
  ``units``) and parses searched values with the same constraint;
- ``docs/`` lists the options from it.

A constraint knows two forms of one value: text (a flag, a search-space entry) and Python (a
recipe, a keyword). ``parse(text)`` reads and checks text, with messages like ``expected a
number > 0, got '-1'``; ``check(name, value)`` checks a Python value, with messages like
``lr must be a number > 0; got -1``. Both raise :class:`~layerwise.errors.ConfigError`.

Adding a setting: one :class:`Option` row here, the field it sets in
:class:`~layerwise.recipe.Recipe`, one test.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from layerwise.data.catalog import DATASETS
from layerwise.engine import ENGINES
from layerwise.errors import ConfigError
from layerwise.layer_utils import ACTIVATIONS, NORMALIZATIONS
from layerwise.losses import LOSSES
from layerwise.models import ARCHITECTURES
from layerwise.models.base import WEIGHT_INITS
from layerwise.optim import UPDATE_RULES
from layerwise.tasks import TASKS
from layerwise.validation import DTYPES

__all__ = ["OPTIONS", "Choice", "Hidden", "Number", "Option", "Schedule", "Text", "option"]


# --------------------------------------------------------------------------------------------
# Constraints
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    """A finite number (an integer with ``integer``) in an interval.

    ``expected`` is how the interval reads in messages ("a number > 0", "a factor in (0, 1]").
    """

    expected: str
    low: float | None = 0.0
    strict: bool = False
    high: float | None = None
    high_strict: bool = False
    integer: bool = False

    @property
    def kind(self) -> str:
        return "int" if self.integer else "float"

    def _inside(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.strict else value < self.low):
            return False
        if self.high is not None:
            return value < self.high if self.high_strict else value <= self.high
        return True

    def parse(self, text: str) -> int | float:
        if self.integer:
            try:
                value: int | float = int(text)
            except ValueError:
                raise ConfigError(f"expected an integer, got {text!r}") from None
        else:
            try:
                value = float(text)
            except ValueError:
                raise ConfigError(f"expected a number, got {text!r}") from None
            if not math.isfinite(value):
                raise ConfigError(f"expected a finite number, got {text!r}")
        if not self._inside(value):
            raise ConfigError(f"expected {self.expected}, got {text!r}")
        return value

    def check(self, name: str, value: Any) -> int | float:
        kind = numbers.Integral if self.integer else numbers.Real
        ok = isinstance(value, kind) and not isinstance(value, bool)
        try:
            ok = ok and math.isfinite(value) and self._inside(value)
        except OverflowError:  # an int too large for a float
            ok = False
        if not ok:
            raise ConfigError(f"{name} must be {self.expected}; got {value!r}", name)
        return int(value) if self.integer else float(value)


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of names."""

    choices: tuple[str, ...]
    kind = "str"

    def parse(self, text: str) -> str:
        if text not in self.choices:
            shown = ", ".join(repr(c) for c in self.choices)
            raise ConfigError(f"invalid choice: {text!r} (choose from {shown})")
        return text

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or value not in self.choices:
            shown = ", ".join(repr(c) for c in self.choices)
            raise ConfigError(f"{name} must be one of {shown}; got {value!r}", name)
        return value


@dataclass(frozen=True)
class Hidden:
    """Hidden layer sizes: text ``100`` or ``100,50``; a value is a sequence of ints >= 1."""

    kind = "str"  # searched by its text

    def parse(self, text: str) -> tuple[int, ...]:
        sizes = []
        for part in text.split(","):
            try:
                size = int(part.strip())
            except ValueError:
                raise ConfigError(
                    f"expected comma-separated positive integers like 100 or 100,100, got {text!r}"
                ) from None
            if size < 1:
                raise ConfigError(f"hidden sizes must be >= 1, got {text!r}")
            sizes.append(size)
        return tuple(sizes)

    def check(self, name: str, value: Any) -> tuple[int, ...]:
        ok = isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and len(value)
        if ok:
            ok = all(isinstance(h, numbers.Integral) and not isinstance(h, bool) for h in value)
            ok = ok and all(h >= 1 for h in value)
        if not ok:
            raise ConfigError(
                f"{name} must be a non-empty list of layer sizes >= 1; got {value!r}", name
            )
        return tuple(int(h) for h in value)


#: The options each learning-rate schedule's text form takes after its name, in order.
SCHEDULE_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"cosine": ("min_factor",), "exponential": ("gamma",), "step": ("step_size", "gamma")}
)


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule: text ``cosine[:MIN]``, ``exponential[:GAMMA]`` or
    ``step[:STEP_SIZE[:GAMMA]]``; a value is ``{'name': ..., **options}``."""

    kind = "str"

    def parse(self, text: str) -> dict[str, Any]:
        name, *values = text.split(":")
        if name not in SCHEDULE_KEYS or len(values) > len(SCHEDULE_KEYS[name]):
            raise ConfigError(
                "expected cosine[:MIN_FACTOR], exponential[:GAMMA] or step[:STEP_SIZE[:GAMMA]], "
                f"got {text!r}"
            )
        spec: dict[str, Any] = {"name": name}
        for key, value in zip(SCHEDULE_KEYS[name], values, strict=False):
            if key == "step_size" and value.isascii() and value.isdigit():
                spec[key] = int(value)
            else:
                spec[key] = Number("a number", low=None).parse(value)
        return self.check("lr_schedule", spec, message_only=True)

    def check(self, name: str, value: Any, message_only: bool = False) -> dict[str, Any]:
        from layerwise.schedules import get_schedule

        name_ok = isinstance(value, Mapping) and isinstance(value.get("name"), str)
        if not name_ok or value["name"] not in SCHEDULE_KEYS:
            raise ConfigError(
                f"{name} must be a dict {{'name': one of {list(SCHEDULE_KEYS)}, ...}}; "
                f"got {value!r}",
                name,
            )
        try:
            get_schedule(dict(value), num_epochs=1)  # checks the options
        except ValueError as e:
            raise ConfigError(str(e) if message_only else f"{name}: {e}", name) from None
        return dict(value)


@dataclass(frozen=True)
class Digests:
    """SHA-256 digests, ``HEX[,HEX]``: a value is that text, lowercase, sorted, deduplicated."""

    kind = "str"

    def parse(self, text: str) -> str:
        return self.check("accept_sha256", text)

    def check(self, name: str, value: Any) -> str:
        from layerwise.data.checksum import parse_digests

        digests = parse_digests(value, name)
        if not digests:
            raise ConfigError(f"{name} must name at least one SHA-256 digest; got {value!r}", name)
        return ",".join(sorted(digests))


class Text:
    """Any non-empty text (a path)."""

    kind = "str"

    def parse(self, text: str) -> str:
        if not text:
            raise ConfigError("expected a non-empty text, got ''")
        return text

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{name} must be a non-empty text; got {value!r}", name)
        return value


@dataclass(frozen=True)
class Dataset:
    """A built-in dataset's name, or a file of one's own: ``csv:PATH`` or ``npz:PATH``."""

    choices: tuple[str, ...]
    kind = "str"

    def parse(self, text: str) -> str:
        return self.check("dataset", text, message_only=True)

    def check(self, name: str, value: Any, message_only: bool = False) -> str:
        from layerwise.data.own import is_own, parse_own

        if isinstance(value, str) and (value in self.choices or is_own(value)):
            if is_own(value):
                parse_own(value)  # a path is there
            return value
        shown = ", ".join(repr(c) for c in self.choices)
        message = f"expected one of {shown}, csv:PATH or npz:PATH, got {value!r}"
        raise ConfigError(message if message_only else f"{name}: {message}", name)


@dataclass(frozen=True)
class Columns:
    """Column names, comma-separated in text: ``price`` or ``label_a,label_b``."""

    kind = "str"

    def parse(self, text: str) -> tuple[str, ...]:
        names = tuple(t.strip() for t in text.split(","))
        if not all(names):
            raise ConfigError(f"expected COLUMN[,COLUMN] with no empty name, got {text!r}")
        return self.check("target", names)

    def check(self, name: str, value: Any) -> tuple[str, ...]:
        ok = isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and len(value)
        ok = ok and all(isinstance(v, str) and v.strip() for v in value)
        if not ok:
            raise ConfigError(f"{name} must be a non-empty list of column names; got {value!r}")
        if len(set(value)) != len(value):
            raise ConfigError(f"{name} names a column twice: {list(value)}", name)
        return tuple(value)


class Augment:
    """Minibatch augmentation: text ``shift=2,rotate=10`` or ``shift=4,flip`` (``none``: off);
    a value is a dict of settings (:mod:`layerwise.augment`), None when off."""

    kind = "str"

    def parse(self, text: str) -> dict[str, Any] | None:
        from layerwise.augment import parse_augment

        return parse_augment(text) or None

    def check(self, name: str, value: Any) -> dict[str, Any] | None:
        from layerwise.augment import check_augment

        return check_augment(value, name) or None


class Preprocess:
    """Preprocessing fitted on the training images: ``none``, ``standardize``, ``zca[:EPS]``
    (:mod:`layerwise.preprocess`)."""

    kind = "str"
    choices = ("none", "standardize", "zca")

    def parse(self, text: str) -> str:
        from layerwise.preprocess import check_preprocess

        return check_preprocess(text, "")

    def check(self, name: str, value: Any) -> str:
        from layerwise.preprocess import check_preprocess

        return check_preprocess(value, name)


Constraint = (
    Number | Choice | Hidden | Schedule | Text | Digests | Dataset | Columns | Augment | Preprocess
)

POSITIVE_INT = Number("an integer >= 1", low=1, integer=True)
NON_NEGATIVE_INT = Number("an integer >= 0", low=0, integer=True)
POSITIVE = Number("a number > 0", strict=True)
NON_NEGATIVE = Number("a number >= 0")
FACTOR = Number("a factor in (0, 1]", strict=True, high=1.0)
PROBABILITY = Number("a probability in [0, 1)", high=1.0, high_strict=True)


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One recipe setting.

    - name: the option's name (``lr``, ``update_rule``); the flag is ``--`` + name with dashes;
    - constraint: what values it takes (its text form and its Python form);
    - default: the value when none is given (None: not set, or decided by another option);
    - help: one line for ``--help`` and the docs; metavar: the placeholder shown there;
    - searchable: whether ``layerwise tune`` may search it.

    An option whose default is None may be unset (None): ``--early-stopping`` not given.
    """

    name: str
    constraint: Constraint
    default: Any
    help: str
    metavar: str | None = None
    searchable: bool = True

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def choices(self) -> tuple[str, ...] | None:
        return self.constraint.choices if isinstance(self.constraint, Choice) else None

    def parse(self, text: str) -> Any:
        """The value of the flag's ``text``; ConfigError ('expected ..., got ...')."""
        return self.constraint.parse(text)

    def check(self, value: Any) -> Any:
        """``value`` checked (and normalised); None passes where the option may be unset."""
        if value is None and self.default is None:
            return None
        return self.constraint.check(self.name, value)


def _names(choices: Any) -> tuple[str, ...]:
    return tuple(sorted(choices))


# The default recipe: a two-layer net (hidden 100) on the embedded digits in float32 with plain
# SGD. Chosen by a grid over lr {0.05..1}, weight scale {1e-2, 1e-1}, batch {25, 50, 100},
# epochs {10..50}, decay {0.95..1}, reg {0, 1e-3}, 5 seeds each: the test accuracy plateaus
# at ~0.97; this point reaches it (worst seed 0.967, mean 0.971) in well under a second of
# training. weight_scale 0.1 (not 1e-3) because 64 inputs in [0, 1] need larger initial
# weights for the first updates to move the scores; lr 0.5 is safe for the same reason.
OPTIONS: tuple[Option, ...] = (
    Option(
        "dataset",
        Dataset(DATASETS),
        "digits",
        "dataset to train on: a built-in one, or your own csv:PATH or npz:PATH",
        metavar="DATASET",
        searchable=False,
    ),
    Option(
        "target",
        Columns(),
        None,
        "the column(s) to predict, for --dataset csv:PATH",
        metavar="COLUMN[,COLUMN]",
        searchable=False,
    ),
    Option(
        "task",
        Choice(("auto", *TASKS)),
        "auto",
        "what to predict (auto: classification for the built-in datasets; for your own, "
        "inferred from the target)",
        searchable=False,
    ),
    Option(
        "impute",
        Choice(("none", "mean", "median")),
        "none",
        "fill missing CSV feature cells from the training rows (none: refuse them)",
        searchable=False,
    ),
    Option(
        "loss",
        Choice(("auto", *LOSSES)),
        "auto",
        "the loss (auto: the task's: softmax, mse or sigmoid_cross_entropy)",
    ),
    Option(
        "data_dir",
        Text(),
        None,
        "folder holding the dataset files (default: per dataset)",
        metavar="DIR",
        searchable=False,
    ),
    Option(
        "accept_sha256",
        Digests(),
        None,
        "use a dataset file that is not the official one (a re-packed or lossy copy) when its "
        "SHA-256 is one of these, with a warning naming it (also $LAYERWISE_ACCEPT_SHA256)",
        metavar="SHA256[,SHA256]",
        searchable=False,
    ),
    Option(
        "val_size",
        POSITIVE_INT,
        None,
        "validation examples held out of the training set; the rest is trained on "
        "(default: 5000 mnist, 1000 cifar10, 180 digits)",
        metavar="N",
    ),
    Option("model", Choice(_names(ARCHITECTURES)), "two-layer", "architecture"),
    Option(
        "hidden",
        Hidden(),
        None,
        "hidden layer sizes, one per hidden layer (default: 100 or 100,100)",
        metavar="H[,H]",
    ),
    Option("epochs", POSITIVE_INT, 20, "passes over the training set"),
    Option("batch_size", POSITIVE_INT, 50, "examples per update"),
    Option("lr", POSITIVE, 0.5, "initial learning rate"),
    Option("lr_decay", FACTOR, 0.98, "learning-rate factor applied after each epoch"),
    Option(
        "update_rule",
        Choice(_names(UPDATE_RULES)),
        "sgd",
        f"one of {', '.join(sorted(UPDATE_RULES))}",
        metavar="RULE",
    ),
    Option("reg", NON_NEGATIVE, 0.0, "L2 regularisation strength"),
    Option("weight_scale", POSITIVE, 0.1, "standard deviation of the initial weights"),
    Option("dtype", Choice(DTYPES), "float32", "floating type of the data and the model"),
    Option(
        "seed",
        NON_NEGATIVE_INT,
        0,
        "seeds the initial weights and the minibatches (same seed, same run)",
    ),
    Option("activation", Choice(tuple(ACTIVATIONS)), "relu", "hidden-layer activation"),
    Option(
        "dropout",
        PROBABILITY,
        0.0,
        "probability of dropping each hidden unit during training",
        metavar="P",
    ),
    Option(
        "norm",
        Choice(("none", *NORMALIZATIONS)),
        "none",
        "normalisation after each hidden affine (fc)",
    ),
    Option(
        "weight_init",
        Choice(tuple(w for w in WEIGHT_INITS if w is not None)),
        None,
        "scale initial weights by fan-in (fc; default: --weight-scale)",
    ),
    Option(
        "lr_schedule",
        Schedule(),
        None,
        "cosine[:MIN_FACTOR], exponential[:GAMMA] or step[:STEP_SIZE[:GAMMA]]; "
        "multiplies with --lr-decay",
        metavar="SCHEDULE",
    ),
    Option(
        "early_stopping",
        POSITIVE_INT,
        None,
        "stop after PATIENCE epochs without a validation-accuracy gain; keep the best model",
        metavar="PATIENCE",
    ),
    Option(
        "monitor",
        Choice(("score", "val_loss")),
        "score",
        "what the kept (best) model and --early-stopping go by: the task's score "
        "(accuracy, R2, subset accuracy) or the validation loss",
    ),
    Option(
        "min_delta",
        NON_NEGATIVE,
        0.0,
        "the validation-accuracy gain that counts as one for --early-stopping",
    ),
    Option(
        "augment",
        Augment(),
        None,
        "random changes to each training minibatch: shift=PIXELS, flip, rotate=DEGREES, "
        "scale=FRACTION, elastic=ALPHA[,sigma=SIGMA], comma-separated (images only)",
        metavar="SPEC",
        searchable=False,
    ),
    Option(
        "preprocess",
        Preprocess(),
        "none",
        "fitted on the training images, applied to every split and saved with the run: "
        "none, standardize (per channel) or zca[:EPS] (standardize, then ZCA whitening)",
        metavar="KIND",
        searchable=False,
    ),
    Option(
        "engine",
        Choice(ENGINES),
        "numpy",
        "what computes each update: layerwise itself, or its Keras or TensorFlow twin "
        "(same data, lines and run folder; needs pip install 'layerwise[tf]')",
    ),
)

#: The table by name.
BY_NAME: Mapping[str, Option] = MappingProxyType({o.name: o for o in OPTIONS})
#: Every option's default, by name.
DEFAULTS: Mapping[str, Any] = MappingProxyType({o.name: o.default for o in OPTIONS})


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def markdown_table() -> str:
    """The table as Markdown, for ``docs/options.md`` (a test keeps that file in step)."""
    lines = [
        "| option | flag | values | default | searchable | meaning |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for o in OPTIONS:
        c = o.constraint
        if isinstance(c, Choice):
            values = ", ".join(f"`{v}`" for v in c.choices)
        elif isinstance(c, Number):
            values = c.expected
        elif isinstance(c, Hidden):
            values = "sizes, e.g. `100` or `512,512`"
        elif isinstance(c, Schedule):
            values = "`cosine[:MIN]`, `exponential[:GAMMA]`, `step[:STEP[:GAMMA]]`"
        elif isinstance(c, Dataset):
            values = ", ".join(f"`{v}`" for v in c.choices) + ", `csv:PATH`, `npz:PATH`"
        elif isinstance(c, Columns):
            values = "column names, e.g. `price` or `a,b`"
        elif isinstance(c, Digests):
            values = "SHA-256 digests (64 hex digits), comma-separated"
        elif isinstance(c, Augment):
            values = (
                "`shift=P`, `flip`, `rotate=D`, `scale=F`, `elastic=A`, `sigma=S`, comma-separated"
            )
        elif isinstance(c, Preprocess):
            values = "`none`, `standardize`, `zca[:EPS]`"
        else:
            values = "a path"
        meaning = o.help.replace("|", "/")
        lines.append(
            f"| `{o.name}` | `{o.flag}` | {values} | {_shown(o.default)} | "
            f"{'yes' if o.searchable else 'no'} | {meaning} |"
        )
    return "\n".join(lines) + "\n"


def option(name: str) -> Option:
    """The option called ``name`` (``lr``, ``update_rule``, or with dashes ``update-rule``)."""
    if not isinstance(name, str):
        raise ConfigError(f"an option name must be a string; got {name!r}")
    key = name.strip().lstrip("-").replace("-", "_")
    try:
        return BY_NAME[key]
    except KeyError:
        raise ConfigError(
            f"unknown option {name!r}; expected one of {', '.join(sorted(BY_NAME))}"
        ) from None
