"""``metric="euclidean"``: the fast engine against the reference loop, bit for bit.

Bit for bit by design: both sides compute the canonical squared-Euclidean keys of
`unisel.select.engine._canonical` (fixed order, no BLAS).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unisel.errors import ParameterError
from unisel.select.engine import _kernels, fast, maxmin, maxmin_reference
from unisel.select.engine._canonical import canonical_sqdist
from unisel.select.engine.reference import canonical_sq_euclidean

from .test_engine import clouds, dies_on_call, same

EUCLID = {"metric": "euclidean"}


@st.composite
def wide_clouds(draw, max_n: int = 300, max_d: int = 16):
    """The cosine test clouds, then rows rescaled over many orders of magnitude and/or moved
    far from the origin (what normalisation hid: the norms now matter)."""
    X, k, start = draw(clouds(max_n=max_n, max_d=max_d))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, d = X.shape
    how = draw(st.sampled_from(["as-is", "norms", "offset", "both"]))
    Y = X.astype(np.float64)
    if how in ("norms", "both"):
        Y = Y * np.exp(3.0 * rng.normal(size=(n, 1)))
    if how in ("offset", "both"):
        Y = Y + 100.0 * rng.normal(size=d)
    return Y.astype(X.dtype), k, start


@settings(max_examples=120, deadline=None)
@given(wide_clouds(), st.sampled_from([0, 1, 2, 3, 8, 1024]))
def test_euclidean_engine_equals_reference(case, refresh_every):
    X, k, start = case
    want = maxmin_reference(X, k, start=start, **EUCLID)
    same(maxmin(X, k, start=start, refresh_every=refresh_every, **EUCLID), want)


@settings(max_examples=30, deadline=None)
@given(wide_clouds(max_n=120), st.data())
def test_euclidean_initial_matches_reference(case, data):
    X, k, _ = case
    n = X.shape[0]
    m = data.draw(st.integers(1, k))
    initial = np.random.default_rng(m).permutation(n)[:m].tolist()
    every = data.draw(st.sampled_from([0, 2, 5, 1024]))
    got = maxmin(X, k, initial=initial, refresh_every=every, **EUCLID)
    same(got, maxmin_reference(X, k, initial=initial, **EUCLID))
    # extending a shorter run equals one longer run
    head = maxmin(X, m, start=initial[0], **EUCLID)[0]
    full = maxmin(X, k, start=initial[0], **EUCLID)
    ext = maxmin(X, k, initial=head.tolist(), **EUCLID)
    assert ext[0].tolist() == full[0].tolist()
    np.testing.assert_array_equal(ext[1][m:], full[1][m:])


def test_euclidean_differs_from_cosine_and_reports_distances():
    # rows on one ray: cosine sees duplicates, Euclidean sees a line
    X = np.outer(np.arange(1.0, 11.0), [3.0, 4.0])
    idx, dist = maxmin(X, 3, start=0, **EUCLID)
    assert idx.tolist() == [0, 9, 4]
    assert dist[0] == np.inf
    assert dist[1] == canonical_sqdist(X[9], X[0]) ** 0.5 == 45.0
    assert dist[2] == 20.0  # row 4 (5 x [3, 4]) is 4 steps of length 5 from row 0
    assert maxmin(X, 3, start=0)[1][1] == 0.0  # cosine: all duplicates of row 0
    np.testing.assert_allclose(
        dist[1:], [np.linalg.norm(X[9] - X[0]), np.linalg.norm(X[4] - X[0])], rtol=1e-15
    )


def test_duplicates_zero_rows_and_ties_go_to_lowest_index():
    rng = np.random.default_rng(0)
    for _ in range(100):
        X = rng.normal(size=(40, 6)) * np.exp(rng.normal(size=(40, 1)))
        X[31] = X[7]  # identical: the same key against every row, 0 to each other
        X[12] = 0.0
        X[25] = 0.0
        keys = canonical_sq_euclidean(X, X[3])
        assert keys[31] == keys[7] and keys[12] == keys[25]
        assert canonical_sq_euclidean(X, X[7])[31] == 0.0
        got = maxmin(X, 40, start=3, **EUCLID)
        same(got, maxmin_reference(X, 40, start=3, **EUCLID))
        order = got[0].tolist()
        assert order.index(7) < order.index(31) and order.index(12) < order.index(25)
        assert got[1][order.index(31)] == 0.0 and got[1][order.index(25)] == 0.0
    # ties between distinct rows: integer points of a grid, many exactly equal keys
    G = np.array([[i, j] for i in range(6) for j in range(6)], dtype=np.float32)
    same(maxmin(G, 36, start=14, **EUCLID), maxmin_reference(G, 36, start=14, **EUCLID))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_edge_sizes(dtype):
    rng = np.random.default_rng(1)
    for n, d in [(1, 1), (2, 1), (50, 1), (50, 3), (9, 400)]:
        X = (rng.normal(size=(n, d)) * 10).astype(dtype)
        X[n // 2] = X[0]
        for k in sorted({1, n // 2 or 1, n}):
            same(maxmin(X, k, **EUCLID), maxmin_reference(X, k, **EUCLID))


def test_block_refreshes_run_and_agree():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(8, 24))[rng.integers(8, size=1500)] * 30 + rng.normal(size=(1500, 24))
    X = X * np.exp(0.5 * rng.normal(size=(1500, 1)))
    X[700:720] = X[5]
    want = maxmin_reference(X, 1200, start=2, **EUCLID)
    for every in (0, 16, 333):
        same(maxmin(X, 1200, start=2, refresh_every=every, **EUCLID), want)
        assert (fast.LAST_STATS[3] > 0) == (every > 0)  # block refreshes ran iff asked
    # the screen is doing its job: far fewer float64 keys than float32 distances
    assert fast.LAST_STATS[2] + fast.LAST_STATS[5] < 0.2 * (fast.LAST_STATS[1] + fast.LAST_STATS[4])


def test_block_refresh_tiles_agree(monkeypatch):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(6, 12))[rng.integers(6, size=800)] * 20 + rng.normal(size=(800, 12))
    want = maxmin_reference(X, 600, start=3, **EUCLID)
    monkeypatch.setattr(fast, "REFRESH_TILE", 5)
    same(maxmin(X, 600, start=3, refresh_every=32, **EUCLID), want)
    assert fast.LAST_STATS[3] > 5


def test_float32_screen_bound_holds():
    # the stated tolerance bounds |float32 estimate - canonical key| on hostile data
    rng = np.random.default_rng(3)
    for d in [1, 3, 64, 384]:
        X = rng.normal(size=(300, d)) * np.exp(rng.normal(size=(300, 1)) * 3)
        X = X + rng.normal(size=d) * 50
        X[7] = 1e-39  # float32 subnormal territory
        X[8] = X[9]
        M = fast.geometry(X, fast.row_norms(X), "euclidean")
        Z32 = fast.prep32_rows(M, slice(None))
        G = (Z32 @ Z32[:50].T).astype(np.float64)
        est = M.sq[:, None] + M.sq[None, :50] - 2.0 * G
        tol = M.tol + M.rel * (M.sq[:, None] + M.sq[None, :50])
        exact = np.stack([canonical_sq_euclidean(X, X[i]) for i in range(50)], axis=1)
        assert (np.abs(est - exact) <= tol).all()
        # and the bound is not vacuous: within a few hundred times the worst error seen
        assert (np.abs(est - exact) / tol).max() > 1e-3


def test_torch_cpu_equals_numpy_engine():
    pytest.importorskip("torch")  # a core test dependency here; skip only if torch is absent
    rng = np.random.default_rng(4)
    X = (rng.normal(size=(400, 12)) * 5 + 3).astype(np.float32)
    X[10:20] = X[0]
    initial = rng.permutation(400)[:25].tolist()
    a = maxmin(X, 120, initial=initial, device="torch", **EUCLID)
    b = maxmin(X, 120, initial=initial, device="cpu", **EUCLID)
    same(a, b)
    same(b, maxmin_reference(X, 120, initial=initial, **EUCLID))


def test_resumed_equals_uninterrupted(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    X = (rng.normal(size=(3000, 10)) * np.exp(rng.normal(size=(3000, 1)))).astype(np.float32)
    want = maxmin(X, 1500, start=3, **EUCLID)
    same(want, maxmin_reference(X, 1500, start=3, **EUCLID))
    ckpt = tmp_path / "state.npz"
    real = _kernels.lazy_steps
    monkeypatch.setattr(fast.K, "lazy_steps", dies_on_call(real, 3))
    with pytest.raises(KeyboardInterrupt):
        maxmin(X, 1500, start=3, checkpoint=ckpt, checkpoint_every=256, **EUCLID)
    monkeypatch.setattr(fast.K, "lazy_steps", real)
    saved = np.load(ckpt)
    assert 1 < int(saved["t"]) < 1500 and str(saved["metric"]) == "euclidean"
    same(maxmin(X, 1500, start=3, checkpoint=ckpt, **EUCLID), want)
    # a finished checkpoint answers a shorter run (distances, not squared keys)
    same(maxmin(X, 1000, start=3, checkpoint=ckpt, **EUCLID), (want[0][:1000], want[1][:1000]))


def test_checkpoint_metric_mismatch_is_a_parameter_error(tmp_path):
    X = np.random.default_rng(6).normal(size=(200, 5))
    cos, euc = tmp_path / "cos.npz", tmp_path / "euc.npz"
    maxmin(X, 50, start=1, checkpoint=cos)
    maxmin(X, 50, start=1, checkpoint=euc, **EUCLID)
    with pytest.raises(ParameterError, match="metric='cosine', this run uses metric='euclidean'"):
        maxmin(X, 60, start=1, checkpoint=cos, **EUCLID)
    with pytest.raises(ParameterError, match="metric='euclidean', this run uses metric='cosine'"):
        maxmin(X, 60, start=1, checkpoint=euc)
    # a checkpoint from before the metric was recorded is a cosine one
    with np.load(cos) as z:
        old = {key: z[key] for key in z.files if key != "metric"}
    np.savez(tmp_path / "old.npz", **old)
    same(maxmin(X, 60, start=1, checkpoint=tmp_path / "old.npz"), maxmin_reference(X, 60, start=1))
    with pytest.raises(ParameterError, match="metric='cosine'"):
        maxmin(X, 60, start=1, checkpoint=tmp_path / "old.npz", **EUCLID)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "manhattan"}, "unknown metric 'manhattan'"),
        ({"metric": "euclidean", "prune": True}, "metric='cosine' only"),
        ({"metric": "euclidean", "prune": 4}, "metric='cosine' only"),
    ],
)
def test_bad_parameters(kwargs, message):
    X = np.random.default_rng(7).normal(size=(10, 3))
    with pytest.raises(ParameterError, match=message):
        maxmin(X, 3, **kwargs)
    if kwargs["metric"] == "manhattan":
        with pytest.raises(ParameterError, match=message):
            maxmin_reference(X, 3, **kwargs)


def test_pruning_is_off_for_euclidean_and_overflow_is_refused():
    X = np.random.default_rng(8).normal(size=(9000, 4)).astype(np.float32)
    same(maxmin(X, 30, **EUCLID), maxmin_reference(X, 30, **EUCLID))
    assert fast.LAST_PRUNE_STATS == []  # prune=None: the phase did not run
    same(maxmin(X, 30, prune=False, **EUCLID), maxmin_reference(X, 30, **EUCLID))
    X[5] = 3e18
    with pytest.raises(ParameterError, match="within 1e18 of the mean"):
        maxmin(X, 3, **EUCLID)
