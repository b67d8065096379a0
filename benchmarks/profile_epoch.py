"""Where one layerwise training epoch spends its time, next to the GEMM floor.

    python benchmarks/profile_epoch.py                      # W1, W2, W3, W3d at 1 BLAS thread
    python benchmarks/profile_epoch.py --workloads W3 --epochs 2

For each workload of ``bench.py`` (same synthetic data, same model and Solver settings) this
runs the floor (only the matrix products of an epoch, as ``bench.py`` measures it) and then
layerwise's Solver under ``cProfile`` for the given epochs, and prints seconds per epoch by
component. The rows are the functions of the training step that do array work: the affine
layers (their matrix products plus bias adds and sums), the loss, dropout, ReLU, the update
rule (with or without its kernel), the rest of ``model.loss`` (dropout's backward in place,
Python), the minibatch (indices, and the gather into the Solver's buffers), the Solver's step
and the per-epoch accuracy check. "over floor" is the affine rows' time beyond the floor.
cProfile adds ~1 us per Python call (a few percent here); the totals are printed with and
without it.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# component -> (module suffix, function name, "cum" for cumulative or "tot" for own time)
COMPONENTS: list[tuple[str, str, str, str]] = [
    ("affine forward (GEMM + bias)", "layers.py", "affine_forward", "cum"),
    ("affine backward (2 GEMMs + bias grad)", "layers.py", "affine_backward", "tot"),
    ("first layer dW (GEMM + bias grad)", "layers.py", "affine_param_grads", "cum"),
    ("softmax loss and its gradient", "losses.py", "softmax_loss", "cum"),
    ("dropout forward (bits, mask, output)", "layers.py", "dropout_forward", "cum"),
    ("ReLU forward and backward", "fused.py", "relu_*", "cum"),
    ("update rule (kernel or NumPy passes)", "optim.py", "RULE", "cum"),
    ("model.loss: dropout backward, Python", "base.py", "_run", "tot"),
    ("minibatch: indices and gather", "solver.py", "_minibatch", "cum"),
    ("Solver step, Python", "solver.py", "_step", "tot"),
    ("accuracy check (1,000 + 1,000 examples)", "solver.py", "_record_epoch", "cum"),
]


def floor_seconds(bench: Any, wl: Any, epochs: int) -> float:
    """Seconds per epoch of only the matrix products (bench.py's floor), the fastest epoch."""
    epoch = bench.floor_epoch(wl, bench._steps(bench.n_train(wl, 1.0), wl.batch))
    epoch()  # warm-up
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - t0)
    return min(times)


def build_solver(bench: Any, wl: Any, data: dict[str, Any], epochs: int) -> Any:
    """bench.py's layerwise model and Solver settings for ``wl``."""
    import numpy as np

    from layerwise import Solver

    return Solver(
        bench.layerwise_model(wl, np.float32, np.random.default_rng(bench.SEED_WEIGHTS)),
        data,
        update_rule=wl.rule,
        optim_config={"learning_rate": wl.lr},
        lr_decay=1.0,
        batch_size=wl.batch,
        num_epochs=epochs,
        verbose=False,
        seed=0,
        num_train_samples=1000,
        num_val_samples=1000,
    )


def profile(bench: Any, name: str, epochs: int) -> None:
    wl = bench.WORKLOADS[name]
    data = bench.make_data(wl, 1.0)
    floor = floor_seconds(bench, wl, epochs)
    build_solver(bench, wl, data, 1).train()  # warm-up: first touches, BLAS buffers
    solver = build_solver(bench, wl, data, epochs)
    t0 = time.perf_counter()
    solver.train()
    plain = (time.perf_counter() - t0) / epochs
    solver = build_solver(bench, wl, data, epochs)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.runcall(solver.train)
    profiled = (time.perf_counter() - t0) / epochs

    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    rows = []
    for label, module, func, kind in COMPONENTS:
        seconds = 0.0
        for (path, _line, fname), (_cc, _nc, tot, cum, _callers) in stats.items():
            wanted = wl.rule if func == "RULE" else func  # the workload's update rule
            if path.endswith(module) and (
                fname == wanted or (wanted.endswith("*") and fname.startswith(wanted[:-1]))
            ):
                seconds += tot if kind == "tot" else cum
        rows.append((label, seconds / epochs))
    affine = sum(s for label, s in rows if label.startswith(("affine", "first layer")))
    accounted = sum(s for _, s in rows)
    print(f"\n## {name}: {'-'.join(map(str, wl.dims))}, batch {wl.batch}, {wl.rule}"
          f"{', dropout %g' % wl.dropout if wl.dropout else ''}")  # fmt: skip
    print(f"epoch {plain:.3f} s without the profiler ({plain / floor:.2f}x the floor), "
          f"{profiled:.3f} s with it; GEMM floor {floor:.3f} s")  # fmt: skip
    print("\n| component | s/epoch | % of epoch | x floor |\n|---|---|---|---|")
    for label, s in rows:
        if s > 0:
            print(f"| {label} | {s:.3f} | {100 * s / profiled:.1f} | {s / floor:.2f} |")
    other = profiled - accounted
    print(f"| everything else (Solver bookkeeping, profiler) | {other:.3f} | "
          f"{100 * other / profiled:.1f} | {other / floor:.2f} |")  # fmt: skip
    print(f"\naffine layers {affine:.3f} s = floor {floor:.3f} s + {affine - floor:.3f} s over "
          f"it ({affine / floor:.2f}x); outside the affine layers: {profiled - affine:.3f} s "
          f"({(profiled - affine) / floor:.2f}x the floor)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default="W1,W2,W3,W3d")
    parser.add_argument("--epochs", type=int, default=2, help="profiled epochs (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    args = parser.parse_args(argv)
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[key] = str(args.threads)
    sys.path.insert(0, str(HERE))
    import bench  # the workloads and data of the benchmark

    for name in args.workloads.split(","):
        profile(bench, name, args.epochs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
