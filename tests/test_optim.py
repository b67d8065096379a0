"""Update rules against values computed by hand from their definitions."""

import numpy as np
import pytest

from layerwise import optim


def test_sgd_default_learning_rate():
    w, dw = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    next_w, config = optim.sgd(w, dw)
    np.testing.assert_allclose(next_w, [1.0 - 0.005, 2.0 + 0.01])
    assert config == {"learning_rate": 1e-2}
    assert next_w is w  # updated in place, as CS231n's sgd
    np.testing.assert_array_equal(dw, [0.5, -1.0])  # the gradient is never modified


def test_sgd_momentum_two_steps():
    w, dw = np.array([1.0]), np.array([2.0])
    w, cfg = optim.sgd_momentum(w, dw)
    assert w[0] == pytest.approx(1.0 - 0.02)  # v = -0.02
    w, cfg = optim.sgd_momentum(w, dw, cfg)
    assert w[0] == pytest.approx(1.0 - 0.02 + (0.9 * -0.02 - 0.02))
    assert cfg["learning_rate"] == 1e-2 and cfg["momentum"] == 0.9


def test_nesterov_momentum_two_steps():
    w, dw = np.array([1.0]), np.array([2.0])
    w, cfg = optim.nesterov_momentum(w, dw)
    v1 = -0.02
    w1 = 1.0 - 0.9 * 0.0 + 1.9 * v1
    assert w[0] == pytest.approx(w1)
    w, cfg = optim.nesterov_momentum(w, dw, cfg)
    v2 = 0.9 * v1 - 0.02
    assert w[0] == pytest.approx(w1 - 0.9 * v1 + 1.9 * v2)


def test_rmsprop_one_step():
    w0, dw = np.array([1.0, -1.0]), np.array([0.1, -0.3])
    next_w, cfg = optim.rmsprop(w0.copy(), dw)
    cache = 0.01 * dw**2
    np.testing.assert_allclose(next_w, w0 - 1e-2 * dw / (np.sqrt(cache) + 1e-8))
    np.testing.assert_allclose(cfg["cache"], cache)


def test_adam_two_steps_with_bias_correction():
    dw = np.array([0.2])
    w, cfg = np.array([0.5]), {}
    m = v = 0.0
    expected = 0.5
    for t in (1, 2):
        w, cfg = optim.adam(w, dw, cfg)
        m = 0.9 * m + 0.1 * 0.2
        v = 0.999 * v + 0.001 * 0.2**2
        expected -= 1e-3 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        np.testing.assert_allclose(w, [expected], rtol=1e-12)
    assert cfg["t"] == 2


def test_adamw_decays_weights_decoupled():
    w, dw = np.array([[2.0]]), np.array([[0.0]])
    next_w, cfg = optim.adamw(w, dw)
    # With a zero gradient Adam's step is 0, leaving only the decay lr * wd * w.
    np.testing.assert_allclose(next_w, 2.0 - 1e-3 * 0.01 * 2.0)
    assert cfg["weight_decay"] == 0.01 and cfg["decay_min_ndim"] == 2


def test_adamw_leaves_biases_alone_unless_configured():
    # Biases and normalisation scales (1-D) are not decayed by default: the exclusion is the
    # rule's own setting, decay_min_ndim, not a special case in the Solver.
    b, db = np.array([2.0]), np.array([0.0])
    assert optim.adamw(b.copy(), db)[0][0] == 2.0
    decayed, _ = optim.adamw(b.copy(), db, {"decay_min_ndim": 0})
    np.testing.assert_allclose(decayed, 2.0 - 1e-3 * 0.01 * 2.0)


def test_rules_by_name_and_unknown_name():
    assert optim.get_update_rule("adam") is optim.adam
    with pytest.raises(ValueError, match="'adagrad'"):
        optim.get_update_rule("adagrad")


@pytest.mark.parametrize("name", sorted(optim.UPDATE_RULES))
def test_float32_steps_match_float64(name):
    """The float32 training path follows the float64 reference (relative error < 1e-4)."""
    rule = optim.UPDATE_RULES[name]
    rng = np.random.default_rng(0)
    w64 = rng.standard_normal((20, 30))
    grads = [rng.standard_normal((20, 30)) for _ in range(5)]
    w32 = w64.astype(np.float32)
    c64: dict = {"learning_rate": 1e-2}
    c32: dict = {"learning_rate": 1e-2}
    for g in grads:
        w64, c64 = rule(w64, g, c64)
        w32, c32 = rule(w32, g.astype(np.float32), c32)
    assert w32.dtype == np.float32
    assert np.max(np.abs(w32 - w64) / np.maximum(np.abs(w64), 1e-3)) < 1e-4
    for key, value in c32.items():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32, key  # no float64 state on the float32 path


@pytest.mark.parametrize("name", sorted(optim.UPDATE_RULES))
def test_parameters_of_one_shape_do_not_share_results(name):
    """Rules reuse one scratch buffer per shape: two parameters of the same shape, updated in
    turn, must end exactly as when each is updated alone, and dw must stay untouched."""
    rule = optim.UPDATE_RULES[name]
    rng = np.random.default_rng(1)
    a0, b0 = rng.standard_normal((2, 7, 5))
    grads = rng.standard_normal((4, 2, 7, 5))
    kept = grads.copy()
    a, b, ca, cb = a0.copy(), b0.copy(), {}, {}
    for ga, gb in grads:  # interleaved, as the Solver does
        a, ca = rule(a, ga, ca)
        b, cb = rule(b, gb, cb)
    alone_a, alone_b, c1, c2 = a0.copy(), b0.copy(), {}, {}
    for ga, _ in grads:
        alone_a, c1 = rule(alone_a, ga, c1)
    for _, gb in grads:
        alone_b, c2 = rule(alone_b, gb, c2)
    assert np.array_equal(a, alone_a) and np.array_equal(b, alone_b)
    assert not np.array_equal(a, b)
    assert np.array_equal(grads, kept)
    scratch = optim._scratch(a)
    assert scratch is optim._scratch(a) and scratch is not optim._scratch(a.astype(np.float32))
