"""``layerwise predict RUN --input FILE``: predictions of a run's model for new rows."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

from layerwise.cli._common import UsageError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    predict = sub.add_parser(
        "predict",
        help="predict new rows with a run trained on your own data",
        description=(
            "Encode a CSV (the training file's feature columns) or an NPZ file (an array X) "
            "as the run's training file was, and write one row of predictions per example "
            "(with class or label probabilities) as CSV."
        ),
    )
    predict.add_argument("run", metavar="RUN", help="run folder written by 'layerwise train'")
    predict.add_argument("--input", required=True, metavar="FILE", help="CSV or NPZ file")
    predict.add_argument(
        "--output", metavar="FILE", help="CSV file to write (default: standard output)"
    )
    predict.set_defaults(func=run)
    return predict


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from layerwise.io import write_csv
    from layerwise.prediction import predict_file
    from layerwise.runs import RunFolder

    folder = RunFolder.open(args.run)
    preprocessing = folder.read_preprocessing()
    model = folder.load_model()
    if not Path(args.input).is_file():
        raise UsageError(f"argument --input: {args.input!r} is not a file")
    rows = predict_file(model, preprocessing, args.input)
    if args.output:
        write_csv(args.output, rows)
        print(f"{len(rows)} predictions written to {args.output}", file=sys.stderr)
    else:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
        try:
            writer.writeheader()
            writer.writerows(rows)
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. `| head`: the reader has what it wanted
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
