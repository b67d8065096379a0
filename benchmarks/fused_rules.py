"""The update rules on W3's parameters: NumPy's passes against one fused Numba loop, and
numexpr for comparison; and what compiling costs a new user (cold start) against a cached
start.

    python benchmarks/fused_rules.py --out benchmarks/results/DATE-fused-rules.json

W3 is benchmarks/bench.py's 784-512-512-512-10 network (930,000 float32 parameters). Per rule
and setting: the median over ``--repeats`` of the time of ``--steps`` updates of every
parameter, after a warm-up. Settings: ``numpy`` (layerwise.optim with LAYERWISE_KERNELS=numpy),
``numba`` (layerwise.optim's fused path, one kernel thread), and for Adam
``numexpr`` (three ``evaluate(..., out=)`` calls: numexpr cannot write m, v and w in one
expression). Each setting runs in its own subprocess, alternating. Cold start: a fresh
process with an empty ``NUMBA_CACHE_DIR`` importing layerwise and making one Adam step, against
the same with the cache that run left.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHAPES = [(784, 512), (512,), (512, 512), (512,), (512, 512), (512,), (512, 10), (10,)]
RULES = ["sgd", "sgd_momentum", "nesterov_momentum", "rmsprop", "adam", "adamw"]


def worker(setting: str, rule: str, steps: int, repeats: int) -> list[float]:
    """Seconds per update of all W3 parameters, one value per repeat (run in a subprocess)."""
    import numpy as np

    rng = np.random.default_rng(0)
    ws = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    dws = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    if setting == "numexpr":
        import numexpr as ne

        ne.set_num_threads(os.cpu_count() or 1)
        ms, vs = [np.zeros_like(w) for w in ws], [np.zeros_like(w) for w in ws]

        def step() -> None:
            for w, dw, m, v in zip(ws, dws, ms, vs, strict=True):
                names = {"w": w, "dw": dw, "m": m, "v": v}
                ne.evaluate("m + 0.1 * (dw - m)", names, out=m, casting="same_kind")
                ne.evaluate("v + 0.001 * (dw * dw - v)", names, out=v, casting="same_kind")
                ne.evaluate("w - 0.001 * m / (sqrt(v) + 1e-8)", names, out=w, casting="same_kind")
    else:
        from layerwise import optim

        rule_fn = optim.UPDATE_RULES[rule]
        configs: list[dict] = [{"learning_rate": 1e-3} for _ in SHAPES]

        def step() -> None:
            for i in range(len(ws)):
                ws[i], configs[i] = rule_fn(ws[i], dws[i], configs[i])

    for _ in range(5):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - start) / steps)
    return times


def _run(setting: str, rule: str, steps: int, repeats: int) -> list[float]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "LAYERWISE_KERNELS": "numpy" if setting == "numpy" else "auto"}  # fmt: skip
    code = (
        "import json, sys; sys.path.insert(0, 'benchmarks'); import fused_rules as f; "
        f"print(json.dumps(f.worker({setting!r}, {rule!r}, {steps}, {repeats})))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def start_times() -> dict[str, float]:
    """Seconds to import layerwise and make one Adam step on W3's first layer: with an empty
    Numba cache (compiling), then with the cache that left; and with LAYERWISE_KERNELS=numpy."""
    code = (
        "import time; t = time.perf_counter(); import numpy as np; from layerwise import optim; "
        "w = np.ones((784, 512), np.float32); optim.adam(w, w.copy(), None); "
        "print(time.perf_counter() - t)"
    )
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as cache:
        for name, kernels in [("cold (compiles)", "auto"), ("warm (cached)", "auto"),
                              ("numpy path", "numpy")]:  # fmt: skip
            env = {**os.environ, "NUMBA_CACHE_DIR": cache, "LAYERWISE_KERNELS": kernels}
            done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                  text=True, check=True)  # fmt: skip
            out[name] = float(done.stdout.strip().splitlines()[-1])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    settings = ["numpy", "numba"]
    results: dict[str, dict[str, float]] = {}
    for rule in RULES:
        names = settings + (["numexpr"] if rule == "adam" else [])
        results[rule] = {
            s: statistics.median(_run(s, rule, args.steps, args.repeats)) * 1e3 for s in names
        }
        row = results[rule]
        print(f"{rule:18s} " + "  ".join(f"{s} {row[s]:.3f} ms" for s in names)
              + f"  (numba {row['numpy'] / row['numba']:.2f}x numpy)", flush=True)  # fmt: skip
    starts = start_times()
    print("start: " + ", ".join(f"{k} {v:.2f} s" for k, v in starts.items()))
    if args.out:
        payload = {"cpus": os.cpu_count(), "ms_per_update": results, "start_s": starts}
        args.out.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
