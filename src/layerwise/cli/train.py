"""``layerwise train``: build a recipe from the flags, train it into a new run folder.

The recipe's flags come from the options table; ``--recipe NAME|FILE`` starts from a shipped
recipe or a JSON recipe file instead of the defaults, and the recipe flags typed beside it change
it. This command adds only where the run goes and what is printed (``--out``, ``--resume``,
``--print-every``, ``--quiet``). ``--resume RUN``
rebuilds the run from the recipe its ``config.json`` holds (never from the command line that
started it) and continues from its latest checkpoint; ``--epochs`` may extend it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from layerwise.cli._common import (
    PROG,
    SCORE_WORDS,
    DefaultsFormatter,
    UsageError,
    add_print_every,
    add_recipe_file,
    add_recipe_options,
    as_usage_error,
    given_flags,
    recipe_values,
)
from layerwise.errors import ConfigError
from layerwise.options import OPTIONS

#: Printing and where output goes: the train command's own, not the recipe's.
PRINT_EVERY = 100
#: Checks per epoch of ``--diagnostics`` given without a number.
DIAGNOSTIC_CHECKS = 10
#: The exit status of a run that diverged (its folder is complete, with the best parameters).
DIVERGED = 3


def add_parser(sub: Any) -> argparse.ArgumentParser:
    train = sub.add_parser(
        "train",
        help="train a model and write a run folder",
        description="Train a model with minibatch gradient descent and write a run folder "
        "(config.json, metrics.json, metrics.csv, model.npz, model.json and the figures: "
        "curves, cost, predictions, weights, confusion matrix). "
        "The defaults reach about 0.97 test accuracy on the embedded digits in a few seconds.",
        formatter_class=DefaultsFormatter,
    )
    add_recipe_file(train)
    add_recipe_options(train)
    train.add_argument(
        "--out",
        metavar="RUN",
        help="run folder to create (must not exist or be empty; default: runs/<time>-<name>)",
    )
    add_print_every(train, PRINT_EVERY)
    train.add_argument("--quiet", action="store_true", help="print only the final results")
    train.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="threads for the matrix products (BLAS; default: $LAYERWISE_NUM_THREADS, else "
        "BLAS's own default, every core); recorded in config.json",
    )
    train.add_argument(
        "--diagnostics",
        nargs="?",
        type=int,
        const=DIAGNOSTIC_CHECKS,
        default=None,
        metavar="PER_EPOCH",
        help="record per-layer activation, gradient and update statistics PER_EPOCH times an "
        f"epoch (default {DIAGNOSTIC_CHECKS} when given) into diagnostics.json/.csv and two "
        "figures; training is unchanged",
    )
    train.add_argument(
        "--resume",
        metavar="RUN",
        help="continue an interrupted run in its folder (its own settings; --epochs may raise "
        "the total)",
    )
    train.set_defaults(func=run)
    return train


def make_recipe(args: argparse.Namespace) -> Any:
    """The recipe the flags describe (a relative --data-dir made absolute, for later reuse):
    with ``--recipe``, that recipe changed by the recipe flags typed beside it."""
    from layerwise.recipe import Recipe

    values = recipe_values(args)
    if values["data_dir"]:
        values["data_dir"] = str(Path(values["data_dir"]).resolve())
    name = getattr(args, "recipe", None)
    try:
        if name is None:
            return Recipe.from_options(**values)
        base = _recipe_file(name)
        given = given_flags(getattr(args, "argv", []))
        return base.replace(**{o.name: values[o.name] for o in OPTIONS if o.flag in given})
    except ConfigError as e:
        raise as_usage_error(e) from None


def _recipe_file(name: str) -> Any:
    from layerwise import recipes

    try:
        return recipes.load(name)
    except ConfigError as e:
        raise UsageError(f"argument --recipe: {e}") from None


def run(args: argparse.Namespace) -> int:
    from layerwise.runs import RunFolder, run_name_hint

    if args.resume is not None:
        return _resume(args)
    recipe = make_recipe(args)
    # Claim the run folder first: a taken --out fails before minutes of data loading.
    folder = RunFolder.create(args.out, base="runs", name_hint=run_name_hint(recipe))
    try:
        return _train(args, recipe, folder, resume=False)
    except BaseException:
        # Leave no empty folder behind for a run that never started; a folder that already
        # holds config.json documents the failed attempt and is kept.
        folder.remove_if_empty()
        raise


def _resume(args: argparse.Namespace) -> int:
    """Rebuild the run from its own config.json recipe, load its latest checkpoint, go on."""
    from layerwise.runs import RunFolder

    given = given_flags(args.argv)
    allowed = {"--epochs", "--data-dir", "--resume", "--quiet", "--print-every", "--threads"}
    # --diagnostics continues as the run was started (its records are in the checkpoint).
    conflicts = sorted(given - allowed)
    if conflicts:
        raise UsageError(
            f"argument --resume: {', '.join(conflicts)} cannot change a run that exists; a "
            "resume continues with the run's own settings (only --epochs may raise its total, "
            "and --data-dir say where its data has moved)"
        )
    folder = RunFolder(args.resume)
    if not folder.config_path.is_file():
        raise UsageError(f"argument --resume: {str(folder)!r} holds no config.json of a run")
    try:
        config = folder.read_config()
        recipe = folder.recipe()
    except (ConfigError, ValueError) as e:
        raise UsageError(f"argument --resume: cannot read the run's settings: {e}") from None
    fresh = folder.never_checkpointed()
    if (not fresh and not folder.has_checkpoint()) or (fresh and folder.metrics_path.is_file()):
        raise UsageError(
            f"argument --resume: {str(folder)!r} has no checkpoint to resume from "
            f"(expected {RunFolder.CHECKPOINT}_latest.json)"
        )
    if "--epochs" in given:  # the one setting a resume may change: train for longer
        recipe = recipe.replace(epochs=args.epochs)
    if "--data-dir" in given:  # where the data is, not what is trained
        recipe = recipe.replace(data_dir=str(Path(args.data_dir).resolve()))
    args.print_every = int(config.get("print_every", args.print_every))
    args.diagnostics = config.get("diagnostics")
    if "--threads" not in given:  # as the run was started, unless told otherwise
        args.threads = config.get("threads")
    # A run that died before its first checkpoint is trained from the start with its recipe
    # (training is deterministic, so that is the run it would have been).
    return _train(args, recipe, folder, resume=not fresh)


def _train(args: argparse.Namespace, recipe: Any, folder: Any, resume: bool) -> int:
    from layerwise.checkpoint import CheckpointError
    from layerwise.diagnostics import Diagnostics
    from layerwise.runs import train_run
    from layerwise.threads import set_threads

    try:
        threads = set_threads(args.threads)
    except ConfigError as e:  # from the flag, or from the environment variable
        raise UsageError(
            f"argument --threads: {e}" if args.threads is not None else str(e)
        ) from None
    record: dict[str, Any] = {
        "print_every": args.print_every,
        "argv": list(args.argv),
        "threads": threads,
    }
    diagnostics = None
    if args.diagnostics is not None:
        try:
            diagnostics = Diagnostics(checks_per_epoch=args.diagnostics)
        except ConfigError as e:
            raise UsageError(f"argument --diagnostics: {e}") from None
        record["diagnostics"] = args.diagnostics
    try:
        result = train_run(
            recipe,
            folder,
            resume=resume,
            verbose=not args.quiet,
            print_every=args.print_every,
            progress=not args.quiet,
            extra_config=record,
            diagnostics=diagnostics,
        )
    except CheckpointError as e:
        raise UsageError(f"argument --resume: {e}") from None
    except ConfigError as e:
        if resume and e.field == "epochs":
            raise UsageError(f"argument --resume: {e}") from None
        raise as_usage_error(e) from None
    except KeyboardInterrupt:
        raise KeyboardInterrupt(
            f"checkpoint saved; continue with: {PROG} train --resume {folder}"
        ) from None
    metrics = result.metrics
    score = SCORE_WORDS.get(metrics.get("score_name", "accuracy"), "accuracy")
    print(f"val {score}: {metrics['val_acc']:f}")
    print(f"test {score}: {metrics['test_acc']:f}")
    print(f"trained in {metrics['train_seconds']:.1f} s; run folder: {folder}")
    stopped = result.solver.stopped_by
    return DIVERGED if stopped is not None and stopped.kind == "diverged" else 0
