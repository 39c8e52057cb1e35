"""Batched (matrix-product) refreshes of the lazy loop: identical to the reference, and run.

Exact equality is the contract: the engine and the reference both decide with the canonical
float64 keys of `unisel.select.engine._canonical` (a fixed summation order, no BLAS), so no numpy
or BLAS version can move one side without the other; the float32 products (BLAS, any order)
only screen, within the stated tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unisel.select.engine import _kernels as K
from unisel.select.engine import fast, maxmin, maxmin_reference

from .test_engine import clouds, same


def _batching(monkeypatch: pytest.MonkeyPatch, rows: int, min_stale: int, chunk: int) -> None:
    monkeypatch.setattr(fast, "BATCH_ROWS", rows)
    monkeypatch.setattr(fast, "BATCH_MIN_STALE", min_stale)
    monkeypatch.setattr(fast, "BATCH_CHUNK", chunk)


@settings(max_examples=80, deadline=None)
@given(
    clouds(),
    st.sampled_from([(2, 1, 1), (3, 1, 2), (7, 2, 5), (64, 32, 256), (5, 1, 1024)]),
    st.sampled_from([0, 3, 1024]),
)
def test_batched_refreshes_equal_reference(case, batch, refresh_every):
    X, k, start = case
    with pytest.MonkeyPatch.context() as mp:
        _batching(mp, *batch)
        got = maxmin(X, k, start=start, refresh_every=refresh_every, prune=False)
    same(got, maxmin_reference(X, k, start=start))


@settings(max_examples=25, deadline=None)
@given(clouds(max_n=150), st.data())
def test_batched_refreshes_with_initial_and_euclidean(case, data):
    X, k, _ = case
    n = X.shape[0]
    m = data.draw(st.integers(1, k))
    initial = np.random.default_rng(m).permutation(n)[:m].tolist()
    metric = data.draw(st.sampled_from(["cosine", "euclidean"]))
    with pytest.MonkeyPatch.context() as mp:
        _batching(mp, 4, 1, 3)
        got = maxmin(X, k, initial=initial, refresh_every=0, metric=metric)
    same(got, maxmin_reference(X, k, initial=initial, metric=metric))


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_batches_run_and_do_the_lazy_loops_work(monkeypatch, metric):
    # clustered rows with ties and duplicates: many rows near the top, far behind
    rng = np.random.default_rng(21)
    X = rng.normal(size=(8, 24))[rng.integers(8, size=2500)] + 0.3 * rng.normal(size=(2500, 24))
    X[900:940] = X[7]
    X = X.astype(np.float32)
    want = maxmin_reference(X, 1800, start=3, metric=metric)
    _batching(monkeypatch, 1, 1, 1)  # batches off: one row at a time
    same(maxmin(X, 1800, start=3, refresh_every=0, prune=False, metric=metric), want)
    single = list(fast.LAST_STATS)
    assert single[6] == 0
    _batching(monkeypatch, 16, 2, 8)
    same(maxmin(X, 1800, start=3, refresh_every=0, prune=False, metric=metric), want)
    batched = list(fast.LAST_STATS)
    assert batched[6] > 0 and batched[7] > 0  # batched refreshes ran ...
    assert batched[7] > 5 * batched[1]  # ... and took over most of the float32 dots
    # refreshing rows together takes the same oldest-first centres: at most one chunk of 8
    # centres more per refreshed row than one row at a time
    assert batched[1] + batched[7] <= single[1] + 8 * batched[6]


def test_top_stale_walks_the_heap_best_first():
    rng = np.random.default_rng(3)
    md = np.round(rng.random(300), 2)  # ties, broken by the lower index
    md[[5, 77]] = -np.inf  # selected
    heap, hsize = K.build_heap(md)
    stamp = np.zeros(300, dtype=np.int64)
    ranked = sorted((j for j in range(300) if md[j] != -np.inf), key=lambda j: (-md[j], j))
    stamp[ranked[9]] = 4  # up to date for t = 4: the walk stops there
    front = np.empty(66, dtype=np.int64)
    out = np.empty(64, dtype=np.int64)
    m, theta = K.top_stale(heap, hsize, md, stamp, 4, 64, front, out)
    assert m == 9 and theta == md[ranked[9]]
    assert [heap[p] for p in out[:m]] == ranked[:9]
    m, theta = K.top_stale(heap, hsize, md, stamp * 0, 4, 20, front, out)
    assert m == 20 and theta == md[ranked[20]]
    assert [heap[p] for p in out[:m]] == ranked[:20]
    # every position's parent was taken before it: the batch is a subtree with the root
    taken = set(out[:m].tolist())
    assert all(p == 0 or (p - 1) // 2 in taken for p in taken)
    tiny = np.array([0.5, -np.inf, 0.25])
    heap, hsize = K.build_heap(tiny)
    m, theta = K.top_stale(heap, hsize, tiny, np.zeros(3, dtype=np.int64), 1, 8, front, out)
    assert m == 2 and theta == -np.inf


@pytest.mark.parametrize(("m", "n", "d"), [(1, 1, 1), (37, 23, 19), (5, 300, 101), (64, 8, 0)])
def test_sgemm_nt_is_the_float32_product(m, n, d):
    import numba as nb

    from unisel.select.engine._blas import sgemm_nt

    _product = nb.njit(lambda a, b, out: sgemm_nt(a, b, out))  # type: ignore[call-arg]
    rng = np.random.default_rng(m + n + d)
    a = rng.normal(size=(m, d)).astype(np.float32)
    b = rng.normal(size=(n, d)).astype(np.float32)
    out = np.full((m, n), np.nan, dtype=np.float32)
    assert _product(a, b, out) == 0
    # any float32 summation order: within d * 2^-24 * sum |a_i b_i| of the exact product
    exact = a.astype(np.float64) @ b.astype(np.float64).T
    bound = (d + 2) * 2.0**-24 * (np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64).T)
    assert np.all(np.abs(out - exact) <= bound + 1e-30)
    # sub-arrays: the rows of a C-contiguous array are C-contiguous
    rows = np.full((m, n), np.nan, dtype=np.float32)
    big = np.vstack([a, a])
    assert _product(big[m:], b, rows) == 0
    np.testing.assert_array_equal(rows, out)  # the same call on the same bytes


def test_top_subtree_finds_the_rows_above_theta_and_the_heap_is_restored():
    rng = np.random.default_rng(4)
    md = np.round(rng.random(500), 2)
    md[[10, 20, 30]] = -np.inf
    heap, hsize = K.build_heap(md)
    out = np.empty(hsize, dtype=np.int64)
    for theta in (2.0, 0.99, 0.7, 0.3, 0.0):
        m = K.top_subtree(heap, hsize, md, theta, out)
        positions = out[:m]
        assert positions.tolist() == sorted(positions.tolist())
        assert sorted(heap[positions].tolist()) == sorted(
            j for j in range(500) if md[j] != -np.inf and md[j] >= theta
        )
        # lower the keys found (as a block refresh does), then restore the heap
        low = md.copy()
        low[heap[positions]] *= rng.random(m)
        h = heap.copy()
        K.sift_down_each(h, hsize, low, positions)
        assert sorted(h[:hsize].tolist()) == sorted(heap[:hsize].tolist())
        for p in range(1, hsize):
            parent, child = h[(p - 1) // 2], h[p]
            assert (low[parent], -parent) > (low[child], -child)
