"""``layerwise report RUN [--out FILE]``: one self-contained HTML page of a run folder.

The page itself is :mod:`layerwise.report`; this module only parses the flags and prints the
path written. Without the ``[report]`` extra (Jinja2) the command ends with a one-line install
hint, like every command with an extra.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> argparse.ArgumentParser:
    report = sub.add_parser(
        "report",
        help="write one offline HTML page of a run",
        description="Write a self-contained HTML page of a run folder: its recipe, metrics, "
        "per-epoch table, figures, and diagnostics.json and doctor.json when present. The "
        "page has no scripts and no outside links; it opens offline in any browser.",
    )
    report.add_argument("run", metavar="RUN", help="run folder written by 'layerwise train'")
    report.add_argument(
        "--out", metavar="FILE", help="where to write the page (default: RUN/report.html)"
    )
    report.set_defaults(func=run)
    return report


def run(args: argparse.Namespace) -> int:
    from layerwise.report import write_report

    print(write_report(args.run, args.out))
    return 0
