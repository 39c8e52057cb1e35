"""Python threads for the engine's numba kernels.

The kernels are compiled ``nogil``, so plain threads run them in parallel. Threads instead of
numba's ``parallel=True``: a ``prange`` kernel took several seconds more to compile on a cold
cache than the same loop called from threads (docs/performance.md, "Cold start"), and the
work items here (tiles of rows, ranges of groups) are coarse enough that a thread pool's
overhead (tens of microseconds per item) does not show.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

_controller: Any = None


def n_workers(n_jobs: int | None, n_items: int) -> int:
    """Threads for ``n_items`` work items: ``n_jobs`` (None: every core), at most one per item."""
    want = int(n_jobs) if n_jobs is not None else (os.cpu_count() or 1)
    return max(1, min(want, n_items))


def run_parallel(fn: Callable[[int], None], n_items: int, n_jobs: int | None) -> None:
    """Call ``fn(i)`` for ``i`` in ``range(n_items)`` on up to ``n_jobs`` threads.

    Items are handed out in order as threads become free (uneven items balance). Exceptions
    propagate to the caller.
    """
    workers = n_workers(n_jobs, n_items)
    if workers == 1:
        for i in range(n_items):
            fn(i)
        return
    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(fn, range(n_items)):
            pass


def blas_threads(limit: int) -> AbstractContextManager[Any]:
    """Context manager: at most ``limit`` BLAS threads inside, as
    ``threadpoolctl.threadpool_limits(limits=limit)``, with one controller per process.

    Building a controller scans the process's loaded libraries (about 1 ms); the greedy loops
    enter a limit for every chunk of steps, 55 times in a 111k-row selection, which cost 3% of
    it. The controller is built after SciPy's BLAS is loaded (the one the kernels' ``sgemm``
    calls), so it limits NumPy's and SciPy's BLAS both.
    """
    global _controller
    if _controller is None:
        import scipy.linalg.cython_blas  # noqa: F401
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller.limit(limits=limit)
