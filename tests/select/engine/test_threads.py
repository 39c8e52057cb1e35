"""The engine's thread helpers: work items on Python threads, BLAS limits."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from unisel.select.engine._threads import blas_threads, n_workers, run_parallel


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_blas_limit_holds_inside_and_is_restored_after():
    import scipy.linalg  # noqa: F401  SciPy's BLAS, which the kernels' sgemm calls, is loaded

    before = _blas_threads()
    assert before, "no BLAS found by threadpoolctl"
    for _ in range(2):  # the second use reuses the process's controller
        with blas_threads(1):
            assert _blas_threads() == [1] * len(before)
            A = np.ones((64, 64))
            assert (A @ A)[0, 0] == 64.0
        assert _blas_threads() == before


def test_run_parallel_calls_every_item_once_and_raises_what_an_item_raises():
    seen: list[int] = []
    lock = threading.Lock()

    def item(i: int) -> None:
        with lock:
            seen.append(i)

    run_parallel(item, 37, n_jobs=3)
    assert sorted(seen) == list(range(37))
    assert n_workers(None, 1) == 1 and n_workers(8, 3) == 3 and n_workers(2, 100) == 2

    def bad(i: int) -> None:
        if i == 5:
            raise ValueError("item 5")

    with pytest.raises(ValueError, match="item 5"):
        run_parallel(bad, 10, n_jobs=2)
