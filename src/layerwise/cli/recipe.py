"""``layerwise recipe list`` and ``layerwise recipe show NAME``: the shipped recipes.

``show`` prints a recipe file as the package holds it (its description, how it was measured,
and the recipe itself), so ``layerwise recipe show mnist-best > mine.json`` makes a copy to edit
and train with ``layerwise train --recipe mine.json``.
"""

from __future__ import annotations

import argparse
from typing import Any

from layerwise.cli._common import UsageError
from layerwise.errors import ConfigError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    recipe = sub.add_parser(
        "recipe",
        help="list or show the shipped recipes (layerwise train --recipe NAME)",
        description="The recipes shipped in the package: 'list' names them, 'show NAME' prints "
        "one as JSON (copy it, edit it, train it with 'layerwise train --recipe FILE').",
    )
    verbs = recipe.add_subparsers(dest="verb", metavar="VERB", required=True)
    listing = verbs.add_parser("list", help="the shipped recipes, one line each")
    listing.set_defaults(func=run_list)
    show = verbs.add_parser("show", help="print a shipped recipe file (JSON)")
    show.add_argument("name", metavar="NAME", help="a shipped recipe's name (see 'list')")
    show.set_defaults(func=run_show)
    return recipe


def run_list(args: argparse.Namespace) -> int:
    from layerwise import recipes

    names = recipes.names()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {recipes.describe(name)}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from layerwise import recipes

    try:
        print(recipes.text(args.name), end="")
    except ConfigError as e:
        raise UsageError(f"argument NAME: {e}") from None
    return 0
