"""Search spaces: which ``layerwise train`` options a study varies, and over what.

A space is an ordered list of parameters. Each is named after a ``layerwise train`` option
(``lr``, ``hidden``, ``dropout``, ``activation``, ``update-rule``, ``batch-size``, ``reg``,
``epochs``, ...) or is ``units``, the size of every hidden layer (``--hidden-layers`` of them,
as in the seed's grid), and is searched over either

- **values**: a list, the grid for the grid sampler and a categorical choice otherwise
  (flag ``--grid lr=0.001,0.01,0.1``; TOML ``lr = [0.001, 0.01, 0.1]``), or
- **a range**: ``LOW:HIGH`` or ``LOW:HIGH:log`` (log-uniform), integer for an integer option
  (flag ``--range lr=1e-4:1e-1:log``; TOML ``lr = {low = 1e-4, high = 0.1, log = true}``).

The names are those of the options table (:data:`layerwise.options.OPTIONS`, written with
dashes as on the command line), and every value is checked by that option's own constraint, so
a value the search accepts is a value ``layerwise train`` accepts; errors name the parameter,
the bad value and what was expected. Nothing here needs Optuna.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerwise.errors import ConfigError, LayerwiseError
from layerwise.options import OPTIONS, POSITIVE_INT, Choice, Number, Option

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10: the [tune] extra installs tomli
    import tomli as tomllib

Value = int | float | str

#: tune's own parameter: the size of each of the ``--hidden-layers`` hidden layers.
UNITS = "units"


class SpaceError(LayerwiseError, ValueError):
    """A search space that cannot be used: unknown name, bad value, bad range or file."""


@dataclass(frozen=True)
class Param:
    """One searched parameter.

    - name: the train option without its dashes (``lr``, ``update-rule``) or ``units``;
    - option: the ``layerwise train`` flag it sets (``--hidden`` for ``units``);
    - kind: ``"int"``, ``"float"`` or ``"str"``, the type of its values;
    - values: the discrete values, in the order given (None for a range);
    - low, high, log: the range (None for values).
    """

    name: str
    option: str
    kind: str
    values: tuple[Value, ...] | None = None
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False

    @property
    def is_range(self) -> bool:
        return self.values is None

    def describe(self) -> str:
        """The flag form: ``lr=0.001,0.01`` or ``lr=0.0001:0.1:log``."""
        if self.values is not None:
            sep = ";" if any("," in str(v) for v in self.values) else ","
            return f"{self.name}={sep.join(show(v) for v in self.values)}"
        return f"{self.name}={show(self.low)}:{show(self.high)}{':log' if self.log else ''}"

    def to_json(self) -> dict[str, Any]:
        if self.values is not None:
            return {"name": self.name, "kind": self.kind, "values": list(self.values)}
        return {
            "name": self.name,
            "kind": self.kind,
            "low": self.low,
            "high": self.high,
            "log": self.log,
        }


@dataclass(frozen=True)
class SearchSpace:
    """The searched parameters, in the order given (the order of the output columns)."""

    params: tuple[Param, ...]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    @property
    def is_discrete(self) -> bool:
        """True when every parameter has a list of values, so the grid sampler can run."""
        return all(not p.is_range for p in self.params)

    def grid_points(self) -> list[dict[str, Value]]:
        """Every combination of values, the last parameter varying fastest (the seed's loops)."""
        if not self.is_discrete:
            ranged = [p.name for p in self.params if p.is_range]
            raise SpaceError(
                f"the grid sampler needs values for every parameter; {', '.join(ranged)} "
                f"{'is a range' if len(ranged) == 1 else 'are ranges'} (give values with "
                "--grid, or use --sampler random or tpe)"
            )
        value_lists = [p.values or () for p in self.params]
        return [
            dict(zip(self.names, combo, strict=True)) for combo in itertools.product(*value_lists)
        ]

    def to_json(self) -> list[dict[str, Any]]:
        return [p.to_json() for p in self.params]

    def option_texts(self, values: Mapping[str, Value], hidden_layers: int) -> dict[str, str]:
        """The text of each option these parameter values set, by option flag."""
        texts: dict[str, str] = {}
        for p in self.params:
            value = values[p.name]
            if p.name == UNITS:
                texts[p.option] = ",".join([str(int(value))] * hidden_layers)
            else:
                texts[p.option] = repr(value) if isinstance(value, float) else str(value)
        return texts

    def train_argv(self, values: Mapping[str, Value], hidden_layers: int) -> list[str]:
        """The ``layerwise train`` arguments that set these parameter values."""
        texts = self.option_texts(values, hidden_layers)
        return [part for flag, text in texts.items() for part in (flag, text)]


def recipe_from_flags(texts: Mapping[str, str]) -> Any:
    """The recipe that ``layerwise train`` flags (flag -> text, e.g. ``{'--lr': '0.1'}``) make:
    each text parsed by its option, a relative ``--data-dir`` made absolute."""
    from layerwise.options import option
    from layerwise.recipe import Recipe

    values: dict[str, Any] = {}
    for flag, text in texts.items():
        opt = option(flag)
        values[opt.name] = opt.parse(text)
    if values.get("data_dir"):
        values["data_dir"] = str(Path(values["data_dir"]).resolve())
    return Recipe.from_options(**values)


def flag_texts(argv: Sequence[str]) -> dict[str, str]:
    """``['--lr', '0.1', '--epochs', '2']`` -> ``{'--lr': '0.1', '--epochs': '2'}``."""
    return dict(zip(argv[::2], argv[1::2], strict=True))


def show(value: Any) -> str:
    """A value as printed in output lines: floats short (``0.001``, ``0.000123457``)."""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


# --------------------------------------------------------------------------------------------
# The options a space may name
# --------------------------------------------------------------------------------------------


#: The option behind ``units``: every hidden layer's size.
_UNITS_OPTION = Option("hidden", POSITIVE_INT, None, "the size of every hidden layer", "UNITS")


def searchable_options() -> dict[str, Option]:
    """What may be searched, by name: every searchable option of the table (``lr``,
    ``update-rule``, ...), and units."""
    options = {o.name.replace("_", "-"): o for o in OPTIONS if o.searchable}
    options[UNITS] = _UNITS_OPTION
    return options


def _canonical(name: str, options: Mapping[str, Option]) -> str:
    key = name.strip().lstrip("-").replace("_", "-")
    if key not in options:
        raise SpaceError(
            f"unknown parameter {name!r}; expected a `layerwise train` option or units: "
            f"{', '.join(sorted(options))}"
        )
    return key


def _parse_value(name: str, option: Option, text: str) -> Value:
    """``text`` checked by the option's constraint; int, float or the text."""
    if isinstance(option.constraint, Choice):
        if text not in option.constraint.choices:
            raise SpaceError(
                f"parameter {name}: bad value {text!r}; expected one of "
                f"{', '.join(option.constraint.choices)}"
            )
        return text
    try:
        value = option.parse(text)
    except ConfigError as e:
        raise SpaceError(f"parameter {name}: bad value {text!r}: {e}") from None
    if isinstance(option.constraint, Number):
        return value
    # Options whose value is something else (--hidden's tuple, a schedule's dict) are
    # searched by their text, which is also what the trial parses again.
    return text


def _kind(values: Iterable[Value]) -> str:
    values = list(values)
    if all(isinstance(v, int) for v in values):
        return "int"
    if all(isinstance(v, int | float) for v in values):
        return "float"
    return "str"


def values_param(name: str, texts: Sequence[str], options: Mapping[str, Option]) -> Param:
    """A parameter searched over the given values (each a string, as on the command line)."""
    key = _canonical(name, options)
    option = options[key]
    if not texts:
        raise SpaceError(f"parameter {key}: no values given; expected at least one")
    values = [_parse_value(key, option, t.strip()) for t in texts]
    repeated = sorted({show(v) for v in values if values.count(v) > 1})
    if repeated:
        raise SpaceError(f"parameter {key}: value(s) {', '.join(repeated)} given more than once")
    kind = _kind(values)
    if kind == "float":  # a float option given "1" parses to 1.0 already; keep them uniform
        values = [float(v) for v in values]
    return Param(key, option.flag, kind, values=tuple(values))


def range_param(name: str, low: str, high: str, log: bool, options: Mapping[str, Option]) -> Param:
    """A parameter searched over [low, high] (log-uniform if ``log``); int for an int option."""
    key = _canonical(name, options)
    option = options[key]
    lo, hi = _parse_value(key, option, low), _parse_value(key, option, high)
    if not (isinstance(lo, int | float) and isinstance(hi, int | float)):
        raise SpaceError(
            f"parameter {key}: a range needs a numeric option, but {key} takes values like "
            f"{low!r}; give its values with --grid instead"
        )
    # Every numeric train option accepts an interval (positive, non-negative, [0, 1)...), so
    # both ends passing the option's check means every value between them passes it too.
    kind = "int" if isinstance(lo, int) and isinstance(hi, int) else "float"
    if kind == "float":
        lo, hi = float(lo), float(hi)
    if not lo < hi:
        raise SpaceError(f"parameter {key}: range {low}:{high} is empty; expected LOW < HIGH")
    if log and lo <= 0:
        raise SpaceError(f"parameter {key}: a log range needs LOW > 0; got {low}")
    return Param(key, option.flag, kind, low=lo, high=hi, log=log)


# --------------------------------------------------------------------------------------------
# Flags and TOML files
# --------------------------------------------------------------------------------------------


def _split_assignment(text: str, flag: str, form: str) -> tuple[str, str]:
    name, sep, rest = text.partition("=")
    if not sep or not name.strip() or not rest.strip():
        raise SpaceError(f"{flag}: expected {form}, got {text!r}")
    return name.strip(), rest.strip()


def split_values(text: str) -> list[str]:
    """``'0.1,0.01'`` -> two values; with any ``;``, values are split on ``;`` instead, so a
    value may hold commas: ``'hidden=256,256;512,512'`` -> ``['256,256', '512,512']``."""
    sep = ";" if ";" in text else ","
    return [part.strip() for part in text.split(sep)]


def parse_grid_flag(text: str, options: Mapping[str, Option]) -> Param:
    """``NAME=V1,V2,...`` (or ``NAME=V1;V2`` for values with commas)."""
    name, rest = _split_assignment(text, "--grid", "NAME=V1,V2,... (e.g. lr=0.001,0.01)")
    parts = split_values(rest)
    if any(not p for p in parts):
        raise SpaceError(f"--grid: empty value in {text!r}")
    return values_param(name, parts, options)


def _range_parts(text: str, where: str) -> tuple[str, str, bool]:
    parts = [p.strip() for p in text.split(":")]
    log = len(parts) == 3 and parts[2].lower() == "log"
    if len(parts) not in (2, 3) or (len(parts) == 3 and not log) or not all(parts[:2]):
        raise SpaceError(f"{where}: expected LOW:HIGH or LOW:HIGH:log, got {text!r}")
    return parts[0], parts[1], log


def parse_range_flag(text: str, options: Mapping[str, Option]) -> Param:
    """``NAME=LOW:HIGH`` or ``NAME=LOW:HIGH:log``."""
    name, rest = _split_assignment(text, "--range", "NAME=LOW:HIGH[:log] (e.g. lr=1e-4:1e-1:log)")
    low, high, log = _range_parts(rest, f"--range {name}")
    return range_param(name, low, high, log, options)


def _toml_text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | str | list):
        raise SpaceError(f"{where}: expected a number or a string, got {value!r}")
    if isinstance(value, list):  # hidden = [[256, 256], [512, 512]]
        return ",".join(_toml_text(v, where) for v in value)
    return repr(value) if isinstance(value, float) else str(value)


def _toml_param(name: str, spec: Any, options: Mapping[str, Option], where: str) -> Param:
    if isinstance(spec, list):
        return values_param(name, [_toml_text(v, f"{where}: {name}") for v in spec], options)
    if isinstance(spec, str):  # "1e-4:1e-1:log"
        low, high, log = _range_parts(spec, f"{where}: {name}")
        return range_param(name, low, high, log, options)
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - {"low", "high", "log"})
        if unknown or "low" not in spec or "high" not in spec:
            raise SpaceError(
                f"{where}: {name}: a range is {{low = ..., high = ..., log = true|false}}; "
                f"got keys {sorted(spec)}"
            )
        log = spec.get("log", False)
        if not isinstance(log, bool):
            raise SpaceError(f"{where}: {name}: log must be true or false, got {log!r}")
        low = _toml_text(spec["low"], f"{where}: {name}.low")
        high = _toml_text(spec["high"], f"{where}: {name}.high")
        return range_param(name, low, high, log, options)
    raise SpaceError(
        f"{where}: {name}: expected a list of values, a range table {{low, high, log}} or a "
        f"'LOW:HIGH[:log]' string; got {spec!r}"
    )


def load_toml(path: str | Path, options: Mapping[str, Option]) -> list[Param]:
    """The parameters of a TOML space file: one key per parameter, in file order."""
    p = Path(path)
    if not p.is_file():
        raise SpaceError(f"--space: file {str(p)!r} does not exist")
    try:
        table = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise SpaceError(f"--space: {str(p)!r} is not valid TOML: {e}") from None
    if not table:
        raise SpaceError(f"--space: {str(p)!r} names no parameters")
    return [_toml_param(name, spec, options, str(p)) for name, spec in table.items()]


def build_space(params: Sequence[Param]) -> SearchSpace:
    """Check that the parameters can be searched together and make the space."""
    if not params:
        raise SpaceError(
            "nothing to search; give at least one --grid NAME=V1,V2, --range NAME=LOW:HIGH "
            "or --space FILE"
        )
    seen: set[str] = set()
    for p in params:
        if p.name in seen:
            raise SpaceError(f"parameter {p.name} is given twice; give each parameter once")
        seen.add(p.name)
    if {"hidden", UNITS} <= seen:
        raise SpaceError("give either hidden (every layer's size) or units, not both")
    return SearchSpace(tuple(params))
