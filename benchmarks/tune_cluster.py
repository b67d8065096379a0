"""Trials per hour of ``layerwise tune`` by where trials run and where the study is kept.

    python benchmarks/tune_cluster.py --data-dir ../shared/datasets/mnist --trials 6
    python benchmarks/tune_cluster.py --workload tiny     # per-trial overhead, digits

Each setting runs the real command line in a subprocess, in a fresh study folder:

- where: ``inline`` (``--jobs 1``: one worker, this process), ``local`` (``--jobs 2``: a
  LocalCluster of 2 processes) and ``remote`` (``--scheduler``: a ``dask scheduler`` and two
  ``dask worker`` processes started from the command line, as on a real cluster; here on
  loopback, so the same cores as ``local``);
- storage: ``journal`` (the study folder's journal.log) or ``postgresql`` (a real PostgreSQL
  server from the pgserver wheel, on a unix socket).

Workloads: ``mnist``, the first ``--trials`` configurations of the seed's grid (3 hidden
layers, Adam, batch 32, lr 0.001/0.01/0.1 x units 256/512 x dropout 0.2/0.5 x relu/tanh) at
``--epochs`` (default 2) on MNIST; ``tiny``, 12 one-epoch digits trials, which measures the
cost around a trial. Prints, per setting: wall time, trials per hour, and the per-trial
overhead: the median of (trial duration as the study records it, ask to tell) minus (the time
the worker spent building and training), i.e. submitting, shipping, reports, recording.
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "tune"))
from cluster_helpers import Cluster

SEED_GRID = [
    "--dataset", "mnist", "--model", "fc", "--hidden-layers", "3", "--update-rule", "adam",
    "--batch-size", "32", "--lr-decay", "1.0", "--weight-init", "xavier", "--val-size", "12000",
    "--grid", "lr=0.001,0.01,0.1", "--grid", "units=256,512", "--grid", "dropout=0.2,0.5",
    "--grid", "activation=relu,tanh", "--pruner", "none",
]  # fmt: skip
TINY = ["--grid", "lr=0.5,0.4,0.3,0.2", "--grid", "seed=0,1,2", "--hidden", "32",
        "--epochs", "1", "--pruner", "none"]  # fmt: skip
SINGLE = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run_once(argv: list[str], where: list[str], storage: list[str], study: Path) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "layerwise",
        "tune",
        *argv,
        *where,
        *storage,
        "--study",
        str(study),
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **SINGLE})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(where + storage)} failed:\n{proc.stderr[-3000:]}")
    trials = json.loads((study / "results.json").read_text())["trials"]
    overhead = [float(t["duration_s"]) - float(t["train_seconds"]) for t in trials]
    return {
        "wall_s": wall,
        "trials": len(trials),
        "trials_per_hour": 3600 * len(trials) / wall,
        # The median: the first trial also waits for the data to be loaded (and shipped).
        "overhead_s": statistics.median(overhead),
        "first_overhead_s": overhead[0],
        "train_s": statistics.mean(float(t["train_seconds"]) for t in trials),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=("mnist", "tiny"), default="mnist")
    parser.add_argument("--data-dir", help="folder of the MNIST files (workload mnist)")
    parser.add_argument("--trials", type=int, default=6, help="grid points (workload mnist)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per trial (mnist)")
    parser.add_argument("--where", default="inline,local,remote")
    parser.add_argument("--storage", default="journal,postgresql")
    parser.add_argument("--json", type=Path, help="write every run's numbers here")
    args = parser.parse_args(argv)
    if args.workload == "mnist":
        if not args.data_dir:
            parser.error("--workload mnist needs --data-dir")
        work = [*SEED_GRID, "--data-dir", args.data_dir, "--epochs", str(args.epochs),
                "--trials", str(args.trials)]  # fmt: skip
    else:
        work = TINY
    base = Path(tempfile.mkdtemp(prefix="tune-cluster-"))
    server = None
    storages: dict[str, list[str]] = {}
    for name in args.storage.split(","):
        if name == "journal":
            storages[name] = []
        else:
            import pgserver

            os.environ.setdefault("XDG_RUNTIME_DIR", str(base / "run"))
            (base / "run").mkdir(exist_ok=True)
            server = pgserver.get_server(base / "pg", cleanup_mode="stop")
            url = server.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1)
            storages[name] = ["--storage", url]
    runs = []
    try:
        for where in args.where.split(","):
            cluster = None
            if where == "remote":
                cluster = Cluster(base / f"cluster-{time.time_ns()}", base / "nothing", None)
                flags = ["--scheduler", cluster.address]
            else:
                flags = ["--jobs", "1" if where == "inline" else "2"]
            try:
                for name, storage in storages.items():
                    study = base / f"{where}-{name}"
                    run = {"where": where, "storage": name, **run_once(work, flags, storage, study)}
                    runs.append(run)
                    print(
                        f"{where:7s} {name:10s} {run['trials']:3d} trials in {run['wall_s']:7.1f} s"
                        f" = {run['trials_per_hour']:7.0f} trials/hour; per trial: training "
                        f"{run['train_s']:.2f} s, overhead {run['overhead_s'] * 1000:.0f} ms "
                        f"(first trial {run['first_overhead_s']:.2f} s)",
                        flush=True,
                    )
            finally:
                if cluster is not None:
                    cluster.close()
    finally:
        if server is not None:
            server.cleanup()
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
