"""The shipped recipes: Recipe files in the package, by name, readable and copyable.

Each ``NAME.json`` beside this module is one JSON object::

    {"description": "one line: what it trains and what it reached",
     "measured": "how it was chosen and the figures (free text)",
     "recipe": {...}}          # Recipe.to_dict(): what `layerwise train --recipe NAME` trains

:func:`load` takes a shipped name or the path of a JSON file of one's own: a file laid out as
above (a copy of ``layerwise recipe show NAME``), a bare ``Recipe.to_dict()`` object, or a run
folder's ``config.json`` (whose ``"recipe"`` is the one that run trained). The recipes name no
data folder: the dataset's default place, or the caller's ``data_dir``, says where the files are.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from layerwise.errors import ConfigError
from layerwise.recipe import Recipe

__all__ = ["describe", "load", "names", "read", "text"]

_SUFFIX = ".json"


def names() -> list[str]:
    """The shipped recipes' names, sorted (``cifar10-best``, ``mnist-best``, ...)."""
    folder = resources.files(__name__)
    return sorted(p.name[: -len(_SUFFIX)] for p in folder.iterdir() if p.name.endswith(_SUFFIX))


def text(name: str) -> str:
    """The JSON text of the shipped recipe ``name``, as the package holds it."""
    _check_name(name)
    return resources.files(__name__).joinpath(name + _SUFFIX).read_text(encoding="utf-8")


def describe(name: str) -> str:
    """The one-line description of the shipped recipe ``name``."""
    return str(_parse(text(name), f"recipe {name}").get("description", ""))


def load(name_or_path: str | Path) -> Recipe:
    """The recipe a shipped name or a JSON file names (see the module's docstring)."""
    return read(name_or_path)[0]


def read(name_or_path: str | Path) -> tuple[Recipe, dict[str, Any]]:
    """(recipe, the file's whole JSON object) of a shipped name or a JSON file."""
    name = str(name_or_path)
    if name in names():
        where, content = f"recipe {name}", text(name)
    else:
        path = Path(name)
        if not path.is_file():
            looks_like_path = path.suffix == _SUFFIX or len(path.parts) > 1
            raise ConfigError(
                f"recipe {name!r}: "
                + ("no such file" if looks_like_path else "no shipped recipe of that name")
                + f"; expected one of {', '.join(names())} or the path of a JSON recipe file",
                "recipe",
            )
        where = f"recipe file {name!r}"
        try:
            content = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{where}: cannot read it ({e})", "recipe") from None
    document = _parse(content, where)
    fields = document.get("recipe", document) if "schema_version" not in document else document
    try:
        return Recipe.from_dict(fields), document
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}", "recipe") from None


def _check_name(name: str) -> None:
    known = names()
    if name not in known:
        raise ConfigError(
            f"no shipped recipe {name!r}; expected one of {', '.join(known)}", "recipe"
        )


def _parse(content: str, where: str) -> dict[str, Any]:
    try:
        document = json.loads(content)
    except ValueError as e:
        raise ConfigError(f"{where} is not JSON: {e}", "recipe") from None
    if not isinstance(document, dict):
        raise ConfigError(
            f"{where}: expected a JSON object (a recipe), got {type(document).__name__}",
            "recipe",
        )
    return document
