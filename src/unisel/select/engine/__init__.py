"""Greedy max-min (farthest-point, k-center greedy) engines.

`maxmin_reference` is the oracle: a plain O(n*k*d) loop in float64. `maxmin` is the fast
exact engine (:mod:`unisel.select.engine.fast`): lazy upper-bound greedy, float32 screening
with float64 decisions, memory-mapped input, checkpoints, numpy or torch block products; with
``loop="device"`` (the default on CUDA for cosine) the greedy loop itself runs on a torch
device (:mod:`unisel.select.engine._torch_loop`). It returns the identical sequence and
distances. Both take ``metric="cosine"`` (default) or ``"euclidean"`` (unnormalised rows;
CPU loop only).
"""

from __future__ import annotations

from unisel.select.engine.fast import maxmin, tolerance
from unisel.select.engine.reference import (
    DUPLICATE_TOLERANCE,
    METRICS,
    canonical_distances,
    canonical_sq_euclidean,
    check_metric,
    cosine_normalize,
    maxmin_reference,
)

__all__ = [
    "DUPLICATE_TOLERANCE",
    "METRICS",
    "canonical_distances",
    "canonical_sq_euclidean",
    "check_metric",
    "cosine_normalize",
    "maxmin",
    "maxmin_reference",
    "tolerance",
]
