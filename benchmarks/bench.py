#!/usr/bin/env python3
"""Training speed of layerwise against PyTorch, scikit-learn, Keras and the GEMM floor.

For these MLPs almost all arithmetic is a handful of matrix products, so the physical limit on
a CPU is the time NumPy's BLAS needs for those products (the *GEMM floor*); everything else is
overhead. This script measures seconds per training epoch for the seed notebook's networks:

- W1: 3072-100-10 (TwoLayerNet), 49,000 samples, batch 100, SGD lr 1e-3;
- W2: 3072-100-100-10 (ThreeLayerNet), same data and optimiser;
- W3: 784-512-512-512-10 (FullyConnectedNet), 60,000 samples, batch 128, Adam lr 1e-3;
- W3d: W3 with dropout 0.2 after every hidden layer (scikit-learn has no dropout: skipped).

All float32, on synthetic data of the real shapes whose labels come from a random linear
teacher, so that "the loss falls" can be checked. Every implementation runs in its own
subprocess (peak RSS per implementation); the subprocesses stay alive for the whole workload
and the driver hands out one epoch at a time, round robin, rotating the order every round, so
slow drifts of the machine hit every implementation alike. A worker waits, idle, inside its own
end-of-epoch hook (Solver's epoch_callback, a Keras callback, the end of a loop), so an epoch is
timed from the moment it is handed out to the end of that epoch's accuracy check.

Run ``python benchmarks/bench.py --help``; benchmarks/README.md explains the numbers.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

# ------------------------------------------------------------------------------------------------
# the workloads


@dataclass(frozen=True)
class Workload:
    name: str
    floor: str  # the workload whose matrix products this one does (W3d: W3's)
    model: str  # the layerwise class
    dims: tuple[int, ...]
    n_train: int
    batch: int
    rule: str  # 'sgd' or 'adam'
    lr: float
    weight_scale: float | None  # None: He init (sqrt(2 / fan_in))
    dropout: float
    inputs: str  # 'cifar': N(0, 50^2), about mean-subtracted CIFAR pixels; 'mnist': U[0, 1)
    about: str


WORKLOADS = {
    "W1": Workload(
        "W1", "W1", "TwoLayerNet", (3072, 100, 10), 49_000, 100, "sgd", 1e-3, 1e-3, 0.0,
        "cifar", "seed two-layer CIFAR net 3072-100-10, SGD 1e-3, batch 100",
    ),
    "W2": Workload(
        "W2", "W2", "ThreeLayerNet", (3072, 100, 100, 10), 49_000, 100, "sgd", 1e-3, 1e-2, 0.0,
        "cifar", "seed three-layer CIFAR net 3072-100-100-10, SGD 1e-3, batch 100",
    ),
    "W3": Workload(
        "W3", "W3", "FullyConnectedNet", (784, 512, 512, 512, 10), 60_000, 128, "adam", 1e-3,
        None, 0.0, "mnist", "seed MNIST MLP 784-512-512-512-10, Adam 1e-3, batch 128",
    ),
    "W3d": Workload(
        "W3d", "W3", "FullyConnectedNet", (784, 512, 512, 512, 10), 60_000, 128, "adam", 1e-3,
        None, 0.2, "mnist", "W3 with dropout 0.2 after each hidden layer",
    ),
}  # fmt: skip

DEFAULT_IMPLS = ("floor", "layerwise", "torch", "sklearn", "keras")
ALL_IMPLS = (*DEFAULT_IMPLS, "layerwise64", "layerwise-numpy")
N_VAL = 1000  # validation examples; every implementation scores them after every epoch
N_TRAIN_ACC = 1000  # training examples scored after every epoch (Solver's num_train_samples)
SEED_DATA, SEED_WEIGHTS = 1234, 0
OPENBLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def supports(impl: str, wl: Workload) -> str | None:
    """None when ``impl`` can run ``wl``, else the reason it cannot."""
    if impl == "sklearn" and wl.dropout > 0:
        return "MLPClassifier has no dropout"
    return None


# ------------------------------------------------------------------------------------------------
# worker side: one implementation, one workload, in its own process


class Channel:
    """JSON lines to the driver on the original stdout; commands from stdin.

    Stray prints of libraries go to stderr (a log file) so they cannot corrupt the protocol.
    """

    def __init__(self) -> None:
        self._out = os.fdopen(os.dup(1), "w", buffering=1)
        os.dup2(2, 1)

    def send(self, obj: dict[str, Any]) -> None:
        self._out.write(json.dumps(obj) + "\n")
        self._out.flush()

    def recv(self) -> str:
        return sys.stdin.readline().strip()


class EpochClock:
    """Times epochs handed out by the driver; the worker blocks here between epochs."""

    def __init__(self, chan: Channel, total: int) -> None:
        self.chan, self.total, self.done = chan, total, 0
        self.t0 = self.c0 = self.idle_cpu = 0.0

    def _wait(self) -> None:
        c = time.process_time()
        cmd = self.chan.recv()
        # CPU this process burnt while it should have been idle (spinning thread pools, data
        # prefetching): it would compete with the implementation being timed.
        self.idle_cpu = time.process_time() - c
        if cmd != "go":
            raise SystemExit(0)
        self.c0 = time.process_time()
        self.t0 = time.perf_counter()

    def ready(self, info: dict[str, Any]) -> None:
        self.chan.send({"type": "ready", "info": info})
        self._wait()

    def epoch_end(self, info: dict[str, Any] | Callable[[], dict[str, Any]]) -> None:
        t1 = time.perf_counter()
        c1 = time.process_time()
        extra = info() if callable(info) else info  # outside the timed interval
        self.done += 1
        self.chan.send(
            {
                "type": "epoch",
                "epoch": self.done,
                "wall": t1 - self.t0,
                "cpu": c1 - self.c0,
                "idle_cpu_before": self.idle_cpu,
                **{k: (None if v is None else float(v)) for k, v in extra.items()},
            }
        )
        if self.done < self.total:
            self._wait()


def n_train(wl: Workload, scale: float) -> int:
    return max(int(wl.n_train * scale), wl.batch)


def make_data(wl: Workload, scale: float) -> dict[str, Any]:
    """Synthetic data of the workload's shape, labels from a random linear teacher (float32)."""
    import numpy as np

    rng = np.random.default_rng(SEED_DATA)
    n_tr = n_train(wl, scale)
    n, d, c = n_tr + N_VAL, wl.dims[0], wl.dims[-1]
    if wl.inputs == "cifar":
        X = rng.standard_normal((n, d), dtype=np.float32)
        X *= np.float32(50.0)
        center = 0.0
    else:
        X = rng.random((n, d), dtype=np.float32)
        center = 0.5
    teacher = rng.standard_normal((d, c), dtype=np.float32)
    # (X - center) @ teacher without an X-sized temporary (it would count in the peak RSS)
    shift = np.float32(center) * teacher.sum(axis=0)
    y = np.empty(n, dtype=np.int64)
    for s in range(0, n, 4096):
        y[s : s + 4096] = np.argmax(X[s : s + 4096] @ teacher - shift, axis=1)
    return {"X_train": X[:n_tr], "y_train": y[:n_tr], "X_val": X[n_tr:], "y_val": y[n_tr:]}


def layer_std(wl: Workload) -> list[float]:
    pairs = list(zip(wl.dims[:-1], wl.dims[1:], strict=True))
    if wl.weight_scale is None:
        return [(2.0 / d_in) ** 0.5 for d_in, _ in pairs]
    return [wl.weight_scale] * len(pairs)


def init_params(wl: Workload) -> list[tuple[Any, Any]]:
    """Initial (W (d_in, d_out), b) per layer, float32: what layerwise draws with
    ``rng=np.random.default_rng(SEED_WEIGHTS)``; torch, Keras and scikit-learn start from it."""
    import numpy as np

    rng = np.random.default_rng(SEED_WEIGHTS)
    out = []
    pairs = zip(wl.dims[:-1], wl.dims[1:], strict=False)
    for (d_in, d_out), std in zip(pairs, layer_std(wl), strict=True):
        w = (std * rng.standard_normal((d_in, d_out))).astype(np.float32)
        out.append((w, np.zeros(d_out, dtype=np.float32)))
    return out


def blas_info() -> list[dict[str, Any]]:
    from threadpoolctl import threadpool_info

    keys = ("user_api", "internal_api", "prefix", "version", "architecture", "num_threads")
    return [{k: p.get(k) for k in keys} for p in threadpool_info()]


def _steps(n: int, batch: int) -> int:
    return max(n // batch, 1)


def floor_epoch(wl: Workload, steps: int) -> Callable[[], None]:
    """A function that runs the matrix products of ``steps`` training steps of ``wl``, in
    float32 NumPy with preallocated outputs: forward x @ W per layer; backward dW = x.T @ dout
    per layer and dX = dout @ W.T for every layer except the first (nobody needs the gradient
    with respect to the input data)."""
    import numpy as np

    rng = np.random.default_rng(5)
    f32 = np.float32
    m = wl.batch
    pairs = list(zip(wl.dims[:-1], wl.dims[1:], strict=True))
    Ws = [rng.standard_normal(p, dtype=f32) * f32(0.05) for p in pairs]
    xs = [rng.standard_normal((m, d_in), dtype=f32) for d_in, _ in pairs]
    douts = [rng.standard_normal((m, d_out), dtype=f32) for _, d_out in pairs]
    outs = [np.empty((m, d_out), dtype=f32) for _, d_out in pairs]
    dWs = [np.empty_like(W) for W in Ws]
    dXs = [np.empty((m, d_in), dtype=f32) for d_in, _ in pairs]
    L = len(pairs)

    def run() -> None:
        for _ in range(steps):
            for i in range(L):
                np.matmul(xs[i], Ws[i], out=outs[i])
            for i in reversed(range(L)):
                np.matmul(xs[i].T, douts[i], out=dWs[i])
                if i > 0:
                    np.matmul(douts[i], Ws[i].T, out=dXs[i])

    return run


def worker_floor(wl: Workload, clock: EpochClock, scale: float) -> None:
    """Only the matrix products of one epoch's training steps (:func:`floor_epoch`)."""
    steps = _steps(n_train(wl, scale), wl.batch)
    epoch = floor_epoch(wl, steps)
    gemms = 3 * (len(wl.dims) - 1) - 1
    clock.ready({"blas": blas_info(), "steps_per_epoch": steps, "gemms_per_step": gemms})
    for _ in range(clock.total):
        epoch()
        clock.epoch_end(lambda: {})


def layerwise_model(wl: Workload, dtype: Any, rng: Any) -> Any:
    """The workload's layerwise model, built through the public API as a user would."""
    from layerwise.models import FullyConnectedNet, ThreeLayerNet, TwoLayerNet

    d, c = wl.dims[0], wl.dims[-1]
    common = {"dtype": dtype, "dropout": wl.dropout, "rng": rng}
    if wl.model == "TwoLayerNet":
        return TwoLayerNet(
            input_dim=d, hidden_dim=wl.dims[1], num_classes=c, weight_scale=wl.weight_scale,
            **common,
        )  # fmt: skip
    if wl.model == "ThreeLayerNet":
        return ThreeLayerNet(
            input_dim=d, hidden_dim_1=wl.dims[1], hidden_dim_2=wl.dims[2], num_classes=c,
            weight_scale=wl.weight_scale, **common,
        )  # fmt: skip
    return FullyConnectedNet(
        list(wl.dims[1:-1]), input_dim=d, num_classes=c, weight_init="he", **common
    )


def worker_layerwise(wl: Workload, data: dict[str, Any], clock: EpochClock, n: int, dtype: Any):
    """The public API exactly as a user would call it; one Solver for the whole run."""
    import numpy as np

    import layerwise
    from layerwise import Solver

    model = layerwise_model(wl, dtype, np.random.default_rng(SEED_WEIGHTS))
    same_init = all(
        np.array_equal(model.params[f"theta{i}"].astype(np.float32), w)
        for i, (w, _) in enumerate(init_params(wl), start=1)
    )
    last_epoch = [0]

    def on_epoch(solver: Any) -> None:
        if solver.epoch == last_epoch[0]:  # the check after the first iteration
            return
        last_epoch[0] = solver.epoch
        ipe = solver.iterations_per_epoch
        clock.epoch_end(
            lambda: {
                "loss": float(np.mean(solver.loss_history[-ipe:])),
                "train_acc": solver.train_acc_history[-1],
                "val_acc": solver.val_acc_history[-1],
            }
        )

    solver = Solver(
        model,
        data,
        update_rule=wl.rule,
        optim_config={"learning_rate": wl.lr},
        batch_size=wl.batch,
        num_epochs=clock.total,
        verbose=False,
        seed=0,
        num_train_samples=N_TRAIN_ACC,
        num_val_samples=N_VAL,
        epoch_callback=on_epoch,
    )
    clock.ready(
        {
            "layerwise": layerwise.__version__,
            "dtype": np.dtype(dtype).name,
            "same_init_as_others": same_init,
            "blas": blas_info(),
            "steps_per_epoch": solver.iterations_per_epoch,
        }
    )
    solver.train()


def torch_model(wl: Workload) -> tuple[Any, Any]:
    """The workload's network in PyTorch, from :func:`init_params`, and its optimiser."""
    import torch
    from torch import nn

    layers: list[nn.Module] = []
    params = init_params(wl)
    for i, (w, b) in enumerate(params):
        lin = nn.Linear(*w.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < len(params) - 1:
            layers.append(nn.ReLU())
            if wl.dropout > 0:
                layers.append(nn.Dropout(wl.dropout))
    model = nn.Sequential(*layers)
    if wl.rule == "sgd":
        return model, torch.optim.SGD(model.parameters(), lr=wl.lr)
    return model, torch.optim.Adam(model.parameters(), lr=wl.lr, eps=1e-8)


def worker_torch(wl: Workload, data: dict[str, Any], clock: EpochClock, n: int) -> None:
    """Eager PyTorch on the CPU: nn.Sequential, random minibatches with replacement."""
    import torch
    from torch import nn

    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:
        pass
    torch.manual_seed(0)
    model, opt = torch_model(wl)
    loss_fn = nn.CrossEntropyLoss()
    X, y = torch.from_numpy(data["X_train"]), torch.from_numpy(data["y_train"])
    Xv, yv = torch.from_numpy(data["X_val"]), torch.from_numpy(data["y_val"])
    N = X.shape[0]
    steps = _steps(N, wl.batch)
    g = torch.Generator().manual_seed(0)
    clock.ready(
        {
            "torch": torch.__version__,
            "num_threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
            "mkl": bool(torch.backends.mkl.is_available()),
            "mkldnn": bool(torch.backends.mkldnn.is_available()),
            "blas": blas_info(),
            "steps_per_epoch": steps,
        }
    )
    for _ in range(clock.total):
        model.train()
        total = 0.0
        for _ in range(steps):
            idx = torch.randint(N, (wl.batch,), generator=g)
            opt.zero_grad()
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item()
        model.eval()
        with torch.no_grad():
            idx = torch.randint(N, (N_TRAIN_ACC,), generator=g)
            train_acc = (model(X[idx]).argmax(1) == y[idx]).float().mean().item()
            val_acc = (model(Xv).argmax(1) == yv).float().mean().item()
        clock.epoch_end({"loss": total / steps, "train_acc": train_acc, "val_acc": val_acc})


def worker_sklearn(wl: Workload, data: dict[str, Any], clock: EpochClock, n: int) -> None:
    """MLPClassifier on float32 input, one ``partial_fit`` (one epoch) per epoch."""
    import warnings

    import numpy as np
    import sklearn
    from sklearn.neural_network import MLPClassifier

    warnings.filterwarnings("ignore")
    X, y, Xv, yv = data["X_train"], data["y_train"], data["X_val"], data["y_val"]
    clf = MLPClassifier(
        hidden_layer_sizes=wl.dims[1:-1],
        activation="relu",
        solver=wl.rule,
        alpha=0.0,
        batch_size=wl.batch,
        learning_rate="constant",
        learning_rate_init=wl.lr,
        momentum=0.0,
        nesterovs_momentum=False,
        epsilon=1e-8,
        shuffle=True,
        random_state=0,
    )
    classes = np.arange(wl.dims[-1])
    # partial_fit initialises (Glorot); then put the shared initial weights in place (the
    # optimiser holds references to these very arrays) and forget that one step.
    clf.partial_fit(X[: wl.batch], y[: wl.batch], classes=classes)
    same_init = True
    try:
        for (w, b), cw, cb in zip(init_params(wl), clf.coefs_, clf.intercepts_, strict=True):
            cw[...] = w
            cb[...] = b
        opt = clf._optimizer
        if hasattr(opt, "t"):
            opt.t = 0
            for arr in (*opt.ms, *opt.vs):
                arr[...] = 0
    except Exception:  # private attributes moved: keep sklearn's own initialisation
        same_init = False
    rng = np.random.default_rng(0)
    clock.ready(
        {
            "sklearn": sklearn.__version__,
            "coef_dtype": str(clf.coefs_[0].dtype),
            "same_init_as_others": same_init,
            "blas": blas_info(),
            "steps_per_epoch": -(-len(X) // wl.batch),
        }
    )
    for _ in range(clock.total):
        clf.partial_fit(X, y)
        idx = rng.integers(0, len(X), N_TRAIN_ACC)
        train_acc = clf.score(X[idx], y[idx])
        val_acc = clf.score(Xv, yv)
        clock.epoch_end({"loss": clf.loss_, "train_acc": train_acc, "val_acc": val_acc})


def worker_keras(wl: Workload, data: dict[str, Any], clock: EpochClock, n: int) -> None:
    """Keras 3 on TensorFlow (CPU): Sequential, one ``fit`` over all epochs, defaults kept."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(n)
    tf.config.threading.set_inter_op_parallelism_threads(n)
    import keras

    keras.utils.set_random_seed(0)
    params = init_params(wl)
    layers: list[Any] = [keras.Input(shape=(wl.dims[0],))]
    dense = []
    for i, (w, _) in enumerate(params):
        last = i == len(params) - 1
        layer = keras.layers.Dense(w.shape[1], activation=None if last else "relu")
        dense.append(layer)
        layers.append(layer)
        if not last and wl.dropout > 0:
            layers.append(keras.layers.Dropout(wl.dropout))
    model = keras.Sequential(layers)
    for layer, (w, b) in zip(dense, params, strict=True):
        layer.set_weights([w, b])
    if wl.rule == "sgd":
        opt: Any = keras.optimizers.SGD(learning_rate=wl.lr)
    else:
        opt = keras.optimizers.Adam(learning_rate=wl.lr, epsilon=1e-8)
    model.compile(
        optimizer=opt,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )

    class Hand(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            logs = dict(logs or {})
            clock.epoch_end(
                lambda: {
                    "loss": logs.get("loss"),
                    "train_acc": logs.get("accuracy"),
                    "val_acc": logs.get("val_accuracy"),
                }
            )

    X, y = data["X_train"], data["y_train"]
    clock.ready(
        {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
            "jit_compile": str(getattr(model, "jit_compile", "?")),
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
            "blas": blas_info(),
            "steps_per_epoch": -(-len(X) // wl.batch),
        }
    )
    model.fit(
        X,
        y,
        batch_size=wl.batch,
        epochs=clock.total,
        shuffle=True,
        verbose=0,
        validation_data=(data["X_val"], data["y_val"]),
        callbacks=[Hand()],
    )


def current_rss_mb() -> float:
    """This process's resident set size now, in MiB (Linux; 0 where /proc is missing)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker_layerwise_numpy(wl: Any, data: Any, clock: Any, threads: int) -> None:
    """:func:`worker_layerwise` with ``LAYERWISE_KERNELS=numpy``: every update rule in NumPy."""
    from layerwise import fused

    os.environ[fused.ENV] = "numpy"
    fused.reset()
    worker_layerwise(wl, data, clock, threads, "float32")


def worker_main(impl: str, names: list[str], threads: int, total: int, scale: float) -> int:
    """Run ``impl`` on each workload in turn (one, unless the driver shares processes)."""
    chan = Channel()
    runners: dict[str, Callable[..., None]] = {
        "floor": lambda wl, data, clock: worker_floor(wl, clock, scale),
        "layerwise": lambda wl, data, clock: worker_layerwise(wl, data, clock, threads, "float32"),
        "layerwise64": lambda wl, data, clock: worker_layerwise(
            wl, data, clock, threads, "float64"
        ),
        # layerwise without its compiled kernels (layerwise.fused): the NumPy reference path
        "layerwise-numpy": lambda wl, data, clock: worker_layerwise_numpy(wl, data, clock, threads),
        "torch": lambda wl, data, clock: worker_torch(wl, data, clock, threads),
        "sklearn": lambda wl, data, clock: worker_sklearn(wl, data, clock, threads),
        "keras": lambda wl, data, clock: worker_keras(wl, data, clock, threads),
    }
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)  # on top of the *_NUM_THREADS variables set by the driver
        for name in names:
            wl = WORKLOADS[name]
            clock = EpochClock(chan, total)
            # What the process holds before any data or framework: the interpreter, NumPy and
            # this script. The memory goal is about what training adds on top of it.
            base_rss_mb = current_rss_mb()
            data = None if impl == "floor" else make_data(wl, scale)
            data_mb = 0.0 if data is None else sum(a.nbytes for a in data.values()) / 2**20
            runners[impl](wl, data, clock)
            if clock.done < total:
                raise RuntimeError(f"training ended after {clock.done} of {total} epochs")
            del data
            if chan.recv() != "finish":
                return 0
            ru = resource.getrusage(resource.RUSAGE_SELF)
            chan.send(
                {
                    "type": "final",
                    "workload": name,
                    "peak_rss_mb": ru.ru_maxrss / 1024.0,
                    "base_rss_mb": base_rss_mb,
                    "data_mb": data_mb,
                }
            )
        return 0
    except SystemExit:
        return 0
    except BaseException as exc:
        chan.send(
            {
                "type": "error",
                "message": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc()[-3000:],
            }
        )
        return 1


# ------------------------------------------------------------------------------------------------
# driver side


class Proc:
    """A worker process: one implementation, one or more workloads in turn."""

    def __init__(
        self, impl: str, names: list[str], threads: int, total: int, args: Any, env: dict
    ) -> None:
        self.impl, self.names = impl, names
        self.log = tempfile.NamedTemporaryFile(  # kept open while the worker runs
            "w+", prefix=f"bench-{impl}-", suffix=".log", delete=False
        )
        cmd = [
            sys.executable, "-u", str(Path(__file__).resolve()), "--worker", impl,
            "--workloads", ",".join(names), "--worker-threads", str(threads),
            "--total-epochs", str(total), "--scale", str(args.scale),
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env
        )
        self.failed = False

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            self.log.flush()
            tail = Path(self.log.name).read_text(errors="replace")[-1500:]
            raise RuntimeError(f"worker exited with status {self.proc.returncode}:\n{tail}")
        msg = json.loads(line)
        if msg.get("type") == "error":
            raise RuntimeError(msg["message"] + "\n" + msg.get("traceback", ""))
        return msg

    def send(self, cmd: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        self.failed = True
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def close(self) -> None:
        """After the last workload: the worker exits by itself."""
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        os.unlink(self.log.name)


class Worker:
    """One implementation on one workload, in ``proc``."""

    def __init__(self, proc: Proc, wl: Workload, shared: bool) -> None:
        self.proc, self.impl, self.wl, self.shared = proc, proc.impl, wl, shared
        self.info: dict[str, Any] = {}
        self.epochs: list[dict[str, Any]] = []
        self.final: dict[str, Any] = {}
        self.error: str | None = None

    def wait_ready(self) -> None:
        self._guard(lambda: self.info.update(self.proc.read()["info"]))

    def epoch(self, position: int) -> None:
        def go() -> None:
            self.proc.send("go")
            msg = self.proc.read()
            msg["position"] = position
            self.epochs.append(msg)

        self._guard(go)

    def finish(self) -> None:
        def fin() -> None:
            self.proc.send("finish")
            self.final = self.proc.read()

        self._guard(fin)

    def _guard(self, fn: Callable[[], None]) -> None:
        if self.error is not None:
            return
        try:
            fn()
        except Exception as exc:
            self.error = str(exc).strip()
            print(f"  !! {self.impl} on {self.wl.name} failed: {self.error[:2000]}", flush=True)
            print(f"     (worker log: {self.proc.log.name})", flush=True)
            self.proc.kill()


def worker_env(threads: int, unset_openblas: bool) -> dict[str, str]:
    env = dict(os.environ)
    for key in THREAD_ENV:
        env[key] = str(threads)
    if unset_openblas:
        for key in OPENBLAS_ENV:
            env.pop(key, None)
    env["KERAS_BACKEND"] = "tensorflow"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONHASHSEED"] = "0"
    return env


def summarize(w: Worker, warmup: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "impl": w.impl,
        "workload": w.wl.name,
        "error": w.error,
        "info": w.info,
        "epochs": w.epochs,
        "peak_rss_mb": w.final.get("peak_rss_mb"),
        "base_rss_mb": w.final.get("base_rss_mb"),
        "data_mb": w.final.get("data_mb"),
        "process_shared": w.shared,
    }
    return add_stats(row, warmup)


def add_stats(row: dict[str, Any], warmup: int) -> dict[str, Any]:
    """Medians and spreads of the timed epochs, and the learning check, from ``row['epochs']``."""
    epochs = row.get("epochs") or []
    timed = [e for e in epochs if e["epoch"] > warmup]
    if timed:
        walls = [e["wall"] for e in timed]
        med = statistics.median(walls)
        row.update(
            median_s=med,
            min_s=min(walls),
            max_s=max(walls),
            spread=(max(walls) - min(walls)) / med if med else None,
            cpu_s=statistics.median(e["cpu"] for e in timed),
            cpu_per_wall=statistics.median(e["cpu"] / e["wall"] for e in timed),
            idle_cpu_max_s=max(e["idle_cpu_before"] for e in timed),
        )
    losses = [e.get("loss") for e in epochs if e.get("loss") is not None]
    if row["impl"] != "floor" and losses:
        first, last = losses[0], losses[-1]
        learns = last == last and last < first  # NaN fails
        row.update(loss_first=first, loss_last=last, learns=learns)
        row["val_acc_last"] = epochs[-1].get("val_acc")
    return row


def gemm_flop_per_step(wl: Workload) -> int:
    """Floating-point operations of the floor's matrix products for one training step."""
    pairs = list(zip(wl.dims[:-1], wl.dims[1:], strict=False))
    fwd = sum(2 * wl.batch * a * b for a, b in pairs)  # x @ W; dW = x.T @ dout costs the same
    dx = sum(2 * wl.batch * a * b for a, b in pairs[1:])  # dout @ W.T, all but the first layer
    return 2 * fwd + dx


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """Multiples of the GEMM floor and of PyTorch, within one workload of one run."""
    floor = next((x for x in rows if x["impl"] == "floor" and "median_s" in x), None)
    if floor:
        steps = (floor.get("info") or {}).get("steps_per_epoch")
        wl = WORKLOADS.get(floor["workload"])
        if steps and wl:
            floor["gflop_per_epoch"] = gemm_flop_per_step(wl) * steps / 1e9
            floor["gflops"] = floor["gflop_per_epoch"] / floor["median_s"]
    torch_row = next((x for x in rows if x["impl"] == "torch" and "median_s" in x), None)
    for x in rows:
        if "median_s" not in x:
            continue
        if floor:
            x["x_floor"] = x["median_s"] / floor["median_s"]
            x["cpu_x_floor"] = x["cpu_s"] / floor["cpu_s"]
        if torch_row:
            x["x_torch"] = x["median_s"] / torch_row["median_s"]


def run_setting(
    label: str,
    threads: int,
    args: Any,
    workloads: list[str],
    impls: list[str],
    results: list[dict[str, Any]],
    save: Callable[[], None],
) -> None:
    """Run every workload at ``threads``, appending rows to ``results``; ``save`` after each."""
    env = worker_env(threads, args.unset_openblas_env)
    total = args.warmup + args.epochs
    procs: dict[str, Proc] = {}
    for index, wname in enumerate(workloads):
        wl = WORKLOADS[wname]
        here = [i for i in impls if supports(i, wl) is None]
        for i in impls:
            if i not in here:
                results.append({"impl": i, "workload": wname, "skipped": supports(i, wl)})
        print(f"[{label}] {wname}: {', '.join(here)}", flush=True)
        workers = []
        for impl in here:
            proc = procs.get(impl)
            if proc is None or proc.failed or wname not in proc.names:
                if args.share_processes:
                    todo = workloads[index:]
                    names = [w for w in todo if supports(impl, WORKLOADS[w]) is None]
                else:
                    names = [wname]
                proc = procs[impl] = Proc(impl, names, threads, total, args, env)
            workers.append(Worker(proc, wl, args.share_processes))
        for w in workers:
            w.wait_ready()
        for r in range(total):
            alive = [w for w in workers if w.error is None]
            k = r % max(len(alive), 1)
            order = alive[k:] + alive[:k]
            t = time.perf_counter()
            for pos, w in enumerate(order):
                w.epoch(pos)
                time.sleep(args.settle)
            kind = "warm-up" if r < args.warmup else "timed"
            shown = " ".join(
                f"{w.impl}={w.epochs[-1]['wall']:.2f}" for w in order if w.error is None
            )
            print(
                f"[{label}] {wname} round {r + 1}/{total} ({kind}, "
                f"{time.perf_counter() - t:.0f}s): {shown}",
                flush=True,
            )
        for w in workers:
            w.finish()
            if w.error is None and w.proc.names[-1] == wname:
                w.proc.close()
        rows = [summarize(w, args.warmup) for w in workers]
        add_ratios(rows)
        load = os.getloadavg()
        for x in rows:
            x["loadavg_after"] = load
        results.extend(rows)
        save()


# ------------------------------------------------------------------------------------------------
# report


def _fmt(v: Any, spec: str, dash: str = "-") -> str:
    return dash if v is None else format(v, spec)


def table(label: str, rows: list[dict[str, Any]]) -> str:
    cols = (
        "workload", "impl", "s/epoch median", "min-max", "spread", "x floor", "x torch",
        "CPU s", "x floor (CPU)", "CPU/wall", "peak RSS MB (+ over base)", "loss first->last",
        "val acc",
        "learns",
    )  # fmt: skip
    lines = [f"**{label}**", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    pad = " |" * (len(cols) - 3)
    for x in rows:
        name = f"{x['workload']} | {x['impl']}"
        if x.get("skipped"):
            lines.append(f"| {name} | skipped: {x['skipped']} |" + pad)
            continue
        if "median_s" not in x:
            lines.append(f"| {name} | FAILED: {str(x.get('error'))[:80]} |" + pad)
            continue
        learn = "-" if x["impl"] == "floor" else ("PASS" if x.get("learns") else "FAIL")
        loss = (
            "-" if x.get("loss_first") is None else f"{x['loss_first']:.3f}->{x['loss_last']:.3f}"
        )
        rss = _fmt(x.get("peak_rss_mb"), ".0f") + ("*" if x.get("process_shared") else "")
        if x.get("base_rss_mb") is not None and not x.get("process_shared"):
            rss += f" (+{x['peak_rss_mb'] - x['base_rss_mb']:.0f})"
        cells = [
            f"{x['median_s']:.3f}",
            f"{x['min_s']:.3f}-{x['max_s']:.3f}",
            f"{100 * x['spread']:.0f}%",
            _fmt(x.get("x_floor"), ".2f"),
            _fmt(x.get("x_torch"), ".2f"),
            f"{x['cpu_s']:.3f}",
            _fmt(x.get("cpu_x_floor"), ".2f"),
            f"{x['cpu_per_wall']:.2f}",
            rss,
            loss,
            _fmt(x.get("val_acc_last"), ".3f"),
            learn,
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def grid_table(
    label: str,
    rows: list[dict[str, Any]],
    workloads: list[str],
    cell: Callable[[dict[str, Any]], str | None],
    skip: tuple[str, ...] = (),
) -> str:
    """One row per implementation, one column per workload; ``cell(row)`` or '-' in each."""
    impls = [i for i in dict.fromkeys(x["impl"] for x in rows) if i not in skip]
    lines = ["| " + label + " | " + " | ".join(workloads) + " |"]
    lines.append("|" + "---|" * (len(workloads) + 1))
    for impl in impls:
        cells = []
        for wname in workloads:
            x = next((r for r in rows if r["impl"] == impl and r["workload"] == wname), None)
            text = None if x is None else cell(x)
            cells.append("-" if text is None else text)
        lines.append(f"| {impl} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pivot(
    label: str, rows: list[dict[str, Any]], workloads: list[str], key: str = "median_s"
) -> str:
    """Seconds per epoch (multiple of the floor) per implementation and workload."""
    ratio = "x_floor" if key == "median_s" else "cpu_x_floor"

    def cell(x: dict[str, Any]) -> str | None:
        if key not in x:
            return None
        xf = x.get(ratio)
        return f"{x[key]:.2f}" + ("" if xf is None else f" ({xf:.2f}x)")

    return grid_table(label, rows, workloads, cell)


def memory_table(label: str, rows: list[dict[str, Any]], workloads: list[str]) -> str:
    """Peak RSS minus the process's RSS before the data existed, as a multiple of the data
    (empty when no row has both numbers, e.g. a JSON file from before they were recorded).

    The goal "at most the float32 data plus 10 %" means a multiple of at most 1.10. The base
    (interpreter, NumPy, the benchmark script: ~25 MB) is not counted; a framework's own
    import (PyTorch, TensorFlow) is, since it comes after the base.
    """

    def cell(x: dict[str, Any]) -> str | None:
        # (--quick shares one process across workloads: its peak is not this workload's)
        if x.get("base_rss_mb") is None or not x.get("data_mb") or x.get("process_shared"):
            return None
        over = x["peak_rss_mb"] - x["base_rss_mb"]
        return f"{over:.0f} ({over / x['data_mb']:.2f}x)"

    if not any(cell(x) for x in rows if x["impl"] != "floor"):
        return ""
    return grid_table(label, rows, workloads, cell, skip=("floor",))


def machine_info(args: Any) -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    src = REPO / "src" / "layerwise"
    digest = hashlib.sha256()
    for p in sorted(src.rglob("*.py")):
        digest.update(str(p.relative_to(src)).encode() + b"\0" + p.read_bytes())

    def git(*a: str) -> str:
        try:
            return subprocess.run(
                ["git", "-C", str(REPO), *a], capture_output=True, text=True, timeout=20
            ).stdout.rstrip()
        except (OSError, subprocess.SubprocessError):
            return "?"

    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "loadavg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_head": git("rev-parse", "--short", "HEAD"),
        "git_dirty_src": [ln[3:] for ln in git("status", "--porcelain", "--", "src").splitlines()],
        "layerwise_src_sha256": digest.hexdigest()[:16],
        "openblas_env_in_driver": {k: os.environ.get(k) for k in OPENBLAS_ENV},
        "openblas_env_removed_for_workers": bool(args.unset_openblas_env),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }


def header(meta: dict[str, Any], settings: dict[str, list[dict[str, Any]]]) -> str:
    lines = [
        f"date {meta['date']}; {meta['cpu']}, {meta['cores']} cores; Python {meta['python']}; "
        f"load average (1, 5, 15 min) at start "
        f"{', '.join(f'{v:.2f}' for v in meta['loadavg_at_start'])}, at end "
        f"{', '.join(f'{v:.2f}' for v in meta.get('loadavg_at_end', ()))}",
        f"layerwise tree: HEAD {meta['git_head']}, modified under src: "
        f"{', '.join(meta['git_dirty_src']) or 'none'}; src sha256 {meta['layerwise_src_sha256']}",
    ]
    env = ", ".join(f"{k}={v if v is not None else '(unset)'}" for k, v in meta["env"].items())
    removed = " -- removed for the workers (--unset-openblas-env)"
    lines.append(env + (removed if meta["openblas_env_removed_for_workers"] else ""))
    seen = set()
    for label, rows in settings.items():
        for x in rows:
            info = x.get("info") or {}
            for key in ("torch", "sklearn", "tensorflow", "keras", "layerwise"):
                if key in info and key not in seen:
                    seen.add(key)
                    lines.append(f"{key} {info[key]}")
            if x.get("impl") == "floor" and info.get("blas") and (label, "blas") not in seen:
                seen.add((label, "blas"))
                for b in info["blas"]:
                    lines.append(
                        f"[{label}] numpy BLAS (threadpoolctl): {b['internal_api']} "
                        f"{b['version']}, kernel {b['architecture']}, {b['num_threads']} "
                        f"thread(s), {b['prefix']}"
                    )
            if x.get("impl") == "keras" and info and (label, "keras") not in seen:
                seen.add((label, "keras"))
                lines.append(
                    f"[{label}] keras: backend {info.get('backend')}, jit_compile "
                    f"{info.get('jit_compile')}, TF intra/inter op threads "
                    f"{info.get('intra_op')}/{info.get('inter_op')}"
                )
            if x.get("impl") == "torch" and info and (label, "torch") not in seen:
                seen.add((label, "torch"))
                lines.append(
                    f"[{label}] torch: {info.get('num_threads')} intra-op / "
                    f"{info.get('interop_threads')} inter-op threads, MKL {info.get('mkl')}"
                )
    return "\n".join(lines)


def report(doc: dict[str, Any]) -> list[str]:
    """Print the header, the tables and the learning check; return the failures."""
    meta, config, results = doc["meta"], doc["config"], doc["results"]
    workloads = list(config["workloads"])
    print()
    print(header(meta, results))
    print(
        f"\nseconds per epoch: median of {config['epochs']} timed epochs after "
        f"{config['warmup']} warm-up, the implementations taking turns epoch by epoch; data "
        f"scale {config['scale']:g}; every epoch includes its accuracy check on "
        f"{config['n_train_acc']} training + {config['n_val']} validation examples (Keras: "
        "validation only). CPU s: CPU time of the worker process in the same interval."
    )
    if config.get("share_processes"):
        print("*: one process ran all the workloads; its peak RSS is the maximum so far.")
    for label, rows in results.items():
        print()
        print(table(label, rows))
        print()
        print(pivot(f"s/epoch (x GEMM floor), {label}", rows, workloads))
        print()
        print(pivot(f"CPU s/epoch (x floor's), {label}", rows, workloads, key="cpu_s"))
        memory = memory_table(f"peak RSS over base, MB (x data), {label}", rows, workloads)
        if memory:
            print()
            print(memory)
        rates = [
            f"{x['workload']} {x['gflop_per_epoch']:.0f} GFLOP/epoch at {x['gflops']:.0f} GFLOP/s"
            for x in rows
            if x["impl"] == "floor" and "gflops" in x
        ]
        if rates:
            print(f"\nGEMM floor, {label}: " + "; ".join(rates))
    failed = [
        f"{label}/{x['workload']}/{x['impl']}"
        for label, rows in results.items()
        for x in rows
        if not x.get("skipped")
        and (x.get("error") or (x["impl"] != "floor" and not x.get("learns")))
    ]
    print(f"\nlearning check: {'FAIL: ' + ', '.join(failed) if failed else 'PASS (all)'}")
    print(f"elapsed {meta['elapsed_s']:.0f}s")
    return failed


def from_json(path: Path) -> int:
    """Recompute the statistics from a --json file's per-epoch numbers and print the report."""
    doc = json.loads(path.read_text())
    doc["config"].setdefault("share_processes", False)
    for rows in doc["results"].values():
        for wname in doc["config"]["workloads"]:
            here = [
                add_stats(x, doc["config"]["warmup"])
                for x in rows
                if x["workload"] == wname and not x.get("skipped")
            ]
            add_ratios(here)
    return 1 if report(doc) else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--threads", choices=("1", "all", "both"), default="both")
    p.add_argument("--epochs", type=int, default=None, help="timed epochs (default 5; quick 2)")
    p.add_argument("--warmup", type=int, default=1, help="untimed epochs first (default 1)")
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="default W1,W2,W3,W3d")
    p.add_argument(
        "--impl",
        default=",".join(DEFAULT_IMPLS),
        help=f"comma list of {', '.join(ALL_IMPLS)} (default: all but layerwise64 and "
        "layerwise-numpy)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 1/20 of the data, 2 timed epochs, 1 thread unless --threads is given",
    )
    p.add_argument("--json", type=Path, help="write every number (per epoch) to this file")
    p.add_argument(
        "--from-json", type=Path, metavar="FILE", help="print the report of a --json file again"
    )
    p.add_argument(
        "--unset-openblas-env",
        action="store_true",
        help=f"start the workers without {' and '.join(OPENBLAS_ENV)}",
    )
    p.add_argument(
        "--share-processes",
        action="store_true",
        help="one process per implementation for all workloads (faster start; peak RSS is then "
        "the maximum so far); the default with --quick",
    )
    p.add_argument("--settle", type=float, default=0.3, help="pause between epochs (s)")
    p.add_argument("--scale", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--worker-threads", type=int, help=argparse.SUPPRESS)
    p.add_argument("--total-epochs", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        return worker_main(
            args.worker, args.workloads.split(","), args.worker_threads, args.total_epochs,
            args.scale or 1.0,
        )  # fmt: skip

    if args.from_json:
        return from_json(args.from_json)
    threads_given = any(a == "--threads" or a.startswith("--threads=") for a in sys.argv[1:])
    if args.quick:
        args.scale = args.scale or 0.05
        args.epochs = args.epochs or 2
        args.settle = min(args.settle, 0.05)
        args.share_processes = True
        if not threads_given:
            args.threads = "1"
    args.scale = args.scale or 1.0
    args.epochs = args.epochs or 5
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    impls = [i.strip() for i in args.impl.split(",") if i.strip()]
    bad = [w for w in workloads if w not in WORKLOADS] + [i for i in impls if i not in ALL_IMPLS]
    if bad:
        p.error(f"unknown workload or implementation: {', '.join(bad)}")
    if args.epochs < 1 or args.warmup < 0:
        p.error("--epochs must be >= 1 and --warmup >= 0")

    cores = len(os.sched_getaffinity(0))
    settings = {"1": [("1 thread", 1)], "all": [(f"all {cores} cores", cores)]}
    settings["both"] = settings["1"] + settings["all"]
    meta = machine_info(args)
    meta["env"] = {k: os.environ.get(k) for k in OPENBLAS_ENV}
    set_env = {k: v for k, v in meta["env"].items() if v is not None}
    if set_env and not args.unset_openblas_env:
        print(
            f"note: {set_env} is set and passed on to the workers (as CI would see it); "
            "--unset-openblas-env starts them without", flush=True
        )  # fmt: skip
    if meta["loadavg_at_start"][0] > 0.5 * cores:
        print(
            f"warning: the machine is busy (load average {meta['loadavg_at_start'][0]:.1f} on "
            f"{cores} cores): wall times are inflated and noisy; compare within this run, and "
            "look at the CPU seconds too",
            flush=True,
        )
    t0 = time.perf_counter()
    results: dict[str, list[dict[str, Any]]] = {}
    config = {
        "epochs": args.epochs,
        "warmup": args.warmup,
        "scale": args.scale,
        "settle_s": args.settle,
        "share_processes": bool(args.share_processes),
        "n_val": N_VAL,
        "n_train_acc": N_TRAIN_ACC,
        "workloads": {w: asdict(WORKLOADS[w]) for w in workloads},
    }
    doc = {"meta": meta, "config": config, "results": results}

    def save() -> None:  # after every workload, so an interrupted run keeps what it measured
        meta["elapsed_s"] = time.perf_counter() - t0
        meta["loadavg_at_end"] = os.getloadavg()
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            tmp = args.json.with_suffix(args.json.suffix + ".tmp")
            tmp.write_text(json.dumps(doc, indent=1))
            os.replace(tmp, args.json)

    for label, n in settings[args.threads]:
        results[label] = []
        run_setting(label, n, args, workloads, impls, results[label], save)
    meta["complete"] = True
    save()
    failed = report(doc)
    if args.json:
        print(f"wrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
