#!/usr/bin/env python3
"""The cost of each augmentation transform: ms per minibatch of 128 and s per epoch.

    python benchmarks/augment_cost.py      # a Markdown table for docs/augmentation.md

Each row: the median of 60 calls on a fresh copy of the same random batch (a transform is
in place), after one warm-up call; s/epoch is that times the steps of an epoch of 55,000
MNIST or 49,000 CIFAR-10 training images at batch size 128.
"""

from __future__ import annotations

import time

import numpy as np

from layerwise.augment import Augmenter, format_augment

BATCH = 128
ROWS = [
    ("mnist", (28, 28), 55_000, {"shift": 2}),
    ("mnist", (28, 28), 55_000, {"rotate": 10, "scale": 0.1}),
    ("mnist", (28, 28), 55_000, {"elastic": 34}),
    ("mnist", (28, 28), 55_000, {"shift": 2, "rotate": 10, "scale": 0.1}),
    ("cifar10", (3, 32, 32), 49_000, {"shift": 4}),
    ("cifar10", (3, 32, 32), 49_000, {"flip": True}),
    ("cifar10", (3, 32, 32), 49_000, {"shift": 2, "flip": True}),
    ("cifar10", (3, 32, 32), 49_000, {"rotate": 10}),
]


def main() -> None:
    rng = np.random.default_rng(0)
    print("| dataset | spec | ms/batch | s/epoch |\n| --- | --- | --- | --- |")
    for name, shape, n_train, spec in ROWS:
        augment = Augmenter(spec, shape)
        original = rng.random((BATCH, int(np.prod(shape))), dtype=np.float32)
        batch = original.copy()
        augment(batch, rng)
        times = []
        for _ in range(60):
            batch[...] = original
            t0 = time.perf_counter()
            augment(batch, rng)
            times.append(time.perf_counter() - t0)
        ms = float(np.median(times)) * 1e3
        epoch = ms * (n_train // BATCH) / 1e3
        print(f"| {name} | `{format_augment(augment.spec)}` | {ms:.2f} | {epoch:.2f} |")


if __name__ == "__main__":
    main()
