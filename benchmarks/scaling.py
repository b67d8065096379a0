#!/usr/bin/env python3
"""Cost curves: seconds per epoch of layerwise, the GEMM floor and PyTorch as the work grows.

    python benchmarks/scaling.py                     # every axis, 1 thread and all cores
    python benchmarks/scaling.py --axes width --threads 1 --quick
    python benchmarks/scaling.py --from-json benchmarks/results/2026-12-02-scaling.json --plot

Four axes around W3 of ``bench.py`` (784-512-512-512-10, Adam 1e-3, batch 128, 60,000
synthetic MNIST-shaped examples), one varied at a time:

- width: hidden width 128 ... 4096 (three hidden layers);
- batch: batch size 16 ... 1024;
- examples: training examples 10k ... 60k;
- depth: 1 ... 8 hidden layers of 512.

For each point, each implementation runs a fixed number of training steps (sized to take
about a third of a second; at least 3) after 3 warm-up steps, three times, taking turns, and
the median step time is scaled to an epoch (``n_train // batch`` steps). Steps only: no
per-epoch accuracy check, so the curves show the training step's cost. The implementations:

- floor: only the step's matrix products, into preallocated outputs (``bench.floor_epoch``);
- layerwise: ``Solver._step`` of the public Solver and FullyConnectedNet (with its kernels
  when Numba is installed): the minibatch draw and gather, forward, backward, the update;
- torch: PyTorch eager, nn.Sequential of Linear + ReLU, CrossEntropyLoss, torch.optim.Adam
  (skipped with a message when torch is not installed).

Each thread setting runs in its own process (the BLAS thread count is fixed when NumPy
loads); "all" is every core. Tables go to stdout (markdown), progress to stderr, every number
to ``--json``; ``--plot`` draws one panel per axis (log-log).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench  # noqa: E402  (the workloads, the floor, data and thread helpers)

BASE = bench.WORKLOADS["W3"]
WIDTHS = (128, 256, 512, 1024, 2048, 4096)
BATCHES = (16, 32, 64, 128, 256, 512, 1024)
EXAMPLES = (10_000, 20_000, 40_000, 60_000)
DEPTHS = (1, 2, 3, 4, 5, 6, 7, 8)
IMPLS = ("floor", "layerwise", "torch")
LABELS = {"width": "hidden width", "batch": "batch size", "examples": "training examples",
          "depth": "hidden layers"}  # fmt: skip
TARGET_S = 0.33  # seconds each timed run of a point should take
REPEATS = 3
WARMUP_STEPS = 3
FLOPS_GUESS = 60e9  # per second per thread, only to size the runs


def point(axis: str, value: int) -> bench.Workload:
    """The workload of one point: W3 with one setting changed."""
    dims, batch, n = BASE.dims, BASE.batch, BASE.n_train
    if axis == "width":
        dims = (784, value, value, value, 10)
    elif axis == "batch":
        batch = value
    elif axis == "examples":
        n = value
    elif axis == "depth":
        dims = (784, *([512] * value), 10)
    else:
        raise ValueError(f"unknown axis {axis!r}")
    fields = {**BASE.__dict__, "name": f"{axis}={value}", "dims": dims, "batch": batch}
    return bench.Workload(**{**fields, "n_train": n, "floor": fields["name"]})


def grid(axes: list[str], quick: bool) -> list[tuple[str, int]]:
    values = {"width": WIDTHS, "batch": BATCHES, "examples": EXAMPLES, "depth": DEPTHS}
    out = []
    for axis in axes:
        vals = values[axis]
        out += [(axis, v) for v in ((vals[0], vals[-1]) if quick else vals)]
    return out


def steps_for(wl: bench.Workload, threads: int, quick: bool) -> int:
    """Steps per timed run: about TARGET_S seconds of the floor's arithmetic."""
    flop = bench.gemm_flop_per_step(wl)
    guess = flop / (FLOPS_GUESS * threads)
    target = TARGET_S / (4 if quick else 1)
    return max(3, min(400, round(target / guess)))


# ------------------------------------------------------------------------------------------
# one point's step functions: each runs k training steps


def floor_steps(wl: bench.Workload) -> Callable[[int], None]:
    runs: dict[int, Callable[[], None]] = {}

    def run(k: int) -> None:
        if k not in runs:
            runs[k] = bench.floor_epoch(wl, k)
        runs[k]()

    return run


def layerwise_steps(wl: bench.Workload, data: dict[str, Any]) -> Callable[[int], None]:
    import numpy as np

    from layerwise import Solver

    model = bench.layerwise_model(wl, np.float32, np.random.default_rng(bench.SEED_WEIGHTS))
    solver = Solver(
        model, data, update_rule=wl.rule, optim_config={"learning_rate": wl.lr},
        batch_size=wl.batch, num_epochs=1, verbose=False, seed=0,
    )  # fmt: skip

    def run(k: int) -> None:
        for _ in range(k):
            solver._step()

    return run


def torch_steps(wl: bench.Workload, data: dict[str, Any], threads: int) -> Callable[[int], None]:
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    model, opt = bench.torch_model(wl)
    loss_fn = nn.CrossEntropyLoss()
    X, y = torch.from_numpy(data["X_train"]), torch.from_numpy(data["y_train"])
    g = torch.Generator().manual_seed(0)

    def run(k: int) -> None:
        for _ in range(k):
            idx = torch.randint(X.shape[0], (wl.batch,), generator=g)
            opt.zero_grad()
            loss_fn(model(X[idx]), y[idx]).backward()
            opt.step()

    return run


def builders(impls: list[str], wl: bench.Workload, data: dict[str, Any], threads: int):
    made: dict[str, Callable[[int], None]] = {}
    for impl in impls:
        if impl == "floor":
            made[impl] = floor_steps(wl)
        elif impl == "layerwise":
            made[impl] = layerwise_steps(wl, data)
        elif impl == "torch":
            made[impl] = torch_steps(wl, data, threads)
    return made


# ------------------------------------------------------------------------------------------
# the worker: every point at one thread setting


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    from threadpoolctl import threadpool_limits

    threads = args.worker
    threadpool_limits(threads)
    impls = [i for i in args.impl.split(",") if i != "torch" or _has_torch()]
    largest = bench.Workload(**{**BASE.__dict__, "n_train": max(EXAMPLES)})
    full = bench.make_data(largest, 1.0)  # one data set; each point takes its first rows
    rows = []
    for axis, value in grid(args.axes.split(","), args.quick):
        wl = point(axis, value)
        data = {**full, "X_train": full["X_train"][: wl.n_train]}
        data["y_train"] = full["y_train"][: wl.n_train]
        k = steps_for(wl, threads, args.quick)
        runs = builders(impls, wl, data, threads)
        for run in runs.values():
            run(WARMUP_STEPS)
        times: dict[str, list[float]] = {impl: [] for impl in runs}
        for r in range(REPEATS):
            order = list(runs)[r % len(runs) :] + list(runs)[: r % len(runs)]  # take turns
            for impl in order:
                t0 = time.perf_counter()
                runs[impl](k)
                times[impl].append((time.perf_counter() - t0) / k)
        steps_per_epoch = max(wl.n_train // wl.batch, 1)
        for impl, ts in times.items():
            step = statistics.median(ts)
            rows.append({
                "axis": axis, "value": value, "threads": threads, "impl": impl,
                "steps_timed": k, "step_s": step, "steps_per_epoch": steps_per_epoch,
                "epoch_s": step * steps_per_epoch, "step_s_all": ts,
            })  # fmt: skip
        line = " ".join(
            f"{i}={statistics.median(t) * steps_per_epoch:.2f}s" for i, t in times.items()
        )
        print(f"[{threads} thread(s)] {axis}={value} ({k} steps): {line}", file=sys.stderr)
        del runs
    return rows


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch is not installed: skipping it", file=sys.stderr)
        return False
    return True


# ------------------------------------------------------------------------------------------
# the driver, tables and figure


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    cores = os.cpu_count() or 1
    settings = {"1": [1], "all": [cores], "both": [1, cores] if cores > 1 else [1]}[args.threads]
    rows: list[dict[str, Any]] = []
    for threads in settings:
        cmd = [sys.executable, __file__, "--worker", str(threads), "--axes", args.axes,
               "--impl", args.impl] + (["--quick"] if args.quick else [])  # fmt: skip
        env = bench.worker_env(threads, unset_openblas=False)
        out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True)
        rows += json.loads(out.stdout)
    meta = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "cores": cores, "load_average": os.getloadavg(), "quick": args.quick,
        "repeats": REPEATS, "warmup_steps": WARMUP_STEPS, "base": BASE.about,
    }  # fmt: skip
    return {"meta": meta, "rows": rows}


def tables(doc: dict[str, Any]) -> str:
    rows = doc["rows"]
    meta = doc["meta"]
    out = [
        f"cost curves, {meta['date']}, {meta['cores']} cores; s/epoch (median step x steps "
        "per epoch); ratios: layerwise / floor, torch / layerwise"
    ]
    for threads in sorted({r["threads"] for r in rows}):
        for axis in dict.fromkeys(r["axis"] for r in rows):
            sub = [r for r in rows if r["axis"] == axis and r["threads"] == threads]
            if not sub:
                continue
            cell = {(r["value"], r["impl"]): r["epoch_s"] for r in sub}
            impls = list(dict.fromkeys(r["impl"] for r in sub))
            head = " | ".join(impls)
            out.append(f"\n**{axis}, {threads} thread(s)**\n\n| {axis} | {head} | "
                       "layerwise / floor | torch / layerwise |")  # fmt: skip
            out.append("|---" * (len(impls) + 3) + "|")
            for value in dict.fromkeys(r["value"] for r in sub):
                vals = [cell.get((value, i)) for i in impls]
                lw, fl, tc = (cell.get((value, i)) for i in ("layerwise", "floor", "torch"))
                ratio1 = f"{lw / fl:.2f}x" if lw and fl else "-"
                ratio2 = f"{tc / lw:.2f}x" if lw and tc else "-"
                shown = " | ".join("-" if v is None else f"{v:.3g}" for v in vals)
                out.append(f"| {value} | {shown} | {ratio1} | {ratio2} |")
    return "\n".join(out)


def plot(doc: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = doc["rows"]
    axes = list(dict.fromkeys(r["axis"] for r in rows))
    fig, panels = plt.subplots(1, len(axes), figsize=(4.2 * len(axes), 3.8), squeeze=False)
    styles = {"floor": "k--", "layerwise": "C0-", "torch": "C3-"}
    for ax, axis in zip(panels[0], axes, strict=True):
        for threads in sorted({r["threads"] for r in rows}):
            for impl in dict.fromkeys(r["impl"] for r in rows):
                sub = [
                    r for r in rows if (r["axis"], r["threads"], r["impl"]) == (axis, threads, impl)
                ]
                if not sub:
                    continue
                style = styles.get(impl, "C2-")
                ax.plot([r["value"] for r in sub], [r["epoch_s"] for r in sub], style,
                        marker="o" if threads == 1 else "s", alpha=1.0 if threads == 1 else 0.55,
                        label=f"{impl}, {threads} thr")  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel(LABELS[axis])
        ax.set_ylabel("seconds per epoch")
        ax.grid(True, which="both", alpha=0.3)
    panels[0][0].legend(fontsize=7)
    fig.suptitle("layerwise, GEMM floor and PyTorch eager: s/epoch as the work grows (W3 base)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", choices=("1", "all", "both"), default="both")
    p.add_argument("--axes", default="width,batch,examples,depth")
    p.add_argument("--impl", default=",".join(IMPLS), help="comma list of floor, layerwise, torch")
    p.add_argument("--quick", action="store_true", help="the two ends of each axis, short runs")
    default_out = HERE / "results" / f"{_dt.date.today().isoformat()}-scaling.json"
    p.add_argument("--json", type=Path, default=default_out, help="where every number goes")
    p.add_argument("--plot", type=Path, nargs="?", const=True, default=None,
                   help="write the figure (default: the --json path with .png)")  # fmt: skip
    p.add_argument("--from-json", type=Path, help="report a saved --json file again")
    p.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    bad = set(args.axes.split(",")) - {"width", "batch", "examples", "depth"}
    if bad or set(args.impl.split(",")) - set(IMPLS):
        p.error(f"unknown axis or implementation in --axes {args.axes!r} / --impl {args.impl!r}")
    if args.worker:
        print(json.dumps(measure(args)))
        return 0
    if args.from_json:
        doc = json.loads(args.from_json.read_text())
    else:
        t0 = time.perf_counter()
        doc = run_all(args)
        doc["meta"]["elapsed_s"] = round(time.perf_counter() - t0, 1)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {args.json} ({doc['meta']['elapsed_s']} s)", file=sys.stderr)
    print(tables(doc))
    if args.plot is not None:
        source = args.from_json or args.json
        plot(doc, source.with_suffix(".png") if args.plot is True else args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
