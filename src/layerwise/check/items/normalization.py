"""Checks of batch and layer normalisation with layerwise's signatures
(:func:`layerwise.layers.batchnorm_forward`: ``bn_param`` with 'mode', 'eps' (1e-5),
'momentum' (0.9, the weight on the OLD running value), 'running_mean' and 'running_var' (zeros
when absent, the biased variance); :func:`~layerwise.layers.layernorm_forward`: ``ln_param``
with 'eps'). The backward checks use the submission's own forward for the cache when it has
one, so a cache of its own design is fine."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from layerwise import layers as ref
from layerwise.check.compare import CheckFailed, Outcome, expect_array, expect_dtype, expect_tuple
from layerwise.check.items.activations import backward_unchanged
from layerwise.check.items.common import call_unchanged, own, own_or, randn, seeded
from layerwise.check.registry import check

Array = np.ndarray
EPS = ref.NORM_EPS

#: name -> layerwise's (forward, backward), the param dict of a training call, and the axis
#: it normalises over (the other one is the classic mix-up).
NORMS: dict[str, tuple[Callable[..., Any], Callable[..., Any], dict[str, Any], int]] = {
    "batchnorm": (ref.batchnorm_forward, ref.batchnorm_backward, {"mode": "train"}, 0),
    "layernorm": (ref.layernorm_forward, ref.layernorm_backward, {}, 1),
}
AXIS_NAMES = {0: "each feature over the batch", 1: "each example over its features"}


def _inputs(rng: np.random.Generator, m: int, d: int, dtype: Any = np.float64) -> list[Array]:
    """x with a mean and scale far from 0 and 1 (so a missing step shows), gamma, beta."""
    x = (3 + 2 * randn(rng, m, d)).astype(dtype)
    return [x, randn(rng, d, dtype=dtype), randn(rng, d, dtype=dtype)]


def _normalised(x: Array, gamma: Array, beta: Array, axis: int, ddof: int = 0) -> Array:
    mu, var = x.mean(axis=axis, keepdims=True), x.var(axis=axis, keepdims=True, ddof=ddof)
    return gamma * (x - mu) / np.sqrt(var + EPS) + beta


def _forward(ns: dict[str, Any], name: str, x: Array, gamma: Array, beta: Array, param: Any) -> Any:
    got = own(ns, f"{name}_forward")(x.copy(), gamma.copy(), beta.copy(), param)
    return expect_tuple(f"{name}_forward", got, 2, "(out, cache)")


def _register(name: str) -> None:
    fwd, bwd = f"{name}_forward", f"{name}_backward"
    ref_forward, ref_backward, train_param, axis = NORMS[name]
    first = "train mode" if name == "batchnorm" else "values"

    @check(fwd, first)
    def values(ns: dict[str, Any]) -> Outcome:
        """Outputs for (8, 5) and (50, 3) inputs, against layerwise's."""
        rng = seeded(50)
        outcome = Outcome()
        for m, d in [(8, 5), (50, 3)]:
            x, gamma, beta = _inputs(rng, m, d)
            expected = ref_forward(x, gamma, beta, copy.deepcopy(train_param))[0]
            out = _forward(ns, name, x, gamma, beta, copy.deepcopy(train_param))[0]
            try:
                outcome = expect_array(f"out for x of shape {(m, d)}", out, expected)
            except CheckFailed as e:
                got = np.asarray(out, dtype=np.float64)
                if got.shape == x.shape:
                    if np.allclose(got, _normalised(x, gamma, beta, 1 - axis), rtol=1e-6):
                        e.diagnosis += f"; it normalises over axis {1 - axis}: {name} "
                        e.diagnosis += f"normalises {AXIS_NAMES[axis]} (axis {axis})"
                    elif np.allclose(got, _normalised(x, gamma, beta, axis, ddof=1), rtol=1e-6):
                        e.diagnosis += "; it uses the unbiased variance (ddof=1): use x.var()"
                raise
        return outcome

    @check(fwd, "float32")
    def float32(ns: dict[str, Any]) -> Outcome:
        """float32 inputs give a float32 output of the same values."""
        x, gamma, beta = _inputs(seeded(51), 6, 4, np.float32)
        expected = ref_forward(x, gamma, beta, copy.deepcopy(train_param))[0]
        out = _forward(ns, name, x, gamma, beta, copy.deepcopy(train_param))[0]
        expect_dtype("out", out, np.dtype(np.float32))
        return expect_array("out", out, expected)

    @check(fwd, "inputs unchanged")
    def unchanged(ns: dict[str, Any]) -> Outcome:
        """x, gamma and beta are not modified."""
        args = [*_inputs(seeded(52), 6, 4), copy.deepcopy(train_param)]
        call_unchanged(fwd, own(ns, fwd), args)
        return Outcome()

    def gradients(ns: dict[str, Any], m: int, d: int, dtype: Any, seed: int) -> Outcome:
        rng = seeded(seed)
        x, gamma, beta = _inputs(rng, m, d, dtype)
        dout = randn(rng, m, d, dtype=dtype)
        _, ref_cache = ref_forward(x, gamma, beta, copy.deepcopy(train_param))
        expected = ref_backward(dout, ref_cache)
        forward = own_or(ns, fwd, ref_forward)
        _, cache = forward(x.copy(), gamma.copy(), beta.copy(), copy.deepcopy(train_param))
        got = expect_tuple(bwd, own(ns, bwd)(dout.copy(), cache), 3, "(dx, dgamma, dbeta)")
        outcome = Outcome()
        for what, g, e in zip(("dx", "dgamma", "dbeta"), got, expected, strict=True):
            try:
                outcome = expect_array(what, g, e, batch=m)
            except CheckFailed as error:
                frozen = dout * gamma / np.sqrt(x.var(axis=axis, keepdims=True) + EPS)
                if what == "dx" and np.allclose(np.asarray(g, dtype=np.float64), frozen):
                    error.diagnosis += (
                        "; dx treats the mean and variance as constants: they depend on "
                        f"every input they are taken over (axis {axis})"
                    )
                raise
            if dtype == np.float32:
                expect_dtype(what, g, np.dtype(np.float32))
        return outcome

    @check(bwd, "gradients")
    def backward_gradients(ns: dict[str, Any]) -> Outcome:
        """dx, dgamma, dbeta for (10, 4) and (3, 7) inputs, against layerwise's (= numeric)."""
        gradients(ns, 10, 4, np.float64, 53)
        return gradients(ns, 3, 7, np.float64, 54)

    @check(bwd, "float32")
    def backward_float32(ns: dict[str, Any]) -> Outcome:
        """float32 in, float32 gradients out."""
        return gradients(ns, 8, 5, np.float32, 55)

    @check(bwd, "inputs unchanged")
    def backward_unchanged_check(ns: dict[str, Any]) -> Outcome:
        """dout and the cached arrays are not modified."""
        rng = seeded(56)
        x, gamma, beta = _inputs(rng, 6, 4)
        _, cache = own_or(ns, fwd, ref_forward)(x, gamma, beta, copy.deepcopy(train_param))
        backward_unchanged(bwd, own(ns, bwd), randn(rng, 6, 4), cache)
        return Outcome()

    del values, float32, unchanged, backward_gradients, backward_float32, backward_unchanged_check


for _name in NORMS:
    _register(_name)


def _simulate(xs: list[Array], start: tuple[Array, Array], momentum: float, ddof: int = 0) -> Any:
    """The running averages after training steps on ``xs`` (a wrong convention's, too)."""
    mean, var = start
    for x in xs:
        mean = momentum * mean + (1 - momentum) * x.mean(axis=0)
        var = momentum * var + (1 - momentum) * x.var(axis=0, ddof=ddof)
    return {"running_mean": mean, "running_var": var}


@check("batchnorm_forward", "running averages")
def batchnorm_running(ns: dict[str, Any]) -> Outcome:
    """3 training steps update running_mean/var as layerwise's (default and given momentum)."""
    rng = seeded(57)
    d = 4
    outcome = Outcome()
    given = (randn(rng, d), 1 + rng.random(d))
    for momentum, start in ((ref.BN_MOMENTUM, None), (0.8, given)):
        param: dict[str, Any] = {"mode": "train"}
        if start is not None:  # else the defaults: momentum 0.9, running averages from zero
            param.update(
                momentum=momentum, running_mean=start[0].copy(), running_var=start[1].copy()
            )
        ref_param = copy.deepcopy(param)
        xs = [1 + 2 * randn(rng, 16, d) for _ in range(3)]
        gamma, beta = randn(rng, d), randn(rng, d)
        for x in xs:
            _forward(ns, "batchnorm", x, gamma, beta, param)
            ref.batchnorm_forward(x, gamma, beta, ref_param)
        begin = (np.zeros(d), np.zeros(d)) if start is None else start
        swapped, unbiased = _simulate(xs, begin, 1 - momentum), _simulate(xs, begin, momentum, 1)
        for stat in ("running_mean", "running_var"):
            what = f"bn_param[{stat!r}] (momentum {momentum:g}, 3 steps)"
            if stat not in param:
                raise CheckFailed(f"bn_param has no {stat!r} after training: store it there")
            try:
                outcome = expect_array(what, param[stat], ref_param[stat])
            except CheckFailed as e:
                got = np.asarray(param[stat], dtype=np.float64)
                if got.shape == (d,) and np.allclose(got, swapped[stat], rtol=1e-6):
                    e.diagnosis += (
                        "; momentum is used the other way round: layerwise's momentum is the "
                        "weight on the OLD value, running = momentum * running + (1 - momentum)"
                        " * batch statistic"
                    )
                elif got.shape == (d,) and np.allclose(got, unbiased[stat], rtol=1e-6):
                    e.diagnosis += "; the running variance uses the unbiased variance (ddof=1)"
                raise
    return outcome


@check("batchnorm_forward", "test mode")
def batchnorm_test(ns: dict[str, Any]) -> Outcome:
    """mode 'test' normalises with the running statistics and leaves them unchanged."""
    rng = seeded(58)
    x, gamma, beta = _inputs(rng, 6, 4)
    mean, var = randn(rng, 4), 1 + rng.random(4)
    param = {"mode": "test", "running_mean": mean.copy(), "running_var": var.copy()}
    expected = ref.batchnorm_forward(x, gamma, beta, copy.deepcopy(param))[0]
    out = _forward(ns, "batchnorm", x, gamma, beta, param)[0]
    try:
        outcome = expect_array("out in test mode", out, expected)
    except CheckFailed as e:
        got = np.asarray(out, dtype=np.float64)
        if got.shape == x.shape and np.allclose(got, _normalised(x, gamma, beta, 0)):
            e.diagnosis += (
                "; test mode uses the batch statistics: use bn_param's running_mean and running_var"
            )
        raise
    for stat, value in (("running_mean", mean), ("running_var", var)):
        if not np.array_equal(np.asarray(param.get(stat)), value):
            raise CheckFailed(f"test mode changed bn_param[{stat!r}]: only training updates it")
    return outcome
