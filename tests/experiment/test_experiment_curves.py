from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unisel.experiment.curves import (
    Crossing,
    ema,
    moving_average,
    pick_thresholds,
    smooth,
    time_to_threshold,
)


def test_moving_average_by_hand():
    y = [4.0, 2.0, 6.0, 0.0, 2.0]
    np.testing.assert_allclose(moving_average(y, 3), [4.0, 3.0, 4.0, 8 / 3, 8 / 3])
    np.testing.assert_allclose(moving_average(y, 1), y)


@given(st.lists(st.floats(-100, 100), min_size=1, max_size=40), st.integers(1, 12))
@settings(max_examples=50, deadline=None)
def test_moving_average_matches_plain_loop(y, w):
    ref = [np.mean(y[max(0, t - w + 1) : t + 1]) for t in range(len(y))]
    np.testing.assert_allclose(moving_average(y, w), ref, atol=1e-9)


def test_ema_is_bias_corrected_weighted_mean():
    y = np.array([3.0, 1.0, 2.0, 5.0])
    w = 3
    a = 2 / (w + 1)
    out = ema(y, w)
    assert out[0] == pytest.approx(3.0)
    for t in range(len(y)):
        weights = np.array([(1 - a) ** (t - i) for i in range(t + 1)])
        assert out[t] == pytest.approx(float((weights * y[: t + 1]).sum() / weights.sum()))
    np.testing.assert_allclose(ema(np.full(5, 7.0), 4), 7.0)


def test_time_to_threshold_on_synthetic_logs():
    steps = np.arange(1, 9)
    seconds = np.arange(1, 9) * 10.0
    loss = np.array([5.0, 4.0, 3.0, 2.5, 2.0, 1.5, 1.2, 1.0])
    assert time_to_threshold(steps, seconds, loss, 2.5) == Crossing(4, 40.0)  # equal counts
    assert time_to_threshold(steps, seconds, loss, 2.4) == Crossing(5, 50.0)
    assert time_to_threshold(steps, seconds, loss, 9.0) == Crossing(1, 10.0)
    assert time_to_threshold(steps, seconds, loss, 0.5) is None  # not reached
    # Read on the smoothed curve: a single noisy dip does not count.
    noisy = np.array([3.0, 3.0, 0.5, 3.0, 3.0, 1.0, 1.0, 1.0])
    assert time_to_threshold(steps, seconds, noisy, 1.0) == Crossing(3, 30.0)
    sm = smooth(noisy, 3, "ma")
    assert time_to_threshold(steps, seconds, sm, 1.0) == Crossing(8, 80.0)
    assert time_to_threshold(steps, seconds, sm, 0.9) is None


def test_pick_thresholds():
    assert pick_thresholds({"a": 1.0, "b": 2.0}) == [2.0, 1.5]
    assert pick_thresholds({"a": 1.2344}) == [1.235]
    assert pick_thresholds({}) == []
