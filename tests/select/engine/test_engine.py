"""The fast engine against the reference loop: identical sequences and distances.

Exact equality is the contract: the engine and the reference both decide with the canonical
float64 keys of `unisel.select.engine._canonical` (a fixed summation order, no BLAS), so no numpy
or BLAS version can move one side without the other.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unisel.errors import InputError, ParameterError
from unisel.select.engine import (
    DUPLICATE_TOLERANCE,
    _kernels,
    canonical_distances,
    cosine_normalize,
    fast,
    maxmin,
    maxmin_reference,
)
from unisel.select.engine._backends import numpy_matmul
from unisel.select.engine._canonical import canonical_dot
from unisel.select.engine._inputs import unit32_rows


def same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> None:
    assert a[0].dtype == np.int64 and b[0].dtype == np.int64
    assert a[0].tolist() == b[0].tolist()
    np.testing.assert_array_equal(a[1], b[1])  # bit for bit, nan == nan, inf == inf


def dies_on_call(real, n: int):
    """``real`` wrapped to raise KeyboardInterrupt (a killed run) on its n-th call."""
    calls = {"n": 0}

    def wrapped(*args):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return real(*args)

    return wrapped


@st.composite
def clouds(draw, max_n: int = 300, max_d: int = 16):
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(1, max_d))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["normal", "integer", "clustered", "near-tie"]))
    if kind == "normal":
        X = rng.normal(size=(n, d))
    elif kind == "integer":  # exact ties in exact arithmetic
        X = rng.integers(-2, 3, size=(n, d)).astype(np.float64)
    elif kind == "clustered":
        X = rng.normal(size=(4, d))[rng.integers(4, size=n)] + 0.05 * rng.normal(size=(n, d))
    else:  # keys differing by ~1e-7: float32 cannot order them, float64 must
        X = rng.normal(size=(max(1, n // 4), d))[rng.integers(max(1, n // 4), size=n)]
        X = X + 1e-7 * rng.normal(size=(n, d))
    X = X.astype(draw(st.sampled_from([np.float32, np.float64])))
    n_dup = draw(st.integers(0, n // 2))
    if n_dup:
        X[rng.choice(n, n_dup)] = X[rng.choice(n, n_dup)]
    if draw(st.booleans()):
        X[rng.integers(n)] = 0.0
    k = draw(st.integers(1, n))
    start = draw(st.integers(0, n - 1))
    return X, k, start


@settings(max_examples=120, deadline=None)
@given(clouds(), st.sampled_from([0, 1, 2, 3, 8, 1024]))
def test_engine_equals_reference(case, refresh_every):
    X, k, start = case
    want = maxmin_reference(X, k, start=start)
    same(maxmin(X, k, start=start, refresh_every=refresh_every), want)


def test_block_refreshes_run_and_agree():
    # big enough for many block refreshes with several centre chunks each
    rng = np.random.default_rng(11)
    X = rng.normal(size=(8, 24))[rng.integers(8, size=1500)] + 0.3 * rng.normal(size=(1500, 24))
    X[700:720] = X[5]
    want = maxmin_reference(X, 1200, start=2)
    for every in (0, 16, 64, 333):
        same(maxmin(X, 1200, start=2, refresh_every=every), want)
        if every:
            assert fast.LAST_STATS[3] > 0 and fast.LAST_STATS[4] > 0  # block refreshes ran
        else:
            assert fast.LAST_STATS[3] == 0
    with pytest.raises(ParameterError, match="refresh_every"):
        maxmin(X, 10, refresh_every=-1)


@pytest.mark.parametrize("tile", [1, 7, 64])
def test_block_refresh_tiles_agree(monkeypatch, tile):
    # the parallel tiles of a block refresh (many tiles, uneven last one) change nothing
    rng = np.random.default_rng(5)
    X = rng.normal(size=(6, 20))[rng.integers(6, size=900)] + 0.4 * rng.normal(size=(900, 20))
    X[400:410] = X[3]
    want = maxmin_reference(X, 700, start=1)
    monkeypatch.setattr(fast, "REFRESH_TILE", tile)
    same(maxmin(X, 700, start=1, refresh_every=32), want)
    assert fast.LAST_STATS[3] > tile  # rows of more than one tile were block-refreshed
    head = maxmin(X, 300, start=1)[0]
    got = maxmin(X, 700, initial=head.tolist(), refresh_every=32)
    same(got, maxmin_reference(X, 700, initial=head.tolist()))
    assert got[0].tolist() == want[0].tolist()


@settings(max_examples=30, deadline=None)
@given(clouds(max_n=120), st.data())
def test_extended_equals_one_longer_run(case, data):
    X, k, start = case
    full = maxmin(X, k, start=start)
    m = data.draw(st.integers(1, k))
    head = maxmin(X, m, start=start)[0]
    ext = maxmin(X, k, initial=head.tolist(), refresh_every=data.draw(st.sampled_from([0, 2, 5])))
    assert ext[0].tolist() == full[0].tolist()
    np.testing.assert_array_equal(ext[1][m:], full[1][m:])


@settings(max_examples=30, deadline=None)
@given(clouds(max_n=120), st.data())
def test_arbitrary_initial_matches_reference(case, data):
    X, k, _ = case
    n = X.shape[0]
    m = data.draw(st.integers(1, k))
    initial = np.random.default_rng(m).permutation(n)[:m].tolist()
    every = data.draw(st.sampled_from([0, 2, 5, 1024]))
    same(
        maxmin(X, k, initial=initial, refresh_every=every), maxmin_reference(X, k, initial=initial)
    )


def test_identical_rows_tie_to_lowest_index():
    # rows 4 and 33 are identical and farthest from row 0; BLAS dgemv gave them keys one ulp
    # apart (the tail row won); the canonical key makes them tie, so row 4 wins
    rng = np.random.default_rng(0)
    for _ in range(200):
        X = rng.standard_normal((34, 8))
        X[0] = -np.abs(X[0])
        X[4] = np.abs(rng.standard_normal(8)) * 3
        X[33] = X[4]
        idx, _ = maxmin(X, 2)
        assert idx[1] != 33
        assert maxmin_reference(X, 2)[0][1] == idx[1]


def test_canonical_dot_is_fixed_order_and_position_free():
    rng = np.random.default_rng(1)
    for d in [1, 7, 8, 9, 33, 384]:
        a, b = rng.normal(size=d), rng.normal(size=d)
        acc = [0.0] * 8
        m = d - d % 8
        for i in range(m):
            acc[i % 8] = acc[i % 8] + float(a[i]) * float(b[i])
        for i in range(m, d):
            acc[i - m] = acc[i - m] + float(a[i]) * float(b[i])
        want = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
        assert canonical_dot(a, b) == want
        U = cosine_normalize(rng.normal(size=(37, d)))
        U[20] = U[3]
        dist = canonical_distances(U, U[0])
        assert dist[20] == dist[3]


def test_duplicate_tolerance_matches_kernel():
    assert _kernels.DUP_TOL == DUPLICATE_TOLERANCE


def test_float32_screen_bound_holds():
    # the stated tolerance bounds |float32 distance - canonical key| on adversarial-ish data
    rng = np.random.default_rng(2)
    for d in [1, 3, 64, 384]:
        X = rng.normal(size=(300, d)) * np.exp(rng.normal(size=(300, 1)) * 3)
        U = cosine_normalize(X)
        U32 = U.astype(np.float32)
        D32 = 1.0 - (U32 @ U32.T).astype(np.float64)
        D64 = np.stack([canonical_distances(U, U[i]) for i in range(50)])
        assert np.abs(D32[:50] - D64).max() <= fast.tolerance(d)


def test_torch_cpu_equals_numpy_engine():
    pytest.importorskip("torch")  # a core test dependency here; skip only if torch is absent
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 12)).astype(np.float32)
    X[10:20] = X[0]
    initial = rng.permutation(400)[:25].tolist()
    a = maxmin(X, 120, initial=initial, device="torch")
    b = maxmin(X, 120, initial=initial, device="cpu")
    c = maxmin(X, 120, initial=initial, device="auto")
    same(a, b)
    same(b, c)
    same(b, maxmin_reference(X, 120, initial=initial))


def test_memmap_and_path_equal_in_memory(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(500, 9)).astype(np.float32)
    path = tmp_path / "emb.npy"
    np.save(path, X)
    want = maxmin(X, 200, start=7)
    same(maxmin(path, 200, start=7, block_size=64), want)
    same(maxmin(np.load(path, mmap_mode="r"), 200, start=7, block_size=33), want)
    same(want, maxmin_reference(X, 200, start=7))


def test_resumed_equals_uninterrupted(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 10)).astype(np.float32)
    want = maxmin(X, 1500, start=3)
    ckpt = tmp_path / "state.npz"

    real = _kernels.lazy_steps
    monkeypatch.setattr(fast.K, "lazy_steps", dies_on_call(real, 3))
    with pytest.raises(KeyboardInterrupt):
        maxmin(X, 1500, start=3, checkpoint=ckpt, checkpoint_every=256)
    monkeypatch.setattr(fast.K, "lazy_steps", real)
    saved = int(np.load(ckpt)["t"])
    assert 1 < saved < 1500
    same(maxmin(X, 1500, start=3, checkpoint=ckpt), want)
    assert int(np.load(ckpt)["t"]) == 1500
    same(maxmin(X, 1000, start=3, checkpoint=ckpt), (want[0][:1000], want[1][:1000]))
    # a shorter checkpointed run then a longer one: same as one run
    ckpt2 = tmp_path / "two.npz"
    maxmin(X, 700, start=3, checkpoint=ckpt2)
    same(maxmin(X, 1500, start=3, checkpoint=ckpt2), want)


def test_checkpoint_mismatch_is_a_parameter_error(tmp_path):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(200, 5))
    ckpt = tmp_path / "s.npz"
    maxmin(X, 50, start=1, checkpoint=ckpt)
    with pytest.raises(ParameterError, match="different embeddings"):
        Y = X.copy()
        Y[100, 2] += 1.0
        maxmin(Y, 60, start=1, checkpoint=ckpt)
    with pytest.raises(ParameterError, match="shape"):
        maxmin(X[:150], 60, start=1, checkpoint=ckpt)
    with pytest.raises(ParameterError, match="start/initial"):
        maxmin(X, 60, start=2, checkpoint=ckpt)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ParameterError, match="checkpoint"):
        maxmin(X, 60, checkpoint=tmp_path / "junk.npz")
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"k": 0}, ParameterError, "between 1"),
        ({"k": 11}, ParameterError, "between 1"),
        ({"k": 3, "start": 10}, ParameterError, "start index 10"),
        ({"k": 3, "initial": [1, 1]}, ParameterError, "repeated"),
        ({"k": 3, "initial": [0, 12]}, ParameterError, "outside"),
        ({"k": 2, "initial": [0, 1, 2]}, ParameterError, "more than k"),
        ({"k": 3, "device": "tpu"}, ParameterError, "unknown device"),
    ],
)
def test_bad_parameters(kwargs, error, message):
    X = np.random.default_rng(7).normal(size=(10, 3))
    with pytest.raises(error, match=message):
        maxmin(X, **kwargs)


def test_non_finite_row_is_named():
    X = np.ones((5, 3))
    X[3, 1] = np.nan
    with pytest.raises(InputError, match="row 3"):
        maxmin(X, 2)


def test_larger_run_does_less_work_than_plain_loop():
    # the lazy engine must not degrade to n*k distance evaluations on clustered data
    rng = np.random.default_rng(8)
    X = rng.normal(size=(20, 32))[rng.integers(20, size=4000)] + rng.normal(size=(4000, 32))
    X = X.astype(np.float32)
    n, k = X.shape[0], 400
    nrm = fast.row_norms(X)
    M = fast.geometry(X, nrm, "cosine")
    md = np.full(n, np.inf)
    fast.fold_centres(M, np.array([0]), md, numpy_matmul)
    md[0] = -np.inf
    heap, hsize = _kernels.build_heap(md)
    C32 = np.empty((k, 32), dtype=np.float32)
    C32[0] = unit32_rows(X, nrm, np.array([0]))[0]
    idx = np.zeros(k, dtype=np.int64)
    dist = np.full(k, np.nan)
    stats = np.zeros(9, dtype=np.int64)
    stamp = np.ones(n, dtype=np.int64)
    # batch=1: one row at a time (stats[1] counts its float32 dots)
    _kernels.lazy_steps(M, C32, idx, dist, md, stamp, heap, hsize, 1, k, stats, 1, 1, 1)
    assert idx.tolist() == maxmin_reference(X, k)[0].tolist()
    assert stats[1] < 0.5 * n * k
