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

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_FAST = ("maxmin", "tolerance")


def __getattr__(name: str) -> Any:
    # Both modules import numba (0.2-1 s): loaded on first use, so that importing the selector
    # registry (the command line's --help) stays light.
    if name in __all__:
        from importlib import import_module

        module = "fast" if name in _FAST else "reference"
        value = getattr(import_module(f"unisel.select.engine.{module}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'unisel.select.engine' has no attribute {name!r}")


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
