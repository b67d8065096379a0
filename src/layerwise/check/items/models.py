"""Checks of the seed's TwoLayerNet and ThreeLayerNet: initialisation, the seed's exact
scores and losses, grads keyed like params, every gradient with and without regularisation
(against layerwise's models, which match numeric gradients), and a reading of ``loss``'s
text for mistakes that show there (:mod:`layerwise.check.items.source`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from layerwise import models as ref_models
from layerwise.check.compare import CheckFailed, Outcome, expect_array, expect_tuple
from layerwise.check.items.common import own
from layerwise.check.items.source import problems
from layerwise.check.loading import where_in_submission
from layerwise.check.registry import check
from layerwise.gradient_check import eval_numerical_gradient


@dataclass(frozen=True)
class ModelCase:
    """A model of the seed and its test cell: sizes, the linspace parameters, the answers."""

    name: str
    hidden: dict[str, int]  # constructor keyword -> size
    scores: list[list[float]]
    loss: float
    reg_loss: float

    @property
    def dims(self) -> list[int]:
        return [5, *self.hidden.values(), 7]

    @property
    def weights(self) -> list[str]:
        return [f"theta{i}" for i in range(1, len(self.dims))]

    @property
    def keys(self) -> list[str]:
        return [k for w in self.weights for k in (w, f"{w}_0")]

    def build(self, cls: Any, **kw: Any) -> Any:
        return cls(input_dim=5, num_classes=7, **self.hidden, **kw)

    def seed_params(self) -> dict[str, np.ndarray]:
        """The seed's test parameters: weights from linspace(-0.7, 0.3) (first layer) or
        linspace(-0.3, 0.4), biases from linspace(-0.1, 0.9) (first) or linspace(-0.9, 0.1)."""
        out = {}
        for i, (d_in, d_out) in enumerate(zip(self.dims[:-1], self.dims[1:], strict=True), 1):
            lo, hi = (-0.7, 0.3) if i == 1 else (-0.3, 0.4)
            out[f"theta{i}"] = np.linspace(lo, hi, num=d_in * d_out).reshape(d_in, d_out)
            blo, bhi = (-0.1, 0.9) if i == 1 else (-0.9, 0.1)
            out[f"theta{i}_0"] = np.linspace(blo, bhi, num=d_out)
        return out


X_SEED = np.linspace(-5.5, 4.5, num=3 * 5).reshape(5, 3).T
Y_SEED = np.asarray([0, 5, 1])

CASES = [  # the seed's printed answers, as printed
    ModelCase(
        "TwoLayerNet",
        {"hidden_dim": 50},
        [
            [
                11.53165108,
                12.2917344,
                13.05181771,
                13.81190102,
                14.57198434,
                15.33206765,
                16.09215096,
            ],
            [
                12.05769098,
                12.74614105,
                13.43459113,
                14.1230412,
                14.81149128,
                15.49994135,
                16.18839143,
            ],
            [
                12.58373087,
                13.20054771,
                13.81736455,
                14.43418138,
                15.05099822,
                15.66781506,
                16.2846319,
            ],
        ],
        3.4702243556,
        26.5948426952,
    ),
    ModelCase(
        "ThreeLayerNet",
        {"hidden_dim_1": 50, "hidden_dim_2": 30},
        [
            [
                24.7529953,
                26.30758862,
                27.86218194,
                29.41677527,
                30.97136859,
                32.52596191,
                34.08055524,
            ],
            [
                24.2416125,
                25.82700689,
                27.41240129,
                28.99779568,
                30.58319008,
                32.16858448,
                33.75397887,
            ],
            [
                23.7302297,
                25.34642517,
                26.96262063,
                28.5788161,
                30.19501157,
                31.81120704,
                33.42740251,
            ],
        ],
        6.56064352723,
        59.1928674811,
    ),
]


def _seeded_model(ns: dict[str, Any], case: ModelCase, reg: float) -> Any:
    model = case.build(own(ns, case.name), weight_scale=1e-2, reg=reg)
    model.params = {k: v.copy() for k, v in case.seed_params().items()}
    model.reg = reg
    return model


def _reference(case: ModelCase, reg: float) -> Any:
    model = case.build(getattr(ref_models, case.name), weight_scale=1e-2, reg=reg, dtype=np.float64)
    model.params = {k: v.copy() for k, v in case.seed_params().items()}
    return model


def _raised(what: str, e: Exception) -> CheckFailed:
    """A submission's exception as a failure that names it and the student's line."""
    if isinstance(e, NotImplementedError):
        return CheckFailed(
            f"{what}: not implemented yet (NotImplementedError){where_in_submission(e)}"
        )
    return CheckFailed(f"{what} raised {type(e).__name__}: {e}{where_in_submission(e)}")


def _with_source_hints(case: ModelCase, ns: dict[str, Any], error: CheckFailed) -> CheckFailed:
    found = problems(own(ns, case.name), case.weights)
    if found:
        error.diagnosis += "; in the code of loss: " + "; ".join(found)
    return error


def _loss(ns: dict[str, Any], case: ModelCase, reg: float) -> tuple[float, dict[str, Any]]:
    result = expect_tuple(
        f"{case.name}.loss(X, y)",
        _seeded_model(ns, case, reg).loss(X_SEED, Y_SEED),
        2,
        "(loss, grads)",
    )
    try:
        return float(result[0]), result[1]
    except (TypeError, ValueError):
        raise CheckFailed(f"the loss is {type(result[0]).__name__}, expected a number") from None


def _checked_loss(ns: dict[str, Any], case: ModelCase, reg: float) -> tuple[float, dict[str, Any]]:
    """:func:`_loss`, its failures said with the hints that the code of ``loss`` gives."""
    try:
        return _loss(ns, case, reg)
    except CheckFailed as e:
        raise _with_source_hints(case, ns, e) from None
    except Exception as e:
        raise _with_source_hints(case, ns, _raised("loss(X, y)", e)) from None


def _expect_loss(
    ns: dict[str, Any], case: ModelCase, got: float, want: float, what: str, hint: str = ""
) -> Outcome:
    """The seed's printed loss, to its 1e-8 (it printed ten digits)."""
    difference = abs(got - want)
    if difference > 1e-8:
        failure = CheckFailed(
            f"{what} is {got:.10g}, expected {want}{hint}", f"difference {difference:.2e}", "1e-08"
        )
        raise _with_source_hints(case, ns, failure)
    return Outcome(f"difference {difference:.1e}", "1e-08")


def _reg_diagnosis(case: ModelCase, got: float, reg: float) -> str:
    """What the regularisation term has, from the reference's pieces."""
    data = _reference(case, 0.0).loss(X_SEED, Y_SEED)[0]
    params = case.seed_params()
    sq = {w: float(np.sum(params[w] ** 2)) for w in case.weights}
    total = sum(sq.values())
    term = got - data
    guesses = {
        reg * total: "without the 0.5 factor (0.5 * reg * sum of squares)",
        0.0: "no regularisation term at all",
    }
    for w in case.weights:
        guesses[0.5 * reg * (total - sq[w])] = f"the regularisation term misses {w}"
        guesses[0.5 * reg * (total + sq[w])] = f"the regularisation term counts {w} twice"
        for v in case.weights:
            if v != w:
                guesses[0.5 * reg * (total - sq[w] + sq[v])] = (
                    f"the regularisation term has {v} twice and no {w}"
                )
    biases = sum(float(np.sum(params[f"{w}_0"] ** 2)) for w in case.weights)
    guesses[0.5 * reg * (total + biases)] = (
        "the biases are regularised too (only the weights should be)"
    )
    for value, cause in guesses.items():
        if abs(term - value) <= 1e-6 * max(1.0, abs(value)):
            return f"; {cause}"
    return ""


def _register(case: ModelCase) -> None:
    name = case.name

    @check(name, "initialisation", kind="class")
    def initialisation(ns: dict[str, Any]) -> Outcome:
        """params keys and shapes; weights N(0, weight_scale^2), biases zero (the seed's test)."""
        std = 1e-2
        params = case.build(own(ns, name), weight_scale=std).params
        if not isinstance(params, dict):
            raise CheckFailed(f"{name}().params is {type(params).__name__}, expected a dict")
        missing, extra = sorted(set(case.keys) - set(params)), sorted(set(params) - set(case.keys))
        if missing or extra:
            raise CheckFailed(
                f"params has keys {sorted(params)}; missing {missing}, unexpected {extra}"
            )
        for w, (d_in, d_out) in zip(
            case.weights, zip(case.dims[:-1], case.dims[1:], strict=True), strict=True
        ):
            for key, shape in ((w, (d_in, d_out)), (f"{w}_0", (d_out,))):
                if np.shape(params[key]) != shape:
                    raise CheckFailed(
                        f"params[{key!r}] has shape {np.shape(params[key])}, expected {shape}"
                    )
            spread = abs(float(np.std(params[w])) - std)
            if spread >= std / 10:
                raise CheckFailed(
                    f"params[{w!r}] has std {np.std(params[w]):.3g}, expected weight_scale {std:g}"
                )
            if np.any(params[f"{w}_0"] != 0):
                raise CheckFailed(f"params['{w}_0'] is not all zeros: biases start at zero")
        return Outcome()

    @check(name, "test-time scores", kind="class")
    def scores(ns: dict[str, Any]) -> Outcome:
        """The seed's test-time forward pass: loss(X) with its linspace parameters."""
        try:
            got = _seeded_model(ns, case, 0.0).loss(X_SEED)
            return expect_array("scores", got, np.asarray(case.scores), tolerance=1e-8)
        except CheckFailed as e:
            raise _with_source_hints(case, ns, e) from None
        except Exception as e:
            raise _with_source_hints(case, ns, _raised("loss(X)", e)) from None

    @check(name, "training loss", kind="class")
    def training_loss(ns: dict[str, Any]) -> Outcome:
        """The seed's loss without regularisation."""
        got, _ = _checked_loss(ns, case, 0.0)
        return _expect_loss(ns, case, got, case.loss, "the loss")

    @check(name, "regularisation", kind="class")
    def regularisation(ns: dict[str, Any]) -> Outcome:
        """The seed's loss with reg = 1.0: 0.5 * reg * the sum of every weight's squares."""
        got, _ = _checked_loss(ns, case, 1.0)
        hint = _reg_diagnosis(case, got, 1.0)
        return _expect_loss(ns, case, got, case.reg_loss, "the loss with reg 1.0", hint)

    @check(name, "grads keys", kind="class")
    def grads_keys(ns: dict[str, Any]) -> Outcome:
        """grads has exactly the keys of params, each gradient shaped like its parameter."""
        _, grads = _checked_loss(ns, case, 0.0)
        if not isinstance(grads, dict):
            raise CheckFailed(f"grads is {type(grads).__name__}, expected a dict keyed like params")
        params = case.seed_params()
        missing = [k for k in case.keys if k not in grads]
        problems_found = []
        for k in missing:
            problems_found.append(f"grads has no key {k!r}")
            w = k.removesuffix("_0")
            if k.endswith("_0") and w in grads and np.shape(grads[w]) == params[k].shape:
                problems_found.append(
                    f"{w!r} has the shape of the bias gradient {params[k].shape}: it looks "
                    f"like the bias gradient was stored under {w!r}"
                )
        for k in case.keys:
            if (
                k in grads
                and np.shape(grads[k]) != params[k].shape
                and not any(w in p for p in problems_found for w in (repr(k),))
            ):
                problems_found.append(
                    f"grads[{k!r}] has shape {np.shape(grads[k])}, expected {params[k].shape}"
                )
        extra = sorted(set(grads) - set(case.keys))
        if extra:
            problems_found.append(f"unexpected keys {extra}")
        if problems_found:
            raise _with_source_hints(case, ns, CheckFailed("; ".join(problems_found)))
        return Outcome()

    @check(name, "gradients", kind="class")
    def gradients(ns: dict[str, Any]) -> Outcome:
        """Every gradient, with reg 0 and 0.7, against layerwise's (= numeric gradients)."""
        outcome = Outcome()
        for reg in (0.0, 0.7):
            _, grads = _checked_loss(ns, case, reg)
            _, want = _reference(case, reg).loss(X_SEED, Y_SEED)
            params = case.seed_params()
            # From the output layer back: the first wrong gradient says where the error enters.
            for key in reversed(case.keys):
                if not isinstance(grads, dict) or key not in grads:
                    raise _with_source_hints(
                        case, ns, CheckFailed(f"grads has no key {key!r} (reg {reg:g})")
                    )
                try:
                    outcome = expect_array(
                        f"grads[{key!r}] (reg {reg:g})",
                        grads[key],
                        want[key],
                        tolerance=1e-7,
                        batch=3,
                    )
                except CheckFailed as e:
                    got = np.asarray(grads[key], dtype=np.float64)
                    if key in case.weights and got.shape == want[key].shape and reg:
                        diff = got - want[key]
                        if np.allclose(diff, -reg * params[key], rtol=1e-6, atol=1e-9):
                            e.diagnosis += f"; the regularisation gradient reg * {key} is missing"
                        elif np.allclose(diff, reg * params[key], rtol=1e-6, atol=1e-9):
                            e.diagnosis += (
                                f"; the regularisation gradient reg * {key} is added twice"
                            )
                    later = [k for k in reversed(case.keys)][: list(reversed(case.keys)).index(key)]
                    if later and re.fullmatch(r"theta\d+(_0)?", key):
                        e.diagnosis += (
                            f" (the gradients of {', '.join(later)} are right: the error "
                            "enters the backward pass at this layer)"
                        )
                    raise _with_source_hints(case, ns, e) from None
        return outcome

    @check(name, "numeric gradients", kind="class")
    def numeric(ns: dict[str, Any]) -> Outcome:
        """grads against the numeric gradient of the submission's own loss (reg 0.7): do the
        loss and its gradients agree with each other (the seed's gradient check)?"""
        model = _seeded_model(ns, case, 0.7)
        _, grads = _checked_loss(ns, case, 0.7)
        outcome = Outcome()
        for key in case.keys:
            if not isinstance(grads, dict) or key not in grads:
                raise CheckFailed(f"grads has no key {key!r}")
            numeric = eval_numerical_gradient(
                lambda: model.loss(X_SEED, Y_SEED)[0], model.params[key], verbose=False
            )
            try:
                outcome = expect_array(f"grads[{key!r}]", grads[key], numeric, tolerance=1e-5)
            except CheckFailed as e:
                e.diagnosis += (
                    " (the numeric gradient of your own loss): the loss and its gradient disagree"
                )
                raise _with_source_hints(case, ns, e) from None
        return outcome

    @check(name, "code of loss", kind="class")
    def code(ns: dict[str, Any]) -> Outcome:
        """A reading of loss's text: each layer gets its own weight and bias, no grads key is
        assigned twice, the regularisation sums every weight once."""
        try:  # a stub has no code to read: say so (other errors are the other checks' to say)
            _seeded_model(ns, case, 0.0).loss(X_SEED)
        except NotImplementedError:
            raise
        except Exception:
            pass
        found = problems(own(ns, name), case.weights)
        if found:
            raise CheckFailed("; ".join(found))
        return Outcome()

    del initialisation, scores, training_loss, regularisation, grads_keys, gradients, numeric, code


for _case in CASES:
    _register(_case)
