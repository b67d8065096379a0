"""Property-based fuzzing of every public boundary: a clean LayerwiseError, or success.

The project's promise (``layerwise.errors``): bad input at a public boundary raises an error
of ONE family, :class:`~layerwise.errors.LayerwiseError`, whose message names the bad value or
the argument and what was expected; or the call succeeds. Never a TypeError, IndexError,
KeyError, MemoryError, ZeroDivisionError, a bare ValueError, ... And the command line prints
exactly one line ``layerwise: error: ...`` on stderr with exit status 2, never a traceback.

Each property below throws junk at one boundary (arrays of every shape and dtype, NaN and
inf, Python lists, None, strings; labels out of range; hyperparameters that are negative,
zero, NaN, infinite, huge, bools, strings, wrong keys; damaged files; random command lines)
and accepts only those two outcomes. (RuntimeWarnings raised inside layerwise are errors too,
by ``filterwarnings`` in pyproject.toml: arithmetic that overflows follows IEEE 754 silently,
``layerwise.validation.IEEE``, and an accepted call may return inf or NaN for such input.)

Every example is counted by outcome (clean error / success / other) in :data:`OUTCOMES`; the
table is printed when the module's tests are done (``pytest -s tests/test_fuzz.py``). The
counts include the examples Hypothesis replays while it shrinks a failure.

The default properties run 100 examples each (the command line's a few dozen), and shrink
and report only the first failure each finds (:data:`REPORT_MULTIPLE_BUGS`); the
``slow``-marked twins run 4 to 8 times as many. Command-line properties train only
trivially (``--epochs 1``, the embedded digits, small ``--hidden``), in a fresh temporary
working directory per example. Run the module without ``-n`` to see one table.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import numbers as _numbers
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from layerwise import layer_utils, layers, losses, optim, schedules
from layerwise.cli import main as cli_main
from layerwise.errors import LayerwiseError
from layerwise.io import load_model, save_model
from layerwise.models import FullyConnectedNet, ThreeLayerNet, TwoLayerNet
from layerwise.options import BY_NAME, OPTIONS, option
from layerwise.recipe import Recipe
from layerwise.solver import Solver

# --------------------------------------------------------------------------------------------
# Outcomes: one count per example, by property
# --------------------------------------------------------------------------------------------

#: (property, outcome) -> examples; outcome is "clean error", "success" or "other".
OUTCOMES: Counter[tuple[str, str]] = Counter()


class _CleanError(Exception):
    """A boundary raised a LayerwiseError that names what was wrong: the example is done."""


def _names_something(message: str, hints: tuple[str, ...]) -> bool:
    """Whether ``message`` contains one of ``hints``: a name or number as a whole word, other
    text anywhere, and a hint ending in "…" (the start of a long repr) as a prefix."""
    for hint in hints:
        if not hint:
            continue
        if hint.endswith("…"):
            if re.search(rf"(?<![\w]){re.escape(hint[:-1])}", message):
                return True
        elif re.fullmatch(r"\w+", hint):
            if re.search(rf"(?<![\w]){re.escape(hint)}(?![\w])", message):
                return True
        elif hint in message:
            return True
    return False


def shown(*values: Any) -> tuple[str, ...]:
    """How a message may name each value: its repr or its str (the start of a long one)."""
    out = []
    for v in values:
        if isinstance(v, np.ndarray):
            out += [str(v.shape), str(v.dtype)]
        for text in (repr(v), str(v)):
            out.append(text if len(text) <= 300 else text[:60] + "…")  # a huge int: its start
    return tuple(out)


def expect(call: Callable[[], Any], *hints: str) -> Any:
    """Call a boundary: return its result, or end the example on a clean LayerwiseError (one
    whose message contains at least one of ``hints``: an argument's name or a value's repr).

    Any other exception propagates (the property fails with it).
    """
    try:
        return call()
    except LayerwiseError as e:
        message = str(e)
        if not message.strip() or not _names_something(message, hints):
            raise AssertionError(
                f"{type(e).__name__} names none of {list(hints)[:12]}: {message!r}"
            ) from e
        raise _CleanError(message) from None


def _count(label: str, body: Callable[..., None], kwargs: dict[str, Any]) -> None:
    """Run one example of ``body`` and count its outcome under ``label``."""
    try:
        body(**kwargs)
    except _CleanError:
        OUTCOMES[label, "clean error"] += 1
        return
    except BaseException as e:
        if not type(e).__module__.startswith("hypothesis"):  # not Hypothesis's own signals
            OUTCOMES[label, "other"] += 1
        raise
    OUTCOMES[label, "success"] += 1


def _summary() -> str:
    labels = sorted({label for label, _ in OUTCOMES})
    kinds = ("clean error", "success", "other")
    width = max([len(x) for x in labels] + [8])
    lines = [
        "",
        "fuzz outcomes (examples, shrinking included)",
        f"{'property':<{width}}  " + "  ".join(f"{k:>11}" for k in kinds),
    ]
    totals: Counter[str] = Counter()
    for label in labels:
        row = [OUTCOMES[label, k] for k in kinds]
        totals.update(dict(zip(kinds, row, strict=True)))
        lines.append(f"{label:<{width}}  " + "  ".join(f"{n:>11}" for n in row))
    lines.append(f"{'total':<{width}}  " + "  ".join(f"{totals[k]:>11}" for k in kinds))
    return "\n".join(lines)


@pytest.fixture(scope="module", autouse=True)
def _print_outcomes() -> Iterator[None]:
    yield
    print(_summary())


#: Draw fresh random examples (``LAYERWISE_FUZZ_HUNT=1``) instead of the fixed ones.
HUNT = os.environ.get("LAYERWISE_FUZZ_HUNT") == "1"

#: Shrink and report only the first failure each property finds (True: every distinct one,
#: which on a badly broken boundary costs minutes of shrinking).
REPORT_MULTIPLE_BUGS = False

_HEALTH = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
    HealthCheck.filter_too_much,
]


def fast(n: int = 100) -> Any:
    """The default profile: a few dozen examples, and only the first failure found is shrunk
    and reported (so a broken boundary fails in seconds, not minutes)."""
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=_HEALTH,
        report_multiple_bugs=REPORT_MULTIPLE_BUGS,
        # The same examples on every run: the suite is a regression test, never flaky.
        # LAYERWISE_FUZZ_HUNT=1 draws new ones each run, to hunt for new cases.
        derandomize=not HUNT,
        database=None,
    )


def slow(n: int = 400) -> Callable[[Any], Any]:
    """The ``slow`` profile: the same property with more examples."""

    def mark(test: Any) -> Any:
        return pytest.mark.slow(fast(n)(test))

    return mark


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------

FLOAT_DTYPES = ("float64", "float32", "float16")
ALL_DTYPES = (*FLOAT_DTYPES, "int64", "int8", "uint8", "bool", "complex128", "object", "<U3")

#: Numbers that break naive checks.
NASTY = (
    0,
    -1,
    0.0,
    -0.0,
    1,
    0.5,
    1.5,
    -0.5,
    2,
    3,
    1e-300,
    1e300,
    10**400,
    -(10**400),
    2**64,
    math.nan,
    math.inf,
    -math.inf,
    True,
    False,
    np.float32(np.nan),
    np.float64(np.inf),
    np.float64(0.5),
    np.int64(-1),
    np.int64(2),
    np.bool_(True),
    Fraction(1, 3),
    1 + 2j,
)


@st.composite
def _junk_scalar(draw: st.DrawFn) -> Any:
    pick = draw(st.integers(0, 7))
    if pick <= 2:  # the nasty numbers most often
        return draw(st.sampled_from(NASTY))
    others = (st.none(), st.text(max_size=3), st.integers(), st.floats(), st.binary(max_size=2))
    return draw(others[pick - 3])


#: Containers and arrays that break naive checks (unhashable, empty, ambiguous truth value).
NASTY_OBJECTS: tuple[Any, ...] = (
    [],
    {},
    [[]],
    (),
    np.ones(2),
    np.array([]),
    np.array(np.nan),
    "",
    " ",
    "nan",
)


@st.composite
def _junk(draw: st.DrawFn) -> Any:
    pick = draw(st.integers(0, 6))
    if pick <= 2:
        return draw(JUNK_SCALARS)
    if pick == 6:
        return draw(st.sampled_from(NASTY_OBJECTS))
    if pick == 3:
        return draw(st.lists(JUNK_SCALARS, max_size=2))
    if pick == 4:
        return draw(st.dictionaries(st.text(max_size=2), JUNK_SCALARS, max_size=2))
    return draw(st.lists(st.lists(st.floats(), max_size=3), min_size=1, max_size=3))  # ragged


#: One bad scalar: a nasty number (most often), None, text, any int or float, bytes.
JUNK_SCALARS = _junk_scalar()
#: Anything: a bad scalar, a list or dict of them, a (often ragged) nested list.
JUNK = _junk()


def shapes(min_dims: int = 0, max_dims: int = 3) -> st.SearchStrategy[tuple[int, ...]]:
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=3)


@st.composite
def ndarrays(
    draw: st.DrawFn, shape: tuple[int, ...] | None = None, dtypes: tuple[str, ...] = ALL_DTYPES
) -> np.ndarray:
    """An array of one of ``dtypes`` (NaN and inf included), of ``shape`` or any small shape
    (0-d and empty included)."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shp = draw(shapes()) if shape is None else shape
    elements = None
    if dtype.kind == "O":
        elements = st.one_of(st.none(), st.integers(-3, 3), st.floats(), st.text(max_size=2))
    return draw(hnp.arrays(dtype, shp, elements=elements))


@st.composite
def value_at(draw: st.DrawFn, shape: tuple[int, ...]) -> Any:
    """What an array argument of ``shape`` may be given: floats of that shape (half of the
    time, so that several arguments are often all well formed together), integers of that
    shape, any dtype of that shape, any array, or anything at all."""
    pick = draw(st.integers(0, 7))
    if pick <= 3:
        return draw(ndarrays(shape, FLOAT_DTYPES))
    if pick == 4:
        return draw(ndarrays(shape, ("int64", "uint8")))
    if pick == 5:
        return draw(ndarrays(shape))
    return draw(ndarrays() if pick == 6 else JUNK)


def numbers(*valid: Any) -> st.SearchStrategy[Any]:
    """A hyperparameter: one of ``valid``, or a nasty number, or junk."""
    first = [st.sampled_from(valid)] if valid else []
    return st.one_of(
        *first, st.sampled_from(NASTY), JUNK_SCALARS, st.lists(JUNK_SCALARS, max_size=1)
    )


#: Junk for integer arguments that must never be accepted as a size (so nothing huge is
#: allocated): wrong types, <= 0, or astronomically large.
BAD_SIZES = st.sampled_from(
    (0, -1, -(10**9), 1.0, 2.5, math.nan, math.inf, True, False, "3", None, [2], 10**15, 10**400)
)


@st.composite
def mostly_valid(
    draw: st.DrawFn,
    valid: dict[str, st.SearchStrategy[Any]],
    junk: dict[str, st.SearchStrategy[Any]],
    max_junk: int = 2,
    min_junk: int = 0,
) -> dict[str, Any]:
    """Keyword arguments: some of ``valid``'s with valid values, then ``min_junk`` to
    ``max_junk`` of ``junk``'s with junk values (so that most examples get past the first
    check, and the junk is what they test)."""
    out = {}
    for name in draw(st.lists(st.sampled_from(sorted(valid)), unique=True)):
        out[name] = draw(valid[name])
    names = st.lists(
        st.sampled_from(sorted(junk)), unique=True, min_size=min_junk, max_size=max_junk
    )
    for name in draw(names):
        out[name] = draw(junk[name])
    return out


@st.composite
def labels(draw: st.DrawFn, m: int, classes: int) -> Any:
    """Labels for m examples of ``classes`` classes: valid, out of range, negative, float,
    bool, strings, the wrong length, or junk."""
    length = draw(st.sampled_from((m, m, m, max(m - 1, 0), m + 1)))
    good = st.integers(0, max(classes - 1, 0))
    bad = st.integers(-3, classes + 3)
    if draw(st.integers(0, 2)) == 0:  # a third of the time, valid labels of the right length
        return draw(hnp.arrays(np.int64, (m,), elements=good))
    return draw(
        st.one_of(
            hnp.arrays(np.int64, (length,), elements=good),
            hnp.arrays(np.int64, (length,), elements=bad),
            hnp.arrays(np.float64, (length,), elements=st.floats(-2, classes + 2) | st.just(1.0)),
            hnp.arrays(np.dtype("bool"), (length,)),
            st.lists(bad, min_size=length, max_size=length),
            ndarrays(),
            JUNK,
        )
    )


# --------------------------------------------------------------------------------------------
# Layers (layers.py)
# --------------------------------------------------------------------------------------------


@st.composite
def affine_args(draw: st.DrawFn) -> dict[str, Any]:
    m, d, h = (draw(st.integers(0, 3)) for _ in range(3))
    x_shape = draw(st.sampled_from(((m, d), (m, d, 1), (m,))))
    return {
        "x": draw(value_at(x_shape)),
        "theta": draw(value_at((d, h))),
        "theta0": draw(value_at((h,))),
        "dout": draw(st.one_of(st.none(), value_at((m, h)))),  # None: ones like the output
    }


def _affine(x: Any, theta: Any, theta0: Any, dout: Any) -> None:
    hints = ("affine_forward", "x", "theta", "theta0")
    out, cache = expect(lambda: layers.affine_forward(x, theta, theta0), *hints)
    g = np.ones_like(out) if dout is None else dout
    expect(lambda: layers.affine_backward(g, cache), "affine_backward", "dout", *hints)
    expect(lambda: layers.affine_param_grads(g, cache), "affine_param_grads", "dout", *hints)


@fast(100)
@given(args=affine_args())
def test_affine(args: Any) -> None:
    _count("layers.affine", _affine, args)


@slow(400)
@given(args=affine_args())
def test_affine_slow(args: Any) -> None:
    _count("layers.affine [slow]", _affine, args)


ACTIVATION_NAMES = ("relu", "sigmoid", "tanh", "leaky_relu")
LEAKY_PARAMS = st.one_of(
    st.none(),
    st.just({}),
    st.fixed_dictionaries({"slope": numbers(0.01, 0.2)}),
    JUNK,
)


@st.composite
def activation_args(draw: st.DrawFn) -> dict[str, Any]:
    shape = draw(shapes())
    return {
        "name": draw(st.sampled_from(ACTIVATION_NAMES)),
        "x": draw(value_at(shape)),
        "leaky_param": draw(LEAKY_PARAMS),
        "dout": draw(st.one_of(st.none(), value_at(shape))),
    }


def _activation(name: str, x: Any, leaky_param: Any, dout: Any) -> None:
    forward = getattr(layers, f"{name}_forward")
    backward = getattr(layers, f"{name}_backward")
    hints = (f"{name}_forward", name, "leaky_relu", "x", "slope", *shown(leaky_param))
    if name == "leaky_relu":
        out, cache = expect(lambda: forward(x, leaky_param), *hints)
    else:
        out, cache = expect(lambda: forward(x), *hints)
    g = np.ones_like(out) if dout is None else dout
    expect(lambda: backward(g, cache), f"{name}_backward", "dout", *hints)


@fast(100)
@given(args=activation_args())
def test_activations(args: Any) -> None:
    _count("layers.activations", _activation, args)


@slow()
@given(args=activation_args())
def test_activations_slow(args: dict[str, Any]) -> None:
    _count("layers.activations [slow]", _activation, args)


# --------------------------------------------------------------------------------------------
# Losses (losses.py)
# --------------------------------------------------------------------------------------------

CLASSIFIER_LOSSES = ("softmax_loss", "svm_loss")
OUTPUT_LOSSES = ("mse_loss", "mae_loss", "huber_loss", "sigmoid_cross_entropy_loss")


@st.composite
def loss_args(draw: st.DrawFn) -> dict[str, Any]:
    m, c = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    name = draw(st.sampled_from(CLASSIFIER_LOSSES + OUTPUT_LOSSES))
    if name in CLASSIFIER_LOSSES:
        y = draw(labels(m, c))
    else:  # targets shaped like the outputs, (m,), or another shape; 0/1 often (multi-label)
        shape = draw(st.sampled_from(((m, c), (m, c), (m,), (c, m), (m, c + 1))))
        y = draw(st.one_of(value_at(shape), hnp.arrays(np.int64, shape, elements=st.just(1))))
    return {
        "name": name,
        "scores": draw(value_at((m, c))),
        "y": y,
        "weights": draw(st.one_of(st.none(), value_at((m,)), value_at((m + 1,)))),
        "delta": draw(numbers(1.0, 0.5)) if name == "huber_loss" else 1.0,
    }


def _loss(name: str, scores: Any, y: Any, weights: Any, delta: Any) -> None:
    fn = getattr(losses, name)
    kwargs = {"delta": delta} if name == "huber_loss" else {}
    hints = (name, "scores", "labels", "label", "x", "y", "targets", "weights", "delta")
    expect(lambda: fn(scores, y, weights, **kwargs), *hints, *shown(delta))


def test_layers_still_serves_the_classifier_losses() -> None:
    # Code written when they lived in layers.py finds the very same functions there.
    for name in CLASSIFIER_LOSSES:
        assert getattr(layers, name) is getattr(losses, name)


@fast()
@given(args=loss_args())
def test_losses(args: dict[str, Any]) -> None:
    _count("losses", _loss, args)


@slow(400)
@given(args=loss_args())
def test_losses_slow(args: Any) -> None:
    _count("losses [slow]", _loss, args)


DROPOUT_PARAMS = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "p": numbers(0.0, 0.5, 0.9),
            "mode": st.one_of(st.sampled_from(("train", "test")), JUNK_SCALARS),
            "seed": st.one_of(st.integers(0, 5), JUNK_SCALARS, st.lists(st.integers(-2, 3))),
            "rng": st.one_of(st.none(), st.builds(np.random.default_rng, st.integers(0, 3)), JUNK),
        },
    ),
    JUNK,
)


@st.composite
def dropout_args(draw: st.DrawFn) -> dict[str, Any]:
    shape = draw(shapes())
    return {
        "x": draw(value_at(shape)),
        "param": draw(DROPOUT_PARAMS),
        "dout": draw(st.one_of(st.none(), value_at(shape))),
    }


def _dropout(x: Any, param: Any, dout: Any) -> None:
    values = param.values() if isinstance(param, dict) else ()
    hints = ("dropout", "dropout_param", "p", "mode", "seed", "rng", "x", *shown(*values))
    out, cache = expect(lambda: layers.dropout_forward(x, param), *hints)
    g = np.ones_like(out) if dout is None else dout
    expect(lambda: layers.dropout_backward(g, cache), "dropout_backward", "dout", *hints)


@fast()
@given(args=dropout_args())
def test_dropout(args: dict[str, Any]) -> None:
    _count("layers.dropout", _dropout, args)


@slow()
@given(args=dropout_args())
def test_dropout_slow(args: dict[str, Any]) -> None:
    _count("layers.dropout [slow]", _dropout, args)


@st.composite
def norm_args(draw: st.DrawFn) -> dict[str, Any]:
    m, d = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    kind = draw(st.sampled_from(("batchnorm", "layernorm")))
    if kind == "batchnorm":
        param = draw(
            st.one_of(
                st.fixed_dictionaries(
                    {"mode": st.one_of(st.sampled_from(("train", "test")), JUNK_SCALARS)},
                    optional={
                        "eps": numbers(1e-5),
                        "momentum": numbers(0.9),
                        "running_mean": value_at((d,)),
                        "running_var": value_at((d,)),
                    },
                ),
                JUNK,
            )
        )
    else:
        param = draw(
            st.one_of(st.none(), st.fixed_dictionaries({}, optional={"eps": numbers(1e-5)}), JUNK)
        )
    return {
        "kind": kind,
        "x": draw(value_at((m, d))),
        "gamma": draw(value_at((d,))),
        "beta": draw(value_at((d,))),
        "param": param,
        "dout": draw(st.one_of(st.none(), value_at((m, d)))),
    }


def _norm(kind: str, x: Any, gamma: Any, beta: Any, param: Any, dout: Any) -> None:
    forward = getattr(layers, f"{kind}_forward")
    backward = getattr(layers, f"{kind}_backward")
    values = param.values() if isinstance(param, dict) else ()
    hints: tuple[str, ...] = (f"{kind}_forward", kind, "x", "gamma", "beta", "bn_param")
    hints += ("ln_param", "mode")
    hints += ("eps", "momentum", "running_mean", "running_var", *shown(*values))
    out, cache = expect(lambda: forward(x, gamma, beta, param), *hints)
    g = np.ones_like(out) if dout is None else dout
    expect(lambda: backward(g, cache), f"{kind}_backward", "dout", *hints)


@fast(100)
@given(args=norm_args())
def test_norm_layers(args: Any) -> None:
    _count("layers.norms", _norm, args)


@slow(400)
@given(args=norm_args())
def test_norm_layers_slow(args: Any) -> None:
    _count("layers.norms [slow]", _norm, args)


# --------------------------------------------------------------------------------------------
# Sandwich layers (layer_utils.py)
# --------------------------------------------------------------------------------------------

ACTIVATION_ARG = st.one_of(
    st.sampled_from(ACTIVATION_NAMES), st.sampled_from(("ReLU", "relu ", "", "softmax")), JUNK
)


@st.composite
def sandwich_args(draw: st.DrawFn) -> dict[str, Any]:
    args = draw(affine_args())
    args["activation"] = draw(ACTIVATION_ARG)
    args["which"] = draw(st.sampled_from(("act", "relu", "sigmoid", "tanh", "get")))
    return args


def _sandwich(x: Any, theta: Any, theta0: Any, dout: Any, activation: Any, which: str) -> None:
    hints = ("affine_forward", "x", "theta", "theta0", "activation", *shown(activation))
    if which == "get":
        expect(lambda: layer_utils.get_activation(activation), *hints)
        return
    if which == "act":
        out, cache = expect(
            lambda: layer_utils.affine_act_forward(x, theta, theta0, activation), *hints
        )
        backward: Callable[..., Any] = layer_utils.affine_act_backward
    else:
        forward = getattr(layer_utils, f"affine_{which}_forward")
        backward = getattr(layer_utils, f"affine_{which}_backward")
        out, cache = expect(lambda: forward(x, theta, theta0), *hints)
    g = np.ones_like(out) if dout is None else dout
    expect(lambda: backward(g, cache), "dout", "backward", *hints)


@fast()
@given(args=sandwich_args())
def test_sandwich_layers(args: dict[str, Any]) -> None:
    _count("layer_utils", _sandwich, args)


@slow(400)
@given(args=sandwich_args())
def test_sandwich_layers_slow(args: Any) -> None:
    _count("layer_utils [slow]", _sandwich, args)


# --------------------------------------------------------------------------------------------
# Models: constructors, loss(X, y), predict
# --------------------------------------------------------------------------------------------

SIZES = st.one_of(st.integers(1, 5), st.sampled_from((np.int64(3),)), BAD_SIZES, JUNK_SCALARS)
#: The small valid sizes; junk that is an int > 5 is kept out (no large allocations).
SIZE_ARG = SIZES.filter(
    lambda v: not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 5 < v < 10**15)
)
COMMON_MODEL_KWARGS = {
    "weight_scale": numbers(1e-2, 1.0),
    "reg": numbers(0.0, 1e-3),
    "dtype": st.one_of(
        st.sampled_from(("float32", "float64", np.float32, np.float64, np.dtype("float64"))),
        st.sampled_from(("float16", "int32", "f8", ">f4", "float", "complex64", "abc", "S3")),
        st.sampled_from((np.float16, int, float, bool, object, "f4,f4", "(2)f4")),
        JUNK,
    ),
    "seed": st.one_of(st.integers(0, 5), JUNK_SCALARS),
    "activation": ACTIVATION_ARG,
    "dropout": numbers(0.0, 0.5),
    "rng": st.one_of(st.none(), st.builds(np.random.default_rng, st.integers(0, 3)), JUNK),
}
MODEL_KWARGS = {
    "TwoLayerNet": {
        "input_dim": SIZE_ARG,
        "hidden_dim": SIZE_ARG,
        "num_classes": SIZE_ARG,
        **COMMON_MODEL_KWARGS,
    },
    "ThreeLayerNet": {
        "input_dim": SIZE_ARG,
        "hidden_dim_1": SIZE_ARG,
        "hidden_dim_2": SIZE_ARG,
        "num_classes": SIZE_ARG,
        **COMMON_MODEL_KWARGS,
    },
    "FullyConnectedNet": {
        "input_dim": SIZE_ARG,
        "num_classes": SIZE_ARG,
        "normalization": st.one_of(
            st.sampled_from((None, "batchnorm", "layernorm", "none", "BatchNorm")), JUNK
        ),
        "weight_init": st.one_of(st.sampled_from((None, "he", "xavier", "He", "")), JUNK),
        **COMMON_MODEL_KWARGS,
    },
}
VALID_MODEL_KWARGS = {
    "input_dim": st.integers(1, 5),
    "hidden_dim": st.integers(1, 5),
    "hidden_dim_1": st.integers(1, 5),
    "hidden_dim_2": st.integers(1, 5),
    "num_classes": st.integers(1, 5),
    "weight_scale": st.sampled_from((1e-2, 1.0)),
    "reg": st.sampled_from((0.0, 1e-3)),
    "dtype": st.sampled_from(("float32", "float64", np.float64)),
    "seed": st.one_of(st.none(), st.integers(0, 5)),
    "activation": st.sampled_from(ACTIVATION_NAMES),
    "dropout": st.sampled_from((0.0, 0.5)),
    "rng": st.one_of(st.none(), st.builds(np.random.default_rng, st.integers(0, 3))),
    "normalization": st.sampled_from((None, "batchnorm", "layernorm")),
    "weight_init": st.sampled_from((None, "he", "xavier")),
}
MODEL_CLASSES = {"TwoLayerNet": TwoLayerNet, "ThreeLayerNet": ThreeLayerNet}
MODEL_CLASSES["FullyConnectedNet"] = FullyConnectedNet


@st.composite
def model_args(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(sorted(MODEL_KWARGS)))
    junk = MODEL_KWARGS[name]
    kwargs = draw(mostly_valid({k: VALID_MODEL_KWARGS[k] for k in junk}, junk))
    if name == "FullyConnectedNet":
        kwargs["hidden_dims"] = draw(
            st.one_of(
                st.lists(st.integers(1, 4), max_size=3),
                st.lists(SIZE_ARG, max_size=2),
                st.tuples(st.integers(1, 4)),
                JUNK,
            )
        )
    kwargs.setdefault("input_dim", 4)  # the default 3072-wide input is big for a fuzz loop
    return {"name": name, "kwargs": kwargs}


def _model(name: str, kwargs: dict[str, Any]) -> None:
    hints = (*kwargs, "layer", "size", "dims", *shown(*kwargs.values()))
    model = expect(lambda: MODEL_CLASSES[name](**kwargs), *hints)
    # Accepted: the model must then work on well-formed data.
    d, c = model.dims[0], model.dims[-1]
    X = np.linspace(-1, 1, 3 * d).reshape(3, d)
    y = np.arange(3) % c
    expect(lambda: model.loss(X, y), *hints)
    expect(lambda: model.loss(X), *hints)
    expect(lambda: model.predict(X), *hints)


@fast()
@given(args=model_args())
def test_model_constructors(args: dict[str, Any]) -> None:
    _count("models.__init__", _model, args)


@slow(400)
@given(args=model_args())
def test_model_constructors_slow(args: Any) -> None:
    _count("models.__init__ [slow]", _model, args)


#: Small models to feed junk to: 4 input features (as (m, 4) or (m, 2, 2)), 3 classes.
SMALL_MODELS: dict[str, Callable[[], Any]] = {
    "two-layer": lambda: TwoLayerNet(input_dim=4, hidden_dim=3, num_classes=3, seed=0),
    "three-layer-f32": lambda: ThreeLayerNet(4, 3, 2, 3, dtype=np.float32, seed=0),
    "fc-batchnorm-dropout": lambda: FullyConnectedNet(
        [3, 2], 4, 3, dropout=0.5, normalization="batchnorm", seed=0
    ),
    "fc-layernorm-tanh": lambda: FullyConnectedNet(
        [3], 4, 3, normalization="layernorm", activation="tanh", rng=np.random.default_rng(0)
    ),
    "fc-softmax": lambda: FullyConnectedNet([], 4, 3, activation="sigmoid", seed=0),
}


@st.composite
def model_loss_args(draw: st.DrawFn) -> dict[str, Any]:
    m = draw(st.integers(0, 4))
    x_shape = draw(st.sampled_from(((m, 4), (m, 2, 2), (m, 3), (m,), (m, 4, 1))))
    return {
        "model": draw(st.sampled_from(sorted(SMALL_MODELS))),
        "X": draw(value_at(x_shape)),
        "y": draw(st.one_of(st.none(), labels(m, 3))),
        "training": draw(st.one_of(st.none(), st.booleans(), JUNK_SCALARS)),
        "batch_size": draw(st.one_of(st.sampled_from((1, 2, 1000)), BAD_SIZES, JUNK_SCALARS)),
    }


def _model_loss(model: str, X: Any, y: Any, training: Any, batch_size: Any) -> None:
    net = SMALL_MODELS[model]()
    hints = ("X", "y", "labels", "label", "training", "batch_size", *shown(training, batch_size))
    hints += ("expects", "softmax_loss")
    expect(lambda: net.loss(X, y, training=training), *hints)
    expect(lambda: net.predict(X, batch_size=batch_size), *hints)


@fast(100)
@given(args=model_loss_args())
def test_model_loss_and_predict(args: Any) -> None:
    _count("models.loss/predict", _model_loss, args)


@slow(400)
@given(args=model_loss_args())
def test_model_loss_and_predict_slow(args: Any) -> None:
    _count("models.loss/predict [slow]", _model_loss, args)


# --------------------------------------------------------------------------------------------
# Solver
# --------------------------------------------------------------------------------------------

HYPER_NAMES = sorted({k for d in optim.DEFAULTS.values() for k in d})
OPTIM_CONFIGS = st.one_of(
    st.dictionaries(
        st.one_of(
            st.sampled_from(HYPER_NAMES),
            st.sampled_from(("lr", "velocity", "m", "v", "t", "cache", "learning-rate")),
            st.integers(0, 2),
        ),
        numbers(1e-2, 0.9, 0.5),
        max_size=3,
    ),
    st.none(),
    JUNK,
)
CALLABLES = st.sampled_from(
    (
        lambda epoch: 0.5,
        lambda epoch: math.nan,
        lambda epoch: "x",
        lambda epoch: None,
        lambda epoch: -1.0,
        lambda epoch: math.inf,
        lambda epoch: 10**400,
        print,
    )
)
SCHEDULE_SPECS = st.one_of(
    st.none(),
    st.sampled_from(("step", "exponential", "cosine", "constant", "Cosine", "")),
    st.fixed_dictionaries(
        {"name": st.one_of(st.sampled_from(("step", "exponential", "cosine", "constant")), JUNK)},
        optional={
            "step_size": numbers(1, 2),
            "gamma": numbers(0.5, 0.9),
            "min_factor": numbers(0.0, 0.5),
            "num_epochs": numbers(1, 3),
            "junk": JUNK_SCALARS,
        },
    ),
    CALLABLES,
    JUNK,
)
SOLVER_KWARGS = {
    "update_rule": st.one_of(st.sampled_from(sorted(optim.UPDATE_RULES)), CALLABLES, JUNK),
    "optim_config": OPTIM_CONFIGS,
    "lr_decay": numbers(1.0, 0.9),
    "batch_size": st.one_of(st.integers(1, 8), BAD_SIZES, JUNK_SCALARS).filter(
        lambda v: not (isinstance(v, int) and 8 < v < 10**15)
    ),
    # Never more than 3 epochs (a valid huge count would train for ever).
    "num_epochs": st.one_of(
        st.integers(0, 3), st.sampled_from((-1, 1.0, 2.5, math.nan, "2", None))
    ),
    "num_train_samples": st.one_of(st.none(), st.integers(1, 5), BAD_SIZES, JUNK_SCALARS),
    "num_val_samples": st.one_of(st.none(), st.integers(1, 5), BAD_SIZES, JUNK_SCALARS),
    "print_every": st.one_of(st.integers(1, 3), BAD_SIZES, JUNK_SCALARS),
    "verbose": st.one_of(st.just(False), JUNK),
    "seed": st.one_of(st.integers(0, 3), JUNK_SCALARS),
    "progress": st.one_of(st.just(False), JUNK_SCALARS),
    "lr_schedule": SCHEDULE_SPECS,
    "patience": st.one_of(st.none(), st.integers(1, 2), BAD_SIZES, JUNK_SCALARS),
    "min_delta": numbers(0.0, 0.1),
    "restore_best": st.one_of(st.booleans(), JUNK),
    "keep_checkpoints": st.one_of(st.booleans(), JUNK_SCALARS),
    "epoch_callback": st.one_of(st.none(), CALLABLES, JUNK_SCALARS),
    "callbacks": st.one_of(st.none(), st.just([]), JUNK),
    "engine": st.one_of(st.sampled_from((None, "numpy")), JUNK_SCALARS),
    "divergence_factor": st.one_of(st.none(), numbers(1e3, 2.0)),
    # names that are no Solver keyword
    "lr": numbers(0.1),
    "learning_rate": numbers(0.1),
    "epochs": numbers(1),
}


#: Valid values of the Solver's keywords (small: every run trains in milliseconds).
SOLVER_VALID = {
    "update_rule": st.sampled_from(sorted(optim.UPDATE_RULES)),
    "lr_decay": st.sampled_from((1.0, 0.9)),
    "batch_size": st.integers(1, 8),
    "num_epochs": st.integers(0, 3),
    "num_train_samples": st.one_of(st.none(), st.integers(1, 5)),
    "num_val_samples": st.one_of(st.none(), st.integers(1, 5)),
    "print_every": st.integers(1, 3),
    "seed": st.one_of(st.none(), st.integers(0, 3)),
    "lr_schedule": st.sampled_from(
        (None, "step", "cosine", {"name": "exponential", "gamma": 0.5}, lambda epoch: 0.5)
    ),
    "patience": st.one_of(st.none(), st.integers(1, 2)),
    "min_delta": st.sampled_from((0.0, 0.1)),
    "restore_best": st.booleans(),
    "keep_checkpoints": st.booleans(),
    "divergence_factor": st.sampled_from((None, 2.0, 1e3)),
}


@st.composite
def solver_data(draw: st.DrawFn) -> Any:
    rng = np.random.default_rng(draw(st.integers(0, 3)))
    data: dict[str, Any] = {}
    for split, n in (("train", draw(st.integers(1, 6))), ("val", draw(st.integers(1, 4)))):
        data[f"X_{split}"] = rng.standard_normal((n, 4))
        data[f"y_{split}"] = rng.integers(0, 3, n)
    broken = draw(st.lists(st.sampled_from(sorted(data)), max_size=2, unique=True))
    for key in broken if draw(st.integers(0, 2)) == 0 else ():
        n = len(data[key])
        if draw(st.booleans()):
            del data[key]
        elif key.startswith("X"):
            data[key] = draw(value_at(draw(st.sampled_from(((n, 4), (n, 2, 2), (n + 1, 4))))))
        else:
            data[key] = draw(labels(n, 3))
    return data if draw(st.integers(0, 7)) else draw(JUNK)


@st.composite
def solver_args(draw: st.DrawFn) -> dict[str, Any]:
    kwargs = draw(mostly_valid(SOLVER_VALID, SOLVER_KWARGS, min_junk=1))
    kwargs.setdefault("verbose", False)
    kwargs.setdefault("num_epochs", 2)
    return {
        "model": draw(st.sampled_from(sorted(SMALL_MODELS)))
        if draw(st.integers(0, 5))
        else draw(JUNK_SCALARS),
        "data": draw(solver_data()),
        "kwargs": kwargs,
    }


def _solver(model: Any, data: Any, kwargs: dict[str, Any]) -> None:
    net = SMALL_MODELS[model]() if isinstance(model, str) and model in SMALL_MODELS else model
    hints = (*kwargs, "model", "data", "X_train", "y_train", "X_val", "y_val", "optim_config")
    hints += shown(*kwargs.values())
    solver = expect(lambda: Solver(net, data, **kwargs), *hints)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        expect(solver.train, *hints)


@fast(150)
@given(args=solver_args())
def test_solver(args: dict[str, Any]) -> None:
    _count("Solver", _solver, args)


@slow(600)
@given(args=solver_args())
def test_solver_slow(args: Any) -> None:
    _count("Solver [slow]", _solver, args)


@st.composite
def accuracy_args(draw: st.DrawFn) -> dict[str, Any]:
    m = draw(st.integers(0, 5))
    return {
        "X": draw(value_at(draw(st.sampled_from(((m, 4), (m, 2, 2), (m, 3)))))),
        "y": draw(labels(m, 3)),
        "num_samples": draw(st.one_of(st.none(), st.integers(1, 6), BAD_SIZES, JUNK_SCALARS)),
        "batch_size": draw(st.one_of(st.integers(1, 6), BAD_SIZES, JUNK_SCALARS)),
    }


def _check_accuracy(X: Any, y: Any, num_samples: Any, batch_size: Any) -> None:
    rng = np.random.default_rng(0)
    data = {"X_train": rng.standard_normal((5, 4)), "y_train": np.array([0, 1, 2, 0, 1])}
    data.update(X_val=data["X_train"], y_val=data["y_train"])
    solver = Solver(SMALL_MODELS["two-layer"](), data, verbose=False, seed=0)
    hints = ("X", "y", "num_samples", "batch_size", "labels", *shown(num_samples, batch_size))
    hints += ("examples", "expects")
    expect(lambda: solver.check_accuracy(X, y, num_samples, batch_size), *hints)


@fast(100)
@given(args=accuracy_args())
def test_check_accuracy(args: Any) -> None:
    _count("Solver.check_accuracy", _check_accuracy, args)


@slow(400)
@given(args=accuracy_args())
def test_check_accuracy_slow(args: Any) -> None:
    _count("Solver.check_accuracy [slow]", _check_accuracy, args)


# --------------------------------------------------------------------------------------------
# Update rules and their configs (optim.py)
# --------------------------------------------------------------------------------------------


@st.composite
def update_args(draw: st.DrawFn) -> dict[str, Any]:
    shape = draw(st.sampled_from(((2, 3), (3,), (), (0, 2))))
    return {
        "rule": draw(st.sampled_from(sorted(optim.UPDATE_RULES))),
        "w": draw(value_at(shape)),
        "dw": draw(value_at(shape)),
        "config": draw(OPTIM_CONFIGS),
    }


def _update(rule: str, w: Any, dw: Any, config: Any) -> None:
    fn = optim.UPDATE_RULES[rule]
    values = config.values() if isinstance(config, dict) else ()
    hints = (rule, "w", "dw", "config", "optim_config", *HYPER_NAMES, *shown(*values))
    w = w.copy() if isinstance(w, np.ndarray) else w
    cfg = dict(config) if isinstance(config, dict) else config
    expect(lambda: fn(w, dw, cfg), *hints)
    if isinstance(cfg, dict):  # a second step continues from the state of the first
        expect(lambda: fn(w, dw, cfg), *hints)


@fast(100)
@given(args=update_args())
def test_update_rules(args: Any) -> None:
    _count("optim update rules", _update, args)


@slow(400)
@given(args=update_args())
def test_update_rules_slow(args: Any) -> None:
    _count("optim update rules [slow]", _update, args)


CHECK_CONFIG_ARGS = {
    "rule": st.one_of(st.sampled_from(sorted(optim.UPDATE_RULES)), CALLABLES, JUNK),
    "config": OPTIM_CONFIGS,
}


def _check_config(rule: Any, config: Any) -> None:
    values = config.values() if isinstance(config, dict) else ()
    hints = ("optim_config", "update_rule", "config", *HYPER_NAMES, *shown(rule, *values))
    expect(lambda: optim.check_config(rule, config), *hints)
    expect(lambda: optim.get_update_rule(rule), *hints)


@fast()
@given(**CHECK_CONFIG_ARGS)
def test_check_config(rule: Any, config: Any) -> None:
    _count("optim.check_config", _check_config, {"rule": rule, "config": config})


@slow()
@given(**CHECK_CONFIG_ARGS)
def test_check_config_slow(rule: Any, config: Any) -> None:
    _count("optim.check_config [slow]", _check_config, {"rule": rule, "config": config})


# --------------------------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------------------------

SCHEDULE_FACTORIES = {
    "step": {"step_size": numbers(1, 2, 10), "gamma": numbers(0.1, 0.5, 2.0)},
    "exponential": {"gamma": numbers(0.95, 0.5, 2.0)},
    "cosine": {"num_epochs": numbers(1, 5), "min_factor": numbers(0.0, 0.5, 1.0)},
    "constant": {},
}


@st.composite
def schedule_args(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(sorted(SCHEDULE_FACTORIES)))
    kwargs = draw(st.fixed_dictionaries({}, optional=SCHEDULE_FACTORIES[name]))
    if name == "cosine":
        kwargs.setdefault("num_epochs", 3)
    return {
        "name": name,
        "kwargs": kwargs,
        "spec": draw(SCHEDULE_SPECS),
        "num_epochs": draw(st.one_of(st.integers(0, 5), JUNK_SCALARS)),
        "epochs": draw(st.integers(0, 30)),
    }


def _schedule(name: str, kwargs: dict[str, Any], spec: Any, num_epochs: Any, epochs: int) -> None:
    hints = (name, *kwargs, "lr_schedule", "num_epochs", *shown(*kwargs.values(), spec))
    if isinstance(spec, dict):  # a spec's own options may be the bad ones
        hints += (*map(str, spec), *shown(*spec.values()))

    def factors(schedule: Callable[[int], Any]) -> None:
        for epoch in range(epochs + 1):
            f = schedule(epoch)
            # An accepted schedule must give a usable factor at every epoch (not inf, not NaN).
            ok = isinstance(f, _numbers.Real) and not isinstance(f, bool)
            assert ok and math.isfinite(f) and f >= 0, (epoch, f)

    made = expect(lambda: getattr(schedules, name)(**kwargs), *hints)
    factors(made)
    if not callable(spec):  # a user's callable may return what it likes; the Solver checks
        got = expect(lambda: schedules.get_schedule(spec, num_epochs), *hints)
        factors(got)


@fast(100)
@given(args=schedule_args())
def test_schedules(args: Any) -> None:
    _count("schedules", _schedule, args)


@slow(400)
@given(args=schedule_args())
def test_schedules_slow(args: Any) -> None:
    _count("schedules [slow]", _schedule, args)


# --------------------------------------------------------------------------------------------
# Options table and recipes
# --------------------------------------------------------------------------------------------

#: Valid Python values of each option (recipes, keywords), beside the junk.
VALID_VALUES: dict[str, tuple[Any, ...]] = {
    "dataset": ("digits", "mnist", "cifar10", "csv:/nonexistent/t.csv", "npz:", "csv:"),
    "data_dir": ("data", "/nonexistent/dir"),
    "accept_sha256": (None, "ab" * 32, "AB" * 32 + "," + "0" * 64),
    "augment": (None, {}, {"shift": 2}, {"flip": True, "shift": 4}, {"rotate": 10.0, "scale": 0.1}),
    "preprocess": ("none", "standardize", "zca", "zca:0.01"),
    "val_size": (None, 1, 100, 180, 1500, 5000),
    "model": ("two-layer", "three-layer", "fc"),
    "hidden": (None, (4,), (4, 4), [3], (1, 2, 3), (np.int64(2),)),
    "epochs": (1, 2),
    "batch_size": (1, 50),
    "lr": (0.1, 1e-3),
    "lr_decay": (1.0, 0.5),
    "update_rule": tuple(sorted(optim.UPDATE_RULES)),
    "reg": (0.0, 1e-3),
    "weight_scale": (0.1,),
    "dtype": ("float32", "float64"),
    "seed": (0, 7),
    "activation": ACTIVATION_NAMES,
    "dropout": (0.0, 0.5),
    "norm": ("none", "batchnorm", "layernorm"),
    "weight_init": (None, "he", "xavier"),
    "lr_schedule": (
        None,
        {"name": "cosine"},
        {"name": "step", "step_size": 2},
        {"name": "exponential", "gamma": 0.9},
    ),
    "early_stopping": (None, 2),
    "min_delta": (0.0, 0.01),
    "engine": ("numpy", "keras"),
    "target": (None, ("price",), ("a", "b"), ("a", "a")),
    "task": ("auto", "classification", "regression", "multilabel"),
    "impute": ("none", "mean", "median"),
    "loss": ("auto", "softmax", "svm", "mse", "huber", "sigmoid_cross_entropy"),
    "monitor": ("score", "val_loss"),
}
OPTION_VALUES = {
    name: st.one_of(st.sampled_from(VALID_VALUES[name]), SCHEDULE_SPECS, JUNK)
    if name == "lr_schedule"
    else st.one_of(st.sampled_from(VALID_VALUES[name]), JUNK)
    for name in BY_NAME
}


@st.composite
def recipe_options(draw: st.DrawFn) -> dict[str, Any]:
    valid = {name: st.sampled_from(VALID_VALUES[name]) for name in BY_NAME}
    values = draw(mostly_valid(valid, OPTION_VALUES, min_junk=1))
    if draw(st.integers(0, 4)) == 0:  # a name that is no option
        values[draw(st.sampled_from(("learning_rate", "hidden_dims", "lr ", "Epochs")))] = 1
    return values


def _recipe_from_options(values: dict[str, Any]) -> None:
    hints = (*values, *shown(*values.values()), "hidden", "option", "norm", "weight_init")
    recipe = expect(lambda: Recipe.from_options(**values), *hints)
    again = expect(lambda: Recipe.from_dict(json.loads(json.dumps(recipe.to_dict()))), *hints)
    assert again == recipe


@fast()
@given(values=recipe_options())
def test_recipe_from_options(values: dict[str, Any]) -> None:
    _count("Recipe.from_options", _recipe_from_options, {"values": values})


@slow()
@given(values=recipe_options())
def test_recipe_from_options_slow(values: dict[str, Any]) -> None:
    _count("Recipe.from_options [slow]", _recipe_from_options, {"values": values})


JSON_JUNK = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=5),
        st.sampled_from((10**400, math.nan, math.inf, "float16", "two-layer", "sgd", "")),
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=5,
)


@st.composite
def json_edits(draw: st.DrawFn) -> list[tuple[str, int, int, Any]]:
    """Edits of a JSON object: (kind, index of the key, index of a nested key, new value)."""
    return draw(
        st.lists(
            st.tuples(
                st.sampled_from(("set", "set", "delete", "add", "set-nested", "delete-nested")),
                st.integers(0, 30),
                st.integers(0, 30),
                JSON_JUNK,
            ),
            min_size=1,
            max_size=3,
        )
    )


def apply_edits(obj: Any, edits: list[tuple[str, int, int, Any]]) -> Any:
    """``obj`` (a JSON object) with the ``edits`` made, a key chosen by index."""
    for kind, i, j, value in edits:
        if not isinstance(obj, dict) or not obj:
            return value
        keys = sorted(obj)
        key = keys[i % len(keys)]
        if kind == "set":
            obj[key] = value
        elif kind == "delete":
            del obj[key]
        elif kind == "add":
            obj[f"extra{i}"] = value
        else:  # nested: an entry of one of the objects or lists inside (a recipe's network)
            inside = [k for k in keys if isinstance(obj[k], dict | list) and obj[k]]
            if not inside:
                obj[key] = value
                continue
            outer = obj[inside[i % len(inside)]]
            if isinstance(outer, list):
                outer[j % len(outer)] = value
            elif kind == "set-nested":
                outer[sorted(outer)[j % len(outer)]] = value
            else:
                del outer[sorted(outer)[j % len(outer)]]
    return obj


def _recipe_from_dict(edits: list[tuple[str, int, int, Any]], model: str) -> None:
    base = Recipe.from_options(model=model, hidden=(4,) if model == "two-layer" else (4, 4))
    fields = apply_edits(json.loads(json.dumps(base.to_dict())), edits)
    values = [v for _, _, _, v in edits]
    hints = ("recipe", "network", "schema_version", "NetSpec", *shown(*values))
    hints += (*BY_NAME, "hidden_dims", "learning_rate", "optimizer", "optimizer_options")
    hints += ("input_dim", "num_classes", "normalization", "fields")
    recipe = expect(lambda: Recipe.from_dict(fields), *hints)
    expect(lambda: Recipe.from_dict(recipe.to_dict()), *hints)


RECIPE_DICT_ARGS = {"edits": json_edits(), "model": st.sampled_from(("two-layer", "fc"))}


@fast()
@given(**RECIPE_DICT_ARGS)
def test_recipe_from_dict(edits: Any, model: str) -> None:
    _count("Recipe.from_dict", _recipe_from_dict, {"edits": edits, "model": model})


@slow()
@given(**RECIPE_DICT_ARGS)
def test_recipe_from_dict_slow(edits: Any, model: str) -> None:
    _count("Recipe.from_dict [slow]", _recipe_from_dict, {"edits": edits, "model": model})


#: Texts a flag may be given: numbers near the edges, lists, schedules, unicode digits, junk.
NASTY_TEXTS = (
    "",
    " ",
    "0",
    "-1",
    "1",
    "2",
    "0.5",
    "1e-3",
    "1e400",
    "-1e400",
    "nan",
    "inf",
    "-inf",
    "1_0",
    "0x10",
    "True",
    "None",
    "٣",
    "²",
    "4,4",
    "4,",
    ",",
    "4,-1",
    "1e15",
    "10000000000000000",
    "9" * 5000,
    "cosine",
    "cosine:0.5",
    "cosine:2",
    "cosine:nan",
    "step",
    "step:²",
    "step:0",
    "step:1:0.5",
    "step:1.5",
    "step:" + "9" * 5000,
    "exponential:0.9",
    "exponential:1e200",
    "exponential:inf",
    "exponential:-1",
    "exponential:",
    "constant",
    "::",
    "digits",
    "relu",
    "fc",
    "adam",
    "float64",
    "batchnorm",
    "he",
)
TEXTS = st.one_of(st.sampled_from(NASTY_TEXTS), st.text(max_size=6))


def _option_parse(name: str, text: str) -> None:
    opt = option(name)
    hints: tuple[str, ...] = (name, opt.flag, repr(text), text, "expected", "choice")
    hints += ("step_size", "gamma")
    hints += ("min_factor", "num_epochs")
    expect(lambda: opt.parse(text), *hints)


def _option_check(name: str, value: Any) -> None:
    hints = (name, *shown(value))
    expect(lambda: option(name).check(value), *hints)


def _option_lookup(name: Any) -> None:
    expect(lambda: option(name), "option", *shown(name))


OPTION_NAMES = st.sampled_from(sorted(BY_NAME))


@fast()
@given(name=OPTION_NAMES, text=TEXTS, value=JUNK, lookup=st.one_of(OPTION_NAMES, TEXTS, JUNK))
def test_options(name: str, text: str, value: Any, lookup: Any) -> None:
    _count("Option.parse", _option_parse, {"name": name, "text": text})
    _count("Option.check", _option_check, {"name": name, "value": value})
    _count("options.option", _option_lookup, {"name": lookup})


@slow()
@given(name=OPTION_NAMES, text=TEXTS, value=JUNK, lookup=st.one_of(OPTION_NAMES, TEXTS, JUNK))
def test_options_slow(name: str, text: str, value: Any, lookup: Any) -> None:
    _count("Option.parse [slow]", _option_parse, {"name": name, "text": text})
    _count("Option.check [slow]", _option_check, {"name": name, "value": value})
    _count("options.option [slow]", _option_lookup, {"name": lookup})


# --------------------------------------------------------------------------------------------
# Damaged files: io.load_model
# --------------------------------------------------------------------------------------------


@st.composite
def damages(draw: st.DrawFn) -> tuple[Any, ...]:
    """How to damage a file: rewrite it, truncate it, flip bytes, edit its JSON, rewrite its
    arrays (npz), nest it too deep."""
    kind = draw(
        st.sampled_from(("text", "bytes", "truncate", "flip", "json", "json", "arrays", "deep"))
    )
    if kind == "text":
        return (kind, draw(st.text(max_size=30)))
    if kind == "bytes":
        return (kind, draw(st.binary(max_size=40)))
    if kind == "truncate":
        return (kind, draw(st.floats(0, 1)))
    if kind == "flip":
        return (kind, draw(st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), max_size=4)))
    if kind == "json":
        return (kind, draw(json_edits()))
    if kind == "arrays":
        return (
            kind,
            draw(
                st.lists(
                    st.tuples(
                        st.sampled_from(("dtype", "shape", "delete", "add", "scalar")),
                        st.integers(0, 10),
                        st.sampled_from(("<U3", "complex128", "bool", "int8", "float16", "V2")),
                    ),
                    min_size=1,
                    max_size=2,
                )
            ),
        )
    return (kind, draw(st.sampled_from((10, 100_000))))


def damage(path: Path, how: tuple[Any, ...]) -> None:
    """Damage the file at ``path`` as ``how`` says (see :func:`damages`)."""
    kind, arg = how
    raw = path.read_bytes() if path.is_file() else b""
    if kind == "text":
        path.write_text(arg, encoding="utf-8")
    elif kind == "bytes":
        path.write_bytes(arg)
    elif kind == "truncate":
        path.write_bytes(raw[: int(len(raw) * arg)])
    elif kind == "flip":
        data = bytearray(raw)
        for where, mask in arg:
            if data:
                data[min(int(where * len(data)), len(data) - 1)] ^= mask
        path.write_bytes(bytes(data))
    elif kind == "deep":
        path.write_text("[" * arg + "]" * arg)
    elif kind == "json" and path.suffix == ".json":
        try:
            obj = apply_edits(json.loads(raw), arg)
        except ValueError:  # damaged already (an earlier damage of the same file): reverse it
            path.write_bytes(raw[::-1])
            return
        path.write_text(json.dumps(obj, allow_nan=True))
    elif kind == "arrays" and path.suffix == ".npz":
        try:
            with np.load(path) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError, EOFError):  # damaged already: reverse its bytes instead
            path.write_bytes(raw[::-1])
            return
        for what, i, dtype in arg:
            keys = sorted(arrays)
            key = keys[i % len(keys)]
            if what == "dtype":
                arrays[key] = arrays[key].astype(dtype)
            elif what == "shape":
                arrays[key] = arrays[key].reshape(-1)[: max(arrays[key].size - 1, 0)]
            elif what == "delete" and len(arrays) > 1:
                del arrays[key]
            elif what == "add":
                arrays[f"extra{i}"] = np.zeros(2)
            elif what == "scalar":
                arrays[key] = np.float64(i)
        np.savez(path, **arrays)
    else:  # a JSON edit of an npz file, arrays of a JSON file: rewrite its bytes instead
        path.write_bytes(raw[::-1])


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One saved model of each kind (a batchnorm one, with buffers) to damage copies of."""
    root = tmp_path_factory.mktemp("saved")
    models = {
        "two-layer": SMALL_MODELS["two-layer"](),
        "three-layer-f32": SMALL_MODELS["three-layer-f32"](),
        "fc-batchnorm": FullyConnectedNet([3, 2], 4, 3, normalization="batchnorm", seed=0),
    }
    out = {}
    for name, model in models.items():
        (root / name).mkdir()
        out[name] = save_model(model, root / name / "model.npz")
    return out


LOAD_ARGS = {
    "which": st.sampled_from(("two-layer", "three-layer-f32", "fc-batchnorm")),
    "target": st.sampled_from(("model.json", "model.npz")),
    "how": damages(),
    "also": st.one_of(st.none(), damages()),
}


def _load_model(saved: dict[str, Path], which: str, target: str, how: Any, also: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "m"
        shutil.copytree(saved[which].parent, folder)
        damage(folder / target, how)
        if also is not None:
            other = "model.npz" if target == "model.json" else "model.json"
            damage(folder / other, also)
        hints = ("model.json", "model.npz", str(folder))
        model = expect(lambda: load_model(folder / "model.npz"), *hints)
        X = np.ones((2, *np.shape(model.params["theta1"])[:1]))
        expect(lambda: model.loss(X), *hints)  # a model that loads must compute


@fast()
@given(**LOAD_ARGS)
def test_load_model_damaged(saved_models: dict[str, Path], **args: Any) -> None:
    _count("io.load_model", _load_model, {"saved": saved_models, **args})


@slow()
@given(**LOAD_ARGS)
def test_load_model_damaged_slow(saved_models: dict[str, Path], **args: Any) -> None:
    _count("io.load_model [slow]", _load_model, {"saved": saved_models, **args})


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_cwd() -> Iterator[Path]:
    """A new, empty working directory for one example (no runs/ folder leaks, and every
    replay of an example sees the same empty folder)."""
    old = os.getcwd()
    tmp = tempfile.mkdtemp(prefix="layerwise-fuzz-")
    os.chdir(tmp)
    try:
        yield Path(tmp)
    finally:
        os.chdir(old)
        shutil.rmtree(tmp, ignore_errors=True)


def run_cli(argv: list[str], hints: tuple[str, ...]) -> None:
    """Run the command line; exit 0/3 is success, exit 2 with one named error line on stderr
    a clean error; anything else (a traceback, several lines, another status) fails."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli_main(argv)
    if rc in (0, 3):
        return
    lines = err.getvalue().splitlines()
    errors = [line for line in lines if line.startswith("layerwise: error: ")]
    assert rc == 2, f"exit status {rc}; stderr {err.getvalue()[-2000:]!r}"
    assert len(errors) == 1 and len(lines) == 1, f"stderr is not one error line: {lines!r}"
    message = errors[0].removeprefix("layerwise: error: ")
    assert _names_something(message, hints), f"error line names none of {list(hints)}: {message!r}"
    raise _CleanError(message)


#: Valid flag texts of ``layerwise train`` (beside the junk of TEXTS), by flag. Only the
#: embedded digits, the numpy engine and small networks: every run trains in about a second.
TRAIN_TEXTS: dict[str, tuple[str, ...]] = {
    "--val-size": ("5", "100", "180", "1700"),
    "--model": ("two-layer", "three-layer", "fc"),
    "--hidden": ("4", "4,4", "3,2,2", "2"),
    "--batch-size": ("10", "50", "2000"),
    "--lr": ("0.5", "1e-3", "1e6"),
    "--lr-decay": ("0.9", "1"),
    "--update-rule": tuple(sorted(optim.UPDATE_RULES)),
    "--reg": ("0", "0.01", "1e300"),
    "--weight-scale": ("0.1", "100", "1e300"),
    "--dtype": ("float32", "float64"),
    "--seed": ("0", "3", "99999999999999999999"),
    "--activation": ACTIVATION_NAMES,
    "--dropout": ("0", "0.5", "0.99"),
    "--norm": ("none", "batchnorm", "layernorm"),
    "--weight-init": ("he", "xavier"),
    "--lr-schedule": ("cosine", "cosine:0.5", "step:1:0.5", "exponential:0.9", "exponential:1e200"),
    "--early-stopping": ("1", "3"),
    "--min-delta": ("0", "0.5"),
    "--engine": ("numpy",),
    "--data-dir": ("nope", "."),
    "--accept-sha256": ("ab" * 32, "0" * 63, "nothex"),
    "--augment": ("shift=1", "shift=-1", "crop=2", "flip=maybe"),
    "--preprocess": ("standardize", "zca:0", "whiten"),
    # A shipped recipe with the forced digits dataset (cifar10-best's flip is refused there).
    "--recipe": ("mnist-best", "cifar10-best", "nope", "x.json", "."),
    "--print-every": ("1", "5"),
    "--out": ("r1", "sub/r2", "."),
    "--resume": ("nope", "."),
    "--target": ("price", "a,b", "a,,b", ""),
    "--task": ("auto", "regression", "multilabel"),
    "--impute": ("none", "mean"),
    "--loss": ("auto", "mse", "svm", "huber"),
    "--monitor": ("score", "val_loss"),
}
assert {o.flag for o in OPTIONS} - {"--dataset", "--epochs"} <= set(TRAIN_TEXTS)
#: Flag texts that must not be fuzzed (a real dataset download, a framework import, a long
#: run, a path outside the working directory).
_UNSAFE_TEXT = re.compile(r"^(mnist|cifar10|keras|tensorflow)$|^[/~]|\.\.")


def _train_text(flag: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(TRAIN_TEXTS[flag]), TEXTS).filter(
        lambda t: (
            not _UNSAFE_TEXT.search(t)
            and not (
                flag in ("--hidden", "--batch-size", "--val-size") and t.isdigit() and len(t) > 4
            )
        )
    )


@st.composite
def train_argv(draw: st.DrawFn) -> list[str]:
    argv = ["train"]
    for flag in draw(st.lists(st.sampled_from(sorted(TRAIN_TEXTS)), max_size=3)):
        text = draw(_train_text(flag))
        argv += [f"{flag}={text}"] if draw(st.booleans()) else [flag, text]
    if draw(st.integers(0, 5)) == 0:
        argv += draw(st.sampled_from((["--quiet"], ["--epochs", "0"], ["junk"], ["--lr"], ["-x"])))
    return [*argv, "--dataset", "digits", "--epochs", "1"]


def _cli_train(argv: list[str]) -> None:
    fuzzed = argv[1:-4]  # not "train" and the forced "--dataset digits --epochs 1"
    hints = tuple(a.split("=", 1)[0] for a in fuzzed) + tuple(a.split("=", 1)[-1] for a in fuzzed)
    hints += tuple(repr(a.split("=", 1)[-1]) for a in fuzzed)
    with fresh_cwd():
        run_cli(argv, hints)


@fast(25)
@given(argv=train_argv())
def test_cli_train(argv: list[str]) -> None:
    _count("cli train", _cli_train, {"argv": argv})


@slow(40)
@given(argv=train_argv())
def test_cli_train_slow(argv: list[str]) -> None:
    _count("cli train [slow]", _cli_train, {"argv": argv})


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small finished run folder, to damage copies of."""
    run = tmp_path_factory.mktemp("fuzz-run") / "run"
    argv = ["train", "--out", str(run), "--epochs", "1", "--hidden", "4", "--quiet"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli_main(argv) == 0
    return run


RUN_FILES = ("config.json", "model.json", "model.npz", "metrics.json")
READ_TOKENS = st.sampled_from(
    ("--split", "test", "val", "train", "junk", "--data-dir", "nope", ".", "--show", "--split=")
)


@st.composite
def read_args(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "command": draw(st.sampled_from(("evaluate", "evaluate", "plot"))),
        "run": draw(st.sampled_from(("RUN", "RUN", "RUN", "RUN/config.json", "nope", "", "."))),
        "damaged": draw(
            st.lists(st.tuples(st.sampled_from(RUN_FILES), damages()), min_size=1, max_size=2)
        ),
        "extra": draw(st.lists(st.one_of(READ_TOKENS, TEXTS), max_size=3)),
    }


def _cli_read(run_dir: Path, command: str, run: str, damaged: Any, extra: list[str]) -> None:
    with fresh_cwd() as cwd:
        shutil.copytree(run_dir, cwd / "RUN")
        for name, how in damaged:
            damage(cwd / "RUN" / name, how)
        argv = [command, run.replace("RUN", str(cwd / "RUN")) if run else run, *extra]
        hints = (*RUN_FILES, *extra, *(repr(e) for e in extra), str(cwd), "RUN", "run folder")
        hints += ("--split", "--data-dir", "data_dir", "recipe")
        run_cli(argv, hints)


@fast(30)
@given(args=read_args())
def test_cli_evaluate_and_plot(trained_run: Path, args: dict[str, Any]) -> None:
    _count("cli evaluate/plot", _cli_read, {"run_dir": trained_run, **args})


@slow(120)
@given(args=read_args())
def test_cli_evaluate_and_plot_slow(trained_run: Path, args: dict[str, Any]) -> None:
    _count("cli evaluate/plot [slow]", _cli_read, {"run_dir": trained_run, **args})


GRADCHECK_TOKENS = st.lists(
    st.one_of(st.sampled_from(("--seed", "--seed=", "-s", "--", "junk")), TEXTS), max_size=3
)


def _cli_gradcheck(tokens: list[str]) -> None:
    argv = ["gradcheck", *tokens]
    with fresh_cwd():
        run_cli(argv, (*tokens, *(repr(t) for t in tokens), "--seed", "gradcheck"))


@fast(25)
@given(tokens=GRADCHECK_TOKENS)
def test_cli_gradcheck(tokens: list[str]) -> None:
    _count("cli gradcheck", _cli_gradcheck, {"tokens": tokens})


@slow(60)
@given(tokens=GRADCHECK_TOKENS)
def test_cli_gradcheck_slow(tokens: list[str]) -> None:
    _count("cli gradcheck [slow]", _cli_gradcheck, {"tokens": tokens})
