#!/usr/bin/env python3
"""scikit-learn's MLPClassifier given a shipped recipe's data and time budget.

    python benchmarks/recipe_baselines.py --recipe mnist-best --data-dir ../shared/datasets/mnist \
        --budget 180
    python benchmarks/recipe_baselines.py --recipe cifar10-best \
        --data-dir ../shared/datasets/cifar10-lossy --accept-sha256 SHA256 --budget 600

The recipe's own data pipeline builds the inputs (its split, its ``preprocess``: the same ZCA
for CIFAR-10; no augmentation, which MLPClassifier cannot take), flattened to rows. Then
``sklearn.neural_network.MLPClassifier`` with the recipe's hidden sizes, ReLU, Adam at the
recipe's learning rate and batch size (scikit-learn's defaults otherwise: alpha 1e-4, no
dropout, no normalisation, a constant rate) trains one epoch per ``partial_fit`` until the
budget of training seconds is spent. Like the recipe's run it keeps the epoch with the best
validation accuracy and reports that model's test accuracy (the test set is touched once).
Prints one JSON line: epochs, best validation accuracy, its test accuracy, seconds.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
import warnings

import numpy as np
from sklearn.neural_network import MLPClassifier

from layerwise import recipes
from layerwise.data.checksum import UnofficialDataWarning


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", required=True, help="a shipped recipe's name or a file")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--accept-sha256", default=None)
    parser.add_argument("--budget", type=float, required=True, help="training seconds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    recipe = recipes.load(args.recipe).replace(
        data_dir=args.data_dir, accept_sha256=args.accept_sha256, seed=args.seed
    )
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnofficialDataWarning)
        data = recipe.build_data()
    rows = {k: data[f"X_{k}"].reshape(len(data[f"X_{k}"]), -1) for k in ("train", "val", "test")}
    loaded = time.perf_counter() - started
    net = recipe.network
    model = MLPClassifier(
        hidden_layer_sizes=net.hidden_dims,
        activation="relu",
        solver="adam",
        learning_rate_init=net.learning_rate,
        batch_size=recipe.batch_size,
        random_state=args.seed,
    )
    classes = np.unique(data["y_train"])
    best, best_val, epochs, spent = None, -1.0, 0, 0.0
    while spent < args.budget:
        tick = time.perf_counter()
        model.partial_fit(rows["train"], data["y_train"], classes=classes)
        spent += time.perf_counter() - tick
        epochs += 1
        val = float(model.score(rows["val"], data["y_val"]))
        if val > best_val:
            best, best_val = copy.deepcopy(model), val
    assert best is not None
    test = float(best.score(rows["test"], data["y_test"]))
    print(
        json.dumps(
            {
                "recipe": args.recipe,
                "seed": args.seed,
                "epochs": epochs,
                "best_val_acc": round(best_val, 4),
                "test_acc": round(test, 4),
                "train_seconds": round(spent, 1),
                "load_seconds": round(loaded, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
