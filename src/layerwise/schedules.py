"""Learning-rate schedules: the factor applied to the initial learning rate at each epoch.

A schedule is ``factor(epoch) -> float`` with ``factor(0) == 1``; the Solver sets each
parameter's ``learning_rate`` to ``initial_lr * factor(epoch) * lr_decay**epoch`` at the start of
every epoch, so schedules compose with the seed's ``lr_decay`` (which defaults to 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from layerwise.errors import ConfigError
from layerwise.validation import check_callable, check_int, check_number, check_positive_int

Schedule = Callable[[int], float]


def constant() -> Schedule:
    """Always 1: the learning rate only follows ``lr_decay``."""
    return lambda epoch: 1.0


def step(step_size: int = 10, gamma: float = 0.1) -> Schedule:
    """Multiply by ``gamma`` in (0, 1] every ``step_size`` epochs (Keras/PyTorch ``StepLR``)."""
    step_size = check_positive_int("step_size", step_size)
    gamma = _check_gamma(gamma)
    return lambda epoch: gamma ** (epoch // step_size)


def exponential(gamma: float = 0.95) -> Schedule:
    """Multiply by ``gamma`` in (0, 1] every epoch."""
    gamma = _check_gamma(gamma)
    return lambda epoch: gamma**epoch


def cosine(num_epochs: int, min_factor: float = 0.0) -> Schedule:
    """Cosine annealing from 1 to ``min_factor`` over ``num_epochs`` (Loshchilov & Hutter, 2017)."""
    num_epochs = check_positive_int("num_epochs", num_epochs)
    min_factor = check_number("min_factor", min_factor, 0.0, high=1.0)

    def factor(epoch: int) -> float:
        progress = min(epoch, num_epochs) / num_epochs
        return min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


SCHEDULES: dict[str, Callable[..., Schedule]] = {
    "constant": constant,
    "step": step,
    "exponential": exponential,
    "cosine": cosine,
}


def get_schedule(spec: Any, num_epochs: int) -> Schedule:
    """A schedule from a name, a dict ``{'name': ..., **options}``, a callable, or None.

    ``cosine`` anneals over ``num_epochs`` unless the dict says otherwise.
    """
    if spec is None:
        return constant()
    if callable(spec):
        return check_callable("lr_schedule", spec, "epoch")
    options: dict[str, Any] = {}
    if isinstance(spec, dict):
        options = dict(spec)
        spec = options.pop("name", None)
    if not isinstance(spec, str) or spec not in SCHEDULES:
        raise ConfigError(
            f"unknown lr_schedule {spec!r}; expected one of {sorted(SCHEDULES)}, a dict with a "
            f"'name', or a callable epoch -> factor"
        )
    if spec == "cosine":
        options.setdefault("num_epochs", max(check_int("num_epochs", num_epochs), 1))
    try:
        return SCHEDULES[spec](**options)
    except TypeError as exc:
        raise ConfigError(f"bad options for lr_schedule {spec!r}: {exc}") from None


def factor_at(schedule: Schedule, epoch: int, scale: float = 1.0) -> float:
    """``schedule(epoch) * scale`` as a float, or ConfigError when that is not a finite
    number >= 0 (a user's callable may return anything: NaN, a string, an int past floats)."""
    scheduled = schedule(epoch)
    try:
        factor = float(scheduled) * scale
    except (TypeError, ValueError, OverflowError):
        factor = math.nan
    if not (math.isfinite(factor) and factor >= 0):
        raise ConfigError(
            f"lr_schedule returned {scheduled!r} at epoch {epoch}; expected a finite number >= 0",
            "lr_schedule",
        )
    return factor


def _check_gamma(gamma: Any) -> float:
    """A decay factor in (0, 1]: a factor above 1 would grow the rate without bound (and
    overflow a float within a few hundred epochs)."""
    return check_number("gamma", gamma, 0.0, strict=True, high=1.0)
