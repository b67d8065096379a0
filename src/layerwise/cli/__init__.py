"""The ``layerwise`` command: a thin layer over the library, one module per command.

- :mod:`~layerwise.cli.train`: ``layerwise train`` (a recipe from the flags, a run folder);
- :mod:`~layerwise.cli.recipe`: ``layerwise recipe list|show``, the shipped recipes;
- :mod:`~layerwise.cli.lr_find`: ``layerwise lr-find`` (the learning-rate range test of a recipe);
- :mod:`~layerwise.cli.evaluate`, :mod:`~layerwise.cli.plot`: read a run folder back;
- :mod:`~layerwise.cli.gradcheck`: every backward pass against numerical gradients;
- :mod:`~layerwise.cli.check`: ``layerwise check``, a student's implementation graded;
- :mod:`~layerwise.cli.doctor`: ``layerwise doctor``, short checks of a recipe or a run;
- :mod:`~layerwise.cli.tune`: ``layerwise tune`` (the ``[tune]`` extra);
- :mod:`~layerwise.cli.compare`: ``layerwise compare`` (the ``[tf]`` extra for the twins);
- :mod:`~layerwise.cli.report`: ``layerwise report``, one offline HTML page (``[report]``);
- :mod:`~layerwise.cli.assignment`: ``layerwise assignment build``, a student notebook from a
  reference one (``[assignment]``).

Nothing in the library imports this package (an import-linter contract checks it). Every error
the library raises on bad input is a :class:`~layerwise.errors.LayerwiseError`; :func:`main`
prints it as one line ``layerwise: error: ...`` and returns exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from layerwise.cli import (
    assignment,
    check,
    compare,
    doctor,
    evaluate,
    gradcheck,
    lr_find,
    plot,
    predict,
    recipe,
    report,
    train,
    tune,
)
from layerwise.cli._common import PROG, Parser, UsageError
from layerwise.errors import LayerwiseError

__all__ = ["PROG", "UsageError", "build_parser", "main"]


def _version() -> str:
    import layerwise

    return str(getattr(layerwise, "__version__", "unknown"))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``layerwise`` command (errors raise :class:`UsageError`)."""
    parser = Parser(
        prog=PROG,
        description="Train and check multi-layer neural networks written from scratch in NumPy.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in (
        train,
        lr_find,
        evaluate,
        predict,
        plot,
        gradcheck,
        check,
        doctor,
        recipe,
        tune,
        compare,
        report,
        assignment,
    ):
        command.add_parser(sub)
    return parser


@contextmanager
def _warning_lines() -> Iterator[None]:
    """Show the library's warnings to the user (an accepted non-official data file, ...) as
    one ``layerwise: warning: ...`` line each; other warnings as Python shows them."""
    from layerwise.data.checksum import UnofficialDataWarning

    with warnings.catch_warnings():
        show = warnings.showwarning

        def line(message: Any, category: type[Warning], *rest: Any, **kw: Any) -> None:
            if issubclass(category, UnofficialDataWarning):
                print(f"{PROG}: warning: {message}", file=sys.stderr)
            else:
                show(message, category, *rest, **kw)

        warnings.showwarning = line
        yield


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as e:
        print(f"{PROG}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help and --version exit through argparse
        return e.code if isinstance(e.code, int) else 0
    if args.command is None:
        parser.print_help()
        return 0
    args.argv = argv
    try:
        with _warning_lines():
            status: int = args.func(args)
    except (LayerwiseError, OSError) as e:
        print(f"{PROG}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print(f"{PROG}: interrupted{f'; {e}' if str(e) else ''}", file=sys.stderr)
        return 130
    return status
