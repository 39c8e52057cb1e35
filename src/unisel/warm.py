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

``python -m unisel.warm --bundle DIR`` compiles the same kernels into a bundle folder instead
(what ``pip install`` does into ``unisel/_kernels``; :mod:`unisel.select.engine._jit`,
"The install-time bundle"), and ``python -m unisel.warm --check`` says whether the installed
bundle serves this interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

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
    from unisel.select.admission import isolation_scores
    from unisel.select.engine import cosine_normalize, fast, maxmin
    from unisel.select.engine.reference import canonical_distances, canonical_sq_euclidean

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
            # the default preset's isolation scores (screens, then canonical keys of the rows
            # the screen cannot prove, which the duplicates force) and the reference keys
            scored = np.concatenate([X[:2000], X[:40]])
            for metric in ("cosine", "euclidean"):
                isolation_scores(scored, metric=metric, sample_size=1000)
            canonical_distances(cosine_normalize(X[:50]), cosine_normalize(X[:1])[0])
            canonical_sq_euclidean(np.asarray(X[:50], dtype=np.float64), np.zeros(X.shape[1]))
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


def build_bundle(
    folder: str | Path,
    dtypes: Sequence[str] = ("float32", "float64"),
    *,
    metrics: bool = True,
    quiet: bool = True,
) -> float:
    """Compile every kernel :func:`warm_up` reaches (for ``dtypes``, with or without the
    ``metrics``) into the bundle folder ``folder``, replacing it whole; returns the seconds.

    Must run in a process that has not imported the engine yet: the kernels choose their cache
    when their module is imported (``UNISEL_KERNEL_BUNDLE_BUILD``, read by
    :mod:`unisel.select.engine._jit`, which cannot be imported here before it is set).

    The kernels are written into a sibling folder first and ``bundle.json`` last, then the
    folder is renamed into place: an interrupted build leaves the old bundle, or none.
    """
    if "unisel.select.engine._jit" in sys.modules:
        raise RuntimeError("build_bundle: the engine is already imported; run it in a new process")
    target = Path(folder).resolve()
    staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    os.environ["UNISEL_KERNEL_BUNDLE_BUILD"] = str(staging)
    try:
        seconds = warm_up(dtypes, metrics=metrics, quiet=quiet)
        from unisel.select.engine import _jit

        info = {"sources": _jit.sources_stamp(), "host": _jit.host_key(), "seconds": seconds}
        staging.mkdir(parents=True, exist_ok=True)
        (staging / _jit.BUNDLE_INFO).write_text(json.dumps(info, indent=1) + "\n")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    finally:
        del os.environ["UNISEL_KERNEL_BUNDLE_BUILD"]
        shutil.rmtree(staging, ignore_errors=True)
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m unisel.warm [--bundle DIR | --check]``."""
    parser = argparse.ArgumentParser(prog="python -m unisel.warm", description=__doc__)
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--bundle", metavar="DIR", help="compile the kernels into this bundle")
    what.add_argument(
        "--check", action="store_true", help="say whether the installed bundle serves here"
    )
    args = parser.parse_args(argv)
    if args.check:
        from unisel.select.engine import _jit

        info = _jit.bundle_info()
        if info is None:
            print(f"no kernel bundle at {_jit.INSTALLED_BUNDLE}: the first call compiles")
            return 1
        state = "serves this interpreter" if info["current"] else "is stale (sources or host)"
        print(f"kernel bundle {_jit.bundle_root()} {state}")
        return 0 if info["current"] else 1
    if args.bundle:
        seconds = build_bundle(args.bundle, quiet=False)
        print(f"unisel kernels compiled into {args.bundle} in {seconds:.1f} s")
        return 0
    seconds = warm_up(quiet=False)
    print(f"unisel kernels compiled or loaded in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
