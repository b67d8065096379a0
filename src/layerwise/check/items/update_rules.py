"""Checks of the update rules with momentum and adaptive steps, against :mod:`layerwise.optim`:
``rule(w, dw, config=None) -> (next_w, config)``, layerwise's defaults (``optim.DEFAULTS``) and
state names (``optim.STATE``: velocity, cache, m, v, t). layerwise's rules update ``w`` in place,
so the reference always gets copies; a submission may update in place or not. Plain ``sgd`` is
checked in :mod:`layerwise.check.items.losses`."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from layerwise import optim
from layerwise.check.compare import CheckFailed, Outcome, expect_array, expect_tuple
from layerwise.check.items.common import own, randn, seeded
from layerwise.check.registry import check

Array = np.ndarray

#: The hyperparameters of the "steps" checks: none at its default, so one that is not read
#: from config shows.
CONFIGS: dict[str, dict[str, float]] = {
    "sgd_momentum": {"learning_rate": 0.05, "momentum": 0.8},
    "nesterov_momentum": {"learning_rate": 0.05, "momentum": 0.8},
    "rmsprop": {"learning_rate": 0.02, "decay_rate": 0.9, "epsilon": 1e-6},
    "adam": {"learning_rate": 0.02, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6},
    "adamw": {
        "learning_rate": 0.02,
        "beta1": 0.8,
        "beta2": 0.99,
        "epsilon": 1e-6,
        "weight_decay": 0.1,
    },
}
#: The rules layerwise has (nesterov_momentum and adamw are checked only where it has them).
RULES = {name: optim.UPDATE_RULES[name] for name in CONFIGS if name in optim.UPDATE_RULES}
STEPS = 3


def _step(ns: dict[str, Any], name: str, w: Array, dw: Array, config: Any) -> tuple[Array, Any]:
    got = expect_tuple(name, own(ns, name)(w, dw.copy(), config), 2, "(next_w, config)")
    if not isinstance(got[1], dict):
        raise CheckFailed(
            f"{name} returned {type(got[1]).__name__} as its config; return the config dict, "
            "with the rule's state in it (the next step continues from it)"
        )
    return np.asarray(got[0]), got[1]


def _first_step_hint(name: str, w: Array, dw: Array, got: Array) -> str:
    """What the first step computed instead, where a classic mistake gives it away."""
    c = CONFIGS[name]
    lr = c["learning_rate"]
    alternatives: list[tuple[str, Array]] = []
    if name in ("adam", "adamw"):
        m, v = (1 - c["beta1"]) * dw, (1 - c["beta2"]) * dw * dw
        cause = "no bias correction: use m / (1 - beta1**t) and v / (1 - beta2**t), t from 1"
        decayed = w * (1 - lr * c["weight_decay"]) if name == "adamw" and w.ndim >= 2 else w
        alternatives.append((cause, decayed - lr * m / (np.sqrt(v) + c["epsilon"])))
    if name == "nesterov_momentum":
        cause = (
            "this is plain momentum: Nesterov's look-ahead step is "
            "next_w = w - momentum * v_prev + (1 + momentum) * v"
        )
        alternatives.append((cause, w - lr * dw))
    if name == "rmsprop":
        cache = (1 - c["decay_rate"]) * dw * dw
        cause = "epsilon is inside the square root: the step is dw / (sqrt(cache) + epsilon)"
        alternatives.append((cause, w - lr * dw / np.sqrt(cache + c["epsilon"])))
    for cause, value in alternatives:
        if got.shape == w.shape and np.allclose(got, value, rtol=1e-9, atol=1e-12):
            return f"; {cause}"
    if name in ("adam", "adamw") and not np.all(np.isfinite(got)):
        return "; at t = 0, 1 - beta1**t is 0: increment t before the bias correction"
    return ""


def _steps(
    ns: dict[str, Any], name: str, shape: tuple[int, ...], seed: int, compare: bool = True
) -> tuple[Any, Any, Outcome]:
    """STEPS consecutive updates from the same start, each next_w against layerwise's (unless
    not ``compare``: the state depends on the gradients only, and is checked on its own);
    returns the last configs (the submission's, layerwise's) and the last comparison."""
    rng = seeded(seed)
    w0 = randn(rng, *shape)
    w, config = w0.copy(), dict(CONFIGS[name])
    ref_w, ref_config = w0.copy(), dict(CONFIGS[name])
    outcome = Outcome()
    for step in range(1, STEPS + 1):
        dw = randn(rng, *shape)
        before = w.copy()
        w, config = _step(ns, name, w, dw, config)
        ref_w, ref_config = RULES[name](ref_w.copy(), dw.copy(), ref_config)
        if not compare:
            continue
        try:
            outcome = expect_array(f"next_w after step {step} (w of shape {shape})", w, ref_w)
        except CheckFailed as e:
            if step == 1:
                e.diagnosis += _first_step_hint(name, before, dw, w)
            raise
    return config, ref_config, outcome


def _register(name: str) -> None:
    @check(name, "steps")
    def steps(ns: dict[str, Any]) -> Outcome:
        """3 consecutive steps from the same start, against layerwise's."""
        outcome = _steps(ns, name, (4, 5), 60)[2]
        if name == "adamw":
            try:
                outcome = _steps(ns, name, (5,), 61)[2]
            except CheckFailed as e:
                e.diagnosis += (
                    " (the 2-D weights are right: layerwise decays only parameters with at "
                    "least decay_min_ndim = 2 dimensions, not biases)"
                )
                raise
        return outcome

    @check(name, "state in config")
    def state(ns: dict[str, Any]) -> Outcome:
        """The returned config carries the rule's state under layerwise's names."""
        config, ref_config, _ = _steps(ns, name, (3, 4), 62, compare=False)
        outcome = Outcome()
        for key in optim.STATE[name]:
            if key not in config:
                raise CheckFailed(
                    f"the returned config has no {key!r}: keep the rule's state there under "
                    f"layerwise's names {list(optim.STATE[name])} (so training can resume)"
                )
            if key == "t":
                if config[key] != ref_config[key]:
                    raise CheckFailed(f"config['t'] is {config[key]!r} after {STEPS} steps")
                continue
            what = f"config[{key!r}] after {STEPS} steps"
            outcome = expect_array(what, config[key], ref_config[key])
        return outcome

    @check(name, "default config")
    def defaults(ns: dict[str, Any]) -> Outcome:
        """config=None uses layerwise's defaults (2 steps)."""
        rng = seeded(63)
        w, dw1, dw2 = randn(rng, 4, 3), randn(rng, 4, 3), randn(rng, 4, 3)
        ref_w, ref_config = RULES[name](w.copy(), dw1.copy(), None)
        ref_w, _ = RULES[name](ref_w.copy(), dw2.copy(), ref_config)
        got, config = _step(ns, name, w.copy(), dw1, None)
        got, config = _step(ns, name, got, dw2, config)
        try:
            return expect_array("next_w after 2 steps with config=None", got, ref_w)
        except CheckFailed as e:
            wrong = {k: config[k] for k, v in optim.DEFAULTS[name].items() if config.get(k, v) != v}
            if wrong:
                e.diagnosis += f"; its defaults {wrong} differ from layerwise's"
            e.diagnosis += f" (layerwise's defaults: {optim.DEFAULTS[name]})"
            raise

    @check(name, "inputs unchanged")
    def unchanged(ns: dict[str, Any]) -> Outcome:
        """dw is not modified (w may be: layerwise's rules update it in place)."""
        rng = seeded(64)
        w, dw = randn(rng, 4, 3), randn(rng, 4, 3)
        saved = dw.copy()
        own(ns, name)(w, dw, copy.deepcopy(CONFIGS[name]))
        if not np.array_equal(dw, saved):
            raise CheckFailed(
                f"{name} changed dw in place ({int(np.sum(dw != saved))} elements): the "
                "gradient belongs to the caller (compute the step into a new array)"
            )
        return Outcome()

    del steps, state, defaults, unchanged


for _name in RULES:
    _register(_name)
