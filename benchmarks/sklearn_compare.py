"""layerwise's scikit-learn estimators against scikit-learn's own MLP, side by side.

    python benchmarks/sklearn_compare.py                      # the four datasets in sklearn
    python benchmarks/sklearn_compare.py --mnist ../shared/datasets/mnist --seeds 5

For each dataset, ``sklearn.neural_network.MLPClassifier``/``MLPRegressor`` and
``layerwise.sklearn.MLPClassifier``/``MLPRegressor`` get the same architecture and budget: one
hidden layer of 100 ReLU units, Adam at 1e-3, batch 200, alpha 1e-4, ``max_iter`` epochs with
the default convergence rule (tol 1e-4, 10 epochs without improvement), features standardised by
a ``StandardScaler`` fitted on the training rows, outside the timed fit (and, for the
regression, the target by a ``TransformedTargetRegressor``, inside it). Only the import differs.
Each (dataset, seed) trains both, one after the other, the order alternating by seed, on one
BLAS thread; a fixed 75/25 split per seed (stratified for classifiers). Reported per dataset and
estimator: the test score (accuracy or R²) mean and standard deviation over the seeds, the
paired difference of the scores seed by seed (mean ± 2 standard errors; wins/ties/losses), the
median fit time, and the median peak of memory that ``tracemalloc`` saw during a second,
untimed fit (NumPy reports its arrays to it), and the median epochs trained.
Writes a JSON file of every measurement (``--out``) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn import datasets
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from layerwise.sklearn import MLPClassifier as LwClassifier
from layerwise.sklearn import MLPRegressor as LwRegressor

COMMON = {
    "hidden_layer_sizes": (100,),
    "activation": "relu",
    "solver": "adam",
    "alpha": 1e-4,
    "batch_size": 200,
    "learning_rate_init": 1e-3,
}


def load(name: str, mnist_dir: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """(X, y, kind) of a benchmark dataset; kind is 'classification' or 'regression'."""
    if name == "mnist":
        from layerwise.data import load_dataset

        d = load_dataset("mnist", data_dir=mnist_dir, dtype=np.float32)
        X = np.concatenate([d["X_train"], d["X_val"], d["X_test"]])
        y = np.concatenate([d["y_train"], d["y_val"], d["y_test"]])
        return X, y, "classification"
    loader = {
        "digits": datasets.load_digits,
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "diabetes": datasets.load_diabetes,
    }[name]
    X, y = loader(return_X_y=True)
    return X, y, "regression" if name == "diabetes" else "classification"


def estimator(library: str, kind: str, seed: int, max_iter: int) -> Any:
    cls = {
        ("sklearn", "classification"): SkClassifier,
        ("sklearn", "regression"): SkRegressor,
        ("layerwise", "classification"): LwClassifier,
        ("layerwise", "regression"): LwRegressor,
    }[library, kind]
    model = cls(**COMMON, max_iter=max_iter, random_state=seed)
    if kind == "regression":
        return TransformedTargetRegressor(regressor=model, transformer=StandardScaler())
    return model


def measure(make: Callable[[], Any], X: Any, y: Any, Xt: Any, yt: Any) -> dict[str, float]:
    """Fit twice: timed (alone), then under tracemalloc for the peak (tracing slows every
    allocation, and more so for many small ones, so it would distort the time)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = make()
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
        tracemalloc.start()
        make().fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "score": float(model.score(Xt, yt)),
        "fit_s": seconds,
        "peak_mb": peak / 2**20,
        "n_iter": _n_iter(model),
    }


def _n_iter(model: Any) -> int:
    """The epochs the MLP inside ``model`` trained (a TransformedTargetRegressor wraps it)."""
    return int(getattr(model, "regressor_", model).n_iter_)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits,breast_cancer,wine,diabetes")
    parser.add_argument("--mnist", metavar="DIR", help="also MNIST, from this folder")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max-iter", type=int, default=200, help="epochs (mnist: 20)")
    parser.add_argument("--out", type=Path, default=None, help="JSON file of the results")
    args = parser.parse_args(argv)
    names = args.datasets.split(",") + (["mnist"] if args.mnist else [])
    results: dict[str, Any] = {"common": COMMON, "seeds": args.seeds, "datasets": {}}
    with threadpool_limits(1):
        for name in names:
            X, y, kind = load(name, args.mnist)
            max_iter = 20 if name == "mnist" else args.max_iter
            runs: dict[str, list[dict[str, float]]] = {"sklearn": [], "layerwise": []}
            for seed in range(args.seeds):
                X_tr, X_te, y_tr, y_te = train_test_split(
                    X, y, test_size=0.25, random_state=seed,
                    stratify=y if kind == "classification" else None,
                )  # fmt: skip
                # Standardised outside the timed fit, so time and memory are the MLP's own.
                scaler = StandardScaler().fit(X_tr)
                X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
                order = ("sklearn", "layerwise") if seed % 2 == 0 else ("layerwise", "sklearn")
                for library in order:
                    row = measure(
                        functools.partial(estimator, library, kind, seed, max_iter),
                        X_tr, y_tr, X_te, y_te,
                    )  # fmt: skip
                    runs[library].append(row)
                    print(f"{name} seed {seed} {library}: {row}", file=sys.stderr, flush=True)
            results["datasets"][name] = {"kind": kind, "max_iter": max_iter, "runs": runs}
    print(table(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def table(results: dict[str, Any]) -> str:
    lines = [
        "| dataset | score | sklearn | layerwise | paired difference | wins/ties/losses "
        "| fit s: sklearn | layerwise | speed-up "
        "| peak MB: sklearn | layerwise | epochs: sklearn | layerwise |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, entry in results["datasets"].items():
        sk, lw = entry["runs"]["sklearn"], entry["runs"]["layerwise"]

        def stat(rows: list[dict[str, float]], key: str) -> float:
            return statistics.median(r[key] for r in rows)

        def score(rows: list[dict[str, float]]) -> str:
            values = [r["score"] for r in rows]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            return f"{statistics.mean(values):.4f} ± {sd:.4f}"

        metric = "accuracy" if entry["kind"] == "classification" else "R²"
        lines.append(
            f"| {name} | {metric} | {score(sk)} | {score(lw)} | {paired(sk, lw)} | "
            f"{stat(sk, 'fit_s'):.2f} | "
            f"{stat(lw, 'fit_s'):.2f} | {stat(sk, 'fit_s') / stat(lw, 'fit_s'):.2f}x | "
            f"{stat(sk, 'peak_mb'):.1f} | {stat(lw, 'peak_mb'):.1f} | "
            f"{stat(sk, 'n_iter'):g} | {stat(lw, 'n_iter'):g} |"
        )
    return "\n".join(lines)


def paired(sk: list[dict[str, float]], lw: list[dict[str, float]]) -> str:
    """The seeds' paired score differences (layerwise - sklearn, the same split and seed):
    their mean ± two standard errors, then how many seeds layerwise won, tied and lost.
    Equal scores are a mean within its ± (and wins near losses); the per-library standard
    deviations mostly measure how the split moves both."""
    diff = [b["score"] - a["score"] for a, b in zip(sk, lw, strict=True)]
    se = statistics.stdev(diff) / len(diff) ** 0.5 if len(diff) > 1 else 0.0
    wins, losses = sum(d > 0 for d in diff), sum(d < 0 for d in diff)
    return (
        f"{statistics.mean(diff):+.4f} ± {2 * se:.4f} | {wins}/{len(diff) - wins - losses}/{losses}"
    )


if __name__ == "__main__":
    sys.exit(main())
