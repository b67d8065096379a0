"""Learning-rate schedules: factors by hand, and argument validation."""

import math

import pytest

from layerwise.schedules import cosine, exponential, get_schedule, step


def test_step():
    f = step(step_size=3, gamma=0.5)
    assert [f(e) for e in range(7)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]


def test_exponential():
    assert exponential(0.9)(3) == pytest.approx(0.729)


def test_cosine_anneals_to_min_factor():
    f = cosine(num_epochs=4, min_factor=0.1)
    assert f(0) == 1.0
    assert f(2) == pytest.approx(0.1 + 0.9 * 0.5)
    assert f(4) == pytest.approx(0.1) and f(9) == pytest.approx(0.1)
    assert f(1) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 4)))


def test_get_schedule_forms():
    assert get_schedule(None, 5)(3) == 1.0
    assert get_schedule("cosine", 2)(2) == pytest.approx(0.0)
    assert get_schedule({"name": "step", "step_size": 1, "gamma": 0.1}, 5)(2) == pytest.approx(0.01)
    assert get_schedule(lambda e: 2.0**-e, 5)(1) == 0.5


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("linear", "unknown lr_schedule 'linear'"),
        ({"name": "step", "size": 2}, "bad options"),
        ({"name": "step", "step_size": 0}, "step_size"),
        ({"name": "exponential", "gamma": -1}, "gamma"),
    ],
)
def test_bad_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        get_schedule(spec, 3)
