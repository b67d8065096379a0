"""Checks of FullyConnectedNet against :class:`layerwise.models.FullyConnectedNet`, given the
same parameters: initialisation, test-time scores, the loss with and without regularisation,
grads keyed like params, every gradient.

Students' classes take different subsets of layerwise's constructor arguments (the seed's
takes ``hidden_dims, input_dim, num_classes, dropout, normalization, reg, weight_scale, dtype,
seed``), so the checks read the class's signature: they need hidden_dims, input_dim,
num_classes, weight_scale and reg, and pass dtype and dropout only to a class that takes them.
The network has three hidden layers, one more than ThreeLayerNet, so a loop that stops a layer
early shows."""

from __future__ import annotations

import inspect
import itertools
from typing import Any

import numpy as np

from layerwise import models as ref_models
from layerwise.check.compare import CheckFailed, Outcome, expect_array, expect_dtype, expect_tuple
from layerwise.check.items.common import own, randn, seeded
from layerwise.check.registry import check

NAME = "FullyConnectedNet"
HIDDEN, INPUT, CLASSES, BATCH = [6, 5, 4], 5, 7, 4
DIMS = [INPUT, *HIDDEN, CLASSES]
WEIGHTS = [f"theta{i}" for i in range(1, len(DIMS))]
KEYS = [k for w in WEIGHTS for k in (w, f"{w}_0")]
REQUIRED = ("input_dim", "num_classes", "weight_scale", "reg")


def _takes(ns: dict[str, Any], argument: str) -> bool:
    """Whether the submission's constructor takes ``argument`` (by name, or **kwargs)."""
    try:
        parameters = inspect.signature(own(ns, NAME)).parameters
    except (TypeError, ValueError):  # no signature to read: assume layerwise's
        return True
    kinds = {p.kind for p in parameters.values()}
    return argument in parameters or inspect.Parameter.VAR_KEYWORD in kinds


def _build(ns: dict[str, Any], dims: list[int] = DIMS, reg: float = 0.0, **more: Any) -> Any:
    """The submission's model; ``more`` (dtype, dropout) only where the class takes it."""
    missing = [a for a in REQUIRED if not _takes(ns, a)]
    if missing:
        raise CheckFailed(
            f"{NAME}{inspect.signature(own(ns, NAME))} takes no {', '.join(missing)}: "
            f"layerwise's is {NAME}(hidden_dims, input_dim, num_classes, ..., reg, "
            "weight_scale, dtype, ...)"
        )
    kwargs = {k: v for k, v in more.items() if _takes(ns, k)}
    sizes = {"input_dim": dims[0], "num_classes": dims[-1], "weight_scale": 1e-2, "reg": reg}
    return own(ns, NAME)(list(dims[1:-1]), **sizes, **kwargs)


def _params() -> dict[str, np.ndarray]:
    """Parameters of unit-order scale (a wrong layer changes the loss visibly), nonzero
    biases (so a bias used as a weight shows)."""
    rng = seeded(70)
    out = {}
    for w, d_in, d_out in zip(WEIGHTS, DIMS[:-1], DIMS[1:], strict=True):
        out[w] = randn(rng, d_in, d_out) * np.sqrt(2.0 / d_in)
        out[f"{w}_0"] = 0.1 * randn(rng, d_out)
    return out


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = seeded(71)
    return randn(rng, BATCH, INPUT), rng.integers(CLASSES, size=BATCH)


def _models(ns: dict[str, Any], reg: float, **more: Any) -> tuple[Any, Any]:
    """The submission's model and layerwise's, both holding copies of :func:`_params`."""
    model = _build(ns, reg=reg, dtype=np.float64, **more)
    model.params = {k: v.copy() for k, v in _params().items()}
    model.reg = reg
    reference = ref_models.FullyConnectedNet(
        HIDDEN, input_dim=INPUT, num_classes=CLASSES, reg=reg, weight_scale=1e-2, dtype=np.float64
    )
    reference.params = {k: v.copy() for k, v in _params().items()}
    return model, reference


def _loss_and_grads(model: Any, X: np.ndarray, y: np.ndarray) -> tuple[float, Any]:
    loss, grads = expect_tuple(f"{NAME}.loss(X, y)", model.loss(X, y), 2, "(loss, grads)")
    try:
        return float(loss), grads
    except (TypeError, ValueError):
        raise CheckFailed(f"the loss is {type(loss).__name__}, expected a number") from None


def _reg_hint(term: float, reg: float) -> str:
    """What the regularisation term the submission added has, from the parameters' squares."""
    params = _params()
    sq = {w: float(np.sum(params[w] ** 2)) for w in WEIGHTS}
    total = sum(sq.values())
    guesses = {reg * total: "without the 0.5 factor (0.5 * reg * sum of squares)", 0.0: "none"}
    for i, w in enumerate(WEIGHTS, start=1):
        last = " (the last layer: does the loop stop a layer early?)" if i == len(WEIGHTS) else ""
        guesses[0.5 * reg * (total - sq[w])] = f"it misses {w}{last}"
    biases = sum(float(np.sum(params[f"{w}_0"] ** 2)) for w in WEIGHTS)
    guesses[0.5 * reg * (total + biases)] = "the biases are regularised too (only the weights)"
    for value, cause in guesses.items():
        if abs(term - value) <= 1e-6 * max(1.0, abs(value)):
            return f"; the regularisation term: {cause}"
    return ""


@check(NAME, "initialisation", kind="class")
def initialisation(ns: dict[str, Any]) -> Outcome:
    """params keys and shapes (hidden_dims [100, 80]); weights N(0, weight_scale^2), biases 0."""
    dims = [30, 100, 80, 20]  # >= 1600 weights a layer: std within 10% by > 5 standard errors
    params = _build(ns, dims).params
    if not isinstance(params, dict):
        raise CheckFailed(f"{NAME}().params is {type(params).__name__}, expected a dict")
    keys = [k for i in range(1, len(dims)) for k in (f"theta{i}", f"theta{i}_0")]
    missing, extra = sorted(set(keys) - set(params)), sorted(set(params) - set(keys))
    if missing or extra:
        raise CheckFailed(
            f"params has keys {sorted(params)}; missing {missing}, unexpected {extra}"
        )
    for i, (d_in, d_out) in enumerate(itertools.pairwise(dims), start=1):
        w, b = params[f"theta{i}"], params[f"theta{i}_0"]
        for key, value, shape in ((f"theta{i}", w, (d_in, d_out)), (f"theta{i}_0", b, (d_out,))):
            if np.shape(value) != shape:
                raise CheckFailed(f"params[{key!r}] has shape {np.shape(value)}, expected {shape}")
        if abs(float(np.std(w)) - 1e-2) >= 1e-3:
            raise CheckFailed(f"params['theta{i}'] has std {np.std(w):.3g}, expected 0.01")
        if np.any(np.asarray(b) != 0):
            raise CheckFailed(f"params['theta{i}_0'] is not all zeros: biases start at zero")
    return Outcome()


@check(NAME, "dtype", kind="class")
def dtype(ns: dict[str, Any]) -> Outcome:
    """dtype=np.float32 gives float32 parameters and float32 scores."""
    if not _takes(ns, "dtype"):
        raise CheckFailed(
            f"{NAME} takes no dtype: layerwise's (and the seed's) builds its parameters in "
            "dtype (float32 for training, float64 for gradient checks)"
        )
    model = _build(ns, dtype=np.float32)
    for key, value in model.params.items():
        expect_dtype(f"params[{key!r}]", value, np.dtype(np.float32))
    expect_dtype("scores", model.loss(_data()[0].astype(np.float32)), np.dtype(np.float32))
    return Outcome()


@check(NAME, "test-time scores", kind="class")
def scores(ns: dict[str, Any]) -> Outcome:
    """loss(X) with given parameters, against layerwise's (with dropout too, where taken)."""
    X, _ = _data()
    outcome = Outcome()
    for more in ({}, {"dropout": 0.5}) if _takes(ns, "dropout") else ({},):
        model, reference = _models(ns, 0.0, **more)
        what = "scores" + (" (dropout 0.5: off at test time)" if more else "")
        outcome = expect_array(what, model.loss(X), reference.loss(X), batch=BATCH)
    return outcome


@check(NAME, "loss", kind="class")
def loss(ns: dict[str, Any]) -> Outcome:
    """The loss with reg 0 and 0.7 (0.5 * reg * the sum of every weight's squares)."""
    X, y = _data()
    outcome = Outcome()
    for reg in (0.0, 0.7):
        model, reference = _models(ns, reg)
        got, _ = _loss_and_grads(model, X, y)
        want = float(reference.loss(X, y)[0])
        difference = abs(got - want)
        outcome = Outcome(f"difference {difference:.1e}", "1e-08")
        if difference > 1e-8 * max(1.0, abs(want)):
            data = float(_models(ns, 0.0)[1].loss(X, y)[0])
            hint = _reg_hint(got - data, reg) if reg else ""
            message = f"the loss with reg {reg:g} is {got:.10g}, expected {want:.10g}{hint}"
            raise CheckFailed(message, outcome.measured, outcome.tolerance)
    return outcome


@check(NAME, "grads keys", kind="class")
def grads_keys(ns: dict[str, Any]) -> Outcome:
    """grads has exactly the keys of params, each gradient shaped like its parameter."""
    model, _ = _models(ns, 0.0)
    _, grads = _loss_and_grads(model, *_data())
    if not isinstance(grads, dict):
        raise CheckFailed(f"grads is {type(grads).__name__}, expected a dict keyed like params")
    params = _params()
    found = [f"grads has no key {k!r}" for k in KEYS if k not in grads]
    found += [
        f"grads[{k!r}] has shape {np.shape(grads[k])}, expected {params[k].shape}"
        for k in KEYS
        if k in grads and np.shape(grads[k]) != params[k].shape
    ]
    extra = sorted(set(grads) - set(KEYS))
    if extra:
        found.append(f"unexpected keys {extra}")
    if found:
        raise CheckFailed("; ".join(found))
    return Outcome()


@check(NAME, "gradients", kind="class")
def gradients(ns: dict[str, Any]) -> Outcome:
    """Every gradient, with reg 0 and 0.7, against layerwise's (= numeric gradients)."""
    X, y = _data()
    params = _params()
    outcome = Outcome()
    for reg in (0.0, 0.7):
        model, reference = _models(ns, reg)
        _, grads = _loss_and_grads(model, X, y)
        _, want = reference.loss(X, y)
        # From the output layer back: the first wrong gradient says where the error enters.
        for n, key in enumerate(reversed(KEYS)):
            if not isinstance(grads, dict) or key not in grads:
                raise CheckFailed(f"grads has no key {key!r} (reg {reg:g})")
            try:
                what = f"grads[{key!r}] (reg {reg:g})"
                outcome = expect_array(what, grads[key], want[key], batch=BATCH)
            except CheckFailed as e:
                got = np.asarray(grads[key], dtype=np.float64)
                if key in WEIGHTS and reg and got.shape == want[key].shape:
                    diff = got - want[key]
                    if np.allclose(diff, -reg * params[key], rtol=1e-6, atol=1e-9):
                        e.diagnosis += f"; the regularisation gradient reg * {key} is missing"
                    elif np.allclose(diff, reg * params[key], rtol=1e-6, atol=1e-9):
                        e.diagnosis += f"; the regularisation gradient reg * {key} is added twice"
                if n:
                    later = ", ".join(list(reversed(KEYS))[:n])
                    e.diagnosis += (
                        f" (the gradients of {later} are right: the error enters the backward "
                        "pass at this layer)"
                    )
                raise
    return outcome
