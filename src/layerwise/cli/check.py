"""``layerwise check PATH``: grade a student's implementation against layerwise's own.

Prints a table (a line per check, a failure's diagnosis below it); ``--json FILE`` and
``--gradescope FILE`` also write the report (Gradescope's ``results.json`` format, points from
``--rubric``). Exit status 0 when every check of every item found passes, 1 when one fails
(or nothing is found), 2 on bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from layerwise.cli._common import DefaultsFormatter, UsageError

#: Exit status when a check fails.
FAILED = 1


def add_parser(sub: Any) -> argparse.ArgumentParser:
    from layerwise.check.isolation import MEMORY_MB, TIMEOUT
    from layerwise.check.loading import DEFAULT_SKIP

    check = sub.add_parser(
        "check",
        help="check a student's layers and models (.py or .ipynb) against layerwise's",
        description="Load a .py file or .ipynb notebook in a separate process (time and memory "
        "limits: isolation, not a security sandbox), find the exercise's functions and classes "
        "by name (affine_forward, ..., TwoLayerNet, ThreeLayerNet, sgd, ...) and check each "
        "against layerwise's reference: the seed's exact values, random shapes, gradients, "
        "float32, large scores, inputs left unchanged, the documented returns.",
        formatter_class=DefaultsFormatter,
    )
    check.add_argument(
        "path", metavar="PATH", help="the submission: a .py file or a .ipynb notebook"
    )
    check.add_argument("--items", metavar="NAME[,NAME]", help="check only these items")
    check.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    check.add_argument(
        "--gradescope", metavar="FILE", help="also write Gradescope's results.json to FILE"
    )
    check.add_argument("--rubric", metavar="TOML", help="points per check (default: one each)")
    check.add_argument(
        "--timeout", type=float, default=TIMEOUT, metavar="S", help="seconds per check"
    )
    check.add_argument("--memory", type=int, default=MEMORY_MB, metavar="MB", help="memory limit")
    check.add_argument(
        "--skip-cells",
        default=DEFAULT_SKIP,
        metavar="REGEX",
        help="notebook cells (and top-level statements) matching this are not run",
    )
    check.add_argument(
        "--run-all-cells", action="store_true", help="run every cell (training ones included)"
    )
    check.set_defaults(func=run)
    return check


def run(args: argparse.Namespace) -> int:
    import re

    from layerwise.check import check_path
    from layerwise.errors import ConfigError
    from layerwise.io import write_json

    skip = None if args.run_all_cells else args.skip_cells
    if skip is not None:
        try:
            re.compile(skip)
        except re.error as e:
            raise UsageError(f"argument --skip-cells: not a regular expression ({e})") from None
    items = None if args.items is None else [s.strip() for s in args.items.split(",") if s.strip()]
    try:
        report = check_path(
            args.path,
            items=items,
            rubric=args.rubric,
            timeout=args.timeout,
            memory_mb=args.memory,
            skip=skip,
        )
    except ConfigError as e:
        flag = {"items": "--items", "rubric": "--rubric", "timeout": "--timeout",
                "memory_mb": "--memory"}.get(e.field or "")  # fmt: skip
        raise UsageError(f"argument {flag}: {e}" if flag else str(e)) from None
    for line in report.lines():
        print(line)
    if args.json:
        write_json(args.json, report.to_dict())
    if args.gradescope:
        write_json(args.gradescope, report.gradescope())
    return 0 if report.passed else FAILED
