"""Checks of the affine and ReLU layers and the affine-ReLU sandwich, against
:mod:`layerwise.layers` (the seed's exact values where it printed them)."""

from __future__ import annotations

from typing import Any

import numpy as np

from layerwise import layer_utils as ref_utils
from layerwise import layers as ref
from layerwise.check.compare import CheckFailed, Outcome, expect_array, expect_dtype, expect_tuple
from layerwise.check.items.common import call_unchanged, own, own_or, randn, seeded
from layerwise.check.registry import check

#: The seed's affine_forward test and its printed answer.
SEED_AFFINE_OUT = np.array(
    [[1.49834967, 1.70660132, 1.91485297], [3.25553199, 3.5141327, 3.77273342]]
)


def _seed_affine_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    shape = (4, 5, 6)
    d = int(np.prod(shape))
    x = np.linspace(-0.1, 0.5, num=2 * d).reshape(2, *shape)
    theta = np.linspace(-0.2, 0.3, num=d * 3).reshape(d, 3)
    theta0 = np.linspace(-0.3, 0.1, num=3)
    return x, theta, theta0


# -- affine_forward ---------------------------------------------------------------------------


@check("affine_forward", "seed values")
def affine_forward_seed(ns: dict[str, Any]) -> Outcome:
    """The seed's test: a (2, 4, 5, 6) input, its printed output."""
    result = expect_tuple(
        "affine_forward", own(ns, "affine_forward")(*_seed_affine_inputs()), 2, "(out, cache)"
    )
    return expect_array("out", result[0], SEED_AFFINE_OUT, tolerance=1e-8)


@check("affine_forward", "random shapes")
def affine_forward_shapes(ns: dict[str, Any]) -> Outcome:
    """2-D, 3-D and 4-D inputs of random sizes and values, against layerwise's."""
    rng = seeded(1)
    outcome = Outcome()
    for shape in [(3, 7), (4, 2, 3), (2, 3, 4, 5)]:
        x = randn(rng, *shape)
        theta, theta0 = randn(rng, int(np.prod(shape[1:])), 6), randn(rng, 6)
        got = expect_tuple(
            "affine_forward", own(ns, "affine_forward")(x, theta, theta0), 2, "(out, cache)"
        )
        outcome = expect_array(
            f"out for x of shape {shape}", got[0], ref.affine_forward(x, theta, theta0)[0]
        )
    return outcome


@check("affine_forward", "float32")
def affine_forward_float32(ns: dict[str, Any]) -> Outcome:
    """float32 inputs give float32 outputs of the same values."""
    rng = seeded(2)
    x, theta, theta0 = (randn(rng, *s, dtype=np.float32) for s in [(5, 2, 4), (8, 3), (3,)])
    out = own(ns, "affine_forward")(x, theta, theta0)[0]
    expect_dtype("out", out, np.dtype(np.float32))
    return expect_array("out", out, ref.affine_forward(x, theta, theta0)[0])


@check("affine_forward", "inputs unchanged")
def affine_forward_unchanged(ns: dict[str, Any]) -> Outcome:
    """x, theta and theta0 are not modified."""
    rng = seeded(3)
    call_unchanged(
        "affine_forward",
        own(ns, "affine_forward"),
        [randn(rng, 4, 2, 3), randn(rng, 6, 5), randn(rng, 5)],
    )
    return Outcome()


# -- affine_backward --------------------------------------------------------------------------


def _affine_grads(
    ns: dict[str, Any], shape: tuple[int, ...], dtype: Any = np.float64, seed: int = 4
) -> Outcome:
    rng = seeded(seed)
    m, d, h = shape[0], int(np.prod(shape[1:])), 5
    x, theta, theta0, dout = (
        randn(rng, *shape, dtype=dtype),
        randn(rng, d, h, dtype=dtype),
        randn(rng, h, dtype=dtype),
        randn(rng, m, h, dtype=dtype),
    )
    forward = own_or(ns, "affine_forward", ref.affine_forward)
    _, cache = forward(x, theta, theta0)
    got = expect_tuple(
        "affine_backward", own(ns, "affine_backward")(dout, cache), 3, "(dx, dtheta, dtheta0)"
    )
    expected = ref.affine_backward(dout, (x, theta, theta0))
    outcome = Outcome()
    for name, g, e in zip(("dx", "dtheta", "dtheta0"), got, expected, strict=True):
        outcome = expect_array(name, g, e, batch=m)
        if dtype == np.float32:
            expect_dtype(name, g, np.dtype(np.float32))
    return outcome


@check("affine_backward", "gradients")
def affine_backward_gradients(ns: dict[str, Any]) -> Outcome:
    """dx, dtheta, dtheta0 for a (10, 2, 3) input, against layerwise's (= numeric gradients)."""
    return _affine_grads(ns, (10, 2, 3))


@check("affine_backward", "4-D input")
def affine_backward_4d(ns: dict[str, Any]) -> Outcome:
    """dx keeps the (2, 3, 4, 5) shape of x."""
    return _affine_grads(ns, (2, 3, 4, 5), seed=5)


@check("affine_backward", "float32")
def affine_backward_float32(ns: dict[str, Any]) -> Outcome:
    """float32 in, float32 gradients out."""
    return _affine_grads(ns, (6, 4), dtype=np.float32, seed=6)


@check("affine_backward", "inputs unchanged")
def affine_backward_unchanged(ns: dict[str, Any]) -> Outcome:
    """dout and the cached arrays are not modified."""
    rng = seeded(7)
    x, theta, theta0, dout = randn(rng, 4, 6), randn(rng, 6, 3), randn(rng, 3), randn(rng, 4, 3)
    _, cache = own_or(ns, "affine_forward", ref.affine_forward)(x, theta, theta0)
    copies = [a.copy() for a in (x, theta, theta0)]
    call_unchanged("affine_backward", own(ns, "affine_backward"), [dout, cache])
    for name, a, c in zip(("x", "theta", "theta0"), (x, theta, theta0), copies, strict=True):
        if not np.array_equal(a, c):
            raise CheckFailed(f"affine_backward changed the cached {name} in place")
    return Outcome()


# -- ReLU -----------------------------------------------------------------------------------------


@check("relu_forward", "seed values")
def relu_forward_seed(ns: dict[str, Any]) -> Outcome:
    """The seed's test: linspace(-0.5, 0.5, 12) as (3, 4)."""
    x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
    result = expect_tuple("relu_forward", own(ns, "relu_forward")(x), 2, "(out, cache)")
    return expect_array("out", result[0], np.maximum(x, 0), tolerance=1e-8)


@check("relu_forward", "random shapes")
def relu_forward_shapes(ns: dict[str, Any]) -> Outcome:
    """Inputs of any shape (1-D to 4-D), float64 and float32."""
    rng = seeded(8)
    outcome = Outcome()
    for shape, dtype in [((7,), np.float64), ((3, 4), np.float64), ((2, 3, 4, 5), np.float32)]:
        x = randn(rng, *shape, dtype=dtype)
        out = own(ns, "relu_forward")(x)[0]
        outcome = expect_array(f"out for x of shape {shape}", out, ref.relu_forward(x)[0])
        expect_dtype("out", out, np.dtype(dtype))
    return outcome


@check("relu_forward", "inputs unchanged")
def relu_forward_unchanged(ns: dict[str, Any]) -> Outcome:
    """x is not modified (the backward pass needs it)."""
    call_unchanged("relu_forward", own(ns, "relu_forward"), [randn(seeded(9), 5, 6)])
    return Outcome()


@check("relu_backward", "gradients")
def relu_backward_gradients(ns: dict[str, Any]) -> Outcome:
    """dx for a (10, 10) input, against layerwise's (= numeric gradients)."""
    rng = seeded(10)
    x, dout = randn(rng, 10, 10), randn(rng, 10, 10)
    _, cache = own_or(ns, "relu_forward", ref.relu_forward)(x)
    dx = call_unchanged("relu_backward", own(ns, "relu_backward"), [dout, cache])
    return expect_array("dx", dx, ref.relu_backward(dout, x))


@check("relu_backward", "float32")
def relu_backward_float32(ns: dict[str, Any]) -> Outcome:
    """float32 in, float32 out, any shape."""
    rng = seeded(11)
    x, dout = randn(rng, 2, 3, 4, dtype=np.float32), randn(rng, 2, 3, 4, dtype=np.float32)
    _, cache = own_or(ns, "relu_forward", ref.relu_forward)(x)
    dx = own(ns, "relu_backward")(dout, cache)
    expect_dtype("dx", dx, np.dtype(np.float32))
    return expect_array("dx", dx, ref.relu_backward(dout, x))


# -- the affine-ReLU sandwich ---------------------------------------------------------------


@check("affine_relu_forward", "values")
def affine_relu_forward_values(ns: dict[str, Any]) -> Outcome:
    """out for a (2, 3, 4) input, against layerwise's."""
    rng = seeded(12)
    x, theta, theta0 = randn(rng, 2, 3, 4), randn(rng, 12, 10), randn(rng, 10)
    got = expect_tuple(
        "affine_relu_forward", own(ns, "affine_relu_forward")(x, theta, theta0), 2, "(out, cache)"
    )
    return expect_array("out", got[0], ref_utils.affine_relu_forward(x, theta, theta0)[0])


@check("affine_relu_backward", "gradients")
def affine_relu_backward_gradients(ns: dict[str, Any]) -> Outcome:
    """The seed's test: dx, dtheta, dtheta0 for a (2, 3, 4) input."""
    rng = seeded(13)
    x, theta, theta0, dout = (
        randn(rng, 2, 3, 4),
        randn(rng, 12, 10),
        randn(rng, 10),
        randn(rng, 2, 10),
    )
    forward = own_or(ns, "affine_relu_forward", ref_utils.affine_relu_forward)
    _, cache = forward(x, theta, theta0)
    got = expect_tuple(
        "affine_relu_backward",
        own(ns, "affine_relu_backward")(dout, cache),
        3,
        "(dx, dtheta, dtheta0)",
    )
    _, ref_cache = ref_utils.affine_relu_forward(x, theta, theta0)
    outcome = Outcome()
    for name, g, e in zip(
        ("dx", "dtheta", "dtheta0"),
        got,
        ref_utils.affine_relu_backward(dout, ref_cache),
        strict=True,
    ):
        outcome = expect_array(name, g, e, batch=2)
    return outcome
