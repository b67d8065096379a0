"""Checks of the softmax and SVM losses, and of the plain SGD rule, against layerwise's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from layerwise import losses as ref
from layerwise import optim
from layerwise.check.compare import CheckFailed, Outcome, expect_array, expect_dtype, expect_tuple
from layerwise.check.items.common import call_unchanged, own, randn, seeded
from layerwise.check.registry import check

Reference = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


def _loss_and_grad(
    ns: dict[str, Any], name: str, reference: Reference, x: np.ndarray, y: np.ndarray
) -> Outcome:
    """(loss, dx) of the submission against the reference, with the label-entry diagnosis."""
    got = expect_tuple(name, own(ns, name)(x, y), 2, "(loss, dx)")
    loss, dx = got
    want_loss, want_dx = reference(x, y)
    try:
        loss = float(loss)
    except (TypeError, ValueError):
        raise CheckFailed(f"the loss is {type(loss).__name__}, expected a number") from None
    if not np.isfinite(loss) and np.isfinite(want_loss):
        raise CheckFailed(f"the loss is {loss} for scores up to {np.abs(x).max():.3g}")
    if abs(loss - want_loss) > 1e-7 * max(1.0, abs(want_loss)):
        m = len(y)
        ratio = loss / want_loss if want_loss else float("nan")
        hint = ""
        if abs(ratio - m) < 1e-6 * m:
            hint = f": it is {m} times the reference (divide by the batch size {m})"
        raise CheckFailed(f"the loss is {loss:.10g}, expected {want_loss:.10g}{hint}",
                          f"difference {abs(loss - want_loss):.2e}", "1e-07")  # fmt: skip
    rows = np.arange(len(y))
    try:
        return expect_array("dx", dx, want_dx, batch=len(y))
    except CheckFailed as e:
        got_dx = np.asarray(dx, dtype=np.float64)
        if got_dx.shape == want_dx.shape and np.all(np.isfinite(got_dx)):
            wrong = ~np.isclose(got_dx, want_dx, rtol=1e-6, atol=1e-10)
            labels = np.zeros_like(wrong)
            labels[rows, y] = True
            if wrong.any() and not (wrong & ~labels).any():
                e.diagnosis += (
                    "; only the correct classes' entries dx[i, y[i]] are wrong: there the "
                    "gradient is p[i, y[i]] - 1 (subtract 1, do not set it)"
                )
        raise


def _register(name: str, reference: Reference) -> None:
    @check(name, "seed values")
    def seed_values(ns: dict[str, Any]) -> Outcome:
        """The seed's test: scores 0.001 * randn(50, 10) (loss about 2.3), loss and dx."""
        rng = seeded(20)
        x = 0.001 * randn(rng, 50, 10)
        y = rng.integers(10, size=50)
        return _loss_and_grad(ns, name, reference, x, y)

    @check(name, "random scores")
    def random_scores(ns: dict[str, Any]) -> Outcome:
        """Scores of unit scale, 3 to 20 classes, batches of 1 to 64."""
        rng = seeded(21)
        outcome = Outcome()
        for m, c in [(1, 3), (7, 5), (64, 20)]:
            x, y = randn(rng, m, c), rng.integers(c, size=m)
            outcome = _loss_and_grad(ns, name, reference, x, y)
        return outcome

    @check(name, "large scores")
    def large_scores(ns: dict[str, Any]) -> Outcome:
        """Scores near 1000 (exp(1000) overflows: a stable loss shifts them first)."""
        rng = seeded(22)
        x, y = 1000 + 3 * randn(rng, 8, 6), rng.integers(6, size=8)
        try:
            return _loss_and_grad(ns, name, reference, x, y)
        except CheckFailed as e:
            if (
                "not finite" in e.diagnosis
                or "the loss is inf" in e.diagnosis
                or "nan" in e.diagnosis
            ):
                e.diagnosis += "; exp overflows: subtract each row's maximum score before exp"
            raise

    @check(name, "float32")
    def float32(ns: dict[str, Any]) -> Outcome:
        """float32 scores give a float32 dx of the same values."""
        rng = seeded(23)
        x, y = randn(rng, 16, 10, dtype=np.float32), rng.integers(10, size=16)
        dx = expect_tuple(name, own(ns, name)(x, y), 2, "(loss, dx)")[1]
        expect_dtype("dx", dx, np.dtype(np.float32))
        return expect_array("dx", dx, reference(x, y)[1])

    @check(name, "inputs unchanged")
    def unchanged(ns: dict[str, Any]) -> Outcome:
        """The scores and labels are not modified."""
        rng = seeded(24)
        call_unchanged(name, own(ns, name), [randn(rng, 5, 4), rng.integers(4, size=5)])
        return Outcome()

    del seed_values, random_scores, large_scores, float32, unchanged


_register("softmax_loss", ref.softmax_loss)
_register("svm_loss", ref.svm_loss)


# -- sgd ---------------------------------------------------------------------------------------


@check("sgd", "update")
def sgd_update(ns: dict[str, Any]) -> Outcome:
    """w - learning_rate * dw, returned with the config."""
    rng = seeded(25)
    w, dw = randn(rng, 4, 5), randn(rng, 4, 5)
    got = expect_tuple(
        "sgd", own(ns, "sgd")(w.copy(), dw.copy(), {"learning_rate": 0.1}), 2, "(next_w, config)"
    )
    if not isinstance(got[1], dict) or got[1].get("learning_rate") != 0.1:
        raise CheckFailed(f"sgd must return the config it used; got {got[1]!r}")
    return expect_array("next_w", got[0], w - 0.1 * dw)


@check("sgd", "default learning rate")
def sgd_default(ns: dict[str, Any]) -> Outcome:
    """config=None uses learning_rate 1e-2 (the seed's default)."""
    rng = seeded(26)
    w, dw = randn(rng, 3), randn(rng, 3)
    got = expect_tuple("sgd", own(ns, "sgd")(w.copy(), dw.copy(), None), 2, "(next_w, config)")
    expected, _ = optim.sgd(w.copy(), dw.copy(), None)
    return expect_array("next_w", got[0], expected)
