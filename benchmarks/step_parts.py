#!/usr/bin/env python3
"""A training step taken apart: the floor, the gather, the model's loss, the whole step.

    OMP_NUM_THREADS=1 python benchmarks/step_parts.py W2 W3

For each workload of ``bench.py`` (its data, model and Solver settings), in one process,
taking turns five times, the median milliseconds per step of:

- floor: only the step's matrix products, into preallocated outputs (``bench.floor_epoch``);
- gather: the Solver's minibatch (indices, and the rows copied into its buffers);
- loss, fixed batch: ``model.loss`` (forward and backward, no update) on one batch, reused;
- loss, fresh batch: ``model.loss`` on a newly gathered batch each time;
- whole step: ``Solver._step`` (gather, loss, update).

The differences say where a step's time beyond the floor goes: loss on a fixed batch minus
the floor is the model's own overhead (Python, elementwise layers, checks); fresh minus fixed
is the gather plus what fresh data costs the caches; the whole step minus fresh is the update.

glibc's malloc is told to keep freed memory (``mallopt``, as ``MALLOC_TRIM_THRESHOLD_`` and
``MALLOC_MMAP_THRESHOLD_`` would): without that, ``model.loss`` called alone, whose gradients
are freed in another order than a whole step's, hands memory back to the system and takes
~250 page faults a call (measured on W1: 2.41 ms instead of 1.78); a whole step takes none
either way (1.93 and 1.95 ms), so the setting changes only the loss-alone rows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench


def keep_freed_memory() -> None:
    """glibc: never trim the heap nor mmap large blocks (see the module docstring)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return
    libc = ctypes.CDLL(name)
    if hasattr(libc, "mallopt"):
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_trim_threshold, 2**30)
        libc.mallopt(m_mmap_threshold, 2**30 - 1)


def parts(name: str, steps: int, repeats: int) -> dict[str, float]:
    import numpy as np

    from layerwise import Solver

    wl = bench.WORKLOADS[name]
    data = bench.make_data(wl, 1.0)
    model = bench.layerwise_model(wl, np.float32, np.random.default_rng(bench.SEED_WEIGHTS))
    solver = Solver(
        model, data, update_rule=wl.rule, optim_config={"learning_rate": wl.lr},
        batch_size=wl.batch, num_epochs=1, verbose=False, seed=0,
    )  # fmt: skip
    fixed = [a.copy() for a in solver._minibatch()]

    def repeat(fn):  # type: ignore[no-untyped-def]
        return lambda: [fn() for _ in range(steps)]

    fns = {
        "floor": bench.floor_epoch(wl, steps),
        "gather": repeat(solver._minibatch),
        "loss, fixed batch": repeat(lambda: model.loss(*fixed)),
        "loss, fresh batch": repeat(lambda: model.loss(*solver._minibatch())),
        "whole step": repeat(solver._step),
    }
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()  # warm-up
    for _ in range(repeats):
        for key, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[key].append((time.perf_counter() - t0) / steps * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("workloads", nargs="*", default=["W2", "W3"])
    p.add_argument("--steps", type=int, default=150, help="steps per timed run (default 150)")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    keep_freed_memory()
    print("| workload | part | ms/step | x floor |\n|---|---|---|---|")
    for name in args.workloads:
        result = parts(name, args.steps, args.repeats)
        for key, ms in result.items():
            print(f"| {name} | {key} | {ms:.3f} | {ms / result['floor']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
