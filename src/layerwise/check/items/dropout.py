"""Checks of inverted dropout, in layerwise's convention (``layers.dropout_forward``):
``dropout_param = {'p': the probability of DROPPING a unit, 'mode': 'train' | 'test', 'seed':
optional}``. A dropout is random, so the training-mode checks measure statistics on large
arrays (250 000 units: a fraction's standard error is under 0.001, far inside the tolerances)
and read the mask back from the output (``out / x``) instead of reproducing it."""

from __future__ import annotations

from typing import Any

import numpy as np

from layerwise import layers as ref
from layerwise.check.compare import CheckFailed, Outcome, expect_array, expect_dtype, expect_tuple
from layerwise.check.items.activations import backward_unchanged
from layerwise.check.items.common import call_unchanged, own, own_or, seeded
from layerwise.check.registry import check

#: The drop probability of the checks: far from 0.5, so that p and 1 - p tell apart.
P = 0.3
#: How far the measured fraction of dropped units may be from p, and the output's mean from
#: the input's (relatively).
FRACTION_TOLERANCE, MEAN_TOLERANCE = 0.02, 0.02


def _forward(ns: dict[str, Any], x: np.ndarray, **param: Any) -> np.ndarray:
    # A copy: a forward that scales x in place must not change what the check compares with.
    out = expect_tuple(
        "dropout_forward", own(ns, "dropout_forward")(x.copy(), param), 2, "(out, cache)"
    )
    if np.shape(out[0]) != x.shape:
        raise CheckFailed(f"out has shape {np.shape(out[0])}, expected {x.shape} (x's shape)")
    return np.asarray(out[0])


def _train(ns: dict[str, Any], x: np.ndarray, p: float = P) -> np.ndarray:
    return _forward(ns, x, p=p, mode="train", seed=0)


@check("dropout_forward", "test mode")
def dropout_test_mode(ns: dict[str, Any]) -> Outcome:
    """mode 'test' is the identity (inverted dropout scales at training time only)."""
    x = seeded(40).standard_normal((8, 10))
    return expect_array(
        "out in test mode",
        _forward(ns, x, p=P, mode="test"),
        x,
        factor_causes={
            1 - P: "test mode scales by the keep probability 1 - p: with inverted dropout the "
            "training pass divides by it instead, and test mode returns x unchanged",
        },
    )


@check("dropout_forward", "fraction dropped")
def dropout_fraction(ns: dict[str, Any]) -> Outcome:
    """Training mode on a 500 x 500 array of ones zeroes about p of the units."""
    dropped = float(np.mean(_train(ns, np.ones((500, 500))) == 0))
    measured = f"fraction dropped {dropped:.4f}"
    tolerance = f"p = {P} +- {FRACTION_TOLERANCE}"
    if abs(dropped - P) <= FRACTION_TOLERANCE:
        return Outcome(measured, tolerance)
    if abs(dropped - (1 - P)) <= FRACTION_TOLERANCE:
        diagnosis = (
            f"with p = {P} it drops {dropped:.3f} of the units: p looks like the keep "
            "probability; layerwise's p is the probability of dropping (Keras's rate)"
        )
    else:
        diagnosis = f"with p = {P} it drops {dropped:.3f} of the units, expected about {P}"
    raise CheckFailed(diagnosis, measured, tolerance)


@check("dropout_forward", "inverted scaling")
def dropout_scaling(ns: dict[str, Any]) -> Outcome:
    """The units kept in training equal x / (1 - p)."""
    x = seeded(41).uniform(0.5, 1.5, size=(200, 200))
    out = _train(ns, x)
    kept = out != 0
    if not kept.any():
        raise CheckFailed(f"with p = {P} every unit was dropped")
    return expect_array(
        "out at the kept units",
        out[kept],
        x[kept] / (1 - P),
        factor_causes={
            1 - P: "the kept units are not divided by the keep probability 1 - p (inverted "
            "dropout): the expected value changes between training and test",
            (1 - P) / P: "the kept units are divided by p; layerwise's p is the probability "
            "of dropping, so divide by the keep probability 1 - p",
        },
    )


@check("dropout_forward", "expected value")
def dropout_mean(ns: dict[str, Any]) -> Outcome:
    """In training, the output's mean is within 2% of the input's (p = 0.3 and 0.6)."""
    x = seeded(42).uniform(0.5, 1.5, size=(500, 500))
    outcome = Outcome()
    for p in (P, 0.6):
        ratio = float(np.mean(_train(ns, x, p)) / np.mean(x))
        outcome = Outcome(f"mean ratio {ratio:.4f}", f"1 +- {MEAN_TOLERANCE}")
        if abs(ratio - 1) > MEAN_TOLERANCE:
            hint = ""
            if abs(ratio - (1 - p)) <= MEAN_TOLERANCE:
                hint = ": the kept units are not divided by the keep probability 1 - p"
            raise CheckFailed(
                f"with p = {p} the output's mean is {ratio:.3f} times the input's, expected "
                f"1 (the expected value must not change between training and test){hint}",
                outcome.measured,
                outcome.tolerance,
            )
    return outcome


@check("dropout_forward", "float32")
def dropout_float32(ns: dict[str, Any]) -> Outcome:
    """float32 in, float32 out, in training and test mode."""
    x = seeded(43).standard_normal((6, 7)).astype(np.float32)
    for mode in ("train", "test"):
        expect_dtype(f"out in {mode} mode", _forward(ns, x, p=P, mode=mode, seed=0), x.dtype)
    return Outcome()


@check("dropout_forward", "inputs unchanged")
def dropout_unchanged(ns: dict[str, Any]) -> Outcome:
    """x is not modified in training mode."""
    x = seeded(44).standard_normal((6, 7))
    param = {"p": P, "mode": "train", "seed": 0}
    call_unchanged("dropout_forward", own(ns, "dropout_forward"), [x, param])
    return Outcome()


def _cache(ns: dict[str, Any], x: np.ndarray, mode: str) -> tuple[np.ndarray, Any]:
    """The forward's output and cache (the submission's forward when it defines one)."""
    forward = own_or(ns, "dropout_forward", ref.dropout_forward)
    param = {"p": 0.4, "mode": mode, "seed": 1}
    out = expect_tuple("dropout_forward", forward(x, param), 2, "(out, cache)")
    return np.asarray(out[0]), out[1]


@check("dropout_backward", "mask")
def dropout_backward_mask(ns: dict[str, Any]) -> Outcome:
    """dx is dout times the forward's mask (read from its output on x of ones)."""
    x = np.ones((20, 30))
    out, cache = _cache(ns, x, "train")
    dout = seeded(45).standard_normal(x.shape)
    expected = dout * (out / x)
    dx = own(ns, "dropout_backward")(dout, cache)
    unscaled = "dx is not divided by the keep probability 1 - p as the forward's kept units are"
    try:
        return expect_array("dx", dx, expected, factor_causes={0.6: unscaled})
    except CheckFailed as e:
        got = np.asarray(dx, dtype=np.float64)
        if got.shape == x.shape and not np.array_equal(got == 0, out == 0):
            e.diagnosis += (
                "; dx is zero at other units than the forward's output: use the mask the "
                "forward pass kept in its cache (not a new random one)"
            )
        raise


@check("dropout_backward", "test mode")
def dropout_backward_test(ns: dict[str, Any]) -> Outcome:
    """After a test-mode forward pass, dx is dout."""
    _, cache = _cache(ns, np.ones((5, 4)), "test")
    dout = seeded(46).standard_normal((5, 4))
    return expect_array("dx in test mode", own(ns, "dropout_backward")(dout, cache), dout)


@check("dropout_backward", "inputs unchanged")
def dropout_backward_unchanged(ns: dict[str, Any]) -> Outcome:
    """dout and the cached arrays are not modified."""
    _, cache = _cache(ns, np.ones((5, 4)), "train")
    dout = seeded(47).standard_normal((5, 4))
    backward_unchanged("dropout_backward", own(ns, "dropout_backward"), dout, cache)
    return Outcome()
