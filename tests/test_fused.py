"""The fused update rules (layerwise.fused, Numba) against the NumPy reference in
layerwise.optim: bit for bit, for every rule, dtype and step; the NumPy path where a kernel
does not apply; a seeded training run identical either way."""

from __future__ import annotations

import numpy as np
import pytest

from layerwise import fused, optim
from layerwise.layers import dropout_forward, random_bits
from layerwise.models import FullyConnectedNet
from layerwise.solver import Solver

RULES = sorted(optim.UPDATE_RULES)


@pytest.fixture
def kernels(monkeypatch):
    """Switch between the two paths: ``kernels(True)`` (Numba) or ``kernels(False)``."""

    def use(on: bool) -> None:
        monkeypatch.setenv(fused.ENV, "auto" if on else "numpy")
        fused.reset()

    yield use
    fused.reset()


def test_numba_is_there(kernels):
    """The dev extra installs Numba, so these tests compare two real paths."""
    kernels(True)
    assert fused.kernels() is not None
    kernels(False)
    assert fused.kernels() is None


def _steps(rule, shape, dtype, steps=4, config=None):
    rng = np.random.default_rng(3)
    w = rng.standard_normal(shape).astype(dtype)
    config = dict(config or {"learning_rate": 1e-2})
    for _ in range(steps):
        dw = rng.standard_normal(shape).astype(dtype)
        before = dw.copy()
        w, config = optim.UPDATE_RULES[rule](w, dw, config)
        np.testing.assert_array_equal(dw, before)  # dw is never modified
    return w, config


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rule", RULES)
def test_every_rule_is_numpys_bit_for_bit(kernels, rule, dtype):
    shape = (300, 256)  # 76,800 entries: above fused.MIN_SIZE
    assert np.prod(shape) >= fused.MIN_SIZE
    kernels(False)
    want_w, want = _steps(rule, shape, dtype)
    kernels(True)
    got_w, got = _steps(rule, shape, dtype)
    np.testing.assert_array_equal(got_w, want_w)
    assert got_w.dtype == dtype
    assert sorted(got) == sorted(want)
    for key, value in want.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)


def test_adamw_decays_weights_and_not_biases_in_the_kernel(kernels):
    config = {"learning_rate": 0.1, "weight_decay": 0.5}
    for shape in [(70_000,), (256, 300)]:
        kernels(False)
        want, _ = _steps("adamw", shape, np.float32, config=config)
        kernels(True)
        got, _ = _steps("adamw", shape, np.float32, config=config)
        np.testing.assert_array_equal(got, want)


def test_a_small_model_never_imports_numba(tmp_path):
    """The default recipe's parameters are all below fused.MIN_SIZE: no Numba import."""
    import subprocess
    import sys

    code = (
        "import sys; from layerwise import optim; import numpy as np; "
        "w = np.ones((64, 100), np.float32); optim.adam(w, w.copy(), None); "
        "print('numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_small_and_strided_parameters_take_the_numpy_path(kernels, monkeypatch):
    kernels(True)
    calls = []
    monkeypatch.setitem(fused.kernels(), "sgd", lambda *a: calls.append(a))
    w = np.ones(10, dtype=np.float32)
    optim.sgd(w, np.ones(10, dtype=np.float32), {"learning_rate": 0.5})
    np.testing.assert_array_equal(w, 0.5)  # small: NumPy did it
    big = np.ones((300, 300), dtype=np.float32)
    view = big[:, ::2]  # not contiguous
    optim.sgd(view, np.ones_like(view), {"learning_rate": 0.5})
    np.testing.assert_array_equal(big[:, ::2], 0.5)
    assert calls == []
    optim.sgd(big, np.ones_like(big), {"learning_rate": 0.5})
    assert len(calls) == 1  # large and contiguous: the kernel


def test_mixed_dtypes_take_the_numpy_path(kernels):
    kernels(True)
    w = np.ones((300, 300), dtype=np.float32)
    dw = np.ones((300, 300), dtype=np.float64)
    assert not fused.usable(w, dw)
    w, _ = optim.sgd(w, dw, {"learning_rate": 0.25})
    np.testing.assert_array_equal(w, 0.75)


def _assert_same_run_both_ways(kernels, rng, n, hidden, rule, lr, batch, dropout=0.0):
    """Train one seeded model without and then with the kernels: the same losses and weights."""
    X = rng.standard_normal((n, 20)).astype(np.float32)
    y = rng.integers(3, size=n)
    cut = n * 4 // 5
    data = {"X_train": X[:cut], "y_train": y[:cut], "X_val": X[cut:], "y_val": y[cut:]}
    runs = []
    for on in (False, True):
        kernels(on)
        model = FullyConnectedNet(hidden, input_dim=20, num_classes=3, dtype=np.float32,
                                  weight_init="he", dropout=dropout,
                                  rng=np.random.default_rng(0))  # fmt: skip
        solver = Solver(model, data, update_rule=rule, optim_config={"learning_rate": lr},
                        num_epochs=2, batch_size=batch, verbose=False, seed=0)  # fmt: skip
        solver.train()
        runs.append((solver.loss_history, model.params))
    (loss_a, params_a), (loss_b, params_b) = runs
    assert loss_a == loss_b
    for key, value in params_a.items():
        np.testing.assert_array_equal(params_b[key], value)


@pytest.mark.parametrize("rule", ["adam", "sgd_momentum"])
def test_a_seeded_run_is_the_same_run_with_or_without_kernels(kernels, rng, rule):
    _assert_same_run_both_ways(kernels, rng, 300, [512, 256], rule, 1e-2, 40)


# --------------------------------------------------------------------------------------------
# the elementwise layers


def _special(shape, dtype, rng):
    """Values with every case a comparison can get wrong: NaN, +-inf, -0.0, 0.0, tiny ones."""
    a = rng.standard_normal(shape).astype(dtype)
    flat = a.reshape(-1)
    flat[:8] = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-40, -1e-40, np.finfo(dtype).max]
    return a


def _same_bits(got, want):
    """Equal arrays, NaN where NaN and the sign of every zero alike."""
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_kernels_are_numpys_bit_for_bit(kernels, dtype, rng):
    shape = (128, 512)  # 65,536 entries: fused.MIN_SIZE
    a = _special(shape, dtype, rng)
    dout = _special(shape, dtype, rng)
    results = []
    for on in (False, True):
        kernels(on)
        with np.errstate(invalid="ignore"):  # inf * 0, as in the model's IEEE context
            act = fused.relu_(a.copy())
            grad = fused.relu_grad_(dout.copy(), act)
        results.append((act, grad))
    (want_act, want_grad), (got_act, got_grad) = results
    np.testing.assert_array_equal(want_act, np.maximum(a, 0))
    _same_bits(got_act, want_act)
    _same_bits(got_grad, want_grad)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_kernel_is_numpys_bit_for_bit(kernels, dtype, p, rng):
    x = _special((128, 512), dtype, rng)
    results = []
    for on in (False, True):
        kernels(on)
        with np.errstate(invalid="ignore"):  # inf * 0
            results.append(dropout_forward(x, {"mode": "train", "p": p, "seed": 3}))
    (want, (_, want_mask)), (got, (_, got_mask)) = results
    _same_bits(got, want)
    _same_bits(got_mask, want_mask)


@pytest.mark.parametrize("on", [False, True])
def test_dropout_masks_keep_p_exact(kernels, on):
    """A unit is dropped exactly when its 32 bits fall below round(p * 2**32); over a million
    units the drop rate is p within five standard errors."""
    kernels(on)
    p, n = 0.3, 1_000_000
    x = np.ones(n, dtype=np.float32)
    out, (_, mask) = dropout_forward(x, {"mode": "train", "p": p, "seed": 11})
    bits = random_bits(np.random.default_rng(11), n)
    np.testing.assert_array_equal(mask == 0, bits < round(p * 2**32))
    np.testing.assert_array_equal(out, mask)
    assert np.unique(mask).tolist() == [0, np.float32(1) / np.float32(1 - p)]
    assert abs((mask == 0).mean() - p) < 5 * np.sqrt(p * (1 - p) / n)


def test_random_bits_from_a_32_bit_generator_are_uniform():
    """MT19937's raw outputs are 32 bits wide: its bits come from rng.integers instead."""
    bits = random_bits(np.random.Generator(np.random.MT19937(5)), 200_000)
    assert bits.dtype == np.uint32 and bits.shape == (200_000,)
    assert abs((bits >= 2**31).mean() - 0.5) < 0.01  # the high bit is used
    assert abs((bits & 1).mean() - 0.5) < 0.01  # and the low one
    pcg = random_bits(np.random.default_rng(5), 7)  # an odd count: half of the last output
    assert pcg.shape == (7,)


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_a_seeded_run_with_elementwise_kernels_is_the_same_run(kernels, rng, dropout):
    """Hidden activations of 128 x 512 go through the ReLU and dropout kernels."""
    _assert_same_run_both_ways(kernels, rng, 480, [512, 512], "adam", 1e-3, 128, dropout)
