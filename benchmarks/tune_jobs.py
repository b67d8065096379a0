"""Wall time of one ``layerwise tune`` study with ``--jobs 1`` and with ``--jobs 2``, side by side.

    python benchmarks/tune_jobs.py --data-dir ../shared/datasets/mnist
    python benchmarks/tune_jobs.py --data-dir DIR --epochs 2 --rounds 2 --jobs 1,2,4

The same study (by default a 4-configuration slice of the seed's grid on MNIST: units 256/512 x
activation relu/tanh at lr 0.001, dropout 0.2, 3 hidden layers, Adam, batch 32) runs in a fresh
study folder for each ``--jobs`` value in turn, ``--rounds`` times, the order alternating
(1, 2, 2, 1, ...) so a machine that gets busier or quieter does not favour one setting. Pruning
is off (every trial trains all its epochs) so both settings do the same work. Each run is the
real command line in a subprocess; its wall time includes starting the local Dask cluster
(``--jobs 2``) and loading the data once per worker. Prints one line per run and a summary:
the median wall time per setting and the speed-up over ``--jobs 1``.
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

SLICE = [
    "--dataset", "mnist", "--model", "fc", "--hidden-layers", "3", "--update-rule", "adam",
    "--batch-size", "32", "--lr-decay", "1.0", "--weight-init", "xavier",
    "--grid", "lr=0.001", "--grid", "units=256,512", "--grid", "dropout=0.2",
    "--grid", "activation=relu,tanh", "--pruner", "none",
]  # fmt: skip


def run_once(jobs: int, epochs: int, data_dir: str, folder: Path) -> dict[str, object]:
    study = folder / f"jobs{jobs}-{time.time_ns()}"
    cmd = [sys.executable, "-m", "layerwise", "tune", *SLICE, "--data-dir", data_dir,
           "--epochs", str(epochs), "--jobs", str(jobs), "--study", str(study)]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"--jobs {jobs} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    trials = json.loads((study / "results.json").read_text())["trials"]
    busy = sum(float(t.get("duration_s") or 0.0) for t in trials)
    return {"jobs": jobs, "wall_s": wall, "trial_s": busy, "trials": len(trials)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="folder of the MNIST files")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per trial (default 4)")
    parser.add_argument("--rounds", type=int, default=1, help="runs per setting (default 1)")
    parser.add_argument("--jobs", default="1,2", help="settings to compare (default 1,2)")
    parser.add_argument("--json", type=Path, help="write every run's numbers here")
    args = parser.parse_args(argv)
    settings = [int(j) for j in args.jobs.split(",")]
    runs: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="tune-jobs-") as tmp:
        for r in range(args.rounds):
            order = settings if r % 2 == 0 else settings[::-1]
            for jobs in order:
                row = run_once(jobs, args.epochs, args.data_dir, Path(tmp))
                runs.append(row)
                print(f"round {r + 1}: --jobs {jobs}: {row['wall_s']:.1f} s wall, "
                      f"{row['trials']} trials, {row['trial_s']:.1f} s of training in them "
                      f"(load average {os.getloadavg()[0]:.2f})", flush=True)  # fmt: skip
    base = statistics.median(float(x["wall_s"]) for x in runs if x["jobs"] == settings[0])  # type: ignore[arg-type]
    print(f"\n| --jobs | wall s (median of {args.rounds}) | speed-up |\n|---|---|---|")
    for jobs in settings:
        med = statistics.median(float(x["wall_s"]) for x in runs if x["jobs"] == jobs)  # type: ignore[arg-type]
        print(f"| {jobs} | {med:.1f} | {base / med:.2f}x |")
    if args.json:
        args.json.write_text(json.dumps({"argv": sys.argv[1:], "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
