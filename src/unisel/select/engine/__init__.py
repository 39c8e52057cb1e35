"""Greedy max-min (farthest-point, k-center greedy) engines.

`maxmin_reference` is the oracle: a plain O(n*k*d) loop in float64. Every faster engine must
return the identical index sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from unisel.select.engine.reference import (
    DUPLICATE_TOLERANCE,
    canonical_distances,
    cosine_normalize,
    maxmin_reference,
)


def maxmin(
    X: np.ndarray,
    k: int,
    *,
    start: int = 0,
    initial: Sequence[int] | None = None,
    device: str = "cpu",
    checkpoint: str | Path | None = None,
    quiet: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy max-min selection; same contract as `maxmin_reference`."""
    return maxmin_reference(X, k, start=start, initial=initial)


__all__ = [
    "DUPLICATE_TOLERANCE",
    "canonical_distances",
    "cosine_normalize",
    "maxmin",
    "maxmin_reference",
]
