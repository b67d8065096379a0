"""The learning-rate range test (Smith, 2015; fastai's ``lr_find``, Lightning's LR finder).

Train ``num_steps`` minibatches while the learning rate grows geometrically, recording the
loss: flat while the rate is too small to matter, falling while it is useful, shooting up once
it is too large. ``find_lr(model, data).suggested_lr`` is a rate on the falling part
(:func:`suggest_lr`); ``plots.plot_lr_find`` draws the curve. The test trains copies: the
model's parameters, buffers and dropout generator are exactly as they were afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from layerwise import optim
from layerwise.errors import ConfigError
from layerwise.solver import check_examples, example_weights
from layerwise.validation import IEEE, check_choice, check_int, check_number, check_positive_int

if TYPE_CHECKING:
    from layerwise.recipe import Recipe

__all__ = ["LRFinderResult", "find_lr", "find_lr_for_recipe", "suggest_lr"]

#: ``on_step(step, lr, loss, smoothed)``: called after each step (step counts from 1).
StepHook = Callable[[int, float, float, float], None]


@dataclasses.dataclass(frozen=True)
class LRFinderResult:
    """What a range test measured, one entry per step taken (all finite numbers).

    - lrs: the learning rate of each step (geometric, increasing); losses: the minibatch loss
      of each step (before its update); smoothed: their bias-corrected moving average;
    - suggested_lr: the rate to train with (:func:`suggest_lr`), None when the curve cannot
      tell; stopped_early: whether the test stopped before ``end_lr``; reason: why (or None).
    """

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggested_lr: float | None
    stopped_early: bool
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of the fields."""
        return dataclasses.asdict(self)


def find_lr(
    model: Any,
    data: Mapping[str, Any],
    update_rule: str = "sgd",
    optim_config: Mapping[str, Any] | None = None,
    batch_size: int = 100,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    smoothing: float = 0.98,
    diverge_factor: float = 4.0,
    seed: int = 0,
    sample_weight: Any = None,
    on_step: StepHook | None = None,
) -> LRFinderResult:
    """Run the range test on ``model`` (``params`` + ``loss``) with ``data["X_train"]``
    (N, d_1, ...) and ``data["y_train"]`` (N,); the model is left exactly as it was.

    - update_rule: a name in :data:`layerwise.optim.UPDATE_RULES`; optim_config: its other
      settings (momentum, betas, ...); batch_size: examples per step, drawn with replacement
      by ``default_rng(seed)``; sample_weight: None or (N,) weights >= 0 of the examples;
    - start_lr < end_lr, num_steps >= 10: step i of n uses ``start_lr * (end_lr /
      start_lr) ** (i / (n - 1))``: the first step start_lr, the last end_lr;
    - smoothing: beta of the moving average ``avg = beta * avg + (1 - beta) * loss``, divided
      by ``1 - beta**(i + 1)`` (bias correction: early values are not pulled towards 0);
    - diverge_factor: stop once the smoothed loss exceeds this many times its minimum (or a
      loss is not finite): the rates beyond only cost time;
    - on_step: ``f(step, lr, loss, smoothed)`` after every step (a progress display).
    """
    rule, config, lrs = _check(update_rule, optim_config, start_lr, end_lr, num_steps)
    batch_size = check_positive_int("batch_size", batch_size)
    beta = check_number("smoothing", smoothing, 0.0, high=1.0, high_strict=True)
    factor = check_number("diverge_factor", diverge_factor, 1.0, strict=True)
    rng = np.random.default_rng(check_int("seed", seed))
    if not (isinstance(getattr(model, "params", None), dict) and hasattr(model, "loss")):
        raise ConfigError("model must have a 'params' dict and a 'loss' method", "model")
    if not isinstance(data, Mapping):
        raise ConfigError(f"data must be a dict with X_train and y_train; got {data!r}", "data")
    task = getattr(model, "task", "classification")
    X, y = check_examples(data.get("X_train"), data.get("y_train"), "X_train", "y_train", task)
    weights = example_weights(y, sample_weight, None, task)  # the Solver's checks

    losses: list[float] = []
    smoothed: list[float] = []
    reason = None
    avg = 0.0
    with _probe(model):
        configs = {name: dict(config) for name in model.params}
        for i, lr in enumerate(lrs.tolist()):
            idx = rng.integers(0, len(X), batch_size)
            extra = {} if weights is None else {"sample_weight": weights[idx]}
            loss, grads = model.loss(X[idx], y[idx], **extra)
            loss = float(loss)
            avg = beta * avg + (1 - beta) * loss
            if not math.isfinite(avg):  # a NaN or infinite loss, or one too large to average
                reason = f"the loss became {loss:.4g} at step {i + 1} (lr {lr:.3g})"
                break
            losses.append(loss)
            smoothed.append(avg / (1 - beta ** (i + 1)))
            if on_step is not None:
                on_step(i + 1, lr, loss, smoothed[-1])
            if smoothed[-1] > factor * min(smoothed):
                reason = (
                    f"the smoothed loss {smoothed[-1]:.4g} exceeded {factor:g} times its "
                    f"minimum {min(smoothed):.4g} at step {i + 1} (lr {lr:.3g})"
                )
                break
            for name, w in model.params.items():  # in place, as the Solver's engine does
                configs[name]["learning_rate"] = lr
                model.params[name], configs[name] = rule(w, grads[name], configs[name])
    taken = lrs[: len(losses)].tolist()
    suggested = suggest_lr(taken, losses, num_steps)
    return LRFinderResult(taken, losses, smoothed, suggested, reason is not None, reason)


def suggest_lr(lrs: list[float], losses: list[float], num_steps: int | None = None) -> float | None:
    """The rate of the steepest descent of the loss, at most half the rate of its minimum.

    lrs, losses: (n,) a test's rates and raw losses; num_steps: the steps it planned (default
    n). The curve is the losses averaged over a centred window of ``2 * (num_steps // 50) +
    1`` steps; its slope against log lr (``np.gradient``) is most negative between the first
    ``num_steps // 10`` and the last ``num_steps // 20`` steps and before the curve's minimum
    (fastai's "steep" suggestion, with its skips): there the loss falls fastest, so training
    is quick and still stable; the cap keeps clear of the minimum, where it turns up. A
    minimum in the first ``num_steps // 10`` steps gives a tenth of its rate (fastai's
    "minimum / 10"); None when the loss never fell or fewer than three steps were measured.

    Not the moving average's steepest point: that average is causal and lags ``beta / (1 -
    beta)`` steps (49 at 0.98), which moves its steepest point up to the edge of divergence
    (measured in docs/lr_find.md).
    """
    n = len(losses)
    if n < 3 or len(lrs) != n:
        return None
    planned = n if num_steps is None else num_steps
    curve = _centred_mean(np.asarray(losses, dtype=np.float64), max(1, planned // 50))
    i_min = int(np.argmin(curve))
    if i_min == 0:
        return None
    lo, hi = planned // 10, min(i_min, n - planned // 20)
    if hi - lo < 2:
        return float(lrs[i_min]) / 10
    slopes = np.gradient(curve, np.log10(np.asarray(lrs, dtype=np.float64)))
    steepest = lo + int(np.argmin(np.nan_to_num(slopes[lo:hi], nan=np.inf)))
    return min(float(lrs[steepest]), float(lrs[i_min]) / 2)


def find_lr_for_recipe(
    recipe: Recipe, data: Mapping[str, Any] | None = None, **kwargs: Any
) -> LRFinderResult:
    """:func:`find_lr` on the model a :class:`~layerwise.recipe.Recipe` builds from ``data``
    (default ``recipe.build_data()``), with its update rule, the rule's settings but the
    learning rate, its batch size and seed; kwargs: the test's own (start_lr, end_lr,
    num_steps, smoothing, diverge_factor, on_step). The test runs layerwise's NumPy update;
    a recipe for a twin engine is refused rather than silently tested on another one.
    """
    if recipe.engine != "numpy":
        raise ConfigError(f"engine {recipe.engine!r}: the range test runs on numpy", "engine")
    optim_config = recipe.network.optim_config()
    optim_config.pop("learning_rate")
    settings: dict[str, Any] = {"update_rule": recipe.network.optimizer, "seed": recipe.seed}
    settings.update(optim_config=optim_config, batch_size=recipe.batch_size)
    clash = sorted(set(settings) & set(kwargs))
    if clash:
        raise ConfigError(f"find_lr_for_recipe: {clash} are the recipe's; change the recipe")
    data = recipe.build_data() if data is None else data
    recipe.check_data(data)
    return find_lr(recipe.build_model(data), data, **settings, **kwargs)


def _check(
    update_rule: Any, optim_config: Any, start_lr: Any, end_lr: Any, num_steps: Any
) -> tuple[optim.UpdateRule, dict[str, Any], np.ndarray]:
    """The rule, its config (without a learning rate) and the (num_steps,) rates."""
    check_choice("update_rule", update_rule, sorted(optim.UPDATE_RULES))  # a name, no callable
    if "learning_rate" not in optim.DEFAULTS[update_rule]:
        raise ConfigError(f"update_rule {update_rule!r} has no learning_rate", "update_rule")
    config = optim.check_config(update_rule, {} if optim_config is None else optim_config)
    if "learning_rate" in config:
        raise ConfigError(
            "optim_config must not set learning_rate (the test varies it)", "optim_config"
        )
    start = check_number("start_lr", start_lr, 0.0, strict=True)
    end = check_number("end_lr", end_lr, 0.0, strict=True)
    if start >= end:
        raise ConfigError(f"start_lr {start:g} must be below end_lr {end:g}", "start_lr")
    lrs = np.geomspace(start, end, check_int("num_steps", num_steps, 10))
    if not (np.diff(lrs) > 0).all():  # end_lr a rounding error above start_lr
        raise ConfigError(f"end_lr {end:g} is too close to start_lr {start:g}", "end_lr")
    return optim.UPDATE_RULES[update_rule], config, lrs


@IEEE
def _centred_mean(x: np.ndarray, k: int) -> np.ndarray:
    """(n,) the mean of ``x[i - k : i + k + 1]`` (fewer at the ends) for every i."""
    return np.array([x[max(0, i - k) : i + k + 1].mean() for i in range(len(x))])


@contextlib.contextmanager
def _probe(model: Any) -> Iterator[None]:
    """Give ``model`` copies of its parameters for the block, then put everything back: the
    original parameter arrays (never written), the buffers (batchnorm's running statistics),
    the dropout generator's state, and NumPy's global stream (a model without a generator
    draws its dropout masks from it)."""
    params = model.params
    get_buffers = getattr(model, "get_buffers", None)
    buffers = {k: np.copy(v) for k, v in get_buffers().items()} if callable(get_buffers) else None
    get_rng = getattr(model, "get_rng_state", None)
    rng_state = get_rng() if callable(get_rng) else None
    global_state = np.random.get_state()
    model.params = {k: np.copy(v) for k, v in params.items()}
    try:
        yield
    finally:
        model.params = params
        if buffers is not None:
            model.set_buffers(buffers)
        if rng_state is not None:
            model.set_rng_state(rng_state)
        np.random.set_state(global_state)
