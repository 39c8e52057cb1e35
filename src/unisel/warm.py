"""Compile every engine and metrics kernel now, into numba's cache.

A first call on an empty numba cache compiles the kernels it reaches (seconds; see
docs/performance.md, "Cold start"). Where that first call must not pay it (a container image,
a Dask worker image, a CI cache), run once at build time::

    python -m unisel.warm

It runs small selections and searches that reach every kernel for float32 and float64
embeddings, writable and read-only (memory-mapped ``.npy`` files are read-only, which numba
compiles separately), cosine and Euclidean, and the metrics' nearest-neighbour searches. The
kernels land in the cache folder of :mod:`unisel.select.engine._jit` (``NUMBA_CACHE_DIR`` when
set); later processes on the same machine, or on one with the same CPU, load them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np


def warm_up(
    dtypes: Sequence[str] = ("float32", "float64"), *, metrics: bool = True, quiet: bool = True
) -> float:
    """Reach every kernel once for each dtype in ``dtypes``; returns the seconds it took.

    Parameters
    ----------
    dtypes : sequence of {"float32", "float64"}
        Embedding dtypes to compile for.
    metrics : bool
        Also the kernels of :mod:`unisel.metrics` (nearest-neighbour screens).
    quiet : bool
        No line per step on stdout.
    """
    from unisel.select.engine import fast, maxmin

    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    base = rng.normal(size=(12, 8))[rng.integers(12, size=9000)] + rng.normal(size=(9000, 8))
    for dtype in dtypes:
        for writeable in (True, False):
            X = np.ascontiguousarray(base, dtype=dtype)
            X.flags.writeable = writeable
            maxmin(X, 600)  # the cluster-pruned phase
            saved = fast.BATCH_MIN_STALE
            fast.BATCH_MIN_STALE = 1  # batched refreshes at once
            try:
                maxmin(X[:3000], 1200, prune=False, refresh_every=64)
                maxmin(X[:3000], 1200, refresh_every=64, metric="euclidean")
            finally:
                fast.BATCH_MIN_STALE = saved
            maxmin(X[:300], 40, initial=[0, 1, 2], prune=False)  # folding an initial selection
            if metrics:
                from unisel.metrics.neighbors import covering_radius, h_min, nearest_distances

                nearest_distances(X[:4000], X[:4000], exclude_self=True, prune=True)
                nearest_distances(X[:500], X[:4000], prune=True)
                h_min(X[:4000], metric="euclidean", prune=True)
                covering_radius(X[:4000], X[:400], prune=True)
            if not quiet:
                what = "writable" if writeable else "read-only"
                print(f"{dtype} {what}: {time.perf_counter() - t0:.1f} s", flush=True)
    return time.perf_counter() - t0


def main() -> int:
    """``python -m unisel.warm``: compile everything, print the seconds."""
    seconds = warm_up(quiet=False)
    print(f"unisel kernels compiled or loaded in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
