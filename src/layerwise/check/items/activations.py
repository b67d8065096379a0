"""Checks of the sigmoid, tanh and leaky ReLU layers against :mod:`layerwise.layers`: values on
random shapes, float32 kept, inputs left unchanged, and a sigmoid that stays finite (and
silent) where a naive ``exp`` overflows. Leaky ReLU follows layerwise's convention:
``leaky_relu_forward(x, leaky_param=None)`` with ``{'slope': s}``, default slope 0.01."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from layerwise import layers as ref
from layerwise.check.compare import CheckFailed, Outcome, expect_array, expect_dtype, expect_tuple
from layerwise.check.items.common import call_unchanged, own, own_or, randn, seeded
from layerwise.check.registry import check

#: name -> layerwise's (forward, backward).
REFERENCES: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "sigmoid": (ref.sigmoid_forward, ref.sigmoid_backward),
    "tanh": (ref.tanh_forward, ref.tanh_backward),
    "leaky_relu": (ref.leaky_relu_forward, ref.leaky_relu_backward),
}
#: The extra arguments each forward is called with: none (its defaults) and, for leaky ReLU,
#: layerwise's leaky_param with a slope other than the default (so a slope that is never read
#: shows).
EXTRAS: dict[str, list[tuple[Any, ...]]] = {
    "sigmoid": [()],
    "tanh": [()],
    "leaky_relu": [(), ({"slope": 0.2},)],
}


def arrays_in(obj: Any) -> list[np.ndarray]:
    """Every array inside a cache (nested tuples, lists and dicts)."""
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [a for o in obj for a in arrays_in(o)]
    if isinstance(obj, dict):
        return [a for o in obj.values() for a in arrays_in(o)]
    return []


def backward_unchanged(name: str, fn: Callable[..., Any], dout: Any, cache: Any) -> Any:
    """``fn(dout, cache)``, failing when it changed dout or an array of the cache in place (a
    cache may be used again: gradient checks call the backward pass many times)."""
    cached = arrays_in(cache)
    copies = [a.copy() for a in cached]
    result = call_unchanged(name, fn, [dout, cache])
    for a, c in zip(cached, copies, strict=True):
        if a.shape != c.shape or not np.array_equal(a, c, equal_nan=True):
            raise CheckFailed(
                f"{name} changed an array of its cache in place: compute dx into a new array "
                "(the same cache may be used for another backward pass)"
            )
    return result


def _slope_hint(out: Any, x: np.ndarray, extra: tuple[Any, ...]) -> str:
    """The slope the submission used for x < 0, when it is not the one asked for."""
    got = np.asarray(out, dtype=np.float64)
    if got.shape != x.shape or not np.any(x < -1e-3):
        return ""
    slope = float(np.median(got[x < -1e-3] / x[x < -1e-3]))
    wanted = extra[0]["slope"] if extra else ref.LEAKY_SLOPE
    if abs(slope - wanted) < 1e-9:
        return ""
    if extra:
        return f"; the slope for x < 0 is {slope:.4g}: read it from leaky_param['slope']"
    return (
        f"; the default slope is {slope:.4g}, layerwise's is {ref.LEAKY_SLOPE} (leaky_param=None)"
    )


def _register(name: str) -> None:
    fwd, bwd = f"{name}_forward", f"{name}_backward"
    ref_forward, ref_backward = REFERENCES[name]
    extras = EXTRAS[name]

    def forward(ns: dict[str, Any], x: np.ndarray, extra: tuple[Any, ...]) -> Any:
        got = own(ns, fwd)(x, *copy.deepcopy(extra))
        return expect_tuple(fwd, got, 2, "(out, cache)")

    @check(fwd, "random shapes")
    def forward_shapes(ns: dict[str, Any]) -> Outcome:
        """Inputs of any shape (1-D to 4-D), against layerwise's."""
        rng = seeded(30)
        outcome = Outcome()
        for shape in [(7,), (3, 4), (2, 3, 4, 5)]:
            for extra in extras:
                x = 3 * randn(rng, *shape)
                expected = ref_forward(x, *extra)[0]
                out = forward(ns, x, extra)[0]
                try:
                    outcome = expect_array(f"out for x of shape {shape}", out, expected)
                except CheckFailed as e:
                    if name == "leaky_relu":
                        e.diagnosis += _slope_hint(out, x, extra)
                    raise
        return outcome

    @check(fwd, "float32")
    def forward_float32(ns: dict[str, Any]) -> Outcome:
        """float32 inputs give float32 outputs of the same values."""
        x = randn(seeded(31), 4, 6, dtype=np.float32)
        expected = ref_forward(x, *extras[-1])[0]
        out = forward(ns, x, extras[-1])[0]
        expect_dtype("out", out, np.dtype(np.float32))
        return expect_array("out", out, expected)

    @check(fwd, "inputs unchanged")
    def forward_unchanged(ns: dict[str, Any]) -> Outcome:
        """x is not modified (the caller may still need it)."""
        x = randn(seeded(32), 5, 6)
        call_unchanged(fwd, own(ns, fwd), [x, *copy.deepcopy(extras[-1])])
        return Outcome()

    def gradients(ns: dict[str, Any], shape: tuple[int, ...], dtype: Any, seed: int) -> Outcome:
        rng = seeded(seed)
        outcome = Outcome()
        for extra in extras:
            x, dout = 2 * randn(rng, *shape, dtype=dtype), randn(rng, *shape, dtype=dtype)
            expected = ref_backward(dout, ref_forward(x, *extra)[1])
            _, cache = own_or(ns, fwd, ref_forward)(x, *copy.deepcopy(extra))
            dx = own(ns, bwd)(dout, cache)
            outcome = expect_array(f"dx for x of shape {shape}", dx, expected)
            if dtype == np.float32:
                expect_dtype("dx", dx, np.dtype(np.float32))
        return outcome

    @check(bwd, "gradients")
    def backward_gradients(ns: dict[str, Any]) -> Outcome:
        """dx for (10, 10) and (2, 3, 4) inputs, against layerwise's (= numeric gradients)."""
        gradients(ns, (10, 10), np.float64, 33)
        return gradients(ns, (2, 3, 4), np.float64, 34)

    @check(bwd, "float32")
    def backward_float32(ns: dict[str, Any]) -> Outcome:
        """float32 in, float32 dx out."""
        return gradients(ns, (6, 5), np.float32, 35)

    @check(bwd, "inputs unchanged")
    def backward_unchanged_check(ns: dict[str, Any]) -> Outcome:
        """dout and the cached arrays are not modified."""
        rng = seeded(36)
        x, dout = randn(rng, 4, 5), randn(rng, 4, 5)
        _, cache = own_or(ns, fwd, ref_forward)(x)
        backward_unchanged(bwd, own(ns, bwd), dout, cache)
        return Outcome()

    del forward_shapes, forward_float32, forward_unchanged
    del backward_gradients, backward_float32, backward_unchanged_check


for _name in REFERENCES:
    _register(_name)


@check("sigmoid_forward", "large inputs")
def sigmoid_large(ns: dict[str, Any]) -> Outcome:
    """|x| up to 1000: no overflow in exp, finite results equal to layerwise's."""
    outcome = Outcome()
    raised: list[str] = []  # what numpy reports (an overflow in exp), through errstate's call
    for side, sign in (("negative", -1.0), ("positive", 1.0)):
        x = sign * np.array([[0.5, 20.0, 100.0], [709.0, 710.0, 1000.0]])
        raised.clear()
        with np.errstate(over="call", invalid="call", call=lambda kind, _: raised.append(kind)):
            out = expect_tuple("sigmoid_forward", own(ns, "sigmoid_forward")(x), 2, "(out, cache)")
        try:
            outcome = expect_array(f"out for large {side} x", out[0], ref.sigmoid_forward(x)[0])
        except CheckFailed as e:
            if raised or "not finite" in e.diagnosis:
                e.diagnosis += f"; exp overflows for large {side} x: use a stable form"
            raise
        if raised:
            raise CheckFailed(
                f"exp overflows for large {side} x: use a stable form (exp(-|x|), which never "
                f"overflows, with np.where on the sign of x); numpy reported {raised[0]}"
            )
    return outcome
