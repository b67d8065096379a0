"""The numeric gradient helpers themselves, on functions with known gradients."""

import numpy as np
import pytest

from layerwise.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
    rel_error,
)


def test_rel_error_matches_seed_definition():
    x = np.array([1.0, 2.0, 0.0])
    y = np.array([1.0, 2.2, 0.0])
    assert rel_error(x, y) == pytest.approx(0.2 / 4.2)
    assert rel_error(x, x) == 0.0


def test_numerical_gradient_of_quadratic(rng):
    a = rng.standard_normal((3, 4))
    x = rng.standard_normal((3, 4))
    before = x.copy()
    grad = eval_numerical_gradient(lambda x: float(np.sum(a * x**2)), x, verbose=False)
    assert rel_error(grad, 2 * a * before) < 1e-7
    np.testing.assert_array_equal(x, before)  # restored after the probe


def test_numerical_gradient_accepts_closure_without_argument(rng, capsys):
    # The seed writes f = lambda: model.loss(X, y)[0] and perturbs the array in place.
    x = rng.standard_normal(5)
    grad = eval_numerical_gradient(lambda: float(np.sum(np.sin(x))), x, verbose=True)
    assert rel_error(grad, np.cos(x)) < 1e-8
    assert len(capsys.readouterr().out.splitlines()) == 5


def test_numerical_gradient_array(rng):
    x = rng.standard_normal((4, 3))
    df = rng.standard_normal((4, 3))
    grad = eval_numerical_gradient_array(lambda x: np.exp(x), x, df)
    assert rel_error(grad, np.exp(x) * df) < 1e-8


def test_grad_check_sparse_reports_small_and_large_errors(rng, capsys):
    x = rng.standard_normal((5, 5))
    f = lambda x: float(np.sum(x**3))  # noqa: E731
    good = grad_check_sparse(f, x, 3 * x**2, num_checks=4, rng=rng)
    bad = grad_check_sparse(f, x, 3 * x**2 + 1.0, num_checks=4, rng=rng)
    assert max(good) < 1e-7
    assert min(bad) > 1e-3
    assert capsys.readouterr().out.count("relative error") == 8


def test_float32_is_refused_with_a_reason():
    with pytest.raises(TypeError, match="float64"):
        eval_numerical_gradient(lambda x: 0.0, np.zeros(3, dtype=np.float32), verbose=False)
