"""The gradient report (layerwise.gradient_report): passes on correct code, flags a broken
backward pass."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from layerwise import layers, losses
from layerwise.gradient_report import TOLERANCE, gradient_report
from layerwise.models import base as models_base

LAYER_ROWS = [
    "affine dx",
    "affine dtheta",
    "affine dtheta0",
    "relu dx",
    "leaky_relu dx",
    "sigmoid dx",
    "tanh dx",
    *(f"affine_{a} {g}" for a in ("relu", "sigmoid", "tanh") for g in ("dx", "dtheta", "dtheta0")),
    "dropout dx",
    *(f"{n} {g}" for n in ("batchnorm", "layernorm") for g in ("dx", "dgamma", "dbeta")),
    "softmax_loss dx",
    "svm_loss dx",
    *(f"{n}_loss dx" for n in ("mse", "mae", "huber", "sigmoid_cross_entropy")),
    *(
        f"{n}_loss(weighted) dx"
        for n in ("softmax", "svm", "mse", "mae", "huber", "sigmoid_cross_entropy")
    ),
]
MODEL_ROWS = [
    f"{cls}(reg={reg}) {p}"
    for cls, n in (("TwoLayerNet", 2), ("ThreeLayerNet", 3))
    for reg in (0.0, 0.7)
    for p in sorted(f"theta{i}{s}" for i in range(1, n + 1) for s in ("", "_0"))
]
FC_THETAS = [f"theta{i}{s}" for i in range(1, 4) for s in ("", "_0")]
FC_NORMED = sorted([*FC_THETAS, "gamma1", "gamma2", "beta1", "beta2"])
FC_ROWS = [
    *(f"FullyConnectedNet(batchnorm, relu, dropout 0.25) {p}" for p in FC_NORMED),
    *(f"FullyConnectedNet(layernorm, tanh) {p}" for p in FC_NORMED),
    *(f"FullyConnectedNet(leaky_relu, dropout 0.25) {p}" for p in sorted(FC_THETAS)),
    *(f"FullyConnectedNet(sigmoid) {p}" for p in sorted(FC_THETAS)),
]


@pytest.fixture(scope="module")
def report() -> list[tuple[str, float]]:
    return gradient_report()


def test_every_layer_and_parameter_is_checked(report: list[tuple[str, float]]) -> None:
    # A bias cancelled by batchnorm may be reported as an absolute "(zero gradient, abs)" row.
    names = [name.replace(" (zero gradient, abs)", "") for name, _ in report]
    assert names == LAYER_ROWS + MODEL_ROWS + FC_ROWS


def test_every_error_is_small(report: list[tuple[str, float]]) -> None:
    bad = [(n, e) for n, e in report if not (math.isfinite(e) and 0 <= e <= TOLERANCE)]
    assert bad == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_other_seeds_pass_and_differ(report: list[tuple[str, float]], seed: int) -> None:
    other = gradient_report(seed=seed)
    assert max(e for _, e in other) <= TOLERANCE
    assert [e for _, e in other] != [e for _, e in report]


def test_deterministic_and_leaves_global_rng_alone(report: list[tuple[str, float]]) -> None:
    np.random.seed(123)
    state = np.random.get_state()[1].copy()  # type: ignore[index]
    again = gradient_report(seed=0)
    assert again == report
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # type: ignore[index]


def _flagged(rows: list[tuple[str, float]]) -> set[str]:
    return {name for name, err in rows if not err <= TOLERANCE}


def test_broken_relu_backward_is_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    real = layers.relu_backward

    def leaky(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
        # A plausible bug: let 1% of the gradient through where the input was negative.
        return real(dout, cache) + 0.01 * np.where(cache <= 0, dout, 0)

    monkeypatch.setattr(layers, "relu_backward", leaky)
    assert _flagged(gradient_report()) == {"relu dx"}


def test_broken_affine_bias_gradient_is_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    real = layers.affine_backward

    def mean_not_sum(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
        dx, dtheta, _ = real(dout, cache)
        return dx, dtheta, dout.mean(axis=0)  # should be the sum over the batch

    monkeypatch.setattr(layers, "affine_backward", mean_not_sum)
    assert _flagged(gradient_report()) == {"affine dtheta0"}


def test_broken_loss_gradient_is_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    real = losses.mse_loss

    def summed(x: np.ndarray, y: np.ndarray, weights: Any = None) -> tuple[float, np.ndarray]:
        # A plausible bug: the gradient of the sum over the k outputs, not of their mean.
        loss, dx = real(x, y, weights)
        return loss, dx * x.shape[1]

    monkeypatch.setattr(losses, "mse_loss", summed)
    assert _flagged(gradient_report()) == {"mse_loss dx", "mse_loss(weighted) dx"}


def test_broken_model_gradient_is_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    # Break the affine weight gradient the models use (through their own module: the
    # unchecked arithmetic of their step), not the layer checks' one: only model rows may
    # fail, and the output weights of each model must.
    real = models_base.affine_grads

    def scaled(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
        dtheta, dtheta0 = real(dout, cache)
        return 1.01 * dtheta, dtheta0

    monkeypatch.setattr(models_base, "affine_grads", scaled)
    flagged = _flagged(gradient_report())
    assert flagged <= set(MODEL_ROWS + FC_ROWS)
    for reg in (0.0, 0.7):
        assert {f"TwoLayerNet(reg={reg}) theta2", f"ThreeLayerNet(reg={reg}) theta3"} <= flagged
        # Biases were left correct.
        assert f"TwoLayerNet(reg={reg}) theta2_0" not in flagged
    assert "FullyConnectedNet(sigmoid) theta3" in flagged


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, None])
def test_bad_seed(seed: object) -> None:
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        gradient_report(seed=seed)
