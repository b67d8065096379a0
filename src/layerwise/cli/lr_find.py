"""``layerwise lr-find``: the learning-rate range test of a recipe, and the rate to train with.

The recipe's flags are ``layerwise train``'s (from the options table), so one command line
becomes the other by changing the command word; ``--lr`` is accepted but unused (the test
varies the rate). The test's own flags: ``--steps``, ``--start-lr``, ``--end-lr``. It writes
``lr_find.png`` (the curve, the suggestion marked) and ``lr_find.json`` (the measurements, the
suggestion, the recipe) into a new folder, and prints the suggestion as a flag to paste.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from layerwise.cli._common import (
    PROG,
    DefaultsFormatter,
    UsageError,
    add_recipe_file,
    add_recipe_options,
    as_usage_error,
    flag_of,
    int_at_least,
    option_type,
)
from layerwise.cli.train import make_recipe
from layerwise.errors import ConfigError
from layerwise.options import POSITIVE, Option

#: The test's own settings, checked like recipe options (``argument --end-lr: expected ...``).
START_LR = Option("start_lr", POSITIVE, 1e-7, "learning rate of the first step", "LR")
END_LR = Option("end_lr", POSITIVE, 10.0, "learning rate of the last step", "LR")
#: The flag of each find_lr argument, to name it in an error.
_FLAGS = {"num_steps": "--steps", "start_lr": START_LR.flag, "end_lr": END_LR.flag}
#: The exit status when the curve gives no suggestion (the files are written all the same).
NO_SUGGESTION = 3
#: The files written into the folder.
PNG, JSON = "lr_find.png", "lr_find.json"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "lr-find",
        help="find a learning rate: the range test (train while the rate grows)",
        description="Train a copy of the recipe's model for --steps minibatches while the "
        "learning rate grows geometrically from --start-lr to --end-lr, and suggest the rate "
        "where the loss falls fastest (at most half the rate of its minimum). Writes "
        f"{PNG} and {JSON}. Takes every flag of 'layerwise train' ({flag_of('lr')} is unused).",
        formatter_class=DefaultsFormatter,
    )
    add_recipe_file(parser)
    add_recipe_options(parser)
    parser.add_argument(
        "--steps", type=int_at_least(10), default=100, metavar="N", help="steps of the test"
    )
    for option in (START_LR, END_LR):
        parser.add_argument(
            option.flag,
            type=option_type(option),
            default=option.default,
            metavar=option.metavar,
            help=option.help,
        )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="folder to create (must not exist or be empty; default: runs/<time>-lr-find-<name>)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from layerwise.io import write_json
    from layerwise.lr_finder import find_lr_for_recipe
    from layerwise.plots import plot_lr_find, save_figure
    from layerwise.runs import RunFolder, run_name_hint

    recipe = make_recipe(args)
    hint = run_name_hint(recipe, prefix="lr-find-")
    folder = RunFolder.create(args.out, base="runs", name_hint=hint)  # before the data loads
    try:
        data = recipe.build_data()
        with _Progress(args.steps) as progress:
            result = find_lr_for_recipe(
                recipe,
                data,
                num_steps=args.steps,
                start_lr=args.start_lr,
                end_lr=args.end_lr,
                on_step=progress.step,
            )
        settings = {"num_steps": args.steps, "start_lr": args.start_lr, "end_lr": args.end_lr}
        record = {**result.to_dict(), **settings, "recipe": recipe.to_dict()}
        write_json(folder.path / JSON, {**record, "argv": list(getattr(args, "argv", []))})
        save_figure(plot_lr_find(result), folder.path / PNG)
    except ConfigError as e:
        folder.remove_if_empty()
        flag = _FLAGS.get(e.field or "")
        raise (UsageError(f"argument {flag}: {e}") if flag else as_usage_error(e)) from None
    except BaseException:
        folder.remove_if_empty()  # a test that never started leaves no folder behind
        raise
    finally:
        folder.release()
    if result.reason:
        print(f"stopped early: {result.reason}")
    print(f"wrote {PNG} and {JSON} in {folder}")
    if result.suggested_lr is None:
        print(
            f"{PROG}: no suggestion: the loss did not fall over the rates tried; try a smaller "
            f"{START_LR.flag} or a larger {END_LR.flag}",
            file=sys.stderr,
        )
        return NO_SUGGESTION
    lr = f"{result.suggested_lr:.3g}"
    print(f"suggested learning rate: {lr}  (paste: {flag_of('lr')} {lr})")
    return 0


class _Progress:
    """The test's progress: a tqdm bar on a terminal's stderr, else a line every tenth of the
    steps (as the Solver's lines go, so a log file shows how far it got)."""

    def __init__(self, total: int) -> None:
        from tqdm.auto import tqdm

        self.total = total
        self.every = max(1, total // 10)
        self.bar = tqdm(
            total=total, disable=not sys.stderr.isatty(), file=sys.stderr, unit="step", leave=False
        )

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()

    def step(self, step: int, lr: float, loss: float, smoothed: float) -> None:
        if not self.bar.disable:
            self.bar.update(1)
            self.bar.set_postfix(lr=f"{lr:.3g}", loss=f"{smoothed:.4f}", refresh=False)
        elif step % self.every == 0 or step == 1:
            print(
                f"(Step {step} / {self.total}) lr {lr:.3g}; loss {loss:.4f}; "
                f"smoothed {smoothed:.4f}",
                flush=True,
            )
