"""``layerwise evaluate RUN``: the accuracy of a run's saved model on one split."""

from __future__ import annotations

import argparse
from typing import Any

from layerwise.cli._common import SCORE_WORDS, UsageError
from layerwise.errors import ConfigError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    evaluate = sub.add_parser(
        "evaluate",
        help="report the accuracy of a trained run",
        description="Reload a run folder's model and dataset and print the accuracy on a split.",
    )
    evaluate.add_argument("run", metavar="RUN", help="run folder written by 'layerwise train'")
    evaluate.add_argument("--split", choices=("test", "val", "train"), default="test")
    evaluate.add_argument(
        "--data-dir", metavar="DIR", help="dataset folder (default: the one the run used)"
    )
    evaluate.set_defaults(func=run)
    return evaluate


def load_run(run_arg: str, data_dir: str | None) -> tuple[Any, Any, Any, Any]:
    """(folder, recipe, best model, dataset) of a run folder written by ``layerwise train``.

    The dataset is the run's own (its recipe names it), read from ``data_dir`` when given, else
    from the folder the run used.
    """
    from layerwise.runs import RunFolder, check_model_fits_data

    folder = RunFolder.open(run_arg)
    try:
        recipe = folder.recipe()
    except ConfigError as e:
        raise UsageError(str(e)) from None
    model = folder.load_model()
    if data_dir is not None:
        recipe = recipe.replace(data_dir=data_dir)
    try:
        data = recipe.build_data(preprocessor=folder.load_preprocessor())
        check_model_fits_data(model, data, f"the model in {str(folder.model_path)!r}")
    except ConfigError as e:
        raise UsageError(str(e)) from None
    return folder, recipe, model, data


def run(args: argparse.Namespace) -> int:
    from layerwise.runs import accuracy
    from layerwise.tasks import get_task

    _, _, model, data = load_run(args.run, args.data_dir)
    acc = accuracy(model, data[f"X_{args.split}"], data[f"y_{args.split}"])
    score = SCORE_WORDS[get_task(getattr(model, "task", "classification")).score_name]
    print(f"{args.split} {score}: {acc:f}")
    return 0
