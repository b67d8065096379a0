"""``layerwise tune --engine keras|tensorflow``: trials and the retraining run on the twin."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from twin_helpers import need, quiet_tensorflow

from layerwise import cli

quiet_tensorflow()
need("keras")
need("optuna")


@pytest.mark.parametrize("engine", ["keras", "tensorflow"])
def test_trials_and_retraining_run_on_the_chosen_engine(tmp_path: Path, engine: str) -> None:
    study = tmp_path / "s"
    argv = ["tune", "--grid", "lr=0.5,1e-7", "--model", "fc", "--hidden", "16",
            "--update-rule", "sgd", "--epochs", "2", "--engine", engine, "--jobs", "1",
            "--study", str(study), "--retrain-best"]  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    assert rc == 0, err.getvalue()
    trials = json.loads((study / "results.json").read_text())["trials"]
    assert [t["state"] for t in trials] == ["complete", "complete"]
    accuracy = {t["params"]["lr"]: t["val_acc"] for t in trials}
    # lr 1e-7 barely moves the weights (a twin that ignored the options would learn here too);
    # lr 0.5 (train's default) learns the digits in two epochs.
    assert accuracy[0.5] > 0.8 and accuracy[1e-7] < 0.5
    assert "Retrained on 1437 examples for 2 epochs" in out.getvalue()
