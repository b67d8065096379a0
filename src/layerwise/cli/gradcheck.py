"""``layerwise gradcheck``: every backward pass against numerical gradients, one table."""

from __future__ import annotations

import argparse
from typing import Any

from layerwise.cli._common import int_at_least


def add_parser(sub: Any) -> argparse.ArgumentParser:
    gradcheck = sub.add_parser(
        "gradcheck",
        help="check every backward pass against numerical gradients",
        description="Compare the analytic gradient of every layer and model parameter with "
        "centred differences in float64; exit status 1 if any relative error is too large.",
    )
    gradcheck.add_argument(
        "--seed", type=int_at_least(0), default=0, help="seed of the random inputs"
    )
    gradcheck.set_defaults(func=run)
    return gradcheck


def run(args: argparse.Namespace) -> int:
    from layerwise.gradient_report import TOLERANCE, gradient_report

    rows = gradient_report(seed=args.seed)
    width = max(len(name) for name, _ in rows)
    print(f"{'gradient':<{width}}  rel. error  result")
    failed = 0
    for name, err in rows:
        ok = err <= TOLERANCE  # False for NaN too
        failed += not ok
        print(f"{name:<{width}}  {err:10.2e}  {'ok' if ok else 'FAIL'}")
    worst = max(err for _, err in rows)
    if failed:
        print(f"FAIL: {failed} of {len(rows)} gradients have a relative error > {TOLERANCE:.0e}")
        return 1
    print(
        f"PASS: all {len(rows)} gradients match (largest relative error {worst:.2e} "
        f"<= {TOLERANCE:.0e})"
    )
    return 0
