"""``layerwise tune``: a hyperparameter search, from the command line.

The parser needs nothing beyond layerwise itself, so ``layerwise --help`` works without the
``[tune]`` extra; running the command without it ends with a one-line install hint.

Every recipe option of the options table is accepted and fixed for all trials (``--dataset``,
``--model``, ``--epochs``, ``--update-rule``, ...); the searched ones come from ``--grid``,
``--range`` and ``--space``. The search itself is :mod:`layerwise.tune`.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from layerwise.cli._common import UsageError, add_recipe_options, int_at_least
from layerwise.tune.reports import GRACE_SECONDS

if TYPE_CHECKING:
    from layerwise.tune.plan import Plan

INSTALL_HINT = "pip install 'layerwise[tune]'"


class _FixedTrainOption(argparse.Action):
    """Records a ``layerwise train`` option given to ``tune`` (raw text, by its long flag)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        fixed = dict(getattr(namespace, "train_options", None) or {})
        fixed[self.option_strings[-1]] = values  # the long flag; a repeated option: last wins
        namespace.train_options = fixed


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``tune`` to the ``layerwise`` subcommands; it takes every recipe option."""
    tune = subparsers.add_parser(
        "tune",
        help="search hyperparameters (grid, random, TPE) with pruning; resumable",
        description="Train many configurations and keep the best (the seed's grid search, "
        "as one command). Trials run in parallel processes (a local Dask cluster) or on an "
        "existing Dask cluster; accuracy is reported every epoch and hopeless trials are "
        "pruned; rerunning the same command resumes the study in its folder. Needs the "
        f"[tune] extra: {INSTALL_HINT}.",
        epilog="Example (the seed's grid): layerwise tune --dataset mnist --model fc "
        "--hidden-layers 3 --update-rule adam --batch-size 32 --grid lr=0.001,0.01,0.1 "
        "--grid units=256,512 --grid dropout=0.2,0.5 --grid activation=relu,tanh "
        "--epochs 10 --study runs/seed-grid",
    )
    space = tune.add_argument_group("search space (names: layerwise train options, or units)")
    space.add_argument(
        "--grid",
        "--choice",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help="values of a parameter: the grid of --sampler grid, a categorical choice for "
        "random/tpe; separate values with ';' when they hold commas (hidden=256,256;512,512)",
    )
    space.add_argument(
        "--range",
        action="append",
        default=[],
        metavar="NAME=LOW:HIGH[:log]",
        help="a numeric range (integer for an integer option), log-uniform with :log",
    )
    space.add_argument("--space", metavar="FILE", help="a TOML file of parameters")
    space.add_argument(
        "--hidden-layers",
        type=int_at_least(1),
        metavar="N",
        help="with units: N hidden layers of that size (default: the model's depth)",
    )
    search = tune.add_argument_group("search")
    search.add_argument(
        "--sampler",
        choices=("grid", "random", "tpe"),
        help="default: grid when every parameter has values, else tpe",
    )
    search.add_argument(
        "--trials",
        type=int_at_least(1),
        metavar="N",
        help="trials in the study in all, at most the grid's size (default: the grid's size, "
        "or 20)",
    )
    search.add_argument(
        "--sampler-seed",
        type=int_at_least(0),
        default=0,
        metavar="N",
        help="seed of random/tpe sampling",
    )
    search.add_argument(
        "--pruner",
        choices=("median", "none"),
        default="median",
        help="stop a trial whose validation accuracy is below the median of the others' at "
        "the same epoch (default: median)",
    )
    search.add_argument(
        "--prune-warmup",
        type=int_at_least(0),
        default=1,
        metavar="EPOCHS",
        help="never prune before this epoch (default: 1)",
    )
    search.add_argument(
        "--prune-startup",
        type=int_at_least(0),
        default=5,
        metavar="N",
        help="never prune before N trials have completed (default: 5)",
    )
    where = tune.add_argument_group("study and execution")
    where.add_argument(
        "--study",
        required=True,
        metavar="DIR",
        help="the study folder: storage, results.{json,csv,png}; rerun to resume",
    )
    where.add_argument(
        "--storage",
        type=_storage,
        metavar="journal|sqlite|URL",
        help="where the study is kept: an Optuna journal file or a SQLite database in DIR, or "
        "a database server, postgresql://USER:PASSWORD@HOST[:PORT]/DB or mysql://... (what "
        "Optuna advises for workers on several hosts; needs its driver, e.g. psycopg2) "
        "(default: what DIR holds, else journal)",
    )
    where.add_argument(
        "--jobs",
        type=int_at_least(1),
        metavar="N",
        help="trials in parallel: a local Dask cluster of N processes; 1 runs them in this "
        "process (default: one per core; with --scheduler, the cluster's threads)",
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run trials on an existing Dask cluster (e.g. tcp://10.0.0.5:8786); its workers "
        "need layerwise installed, not DIR nor the data: this process ships the arrays and "
        "alone writes the study",
    )
    where.add_argument(
        "--grace-period",
        type=_seconds,
        default=GRACE_SECONDS,
        metavar="SECONDS",
        help="a running trial whose worker sends nothing for this long (frozen, cut off) is "
        "recorded as failed and retried on another worker, up to twice",
    )
    where.add_argument(
        "--retrain-best",
        action="store_true",
        help="retrain the best configuration on train+val and report its test accuracy",
    )
    fixed = tune.add_argument_group(
        "training options, fixed for every trial (as for layerwise train)"
    )
    add_recipe_options(
        fixed, as_text=True, action=_FixedTrainOption, dest_prefix="fixed_", default_note=True
    )
    tune.set_defaults(func=run, train_options=None)
    return tune


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def _require(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        raise UsageError(
            f"layerwise tune needs the optional package {module.split('.')[0]}, which is not "
            f"installed; install it with: {INSTALL_HINT}"
        ) from None


def _seconds(text: str) -> float:
    """``--grace-period``'s type: a number of seconds, at least 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value >= 1 or value == float("inf"):  # also NaN
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 1, got {text!r}")
    return value


def _storage(text: str) -> str:
    """``--storage``'s type: journal, sqlite or a PostgreSQL/MySQL URL."""
    from layerwise.tune.database import is_database_url

    if text in ("journal", "sqlite") or is_database_url(text):
        return text
    raise argparse.ArgumentTypeError(
        f"expected journal, sqlite or a database URL (postgresql://... or mysql://...), got "
        f"{text!r}"
    )


def run(args: argparse.Namespace) -> int:
    _require("optuna")
    from layerwise.tune.plan import make_plan

    plan = make_plan(args)  # the first configuration's recipe is checked: a bad split fails now
    if plan.needs_cluster:
        _require("distributed")
    from layerwise.frameworks import require_engine
    from layerwise.tune.space import flag_texts

    # A missing framework is one line now, not a failed search later.
    require_engine(flag_texts(plan.config.train_argv).get("--engine", "numpy"))
    return _run(plan)


def _run(plan: Plan) -> int:
    import optuna

    from layerwise.plots import save_figure
    from layerwise.tune.executors import ExecutorError, make_executor
    from layerwise.tune.figures import plot_results
    from layerwise.tune.report import best_line, values_text, write_results
    from layerwise.tune.search import SetupError, best_trial, run_search, summary
    from layerwise.tune.study import StudyError, open_study, stale_trials, study_lock

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our lines say what happened
    config, target = plan.config, plan.target
    folder = config.folder
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with study_lock(folder):
            study, finished = open_study(config)
            rerun = len(stale_trials(study))
            print(_header(plan, finished, rerun), flush=True)
            if finished < target or rerun:
                try:
                    executor = make_executor(plan.jobs, plan.scheduler, config.grace_period)
                except ExecutorError as e:
                    raise UsageError(str(e)) from None
                print(f"Running trials on {executor.description}", flush=True)
                try:
                    run_search(study, config, executor, target)
                except SetupError as e:
                    raise UsageError(f"a trial could not start: {e}") from None
                except KeyboardInterrupt:
                    raise KeyboardInterrupt(
                        f"finished trials are saved; rerun the same command to resume {folder}"
                    ) from None
                finally:
                    executor.close()
            records = write_results(
                folder, study.get_trials(), config.space, summary(config, study, target)
            )
    except StudyError as e:
        raise UsageError(str(e)) from None
    save_figure(plot_results(records, config.space), folder / "results.png")
    best = best_trial(study)
    if best is None:
        print(f"No trial completed; their errors are in {folder / 'results.csv'}")
        return 1
    print(best_line(best, config.space))
    print(f"Results: {folder / 'results.csv'}, results.json, results.png")
    if plan.retrain_best:
        _retrain(plan, best, values_text(best.params, config.space))
    return 0


def _header(plan: Plan, finished: int, rerun: int) -> str:
    config = plan.config
    names = ", ".join(config.space.names)
    what = (
        f"grid of {plan.grid_size} configurations"
        if config.sampler == "grid"
        else f"{config.sampler} search, {plan.target} trials"
    )
    pruner = config.pruner
    pruning = (
        "no pruning"
        if pruner["name"] == "none"
        else f"median pruning from epoch {pruner['warmup']} after {pruner['startup']} trials"
    )
    text = f"Study {config.folder}: {what} over {names}; {pruning}"
    if finished >= plan.target and not rerun:
        text += f"\nAll {plan.target} trials finished earlier; nothing to train"
    elif finished or rerun:
        text += f"\nResuming: {finished} of {plan.target} trials finished earlier"
        if rerun:
            text += f"; {rerun} interrupted trial(s) run again"
    return text


def _retrain(plan: Plan, best: Any, shown: str) -> None:
    from layerwise.tune.retrain import retrain

    config = plan.config
    argv = [*config.train_argv, *config.space.train_argv(best.params, config.hidden_layers or 1)]
    epochs = None
    if "--early-stopping" in argv and best.intermediate_values:
        # Early stopping needs held-out data; retrain for as long as the best trial needed.
        values = best.intermediate_values
        epochs = max(1, max(values, key=lambda step: (values[step], -step)))
    print(f"Retraining the best configuration ({shown}) on train+val ...", flush=True)
    report = retrain(config.recipe_for(best.params), config.folder, epochs, train_argv=argv)
    if report["stopped_reason"]:
        print(f"Warning: {report['stopped_reason']}", file=sys.stderr)
    print(
        f"Retrained on {report['num_train']} examples for {report['epochs']} epochs in "
        f"{report['train_seconds']:.1f} s: test accuracy {report['test_acc']:f} "
        f"(model in {report['folder']})"
    )
