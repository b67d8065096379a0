"""Per-layer statistics while a model trains: the signals the CS231n notes say to watch.

:class:`Diagnostics` is a Solver callback. Every ``every`` iterations (default: 10 checks per
epoch) it runs one extra forward and backward pass, in training mode, on a fixed sample of the
training examples, and records

- per hidden layer: the activations' mean and standard deviation, the fraction of dead ReLU
  units (never positive on any example of the sample) and the fraction of saturated
  sigmoid/tanh values (in the outer 1 % of the range: ``|2a - 1| > 0.99`` for sigmoid,
  ``|a| > 0.99`` for tanh);
- per parameter: the gradient norm, the weight norm and the update/weight ratio
  ``||w_t - w_{t-1}|| / ||w_t||`` of the update just made (CS231n: about 1e-3 is healthy).

Histograms of each layer's activations and each weight matrix's gradient are kept for the
first check (before the first update) and the last one. The extra pass changes nothing in
training: the model's dropout generator and batchnorm's running statistics are put back
afterwards, so a run with diagnostics is bit-identical to one without (a test checks it).

Activations come from the model's optional ``trace(X, y, training)`` (the fully connected
models have it); a model without it gets the parameter statistics only. :meth:`to_dict` is
what ``diagnostics.json`` holds; :meth:`rows` the rows of ``diagnostics.csv``.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from layerwise.callbacks import Callback
from layerwise.validation import IEEE, check_positive_int, check_seed

Array = np.ndarray

__all__ = ["Diagnostics", "activation_stats", "forward_backward"]

#: The format tag and version of ``diagnostics.json``.
FORMAT, VERSION = "layerwise-diagnostics", 1
#: Bins of every histogram.
BINS = 40
#: Columns of ``diagnostics.csv``: one row per hidden layer and per parameter at each check.
CSV_COLUMNS = (
    "iteration", "epoch", "kind", "name", "mean", "std", "dead", "saturated",
    "grad_norm", "weight_norm", "update_ratio",
)  # fmt: skip


def activation_stats(a: Array, activation: str) -> dict[str, float | None]:
    """Mean, std, dead fraction (ReLU family) and saturated fraction (sigmoid, tanh) of one
    hidden layer's activations ``a`` (m, h); None where the measure does not apply."""
    a = a.astype(np.float64, copy=False)
    dead = saturated = None
    if activation in ("relu", "leaky_relu"):
        dead = float(np.mean(~(a > 0).any(axis=0)))
    elif activation == "sigmoid":
        saturated = float(np.mean(np.abs(2.0 * a - 1.0) > 0.99))
    elif activation == "tanh":
        saturated = float(np.mean(np.abs(a) > 0.99))
    return {
        "mean": _finite_or_none(float(a.mean())),
        "std": _finite_or_none(float(a.std())),
        "dead": dead,
        "saturated": saturated,
    }


def forward_backward(model: Any, X: Array, y: Array) -> tuple[dict[str, Array], list[Array]]:
    """The gradients and the hidden activations of one training-mode pass on ``X``, ``y``,
    leaving the model's dropout generator and batchnorm's running statistics as they were
    (so that measuring changes nothing in training). A model without ``trace`` gives no
    activations."""
    rng_state = model.get_rng_state() if hasattr(model, "get_rng_state") else None
    buffers = model.get_buffers() if hasattr(model, "get_buffers") else {}
    saved = {k: np.array(v, copy=True) for k, v in buffers.items()}
    try:
        if callable(getattr(model, "trace", None)):
            (_, grads), hidden = model.trace(X, y, training=True)
        else:
            (_, grads), hidden = model.loss(X, y), []
    finally:
        if saved:
            model.set_buffers(saved)
        if rng_state is not None:
            model.set_rng_state(rng_state)
    return grads, [np.array(a, copy=True) for a in hidden]


def _histogram(values: Array) -> dict[str, list[float]]:
    values = values[np.isfinite(values)].astype(np.float64, copy=False)
    if values.size == 0:
        return {"edges": [], "counts": []}
    counts, edges = np.histogram(values, bins=BINS)
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def _norm(x: Array) -> float | None:
    """The Euclidean norm, in the array's own precision (BLAS's dot, no float64 copy)."""
    flat = x.ravel()
    return _finite_or_none(math.sqrt(float(np.vdot(flat, flat))))


def _finite_or_none(value: float) -> float | None:
    """JSON has no NaN or infinity: such a measurement (a diverging run) is written as null."""
    return value if math.isfinite(value) else None


class Diagnostics(Callback):
    """Record per-layer activation, gradient and update statistics during training.

    - checks_per_epoch: how often (default 10 per epoch; at least once per iteration);
    - every: or a fixed number of iterations between checks (overrides checks_per_epoch);
    - sample_size: training examples of the fixed sample each check looks at (default 64);
    - seed: which examples make the sample (not the Solver's stream, which stays untouched).

    After training, ``checks`` holds one dict per check and ``histograms`` the first and last.
    """

    state_key = "diagnostics"

    def __init__(
        self,
        checks_per_epoch: int = 10,
        every: int | None = None,
        sample_size: int = 64,
        seed: int = 0,
    ) -> None:
        self.checks_per_epoch = check_positive_int("checks_per_epoch", checks_per_epoch)
        self.every_option = None if every is None else check_positive_int("every", every)
        self.sample_size = check_positive_int("sample_size", sample_size)
        self.seed = check_seed("seed", seed)
        self.every = self.every_option or 1
        self.activation: str | None = None
        self.checks: list[dict[str, Any]] = []
        self.histograms: dict[str, Any] = {}
        self._last: tuple[int, list[Array], dict[str, Array]] | None = None
        self._before: dict[str, Array] | None = None
        self._sample: tuple[Array, Array] | None = None

    # -- the hooks ---------------------------------------------------------------------------

    def on_train_begin(self, solver: Any) -> None:
        if self.every_option is None:
            per_epoch = solver.iterations_per_epoch
            self.every = max(1, round(per_epoch / self.checks_per_epoch))
        n = solver.X_train.shape[0]
        rows = np.random.default_rng(self.seed).permutation(n)[: min(self.sample_size, n)]
        rows.sort()
        self._sample = (solver.X_train[rows], solver.y_train[rows])
        self.activation = getattr(solver.model, "activation", None)
        if solver.iteration == 0 and not self.checks:
            self._check(solver)
        self._keep_before(solver)

    def on_batch_end(self, solver: Any) -> None:
        if solver.iteration % self.every == 0:
            self._check(solver)
        self._keep_before(solver)

    def on_train_end(self, solver: Any) -> None:
        self._histograms_of_last()

    # -- state for checkpoints (a resumed run continues the same records) --------------------

    def get_state(self) -> dict[str, Any]:
        self._histograms_of_last()
        return {"checks": self.checks, "histograms": self.histograms}

    def set_state(self, state: dict[str, Any]) -> None:
        if not (isinstance(state, dict) and isinstance(state.get("checks"), list)):
            raise ValueError(f"diagnostics state must hold a list of checks; got {state!r}")
        self.checks = list(state["checks"])
        self.histograms = dict(state.get("histograms") or {})
        self._last = None

    # -- the measurement -----------------------------------------------------------------------

    def _keep_before(self, solver: Any) -> None:
        """Copy the parameters one iteration before a check: the check's update is the
        difference (a copy every ``every`` iterations, not every iteration)."""
        if (solver.iteration + 1) % self.every == 0:
            solver.engine.sync()
            self._before = {k: v.copy() for k, v in solver.model.params.items()}

    @IEEE
    def _check(self, solver: Any) -> None:
        solver.engine.sync()
        model = solver.model
        assert self._sample is not None
        X, y = self._sample
        grads, hidden = forward_backward(model, X, y)
        before = self._before if solver.iteration > 0 else None
        params = {}
        for name, w in model.params.items():
            weight_norm = _norm(w)
            ratio = None
            if before is not None and name in before and weight_norm:
                step = _norm(w - before[name])
                ratio = None if step is None else step / weight_norm
            params[name] = {
                "grad_norm": _norm(grads[name]) if name in grads else None,
                "weight_norm": weight_norm,
                "update_ratio": ratio,
            }
        layers = {
            str(i): activation_stats(a, self.activation or "")
            for i, a in enumerate(hidden, start=1)
        }
        per_epoch = solver.iterations_per_epoch
        self.checks.append(
            {
                "iteration": int(solver.iteration),
                "epoch": round(solver.iteration / per_epoch, 4),
                "activations": layers,
                "params": params,
            }
        )
        self._last = (int(solver.iteration), hidden, grads)
        if "first" not in self.histograms:
            self.histograms["first"] = self._histograms(*self._last)

    @staticmethod
    def _histograms(iteration: int, hidden: list[Array], grads: dict[str, Array]) -> dict:
        # The weight matrices (theta1, theta2, ...), not biases or normalisation scales.
        weights = [k for k in grads if re.fullmatch(r"theta\d+", k)]
        weights.sort(key=lambda k: int(k[5:]))
        return {
            "iteration": iteration,
            "activations": {str(i): _histogram(a) for i, a in enumerate(hidden, start=1)},
            "gradients": {k: _histogram(grads[k]) for k in weights},
        }

    def _histograms_of_last(self) -> None:
        if self._last is not None:
            self.histograms["last"] = self._histograms(*self._last)

    # -- what is written -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The contents of ``diagnostics.json``."""
        self._histograms_of_last()
        return {
            "format": FORMAT,
            "version": VERSION,
            "every": self.every,
            "sample_size": self.sample_size,
            "activation": self.activation,
            "checks": self.checks,
            "histograms": self.histograms,
        }

    def rows(self) -> list[dict[str, Any]]:
        """One row per hidden layer and per parameter at each check (``diagnostics.csv``)."""
        out = []
        for check in self.checks:
            at = {"iteration": check["iteration"], "epoch": check["epoch"]}
            for name, stats in check["activations"].items():
                out.append({**at, "kind": "activation", "name": f"layer{name}", **stats})
            for name, stats in check["params"].items():
                out.append({**at, "kind": "param", "name": name, **stats})
        return [{c: row.get(c) for c in CSV_COLUMNS} for row in out]
