"""What ``layerwise train`` derives from its options, shared by every command that trains.

``layerwise train`` and ``layerwise tune`` (one training per trial) must train the same way
from the same options, so the Solver settings and the data dimensions are computed here once
rather than copied. The model itself is built by :func:`layerwise.cli._build_model`.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

import numpy as np


def solver_options(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`~layerwise.solver.Solver` keywords that follow from ``layerwise train`` options.

    Only the training recipe: printing, progress bars and checkpoints are the caller's choice.
    """
    return {
        "update_rule": args.update_rule,
        "optim_config": {"learning_rate": args.lr},
        "lr_decay": args.lr_decay,
        "lr_schedule": args.lr_schedule,
        "batch_size": args.batch_size,
        "num_epochs": args.epochs,
        "seed": args.seed,
        "patience": args.early_stopping,
        "min_delta": args.min_delta,
    }


def data_dims(data: Mapping[str, np.ndarray]) -> tuple[int, int]:
    """(input_dim, num_classes) of a dataset dict: features per example, largest label + 1."""
    input_dim = int(np.prod(data["X_train"].shape[1:]))
    num_classes = int(max(data[f"y_{s}"].max() for s in ("train", "val", "test"))) + 1
    return input_dim, num_classes
