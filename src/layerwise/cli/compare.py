"""``layerwise compare``: one recipe on several engines, one table.

Every recipe option is accepted (as for ``layerwise train``, except ``--engine``) and used for
every engine; the engines train one after the other in this process
(:func:`layerwise.compare.compare_engines`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from layerwise.cli._common import (
    PROG,
    DefaultsFormatter,
    add_print_every,
    add_recipe_options,
    as_usage_error,
    recipe_values,
)
from layerwise.engine import ENGINES
from layerwise.errors import ConfigError


def _engines(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    bad = [n for n in names if n not in ENGINES]
    if not names or bad:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(ENGINES)}, got {text!r}"
        )
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"an engine is named twice in {text!r}")
    return names


def add_parser(sub: Any) -> argparse.ArgumentParser:
    compare = sub.add_parser(
        "compare",
        help="train one network on several engines and compare them",
        description="Train the network that the 'layerwise train' options describe on each "
        "engine (numpy, keras, tensorflow), one after the other, and print one table: "
        "final train/val/test accuracy, seconds per epoch, peak memory. Writes DIR/<engine>/ "
        "(a run folder each), DIR/compare.json and DIR/compare.csv. keras and tensorflow need "
        "pip install 'layerwise[tf]'.",
        formatter_class=DefaultsFormatter,
    )
    compare.add_argument(
        "--engines",
        type=_engines,
        default=ENGINES,
        metavar="E[,E]",
        help=f"engines to train on (default: {','.join(ENGINES)})",
    )
    compare.add_argument(
        "--out", metavar="DIR", help="folder to create (default: runs/<time>-compare-<dataset>)"
    )
    compare.add_argument(
        "--quiet", action="store_true", help="print only the table, not each training's lines"
    )
    add_print_every(compare)
    add_recipe_options(compare, skip=("engine",))
    compare.set_defaults(func=run)
    return compare


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from layerwise.compare import compare_engines, format_table
    from layerwise.frameworks import require_engine
    from layerwise.recipe import Recipe
    from layerwise.runs import RunFolder, run_name_hint

    values = recipe_values(args, skip=("engine",))
    if values["data_dir"]:
        values["data_dir"] = str(Path(values["data_dir"]).resolve())
    try:
        recipe = Recipe.from_options(**values)
    except ConfigError as e:
        raise as_usage_error(e) from None
    for engine in args.engines:  # fail before any folder or training when one is missing
        require_engine(engine)
    out = RunFolder.create(args.out, base="runs", name_hint=run_name_hint(recipe, "compare-"))
    try:
        rows = compare_engines(
            recipe,
            args.engines,
            out.path,
            verbose=not args.quiet,
            print_every=args.print_every,
            say=lambda line: print(line, flush=True),
            record={"argv": list(args.argv)},
        )
    except BaseException:
        out.remove_if_empty()
        raise
    print(format_table(rows))
    print(f"{PROG} compare: {len(rows)} engines; folder: {out}")
    failed = [r["engine"] for r in rows if r["status"] != 0]
    if failed:
        print(f"{PROG}: error: training failed on {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
