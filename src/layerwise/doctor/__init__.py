"""``layerwise doctor``: short, bounded checks of a recipe, each with a verdict, the measured
value, the expected range and, when it fails, the likely cause and a flag to paste.

The checks follow the CS231n notes' advice before a long run: the initial loss against ln(C),
analytic against numeric gradients, overfitting a tiny set, dead or saturated units, the
signal's scale through the layers, the update/weight ratio, whether the learning rate
diverges in its first updates, and the input's scale. :func:`examine` runs them on a recipe
(:mod:`layerwise.doctor.measure` measures, :mod:`layerwise.doctor.rules` judges) and returns a
:class:`DoctorReport`; its ``verdict`` is the worst check's: "pass", "warn" or "fail".
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from layerwise.doctor.measure import Measurements, measure, probe
from layerwise.doctor.rules import Check, Context, judge, overall
from layerwise.recipe import data_dims

__all__ = ["Check", "DoctorReport", "examine"]

#: Format tag and version of ``doctor.json``.
FORMAT, VERSION = "layerwise-doctor", 1
#: Learning rates tried, each ten times smaller, when the recipe's diverges.
SAFE_LR_TRIES = 10


@dataclass
class DoctorReport:
    """The checks of one examination and the overall verdict (the worst check's)."""

    checks: list[Check]
    recipe: dict[str, Any]

    @property
    def verdict(self) -> str:
        return overall(self.checks)

    @property
    def healthy(self) -> bool:
        """No check failed (warnings allowed)."""
        return self.verdict != "fail"

    def by_name(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        """The contents of ``doctor.json``."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "verdict": self.verdict,
            "recipe": self.recipe,
            "checks": [c.to_dict() for c in self.checks],
        }

    def lines(self) -> list[str]:
        """The report as printed: one line per check, the cause and the fix below a failure."""
        width = max(len(c.title) for c in self.checks)
        out = []
        for c in self.checks:
            out.append(
                f"{c.verdict.upper():4}  {c.title:{width}}  {c.value}  (expected {c.expected})"
            )
            if c.cause:
                out.append(f"{'':6}cause: {c.cause}")
            if c.fix:
                out.append(f"{'':6}try:   {c.fix}")
        failed = sum(c.verdict == "fail" for c in self.checks)
        warned = sum(c.verdict == "warn" for c in self.checks)
        out.append(
            f"overall: {self.verdict.upper()} ({failed} failed, {warned} warned, "
            f"{len(self.checks)} checks)"
        )
        return out


def _context(recipe: Any, data: dict[str, Any]) -> Context:
    input_dim, _ = data_dims(data)
    net = recipe.network
    return Context(
        model=recipe.model,
        lr=float(net.learning_rate),
        weight_scale=float(net.weight_scale),
        weight_init=net.weight_init,
        input_dim=int(input_dim),
        first_hidden=int(net.hidden_dims[0]) if net.hidden_dims else 0,
    )


def _safe_lr(recipe: Any, data: dict[str, Any]) -> float | None:
    """The largest of lr/10, lr/100, ... whose first updates do not diverge."""
    lr = float(recipe.network.learning_rate)
    for _ in range(SAFE_LR_TRIES):
        lr /= 10
        trial = recipe.replace(lr=lr)
        m = Measurements(0, "", "", None)
        probe(trial, data, m)
        losses = m.probe_losses
        if m.probe_stopped is None and losses and losses[-1] <= 3 * losses[0]:
            return lr
    return None


def examine(
    recipe: Any,
    data: dict[str, Any] | None = None,
    say: Callable[[str], None] | None = None,
) -> DoctorReport:
    """Run every check on ``recipe`` (data: its dataset dict, default ``recipe.build_data()``).

    ``say`` gets a line as each stage starts (the command prints them). Nothing is written;
    the recipe's model is built afresh for every check (its seed gives the same weights).
    """
    if data is None:
        data = recipe.build_data()
    recipe.check_data(data)
    ctx = _context(recipe, data)
    if say is not None:
        say(f"examining {recipe.model} on {recipe.dataset} ({len(data['X_train'])} examples)")
    # The Solver warns on stderr when a run diverges; here that is a measurement.
    with contextlib.redirect_stderr(io.StringIO()):
        m = measure(recipe, data)
        checks = judge(m, ctx)
        if any(c.name == "divergence" and c.verdict == "fail" for c in checks):
            ctx.safe_lr = _safe_lr(recipe, data)
            checks = judge(m, ctx)
    return DoctorReport(checks, recipe.to_dict())
