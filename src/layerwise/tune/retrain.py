"""``--retrain-best``: train the best configuration on train+val and measure it on the test set.

The search chose the configuration on the validation set; once chosen, the validation
examples are more useful as training data (the seed refits its best model on all of MNIST's
training images). The model is trained exactly like a trial (the same recipe, the same seed,
through :func:`layerwise.runs.train_run`), except:

- on the training and validation examples together;
- with the last parameters kept (``restore_best=False``): with the validation examples in the
  training set, "best validation accuracy" would select on training data;
- without early stopping, for the same reason; a search that used ``--early-stopping`` retrains
  for the epoch at which the best trial peaked instead.

The run goes to ``<study>/best/`` (a run folder: config.json, metrics, model, figures) with a
``retrain.json`` report; a later retraining of the same study gets a new folder beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from layerwise.io import write_json
from layerwise.recipe import Recipe

BEST_DIR = "best"


def retrain(
    recipe: Recipe, folder: Path, epochs: int | None = None, train_argv: list[str] | None = None
) -> dict[str, Any]:
    """Train ``recipe`` on train+val into a run folder in the study ``folder``; return the
    report (also written as ``retrain.json`` there).

    epochs: overrides the recipe's epochs (None: keep them); train_argv: the options as
    ``layerwise train`` flags, for the report.
    """
    from layerwise.runs import RunFolder, train_run
    from layerwise.tune.trial import cached_data

    changes: dict[str, Any] = {"early_stopping": None}
    if epochs is not None:
        changes["epochs"] = epochs
    recipe = recipe.replace(**changes)
    data = cached_data(recipe)
    merged = {
        "X_train": np.concatenate([data["X_train"], data["X_val"]]),
        "y_train": np.concatenate([data["y_train"], data["y_val"]]),
        "X_val": data["X_val"],  # the Solver needs a validation set; it is inside train here
        "y_val": data["y_val"],
    }
    best = folder / BEST_DIR
    run = (
        RunFolder.create(best)
        if not best.exists()
        else RunFolder.create(None, base=folder, name_hint=BEST_DIR)
    )
    result = train_run(recipe, run, data=data, train_data=merged, verbose=False, restore_best=False)
    report = {
        "train_argv": list(train_argv or []),
        "recipe": recipe.to_dict(),
        "folder": str(run),
        "num_train": len(merged["X_train"]),
        "epochs": recipe.epochs,
        "test_acc": result.metrics["test_acc"],
        "train_seconds": result.metrics["train_seconds"],
        "stopped_reason": result.solver.stopped_reason,
    }
    write_json(run.path / "retrain.json", report)
    return report
