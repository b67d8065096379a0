"""``--retrain-best``: the best configuration trained on train+val, measured on test."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from tune_helpers import TINY, results, run_tune

from layerwise.data import load_digits_data
from layerwise.io import load_model


def test_retrain_best_reports_test_accuracy_of_a_saved_model(tmp_path: Path) -> None:
    study = tmp_path / "s"
    rc, out, err = run_tune(
        "--grid", "lr=0.5,0.05", *TINY, "--jobs", "1", "--study", str(study), "--retrain-best"
    )  # fmt: skip
    assert rc == 0, err
    assert results(study)["best"]["params"] == {"lr": 0.5}
    assert "Retraining the best configuration (0.5) on train+val" in out
    match = re.search(r"Retrained on (\d+) examples for 2 epochs .*: test accuracy ([\d.]+)", out)
    assert match, out
    data = load_digits_data(dtype=np.float32)
    assert int(match[1]) == len(data["X_train"]) + len(data["X_val"])  # 1257 + 180

    report = json.loads((study / "best" / "retrain.json").read_text())
    assert abs(report["test_acc"] - float(match[2])) < 1e-6  # printed with 6 decimals
    assert "--lr" in report["train_argv"] and "0.5" in report["train_argv"]
    model = load_model(study / "best" / "model.npz")
    test_acc = float(np.mean(model.predict(data["X_test"]) == data["y_test"]))
    assert test_acc == report["test_acc"]  # the saved model is the one measured
    assert test_acc > 0.5
