"""Loss-curve smoothing and time-to-threshold.

Smoothing (both stated with their window ``w`` on every figure and table):

- moving average: the mean of the last ``w`` values (fewer at the start of the curve);
- EMA: exponential moving average with span ``w`` (``alpha = 2 / (w + 1)``), bias-corrected at
  the start so that the first value equals the first raw value.

Time to threshold: the first logged step at which the *smoothed* training loss is at or below the
threshold, with its cumulative training wall-clock (and training tokens seen, when given);
``None`` ("not reached") when it never is. The same function reads held-out evaluations (every
``eval_every`` steps), unsmoothed: the first evaluation at or below the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from unisel.errors import ParameterError

NOT_REACHED = "not reached"


def moving_average(y: Sequence[float] | np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average, shape (n,): ``out[t] = mean(y[max(0, t-w+1) : t+1])``."""
    if window < 1:
        raise ParameterError(f"smoothing window must be at least 1, got {window}")
    y = np.asarray(y, dtype=np.float64)
    if y.size == 0:
        return y.copy()
    c = np.concatenate([[0.0], np.cumsum(y)])
    t = np.arange(1, y.size + 1)
    lo = np.maximum(0, t - window)
    return (c[t] - c[lo]) / (t - lo)


def ema(y: Sequence[float] | np.ndarray, window: int) -> np.ndarray:
    """Bias-corrected exponential moving average with span ``window``, shape (n,)."""
    if window < 1:
        raise ParameterError(f"smoothing window must be at least 1, got {window}")
    y = np.asarray(y, dtype=np.float64)
    alpha = 2.0 / (window + 1.0)
    out = np.empty_like(y)
    s, weight = 0.0, 0.0
    for t, v in enumerate(y):
        s = (1 - alpha) * s + alpha * v
        weight = (1 - alpha) * weight + alpha
        out[t] = s / weight
    return out


SMOOTHERS = {"ma": moving_average, "ema": ema}


def smooth(y: Sequence[float] | np.ndarray, window: int, method: str = "ma") -> np.ndarray:
    """``moving_average`` (``"ma"``) or ``ema`` (``"ema"``) of ``y``."""
    try:
        return SMOOTHERS[method](y, window)
    except KeyError:
        raise ParameterError(f"smoothing must be 'ma' or 'ema', got {method!r}") from None


@dataclass(frozen=True)
class Crossing:
    """Where a curve first reaches a threshold."""

    step: int
    seconds: float
    tokens: int | None = None


def time_to_threshold(
    steps: Sequence[int] | np.ndarray,
    seconds: Sequence[float] | np.ndarray,
    smoothed: Sequence[float] | np.ndarray,
    threshold: float,
    tokens: Sequence[int] | np.ndarray | None = None,
) -> Crossing | None:
    """First ``(step, seconds, tokens)`` with ``smoothed <= threshold``; None when never reached.

    Parameters
    ----------
    steps, seconds, smoothed : arrays of shape (n,)
        One entry per logged step (or evaluation); ``seconds`` is cumulative training
        wall-clock.
    threshold : float
    tokens : array of shape (n,), optional
        Cumulative training tokens seen at each entry.
    """
    s = np.asarray(smoothed, dtype=np.float64)
    hit = np.flatnonzero(s <= threshold)
    if hit.size == 0:
        return None
    i = int(hit[0])
    return Crossing(int(steps[i]), float(seconds[i]), None if tokens is None else int(tokens[i]))


def pick_thresholds(final_by_arm: dict[str, float], *, digits: int = 3) -> list[float]:
    """Two thresholds from the arms' final smoothed losses (mean over seeds).

    ``easy`` is the highest final value (every arm gets there by its end), ``hard`` the midpoint
    between the highest and the lowest (only the faster arms get there). Rounded up to
    ``digits`` decimals so that ``easy`` stays reachable; one threshold when they coincide.
    """
    values = [v for v in final_by_arm.values() if np.isfinite(v)]
    if not values:
        return []
    hi, lo = max(values), min(values)
    scale = 10.0**digits
    easy = float(np.ceil(hi * scale) / scale)
    hard = float(np.ceil((hi + lo) / 2 * scale) / scale)
    return [easy] if hard >= easy else [easy, hard]
