"""What ``--diagnostics`` costs: epoch time of the seed's MNIST network with and without it.

    python benchmarks/diagnostics_overhead.py --mnist ../shared/datasets/mnist --pairs 7

The network and loop are the README's "seed's TwoLayerNet recipe on MNIST" (784-100-10, SGD
1e-3, batch 100, weight scale 1e-3; 500 updates an epoch), trained for ``--epochs`` epochs
through :func:`layerwise.runs.train_run` without a folder, one BLAS thread. Each pair trains
the recipe once plainly and once with a :class:`~layerwise.diagnostics.Diagnostics` callback at
the default frequency (10 checks an epoch), the order alternating, so both see the same
machine. Reported: the median of the training seconds of each, and the median of the pairs'
ratios (with / without - 1: the overhead). The data is loaded once, outside the timing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from threadpoolctl import threadpool_limits

from layerwise.diagnostics import Diagnostics
from layerwise.recipe import Recipe
from layerwise.runs import train_run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", metavar="DIR", required=True)
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="JSON file of the results")
    args = parser.parse_args(argv)
    recipe = Recipe.from_options(
        dataset="mnist", data_dir=args.mnist, model="two-layer", hidden=(100,),
        update_rule="sgd", lr=1e-3, lr_decay=0.95, batch_size=100, epochs=args.epochs,
        weight_scale=1e-3, reg=0.0,
    )  # fmt: skip
    data = recipe.build_data()
    seconds: dict[str, list[float]] = {"plain": [], "diagnostics": []}
    with threadpool_limits(1):
        for pair in range(args.pairs):
            order = ("plain", "diagnostics") if pair % 2 == 0 else ("diagnostics", "plain")
            for kind in order:
                diagnostics = Diagnostics() if kind == "diagnostics" else None
                result = train_run(recipe, None, data=data, verbose=False, diagnostics=diagnostics)
                seconds[kind].append(result.metrics["train_seconds"])
                print(f"pair {pair} {kind}: {seconds[kind][-1]:.3f} s", file=sys.stderr)
    ratios = [d / p - 1 for p, d in zip(seconds["plain"], seconds["diagnostics"], strict=True)]
    summary = {
        "epochs": args.epochs,
        "pairs": args.pairs,
        "seconds": seconds,
        "median_plain_s": statistics.median(seconds["plain"]),
        "median_diagnostics_s": statistics.median(seconds["diagnostics"]),
        "median_overhead": statistics.median(ratios),
    }
    print(
        f"plain {summary['median_plain_s']:.3f} s, with diagnostics "
        f"{summary['median_diagnostics_s']:.3f} s ({args.epochs} epochs, median of "
        f"{args.pairs}); overhead {summary['median_overhead']:+.1%} (median of the pairs)"
    )
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
