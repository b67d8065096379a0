"""The doctor's judgments: each check turns measurements into a verdict, with the measured
value, the expected range and, when it is not a pass, the likely cause and a flag to try.

One function per check, in :data:`RULES` (the order of the printed report). The thresholds are
module constants, each with the measurement that set it; ``docs/doctor.md`` lists them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from layerwise.doctor.measure import (
    OVERFIT_EXAMPLES,
    OVERFIT_GOAL,
    OVERFIT_STEPS,
    PROBE_STEPS,
    Measurements,
)

#: Verdicts, best first; a report's overall verdict is its worst check's ("skip": does not
#: apply to this recipe, and counts as nothing).
VERDICTS = ("pass", "skip", "warn", "fail")

#: Initial softmax loss: within 30 % of ln(C) passes, within 100 % warns. (Measured: 2.318 for
#: the default digits recipe, 2.386 for He-initialised MNIST, 75.5 for sigmoid at scale 10.)
LOSS_PASS, LOSS_WARN = 0.3, 1.0
#: A sampled gradient entry disagrees when its relative error exceeds this; a parameter fails
#: when two or more of its entries do (one may sit on a ReLU kink).
GRADIENT_TOLERANCE, GRADIENT_BAD_ENTRIES = 1e-4, 2
#: Dead ReLU units or saturated sigmoid/tanh values, as a fraction: warn, fail.
UNITS_WARN, UNITS_FAIL = 0.2, 0.5
#: Last hidden layer's activation std over the input's: outside these, the signal vanishes
#: or explodes (the seed's MNIST recipe: 0.018; default digits 0.55; He MNIST 1.1).
SIGNAL_LOW, SIGNAL_HIGH = 0.05, 20.0
#: Median update/weight ratio of the first updates: CS231n's guide is 1e-3. Below 1e-4 a layer
#: barely moves (the seed's MNIST recipe: 3e-5 in its first layer); above 0.5 an update is as
#: large as the weights (lr 1e6: 1.0). Between 0.1 and 0.5 warns. The top of the passing band
#: is 0.1, not 1e-2, because the default digits recipe (SGD 0.5 with decay, 0.975 test
#: accuracy) moves its weights by 4-8 % per update in its first 20.
RATIO_LOW, RATIO_WARN, RATIO_HIGH = 1e-4, 0.1, 0.5
#: Input features: warn when their overall std is outside this, or the mean offset of the
#: features is over twice the std (raw pixel values, say).
DATA_STD = (0.01, 10.0)
DATA_OFFSET = 2.0


@dataclass
class Check:
    """One line of the doctor's report."""

    name: str
    title: str
    verdict: str
    value: str
    expected: str
    cause: str | None = None
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Context:
    """What the rules know besides the measurements: the recipe's settings, and the largest
    learning rate (a power of ten below the recipe's) that did not diverge, if one was looked
    for."""

    model: str
    lr: float
    weight_scale: float
    weight_init: str | None
    input_dim: int
    first_hidden: int
    safe_lr: float | None = None


def _g(x: float) -> str:
    return f"{x:.3g}"


def weight_fix(ctx: Context, activation: str | None) -> str:
    """The flag that gives the weights a scale suited to the activation: He's
    ``sqrt(2 / fan_in)`` for the ReLU family, Glorot's ``sqrt(2 / (fan_in + fan_out))``
    otherwise (for fc, the init by name; the other models take one --weight-scale)."""
    relu = activation in (None, "relu", "leaky_relu")
    if ctx.model == "fc":
        return f"--weight-init {'he' if relu else 'xavier'}"
    fan = ctx.input_dim if relu else ctx.input_dim + ctx.first_hidden
    return f"--weight-scale {_g(math.sqrt(2.0 / fan))}"


def initial_loss(m: Measurements, ctx: Context) -> Check:
    title = "initial loss vs ln(C)"
    if m.initial_loss is None:
        return Check("initial_loss", title, "skip", "-", "a softmax classifier only")
    expected = math.log(m.num_outputs)
    off = abs(m.initial_loss - expected) / expected
    verdict = "pass" if off <= LOSS_PASS else "warn" if off <= LOSS_WARN else "fail"
    check = Check(
        "initial_loss",
        title,
        verdict,
        _g(m.initial_loss),
        f"{expected:.3f} ± {LOSS_PASS * expected:.3f} (ln {m.num_outputs})",
    )
    if verdict != "pass":
        check.cause = (
            "the initial scores are too large: the weights start too big, so the network "
            "is confidently wrong before it has learnt anything"
            if m.initial_loss > expected
            else "the loss is below chance before training: check the labels and the loss"
        )
        check.fix = weight_fix(ctx, m.activation)
    return check


def gradients(m: Measurements, ctx: Context) -> Check:
    bad = {
        name: sum(e > GRADIENT_TOLERANCE for e in errors)
        for name, errors in m.gradient_errors.items()
    }
    worst = max((max(e) for e in m.gradient_errors.values()), default=0.0)
    failing = [name for name, count in bad.items() if count >= GRADIENT_BAD_ENTRIES]
    check = Check(
        "gradients",
        "analytic vs numeric gradients (float64)",
        "fail" if failing else "pass",
        f"largest relative error {worst:.2e}",
        f"<= {GRADIENT_TOLERANCE:g} at {len(next(iter(m.gradient_errors.values()), []))} "
        "entries of every parameter",
    )
    if failing:
        first = failing[0]
        check.cause = (
            f"the backward pass disagrees with the numeric gradient first at {first} "
            f"({bad[first]} entries off): a bug in a layer's backward or the loss"
        )
        check.fix = "layerwise gradcheck"
    return check


def overfit(m: Measurements, ctx: Context, signal_ok: bool, diverges: bool) -> Check:
    reached = m.overfit_steps is not None
    check = Check(
        "overfit",
        f"overfit {OVERFIT_EXAMPLES} examples",
        "pass" if reached else "fail",
        f"{m.overfit_score:.3f} after {m.overfit_steps or OVERFIT_STEPS} updates",
        f">= {OVERFIT_GOAL} within {OVERFIT_STEPS} updates (no regularisation, no dropout)",
    )
    if not reached:
        if diverges:
            check.cause = "the learning rate diverges (see below)"
            check.fix = f"--lr {_g(_smaller_lr(ctx))}"
        elif not signal_ok:
            check.cause = "the signal vanishes through the layers, so the updates are tiny"
            check.fix = weight_fix(ctx, m.activation)
        else:
            check.cause = "the network learns too slowly: the learning rate is probably too small"
            check.fix = f"--lr {_g(ctx.lr * 10)}"
    return check


def units(m: Measurements, ctx: Context) -> Check:
    dead = [layer["dead"] for layer in m.layers if layer["dead"] is not None]
    saturated = [layer["saturated"] for layer in m.layers if layer["saturated"] is not None]
    kind, values = ("dead ReLU units", dead) if dead else ("saturated values", saturated)
    if not values:
        return Check("units", "dead or saturated units", "skip", "-", "ReLU, sigmoid or tanh")
    worst = max(values)
    layer = values.index(worst) + 1
    verdict = "pass" if worst <= UNITS_WARN else "warn" if worst <= UNITS_FAIL else "fail"
    check = Check(
        "units",
        "dead or saturated units",
        verdict,
        f"{worst:.1%} {kind} in layer {layer}",
        f"<= {UNITS_WARN:.0%}",
    )
    if verdict != "pass":
        check.cause = (
            f"{kind} pass no gradient: the weights start too "
            f"{'large' if saturated else 'small or too negative'} for the activation"
        )
        check.fix = weight_fix(ctx, m.activation)
    return check


def signal(m: Measurements, ctx: Context) -> Check:
    title = "signal through the layers"
    if not m.layers or m.input_std == 0:
        return Check("signal", title, "skip", "-", "a network with hidden layers")
    ratio = (m.layers[-1]["std"] or 0.0) / m.input_std
    ok = SIGNAL_LOW <= ratio <= SIGNAL_HIGH
    check = Check(
        "signal",
        title,
        "pass" if ok else "fail",
        f"last hidden std / input std {_g(ratio)}",
        f"{SIGNAL_LOW:g} to {SIGNAL_HIGH:g}",
    )
    if not ok:
        way = "vanishes" if ratio < SIGNAL_LOW else "explodes"
        check.cause = (
            f"the activations' scale {way} from layer to layer: the initial weights are too "
            f"{'small' if ratio < SIGNAL_LOW else 'large'} (weight scale {_g(ctx.weight_scale)})"
        )
        check.fix = weight_fix(ctx, m.activation)
    return check


def update_ratio(m: Measurements, ctx: Context, signal_ok: bool) -> Check:
    title = "update/weight ratio"
    if not m.probe_ratios:
        return Check("update_ratio", title, "skip", "-", "at least two updates")
    low = min(m.probe_ratios, key=lambda k: m.probe_ratios[k])
    high = max(m.probe_ratios, key=lambda k: m.probe_ratios[k])
    lo, hi = m.probe_ratios[low], m.probe_ratios[high]
    verdict = "pass"
    if lo < RATIO_LOW or hi > RATIO_HIGH:
        verdict = "fail"
    elif hi > RATIO_WARN:
        verdict = "warn"
    check = Check(
        "update_ratio",
        title,
        verdict,
        f"{_g(lo)} ({low}) to {_g(hi)} ({high})",
        f"{RATIO_LOW:g} to {RATIO_WARN:g} (guide 1e-3)",
    )
    if lo < RATIO_LOW:
        check.cause = f"{low} barely moves: " + (
            "vanishing gradients (the signal is too weak)"
            if not signal_ok
            else "the learning rate is too small"
        )
        check.fix = weight_fix(ctx, m.activation) if not signal_ok else f"--lr {_g(ctx.lr * 10)}"
    elif verdict != "pass":
        check.cause = f"each update changes {high} by {hi:.0%} of its size: the rate is too large"
        check.fix = f"--lr {_g(_smaller_lr(ctx) if hi > RATIO_HIGH else ctx.lr / 10)}"
    return check


def divergence(m: Measurements, ctx: Context) -> Check:
    losses = m.probe_losses
    first, last = (losses[0], losses[-1]) if losses else (math.nan, math.nan)
    diverged = m.probe_stopped is not None or not math.isfinite(last) or last > 3 * first
    value = f"loss {_g(first)} -> {_g(last)} in {len(losses)} updates"
    if m.probe_stopped is not None:
        value = f"loss {_g(first)}, then diverged at update {len(losses) + 1}"
    check = Check(
        "divergence",
        f"learning rate stability ({PROBE_STEPS} updates)",
        "fail" if diverged else "pass",
        value,
        "finite, not above 3x the first loss",
    )
    if diverged:
        check.cause = f"learning rate {_g(ctx.lr)} diverges" + (
            f"; {_g(ctx.safe_lr)} is the largest power-of-ten step down that does not, "
            "and a tenth of it leaves a margin (or run layerwise lr-find)"
            if ctx.safe_lr
            else ""
        )
        check.fix = f"--lr {_g(_smaller_lr(ctx))}"
    return check


def _smaller_lr(ctx: Context) -> float:
    """A rate to try instead of one that diverges: a tenth of the largest power-of-ten step
    down that did not diverge, or a hundredth of the recipe's when none was found."""
    return ctx.safe_lr / 10 if ctx.safe_lr else ctx.lr / 100


def data_scale(m: Measurements, ctx: Context) -> Check:
    low, high = DATA_STD
    offset = m.input_mean / m.input_std if m.input_std else math.inf
    ok = low <= m.input_std <= high and offset <= DATA_OFFSET
    check = Check(
        "data",
        "input features centred and scaled",
        "pass" if ok else "warn",
        f"std {_g(m.input_std)}, mean offset {_g(m.input_mean)}",
        f"std {low:g} to {high:g}, offset <= {DATA_OFFSET:g} std",
    )
    if not ok:
        check.cause = "features far from zero mean and unit scale make the first layer's "
        check.cause += "weights and learning rate hard to choose; standardise them"
    return check


def judge(m: Measurements, ctx: Context) -> list[Check]:
    """Every check, in the report's order."""
    sig = signal(m, ctx)
    div = divergence(m, ctx)
    signal_ok = sig.verdict in ("pass", "skip")
    rules: list[Callable[[], Check]] = [
        lambda: initial_loss(m, ctx),
        lambda: gradients(m, ctx),
        lambda: overfit(m, ctx, signal_ok, div.verdict == "fail"),
        lambda: units(m, ctx),
        lambda: sig,
        lambda: update_ratio(m, ctx, signal_ok),
        lambda: div,
        lambda: data_scale(m, ctx),
    ]
    return [rule() for rule in rules]


def overall(checks: list[Check]) -> str:
    """The worst verdict of the checks."""
    return max((c.verdict for c in checks), key=VERDICTS.index, default="pass")
