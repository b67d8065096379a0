"""``layerwise compare``: train one network on several engines and print one table.

Every ``layerwise train`` option is accepted and used for every engine (``--dataset``,
``--hidden``, ``--update-rule``, ``--epochs``, ...). Each engine trains in a process of its own
(``layerwise train --engine E --out DIR/E``), so its peak memory is its own and one engine's
threads or allocations do not slow another. The table: final train/val/test accuracy of each
saved model (train accuracy on the whole training split), seconds per epoch and peak resident
memory. ``DIR`` holds one run folder per engine plus ``compare.json`` and ``compare.csv``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from layerwise.frameworks import ENGINES

#: train options that compare sets itself, per engine.
_NOT_FORWARDED = frozenset({"--help", "--out", "--resume", "--engine", "--quiet"})


def _engines(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    bad = [n for n in names if n not in ENGINES]
    if not names or bad:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(ENGINES)}, got {text!r}"
        )
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"an engine is named twice in {text!r}")
    return names


class _TrainOption(argparse.Action):
    """Records a ``layerwise train`` option, as typed, in ``namespace.train_argv``."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        argv = list(getattr(namespace, "train_argv", None) or [])
        flag = self.option_strings[-1]
        argv += [flag] if self.nargs == 0 else [flag, values]
        namespace.train_argv = argv


def _as_text(check: Callable[[str], Any] | None) -> Callable[[str], str]:
    """An argparse type that validates like ``check`` but keeps the text as typed."""

    def parse(text: str) -> str:
        if check is not None:
            check(text)
        return text

    parse.__name__ = getattr(check, "__name__", "value")
    return parse


def add_compare_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``compare`` to the ``layerwise`` subcommands; ``sub.choices['train']`` must exist."""
    train = sub.choices["train"]
    compare = sub.add_parser(
        "compare",
        help="train one network on several engines and compare them",
        description="Train the network that the 'layerwise train' options describe on each "
        "engine (numpy, keras, tensorflow), each in a process of its own, and print one table: "
        "final train/val/test accuracy, seconds per epoch, peak memory. Writes DIR/<engine>/ "
        "(a run folder each), DIR/compare.json and DIR/compare.csv. keras and tensorflow need "
        "pip install 'layerwise[tf]'.",
    )
    compare.add_argument(
        "--engines",
        type=_engines,
        default=ENGINES,
        metavar="E[,E]",
        help=f"engines to train on (default: {','.join(ENGINES)})",
    )
    compare.add_argument(
        "--out", metavar="DIR", help="folder to create (default: runs/<time>-compare-<dataset>)"
    )
    compare.add_argument(
        "--quiet", action="store_true", help="print only the table, not each training's lines"
    )
    for action in train._actions:
        flags = [s for s in action.option_strings if s.startswith("--")]
        if not flags or flags[-1] in _NOT_FORWARDED:
            continue
        kwargs: dict[str, Any] = {"action": _TrainOption, "dest": "train_argv", "help": action.help}
        if action.nargs == 0:
            kwargs["nargs"] = 0
        else:
            kwargs["type"] = _as_text(action.type)
            if action.choices is not None:
                kwargs["choices"] = list(action.choices)
            kwargs["metavar"] = action.metavar or (None if action.choices else action.dest.upper())
        compare.add_argument(*action.option_strings, **kwargs)
    compare.set_defaults(func=_cmd_compare, train_argv=[])
    return compare


def _peak_rss_mb(rusage: Any) -> float | None:
    """ru_maxrss in MiB (Linux reports KiB, macOS bytes)."""
    if rusage is None:
        return None
    scale = 1 if sys.platform == "darwin" else 1024
    return float(rusage.ru_maxrss) * scale / 2**20


def _run(argv: Sequence[str], quiet: bool) -> tuple[int, float | None]:
    """Run ``python -m layerwise ARGV``; return (exit status, peak RSS in MiB)."""
    cmd = [sys.executable, "-m", "layerwise", *argv]
    out = subprocess.DEVNULL if quiet else None
    proc = subprocess.Popen(cmd, stdout=out)
    if hasattr(os, "wait4"):
        _, status, rusage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        return proc.returncode, _peak_rss_mb(rusage)
    return proc.wait(), None


def _cmd_compare(args: argparse.Namespace) -> int:
    from layerwise.cli import PROG, UsageError, _load_data, accuracy, build_parser
    from layerwise.frameworks import require_engine
    from layerwise.io import create_run_dir, load_model, read_json, write_csv, write_json

    train_argv = list(args.train_argv)
    try:
        train_args = build_parser().parse_args(["train", *train_argv])
    except UsageError as e:
        raise UsageError(f"compare: {e}") from None
    for engine in args.engines:  # fail before any training when a framework is missing
        require_engine(engine)
    out_dir = create_run_dir(args.out, base="runs", name_hint=f"compare-{train_args.dataset}")
    rows: list[dict[str, Any]] = []
    for engine in args.engines:
        run_dir = out_dir / engine
        if not args.quiet:
            print(f"== {engine} ==", flush=True)
        start = time.perf_counter()
        status, peak = _run(
            ["train", *train_argv, "--engine", engine, "--out", str(run_dir), "--quiet"]
            if args.quiet
            else ["train", *train_argv, "--engine", engine, "--out", str(run_dir)],
            args.quiet,
        )
        wall = time.perf_counter() - start
        row: dict[str, Any] = {"engine": engine, "status": status, "run": str(run_dir)}
        if status == 0:
            metrics = read_json(run_dir / "metrics.json")
            epochs = metrics["epochs"][-1]["epoch"] if metrics["epochs"] else 0
            row.update(
                {
                    "val_acc": metrics["val_acc"],
                    "test_acc": metrics["test_acc"],
                    "epochs": epochs,
                    "train_seconds": metrics["train_seconds"],
                    "seconds_per_epoch": metrics["train_seconds"] / max(epochs, 1),
                }
            )
        row.update({"wall_seconds": wall, "peak_rss_mb": peak})
        rows.append(row)

    # Train accuracy of each saved model on the whole training split, with the same (NumPy)
    # evaluation for every engine.
    config = read_json(out_dir / args.engines[0] / "config.json") if rows else {}
    data = None
    for row in rows:
        if row["status"] != 0:
            continue
        if data is None:
            data = _load_data(
                config["dataset"], config["data_dir"], config["dtype"], config.get("val_size")
            )
        model = load_model(Path(row["run"]) / "model.npz")
        row["train_acc"] = accuracy(model, data["X_train"], data["y_train"])

    columns = ["engine", "train_acc", "val_acc", "test_acc", "seconds_per_epoch", "peak_rss_mb"]
    write_json(out_dir / "compare.json", {"train_argv": train_argv, "rows": rows})
    write_csv(out_dir / "compare.csv", [{c: r.get(c) for c in [*columns, "status"]} for r in rows])
    print(format_table(rows))
    print(f"{PROG} compare: {len(rows)} engines; folder: {out_dir}")
    failed = [r["engine"] for r in rows if r["status"] != 0]
    if failed:
        print(f"{PROG}: error: training failed on {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The comparison as a fixed-width text table."""

    def cell(value: Any, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    lines = [
        f"{'engine':<11} {'train acc':>9} {'val acc':>8} {'test acc':>8} {'s/epoch':>8} "
        f"{'peak MiB':>9}"
    ]
    for r in rows:
        lines.append(
            f"{r['engine']:<11} {cell(r.get('train_acc'), '.4f'):>9} "
            f"{cell(r.get('val_acc'), '.4f'):>8} {cell(r.get('test_acc'), '.4f'):>8} "
            f"{cell(r.get('seconds_per_epoch'), '.2f'):>8} {cell(r.get('peak_rss_mb'), '.0f'):>9}"
        )
    return "\n".join(lines)
