"""``--retrain-best``: train the best configuration on train+val and measure it on the test set.

The search chose the configuration on the validation set; once chosen, the validation
examples are more useful as training data (the seed refits its best model on all of MNIST's
training images). The model is trained exactly like a trial (same options, same seed), except:

- on the training and validation examples together;
- with the last parameters kept (``restore_best=False``): with the validation examples in the
  training set, "best validation accuracy" would select on training data;
- without early stopping, for the same reason; a search that used ``--early-stopping`` retrains
  for the epoch at which the best trial peaked instead.

The model and a ``retrain.json`` go to ``<study>/best/``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

BEST_DIR = "best"


def retrain(train_argv: list[str], folder: Path, epochs: int | None = None) -> dict[str, Any]:
    """Train with ``layerwise train`` options ``train_argv`` on train+val; return the report.

    epochs: overrides the options' ``--epochs`` (None: keep it).
    """
    from layerwise.cli import (
        _build_model,
        _check_model_options,
        _resolve_hidden,
        accuracy,
        build_parser,
    )
    from layerwise.frameworks.engines import make_solver
    from layerwise.io import save_model, write_json
    from layerwise.recipe import data_dims, solver_options
    from layerwise.tune.trial import cached_data

    args = build_parser().parse_args(["train", *train_argv])
    data_dir = str(Path(args.data_dir).resolve()) if args.data_dir else None
    data = cached_data(args.dataset, data_dir, args.dtype, args.val_size)
    merged = {
        "X_train": np.concatenate([data["X_train"], data["X_val"]]),
        "y_train": np.concatenate([data["y_train"], data["y_val"]]),
        "X_val": data["X_val"],  # the Solver needs a validation set; it is inside train here
        "y_val": data["y_val"],
    }
    hidden = _resolve_hidden(args)
    _check_model_options(args)
    input_dim, num_classes = data_dims(data)
    model = _build_model(args, hidden, input_dim, num_classes)
    options = solver_options(args)
    options["patience"] = None
    if epochs is not None:
        options["num_epochs"] = epochs
    solver = make_solver(
        args.engine,
        model,
        merged,
        **options,
        print_every=args.print_every,
        verbose=False,
        restore_best=False,
    )
    start = time.perf_counter()
    solver.train()
    seconds = time.perf_counter() - start
    report = {
        "train_argv": train_argv,
        "num_train": len(merged["X_train"]),
        "epochs": options["num_epochs"],
        "test_acc": accuracy(model, data["X_test"], data["y_test"]),
        "train_seconds": seconds,
        "stopped_reason": solver.stopped_reason,
    }
    out = folder / BEST_DIR
    out.mkdir(exist_ok=True)
    save_model(model, out / "model.npz")
    write_json(out / "retrain.json", report)
    return report
