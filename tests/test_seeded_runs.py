"""Seeded runs reproduce the results recorded before the Recipe/RunFolder refactor.

``golden/seeded_runs.json`` holds what the code of the commit in its ``_about`` gave for a few
seeded commands: the histories and accuracies of ``metrics.json``, a SHA-256 of every array of
``model.npz`` and the trials of a small tune grid. Every command here runs through the public
entry point :func:`layerwise.cli.main`, each test in its own folders, and must give the same
numbers: bit for bit for the NumPy engine, within float32 round-off for the Keras twin.

``fixtures/run_before_recipe`` is a run folder written by that code (``train --epochs 2``,
less its figures): the current code must still resume it.

The recorded numbers come from one BLAS thread (two threads change float32 sums in the last
bits), so every test runs under ``threadpool_limits(1)`` whatever ``OMP_NUM_THREADS`` says.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

from layerwise.cli import main

HERE = Path(__file__).resolve().parent
GOLDEN: dict[str, Any] = json.loads((HERE / "golden" / "seeded_runs.json").read_text())
RUNS: dict[str, dict[str, Any]] = GOLDEN["runs"]
FIXTURE_RUN = HERE / "fixtures" / "run_before_recipe"

HISTORIES = ("loss_history", "train_acc_history", "val_acc_history", "val_loss_history")
ACCURACIES = ("best_val_acc", "val_acc", "test_acc")
EXACT = ("num_iterations", "stopped_reason")

MNIST_ARGS = [
    "--dataset", "mnist", "--model", "fc", "--hidden", "256,256", "--dropout", "0.2",
    "--norm", "batchnorm", "--update-rule", "adam", "--lr", "1e-3", "--batch-size", "128",
    "--epochs", "1",
]  # fmt: skip
TUNE_ARGS = [
    "--grid", "lr=0.1,0.5", "--grid", "units=50,100", "--epochs", "3", "--jobs", "1",
    "--pruner", "none",
]  # fmt: skip


def _need(module: str) -> ModuleType:
    """Import ``module``; outside CI (``CI=true``) skip the test when it is missing."""
    if os.environ.get("CI", "").strip().lower() in {"true", "1"}:
        return importlib.import_module(module)  # CI installs every extra: missing fails
    return pytest.importorskip(module)


@pytest.fixture(autouse=True)
def _reproducible(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LAYERWISE_OFFLINE", "1")  # never download: digits are embedded
    monkeypatch.delenv("LAYERWISE_DATA_DIR", raising=False)
    with threadpool_limits(limits=1):
        yield


def _layerwise(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status = main(argv)
    captured = capsys.readouterr()
    assert status == 0, f"layerwise {' '.join(argv)} exited {status}: {captured.err}"


def _result(run: Path) -> dict[str, Any]:
    """What the golden file records of a run folder: metrics and model-array hashes."""
    metrics = json.loads((run / "metrics.json").read_text())
    result = {key: metrics[key] for key in (*HISTORIES, *ACCURACIES, *EXACT)}
    arrays = {}
    with np.load(run / "model.npz", allow_pickle=False) as npz:
        for name in sorted(npz.files):
            a = npz[name]
            arrays[name] = {
                "dtype": str(a.dtype),
                "shape": list(a.shape),
                "sha256": hashlib.sha256(a.tobytes()).hexdigest(),
            }
    result["model_arrays"] = arrays
    return result


def _assert_same_run(run: Path, golden: str) -> None:
    got, want = _result(run), RUNS[golden]
    for key in (*HISTORIES, *ACCURACIES, *EXACT):
        assert got[key] == want[key], f"{key} differs from the recorded {golden!r} run"
    assert got["model_arrays"] == want["model_arrays"], f"model.npz differs from {golden!r}"


# --------------------------------------------------------------------------------------------
# NumPy engine: bit for bit
# --------------------------------------------------------------------------------------------


def test_default_train(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _layerwise(["train", "--out", str(tmp_path / "run"), "--quiet"], capsys)
    _assert_same_run(tmp_path / "run", "default")


@pytest.mark.slow
def test_mnist_fc_adam_batchnorm_dropout(
    tmp_path: Path, mnist_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    argv = ["train", *MNIST_ARGS, "--data-dir", str(mnist_dir), "--out", str(run), "--quiet"]
    _layerwise(argv, capsys)
    _assert_same_run(run, "mnist_fc_adam")


def test_resume_after_two_epochs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    _layerwise(["train", "--epochs", "2", "--out", str(run), "--quiet"], capsys)
    _layerwise(["train", "--resume", str(run), "--epochs", "4", "--quiet"], capsys)
    _assert_same_run(run, "resumed")


def test_four_epochs_uninterrupted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _layerwise(["train", "--epochs", "4", "--out", str(tmp_path / "run"), "--quiet"], capsys)
    _assert_same_run(tmp_path / "run", "uninterrupted")


def test_resume_run_folder_written_before_the_refactor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE_RUN, run)  # resuming writes into the folder
    _layerwise(["train", "--resume", str(run), "--epochs", "4", "--quiet"], capsys)
    _assert_same_run(run, "resumed")


def test_resume_continues_from_the_fixture_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Resumed equals uninterrupted, so the test above cannot tell a resume from a run started
    # again; here the old-format checkpoint's parameters are nudged: a resume must feel it.
    run = tmp_path / "run"
    shutil.copytree(FIXTURE_RUN, run)
    npz_path = run / "checkpoints" / "ckpt_latest.npz"
    with np.load(npz_path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["param.theta2"] = arrays["param.theta2"] * np.float32(1.01)
    np.savez(npz_path, **arrays)
    _layerwise(["train", "--resume", str(run), "--epochs", "4", "--quiet"], capsys)
    done = json.loads((FIXTURE_RUN / "metrics.json").read_text())["num_iterations"]
    loss = json.loads((run / "metrics.json").read_text())["loss_history"]
    recorded = RUNS["resumed"]["loss_history"]
    assert len(loss) == len(recorded)
    assert loss[:done] == recorded[:done]  # the history before the interruption is kept
    assert loss[done] != recorded[done]  # and training went on from the nudged parameters


# --------------------------------------------------------------------------------------------
# tune: a 4-point grid in this process
# --------------------------------------------------------------------------------------------


def test_tune_grid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _need("optuna")
    study = tmp_path / "study"
    _layerwise(["tune", *TUNE_ARGS, "--study", str(study)], capsys)
    trials = json.loads((study / "results.json").read_text())["trials"]
    got = [
        {
            "number": t["number"],
            "params": t["params"],
            "state": t["state"],
            "value": t["val_acc"],
            "val_acc_per_epoch": t["val_acc_per_epoch"],
        }
        for t in sorted(trials, key=lambda t: t["number"])
    ]
    assert got == GOLDEN["tune"]["trials"]


# --------------------------------------------------------------------------------------------
# Keras twin: within float32 round-off
# --------------------------------------------------------------------------------------------


def test_keras_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in [
        ("LAYERWISE_TF_THREADS", "1"),
        ("TF_CPP_MIN_LOG_LEVEL", "2"),
        ("KERAS_BACKEND", "tensorflow"),
    ]:
        if name not in os.environ:  # read when TensorFlow starts
            monkeypatch.setenv(name, value)
    _need("keras")
    run = tmp_path / "run"
    _layerwise(
        ["train", "--engine", "keras", "--epochs", "1", "--out", str(run), "--quiet"], capsys
    )
    got, want = _result(run), RUNS["keras"]
    for key in (*HISTORIES, *ACCURACIES):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-6, err_msg=key)
    for key in EXACT:
        assert got[key] == want[key], key
    shapes = {name: (a["dtype"], a["shape"]) for name, a in got["model_arrays"].items()}
    assert shapes == {name: (a["dtype"], a["shape"]) for name, a in want["model_arrays"].items()}
