"""``layerwise assignment build SOURCE OUT``: the student notebook of a reference notebook.

``assignment`` is a group of subcommands (``build`` for now) so that the instructor's other
steps can join it later. The work is :mod:`layerwise.assignment`; this module parses the flags
and prints each block it replaced, so the instructor can see that nothing was missed.
"""

from __future__ import annotations

import argparse
from typing import Any

from layerwise.cli._common import DefaultsFormatter

STUB_WORDS = {"raise": "raise NotImplementedError", "todo": "# TODO: your code here / pass"}


def add_parser(sub: Any) -> argparse.ArgumentParser:
    assignment = sub.add_parser(
        "assignment",
        help="turn a reference notebook into a student notebook",
        description="Instructor tools for notebooks marked with nbgrader's markers "
        "(### BEGIN SOLUTION / ### END SOLUTION, ### BEGIN HIDDEN TESTS / ### END HIDDEN TESTS).",
    )
    actions = assignment.add_subparsers(dest="assignment_command", metavar="ACTION")
    actions.required = True
    build = actions.add_parser(
        "build",
        help="write the student version of a notebook",
        description="Replace every solution block of SOURCE by a stub (markdown answers by "
        "'YOUR ANSWER HERE'), remove hidden tests, clear every output, and write OUT. "
        "Grade the student's notebook with 'layerwise check OUT'.",
        formatter_class=DefaultsFormatter,
    )
    build.add_argument("source", metavar="SOURCE", help="the reference notebook (.ipynb)")
    build.add_argument("out", metavar="OUT", help="where to write the student notebook")
    build.add_argument(
        "--stub",
        choices=tuple(STUB_WORDS),
        default="raise",
        help="what replaces a code solution: 'raise' (raise NotImplementedError) or 'todo' "
        "(a TODO comment and pass)",
    )
    build.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    build.set_defaults(func=run)
    return assignment


def run(args: argparse.Namespace) -> int:
    from layerwise.assignment import build_student_notebook

    result = build_student_notebook(args.source, args.out, args.stub, overwrite=args.overwrite)
    replacement = {
        "solution": STUB_WORDS[result.stub],
        "answer": "YOUR ANSWER HERE",
        "hidden tests": "removed",
    }
    for block in result.blocks:
        print(f"cell {block.cell}, line {block.line}: {block.kind} -> {replacement[block.kind]}")
    counts = ", ".join(f"{n} {kind}" for kind, n in result.counts.items())
    print(f"wrote {result.out} ({counts}; every output cleared)")
    return 0
