"""``layerwise predict RUN --input FILE``: predictions of a run's model for new rows (a run on
your own data) or new images (a run on digits, mnist or cifar10)."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

from layerwise.cli._common import UsageError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    predict = sub.add_parser(
        "predict",
        help="predict new rows or images with a trained run",
        description=(
            "For a run trained on your own data: encode a CSV (the training file's feature "
            "columns) or an NPZ file (an array X) as the run's training file was. For a run "
            "trained on digits, mnist or cifar10: read an NPZ file whose array X holds images "
            "(pixel values as in the dataset's files: 0..255, or 0..16 for digits; shape "
            "(N, H, W), (N, 32, 32, 3) or (N, 3, 32, 32) for cifar10, or flat rows) and scale "
            "and preprocess them as the run's training images were. Write one row of "
            "predictions per example (with class or label probabilities) as CSV."
        ),
    )
    predict.add_argument("run", metavar="RUN", help="run folder written by 'layerwise train'")
    predict.add_argument(
        "--input", required=True, metavar="FILE", help="CSV or NPZ file (images: NPZ with X)"
    )
    predict.add_argument(
        "--output", metavar="FILE", help="CSV file to write (default: standard output)"
    )
    predict.set_defaults(func=run)
    return predict


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from layerwise.io import write_csv
    from layerwise.prediction import predict_file, predict_images
    from layerwise.runs import RunFolder

    folder = RunFolder.open(args.run)
    if not Path(args.input).is_file():
        raise UsageError(f"argument --input: {args.input!r} is not a file")
    if folder.preprocessing_path.is_file():  # trained on a file of one's own
        preprocessing = folder.read_preprocessing()
        rows = predict_file(folder.load_model(), preprocessing, args.input)
    else:  # trained on a built-in image dataset (or refused, naming why)
        from layerwise.data import dataset_info

        pixels = folder.load_pixels()
        rows = predict_images(
            folder.load_model(),
            pixels,
            folder.load_preprocessor(),
            args.input,
            dataset_info(pixels.dataset).class_names,
        )
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
