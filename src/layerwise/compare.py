"""Train one recipe on several engines, one after another, and compare them in one table.

:func:`compare_engines` trains ``recipe`` on each engine in this process (through
:func:`layerwise.runs.train_run`, into ``<folder>/<engine>/``, a run folder each), with the
data loaded once for all of them. The table: final train/val/test accuracy of each saved model
(train accuracy on the whole training split, by the same NumPy code for every engine), seconds
per epoch, and the peak resident memory of the process while that engine trained (sampled;
memory an earlier engine left allocated counts too, so the first engine's figure is the
cleanest). ``<folder>`` also gets ``compare.json`` and ``compare.csv``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from layerwise.engine import ENGINES
from layerwise.errors import ConfigError, LayerwiseError
from layerwise.io import write_csv, write_json

__all__ = ["compare_engines", "format_table"]

COLUMNS = ("engine", "train_acc", "val_acc", "test_acc", "seconds_per_epoch", "peak_rss_mb")


def _rss_mb() -> float | None:
    """This process's resident memory now, in MiB (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@contextmanager
def peak_rss(interval: float = 0.05) -> Iterator[dict[str, float | None]]:
    """Sample the resident memory every ``interval`` s while the block runs; ``["peak"]``."""
    result: dict[str, float | None] = {"peak": _rss_mb()}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(interval):
            now = _rss_mb()
            if now is not None and (result["peak"] is None or now > result["peak"]):
                result["peak"] = now

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        done.set()
        thread.join()
        now = _rss_mb()
        if now is not None and (result["peak"] is None or now > result["peak"]):
            result["peak"] = now


def compare_engines(
    recipe: Any,
    engines: Sequence[str],
    folder: Path,
    *,
    verbose: bool = True,
    print_every: int = 100,
    say: Callable[[str], None] = print,
    record: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Train ``recipe`` on each of ``engines`` into ``folder/<engine>``; return the rows.

    Each row: engine, status (0 trained, 1 failed, with ``error``), run, accuracies,
    epochs, train_seconds, seconds_per_epoch, wall_seconds, peak_rss_mb. ``folder`` must
    exist; ``record`` adds entries to compare.json (the command line, for the record).
    """
    from layerwise.frameworks import require_engine
    from layerwise.runs import RunFolder, accuracy, train_run

    unknown = [e for e in engines if e not in ENGINES]
    if not engines or unknown:
        raise ConfigError(f"engines must be some of {list(ENGINES)}; got {list(engines)}")
    for engine in engines:  # fail before any training when a framework is missing
        require_engine(engine)
    data = recipe.build_data()
    rows: list[dict[str, Any]] = []
    for engine in engines:
        run = RunFolder.create(folder / engine)
        if verbose:
            say(f"== {engine} ==")
        row: dict[str, Any] = {"engine": engine, "status": 0, "run": str(run)}
        start = time.perf_counter()
        with peak_rss() as memory:
            try:
                result = train_run(
                    recipe.replace(engine=engine),
                    run,
                    data=data,
                    verbose=verbose,
                    print_every=print_every,
                )
            except LayerwiseError as e:
                row.update(status=1, error=str(e))
                print(f"layerwise: error: {engine}: {e}", file=sys.stderr)
        row["wall_seconds"] = time.perf_counter() - start
        if row["status"] == 0:
            metrics = result.metrics
            epochs = metrics["epochs"][-1]["epoch"] if metrics["epochs"] else 0
            row.update(
                {
                    "train_acc": accuracy(result.model, data["X_train"], data["y_train"]),
                    "val_acc": metrics["val_acc"],
                    "test_acc": metrics["test_acc"],
                    "epochs": epochs,
                    "train_seconds": metrics["train_seconds"],
                    "seconds_per_epoch": metrics["train_seconds"] / max(epochs, 1),
                }
            )
        row["peak_rss_mb"] = memory["peak"]
        rows.append(row)
    write_json(
        folder / "compare.json", {**(record or {}), "recipe": recipe.to_dict(), "rows": rows}
    )
    write_csv(folder / "compare.csv", [{c: r.get(c) for c in [*COLUMNS, "status"]} for r in rows])
    return rows


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
