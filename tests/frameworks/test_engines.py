"""Training on every engine: the same Solver, lines, histories, run folder and checkpoints.

Also the seed notebook's framework configurations, end to end on CIFAR-10 files in the official
format (small ones, written by the test).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from twin_helpers import need, quiet_tensorflow, rel_error

from layerwise.cli import main
from layerwise.data.pixels import PixelScaling
from layerwise.frameworks.engines import TwinEngine, make_solver
from layerwise.models import FullyConnectedNet
from layerwise.solver import Solver

tf = quiet_tensorflow()
need("keras")
lw_keras = importlib.import_module("layerwise.frameworks.keras")
lw_tf = importlib.import_module("layerwise.frameworks.tensorflow")

ENGINES = ("keras", "tensorflow")


def toy_data(n: int = 120, d: int = 10, classes: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = 2 * rng.standard_normal((classes, d))
    y = rng.integers(0, classes, n)
    X = centres[y] + rng.standard_normal((n, d))
    return {"X_train": X[:80], "y_train": y[:80], "X_val": X[80:], "y_val": y[80:]}


def toy_model(norm: str | None = "batchnorm") -> FullyConnectedNet:
    return FullyConnectedNet(
        [12, 9], input_dim=10, num_classes=3, normalization=norm, reg=1e-3,
        weight_scale=0.3, dtype=np.float64, seed=5,
    )  # fmt: skip


SOLVER = {
    "update_rule": "adam",
    "optim_config": {"learning_rate": 1e-2},
    "lr_decay": 0.9,
    "batch_size": 16,
    "num_epochs": 2,
    "seed": 1,
    "verbose": False,
}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_twin_solver_trains_exactly_like_the_numpy_solver(engine: str) -> None:
    # float64, no dropout: the same minibatches, the same updates (Adam with learning-rate
    # decay), batch norm's running statistics: the same run to rounding.
    data = toy_data()
    ref_model, twin_model = toy_model(), toy_model()
    ref = Solver(ref_model, data, **SOLVER)
    ref.train()
    twin = make_solver(engine, twin_model, data, **SOLVER)
    assert engine == "numpy" or isinstance(twin.engine, TwinEngine)
    assert twin.engine.name == engine
    twin.train()
    assert len(twin.loss_history) == len(ref.loss_history) == 10
    assert rel_error(ref.loss_history, twin.loss_history) < 1e-9
    assert twin.train_acc_history == ref.train_acc_history
    assert twin.val_acc_history == ref.val_acc_history
    for name, value in ref_model.params.items():  # the best parameters, restored
        # (errors relative to 1 at least: the hidden biases before batch norm are rounding noise)
        assert rel_error(value, twin_model.params[name], 1.0) < 1e-9, name
    for name, value in ref_model.get_buffers().items():
        assert rel_error(value, twin_model.get_buffers()[name]) < 1e-9, name


@pytest.mark.parametrize("engine", ENGINES)
def test_checkpoints_resume_across_engines(engine: str, tmp_path: Path) -> None:
    # One epoch on the twin, checkpointed (with its optimizer state in layerwise's form), then
    # continued by the other engine: numpy resumes the twin's run and vice versa.
    data = toy_data()
    whole = toy_model()
    Solver(whole, data, **{**SOLVER, "restore_best": False}).train()

    first = toy_model()
    ckpt = str(tmp_path / "ckpt")
    options = {**SOLVER, "restore_best": False, "checkpoint_name": ckpt}
    make_solver(engine, first, data, **{**options, "num_epochs": 1}).train()
    state = json.loads(Path(f"{ckpt}_latest.json").read_text())
    assert state["optim_scalars"]["theta1"]["t"] == 5  # Adam's step count, from the twin
    second = toy_model()
    solver = make_solver("numpy", second, data, **options)
    solver.resume(f"{ckpt}_latest")
    solver.train()
    for name, value in whole.params.items():
        assert rel_error(value, second.params[name], 1.0) < 1e-9, name

    numpy_first = toy_model()
    ckpt2 = str(tmp_path / "ckpt2")
    options2 = {**options, "checkpoint_name": ckpt2}
    make_solver("numpy", numpy_first, data, **{**options2, "num_epochs": 1}).train()
    third = toy_model()
    twin = make_solver(engine, third, data, **options2)
    twin.resume(f"{ckpt2}_latest")
    twin.train()
    for name, value in whole.params.items():
        assert rel_error(value, third.params[name], 1.0) < 1e-9, name


def test_a_twin_solver_needs_a_named_rule() -> None:
    with pytest.raises(ValueError, match=r"needs an update rule by name"):
        make_solver("keras", toy_model(), toy_data(), update_rule=lambda w, dw, c: (w, c))
    with pytest.raises(ValueError, match=r"unknown engine 'jax'"):
        make_solver("jax", toy_model(), toy_data())


# --------------------------------------------------------------------------------------------
# the command line


def _train(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(argv) == 0
    return capsys.readouterr().out.splitlines()


def test_train_prints_and_writes_the_same_whatever_the_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["train", "--epochs", "2", "--print-every", "20", "--dtype", "float64"]
    runs = {e: tmp_path / e for e in ("numpy", "tensorflow")}
    lines = {
        e: _train([*base, "--engine", e, "--out", str(run)], capsys) for e, run in runs.items()
    }
    # Every line but the last ("trained in ... s; run folder: ...") is the same.
    assert lines["numpy"][:-1] == lines["tensorflow"][:-1]
    assert any(line.startswith("(Epoch 2 / 2)") for line in lines["numpy"])
    files = {e: sorted(p.relative_to(r) for p in r.rglob("*")) for e, r in runs.items()}
    assert files["numpy"] == files["tensorflow"]
    config = json.loads((runs["tensorflow"] / "config.json").read_text())
    assert config["engine"] == "tensorflow" and config["tensorflow_version"] == tf.__version__
    metrics = {e: json.loads((r / "metrics.json").read_text()) for e, r in runs.items()}
    assert metrics["numpy"]["test_acc"] == metrics["tensorflow"]["test_acc"]
    # the saved model is a layerwise model: evaluate reproduces the reported accuracy
    out = _train(["evaluate", str(runs["tensorflow"])], capsys)
    assert out == [f"test accuracy: {metrics['tensorflow']['test_acc']:f}"]


def test_train_with_keras_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    argv = ["train", "--engine", "keras", "--epochs", "1", "--quiet", "--out", str(run)]
    argv += ["--model", "fc", "--hidden", "16", "--dropout", "0.1", "--norm", "layernorm"]
    _train(argv, capsys)
    lines = _train(["train", "--resume", str(run), "--epochs", "2"], capsys)
    assert lines[-3].startswith("val accuracy: ")
    metrics = json.loads((run / "metrics.json").read_text())
    assert [row["epoch"] for row in metrics["epochs"]] == [0, 1, 2]
    assert json.loads((run / "config.json").read_text())["engine"] == "keras"


def test_compare_prints_one_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    argv = ["compare", "--engines", "numpy,tensorflow", "--epochs", "1", "--quiet"]
    lines = _train([*argv, "--hidden", "20", "--out", str(out)], capsys)
    header = "engine train acc val acc test acc s/epoch peak MiB"
    assert lines[0].split() == header.split()
    assert [line.split()[0] for line in lines[1:3]] == ["numpy", "tensorflow"]
    report = json.loads((out / "compare.json").read_text())
    for row in report["rows"]:
        assert row["status"] == 0 and 0 <= row["test_acc"] <= 1 and row["train_acc"] > 0.5
        assert row["seconds_per_epoch"] > 0 and row["peak_rss_mb"] > 10
        assert (out / row["engine"] / "model.npz").is_file()
    # the same minibatches and updates: the same accuracies, to the last digit
    assert report["rows"][0]["test_acc"] == report["rows"][1]["test_acc"]
    assert (out / "compare.csv").read_text().startswith("engine,train_acc,val_acc,test_acc")


def test_compare_rejects_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--engines", "numpy,torch", "--out", str(tmp_path / "a")]) == 2
    assert "expected a comma-separated list of numpy, keras, tensorflow" in capsys.readouterr().err
    assert main(["compare", "--dropout", "2", "--out", str(tmp_path / "b")]) == 2
    assert "expected a probability in [0, 1), got '2'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


# --------------------------------------------------------------------------------------------
# the seed notebook's configurations on CIFAR-10 files in the official format


@pytest.fixture
def small_cifar_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Small official-format CIFAR-10 files; ``layerwise train --dataset cifar10`` reads them
    with a 40/10/7 split (the real files hold 50,000 + 10,000 images; these 50 + 7)."""
    import layerwise.data as data_module
    from dataset_files import make_small_cifar

    cifar = make_small_cifar(tmp_path / "cifar", seed=0)
    real = data_module.load_dataset

    def load_dataset(
        name: str,
        data_dir: Any = None,
        dtype: Any = np.float32,
        val_size: Any = None,
        accept_sha256: Any = None,
        pixels: bool = False,
    ) -> Any:
        files = {"data_dir": data_dir, "dtype": dtype, "accept_sha256": accept_sha256}
        if name == "cifar10":
            data = data_module.get_CIFAR10_data(40, 10, 7, return_mean=pixels, **files)
            if pixels:
                data["pixels"] = PixelScaling("cifar10", data.pop("mean_image"))
            return data
        return real(name, val_size=val_size, pixels=pixels, **files)

    monkeypatch.setattr(data_module, "load_dataset", load_dataset)
    return cifar.batches_dir


def test_the_seeds_keras_cifar_configuration(
    small_cifar_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Dense 100 sigmoid, Dropout 0.25, Dense 100 sigmoid, Dense 10 softmax, Adam 1e-4, batch 32
    # (a layerwise network drops after both hidden layers).
    run = tmp_path / "keras-cifar"
    argv = ["train", "--engine", "keras", "--dataset", "cifar10", "--data-dir"]
    argv += [str(small_cifar_dir), "--model", "fc", "--hidden", "100,100", "--activation"]
    argv += ["sigmoid", "--dropout", "0.25", "--update-rule", "adam", "--lr", "1e-4"]
    argv += ["--batch-size", "32", "--epochs", "2", "--weight-init", "xavier", "--out", str(run)]
    lines = _train(argv, capsys)
    assert lines[0].startswith("Training FullyConnectedNet (hidden 100,100) on cifar10: 40 train")
    assert (run / "model.npz").is_file() and (run / "curves.png").is_file()

    # ... and the seed's own Keras model, compiled and fitted as in the notebook
    from layerwise.data import get_CIFAR10_data

    data = get_CIFAR10_data(40, 10, 7, data_dir=small_cifar_dir, dtype=np.float32)
    model = lw_keras.seed_cifar_model()
    onehot = np.eye(10, dtype=np.float32)
    hist = model.fit(
        data["X_train"], onehot[data["y_train"]], epochs=2, batch_size=32, verbose=0,
        validation_data=(data["X_val"], onehot[data["y_val"]]),
    )  # fmt: skip
    assert len(hist.history["val_accuracy"]) == 2
    twin = lw_keras.from_keras(model, dropout=0.25)
    probs = model.predict(data["X_test"], verbose=0)
    np.testing.assert_array_equal(np.argmax(probs, 1), twin.predict(data["X_test"]))


def test_the_seeds_tensorflow_cifar_configuration(
    small_cifar_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # tf_nn(input_dim, [100, 100], num_classes, activation="sigmoid"), Adam 1e-3, batch 100
    run = tmp_path / "tf-cifar"
    argv = ["train", "--engine", "tensorflow", "--dataset", "cifar10", "--data-dir"]
    argv += [str(small_cifar_dir), "--model", "fc", "--hidden", "100,100", "--activation"]
    # (batch 40: the small CIFAR files hold 40 training images; a larger batch is refused)
    argv += ["sigmoid", "--update-rule", "adam", "--lr", "1e-3", "--batch-size", "40"]
    argv += ["--epochs", "2", "--weight-scale", "1", "--out", str(run)]
    _train(argv, capsys)
    assert json.loads((run / "config.json").read_text())["engine"] == "tensorflow"

    # ... and the seed's own loop, with its per-epoch printout
    from layerwise.data import get_CIFAR10_data

    data = get_CIFAR10_data(40, 10, 7, data_dir=small_cifar_dir, dtype=np.float32)
    net = lw_tf.tf_nn(3 * 32 * 32, [100, 100], 10, activation="sigmoid")
    history = lw_tf.train_tf(net, data, epochs=2, batch_size=16)
    out = capsys.readouterr().out
    for text in ("Epoch :  1", "avg_cost : ", "training accuracy : ", "validation accuracy : "):
        assert text in out
    assert out.rstrip().endswith("Training phase finished")
    assert history["epoch"] == [1, 2] and np.isfinite(history["avg_cost"]).all()
    model = lw_tf.from_tensorflow(net)
    np.testing.assert_array_equal(model.predict(data["X_val"]), net.predict(data["X_val"]))
