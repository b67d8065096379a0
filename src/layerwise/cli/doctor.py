"""``layerwise doctor``: short checks of a recipe (given as train's flags) or of a run folder's
recipe, a verdict per check and an overall one.

Exit status 0 when no check fails (warnings allowed), 1 when one does, 2 on bad input. With a
run folder the report is also written into it as ``doctor.json`` (``layerwise report`` shows
it); ``--json FILE`` writes it anywhere.
"""

from __future__ import annotations

import argparse
from typing import Any

from layerwise.cli._common import (
    DefaultsFormatter,
    UsageError,
    add_recipe_file,
    add_recipe_options,
    as_usage_error,
    given_flags,
)
from layerwise.errors import ConfigError

#: Exit status when a check fails.
UNHEALTHY = 1


def add_parser(sub: Any) -> argparse.ArgumentParser:
    doctor = sub.add_parser(
        "doctor",
        help="check a recipe before a long run: initial loss, gradients, overfitting, units, "
        "signal, update ratio, divergence, data",
        description="Run short, bounded checks of a recipe (the flags of 'layerwise train') or "
        "of a run folder's recipe, and print a verdict per check with the measured value, the "
        "expected range and, when it fails, the likely cause and a flag to try. Exit status 0 "
        "when healthy, 1 when a check fails, 2 on bad input.",
        formatter_class=DefaultsFormatter,
    )
    doctor.add_argument(
        "run",
        nargs="?",
        metavar="RUN",
        help="a run folder: check its recipe and write doctor.json into it",
    )
    add_recipe_file(doctor)
    add_recipe_options(doctor)
    doctor.add_argument("--json", metavar="FILE", help="also write the report to FILE (JSON)")
    doctor.set_defaults(func=run)
    return doctor


def _recipe(args: argparse.Namespace) -> tuple[Any, Any]:
    """(recipe, run folder or None) of the command line."""
    from layerwise.cli.train import make_recipe
    from layerwise.runs import RunFolder

    if args.run is None:
        return make_recipe(args), None
    extra = sorted(given_flags(args.argv) - {"--data-dir", "--json"})
    if extra:
        raise UsageError(
            f"argument RUN: {', '.join(extra)} cannot change a run's recipe; a run folder is "
            "checked with its own settings (only --data-dir may say where its data moved)"
        )
    folder = RunFolder.open(args.run)
    try:
        recipe = folder.recipe()
        if "--data-dir" in given_flags(args.argv):
            recipe = recipe.replace(data_dir=args.data_dir)
    except ConfigError as e:
        raise UsageError(f"argument RUN: {e}") from None
    return recipe, folder


def run(args: argparse.Namespace) -> int:
    from layerwise.doctor import examine
    from layerwise.io import write_json

    recipe, folder = _recipe(args)
    try:
        report = examine(recipe, say=print)
    except ConfigError as e:
        raise as_usage_error(e) from None
    for line in report.lines():
        print(line)
    if folder is not None:
        write_json(folder.path / folder.DOCTOR, report.to_dict())
        print(f"wrote {folder.path / folder.DOCTOR}")
    if args.json:
        write_json(args.json, report.to_dict())
    return 0 if report.healthy else UNHEALTHY
