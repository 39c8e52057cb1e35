"""Exact neighbour kernels against brute force (scipy cdist), every backend and precision."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from unisel.errors import ParameterError
from unisel.metrics.approximate import approximate_nearest
from unisel.metrics.neighbors import (
    covering_radius,
    faiss_available,
    h_min,
    nearest_distances,
    nearest_neighbor_distances,
)

BACKENDS = [("numpy", "float32"), ("numpy", "float64")] + (
    [("faiss", "float32")] if faiss_available() else []
)


def brute_nearest(Q, R, metric, exclude_self):
    D = cdist(np.asarray(Q, float), np.asarray(R, float), metric)
    if metric == "cosine":  # scipy leaves zero rows undefined; unisel: distance 1
        zq = ~np.asarray(Q, float).any(axis=1)
        zr = ~np.asarray(R, float).any(axis=1)
        D[zq, :] = 1.0
        D[:, zr] = 1.0
        D[D < 1e-12] = 0.0
    if exclude_self:
        np.fill_diagonal(D, np.inf)
    return D.min(axis=1), D


@st.composite
def sets(draw):
    m = draw(st.integers(2, 80))
    r = draw(st.integers(1, 80))
    d = draw(st.integers(1, 16))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = 10.0 ** draw(st.integers(-3, 3))
    if draw(st.booleans()):
        Q = rng.integers(-2, 3, size=(m, d)).astype(float) * scale
        R = rng.integers(-2, 3, size=(r, d)).astype(float) * scale
    else:
        Q = rng.normal(size=(m, d)) * scale
        R = rng.normal(size=(r, d)) * scale
    if draw(st.booleans()):
        Q[rng.integers(m)] = Q[rng.integers(m)]  # a duplicate
    if draw(st.booleans()):
        R[: min(r, m, 3)] = Q[: min(r, m, 3)] * (1 + 1e-9)  # near duplicates across sets
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return Q.astype(dtype), R.astype(dtype)


@settings(max_examples=60, deadline=None)
@given(sets(), st.sampled_from(["cosine", "euclidean"]), st.sampled_from(BACKENDS))
def test_nearest_equals_brute_force(case, metric, backend):
    Q, R = case
    name, precision = backend
    for exclude_self, ref in [(False, R), (True, Q)]:
        want, D = brute_nearest(Q, ref, metric, exclude_self)
        got, idx = nearest_distances(
            Q,
            ref,
            metric=metric,
            exclude_self=exclude_self,
            backend=name,
            precision=precision,
            block_size=7,
        )
        scale = 1.0 if metric == "cosine" else max(1.0, float(np.abs(D[np.isfinite(D)]).max()))
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * scale)
        # the index points at a row at that distance
        np.testing.assert_allclose(D[np.arange(len(Q)), idx], want, rtol=0, atol=1e-9 * scale)


def test_h_min_and_covering_radius_match_brute_force():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 24)).astype(np.float32)
    X[7] = X[300]
    S = X[rng.choice(400, 50, replace=False)]
    for backend, precision in BACKENDS:
        kw = {"backend": backend, "precision": precision}
        assert h_min(X, **kw) == 0.0
        assert h_min(X[:299], metric="euclidean", **kw) == pytest.approx(
            cdist(X[:299], X[:299]).__add__(np.diag(np.full(299, np.inf))).min(), abs=1e-9
        )
        want = cdist(X.astype(float), S.astype(float), "cosine").min(axis=1).max()
        assert covering_radius(X, S, **kw) == pytest.approx(want, abs=1e-12)
        nn = nearest_neighbor_distances(X[:299], **kw)
        assert nn.shape == (299,)


def test_float32_screen_decides_near_ties_in_float64():
    # distances 1e-9 apart: float32 cannot separate them, the answer must be the float64 one
    rng = np.random.default_rng(1)
    base = rng.normal(size=(1, 64))
    R = np.repeat(base, 20, axis=0) + 1e-9 * rng.normal(size=(20, 64))
    Q = base + 0.3 * rng.normal(size=(5, 64))
    want = cdist(Q, R, "euclidean").argmin(axis=1)
    got = nearest_distances(Q, R, metric="euclidean")[1]
    assert got.tolist() == want.tolist()


def test_bad_options():
    X = np.zeros((3, 2))
    with pytest.raises(ParameterError):
        nearest_distances(X, X, precision="float16")
    with pytest.raises(ParameterError):
        nearest_distances(X, X, backend="annoy")


@pytest.mark.parametrize("method", ["hnswlib", "faiss"])
def test_approximate_reports_measured_recall(method):
    pytest.importorskip(method)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(2000, 16)).astype(np.float32)
    res = approximate_nearest(X, method=method, sample_size=300)
    exact = nearest_neighbor_distances(X)
    agree = np.abs(res.distances - exact) <= 1e-6
    # reported recall is the agreement on the sample, and the sample agrees with the whole
    assert 0.0 <= res.recall <= 1.0 and res.sample_size == 300
    assert res.recall > 0.9
    assert abs(res.recall - agree.mean()) < 0.1
    assert np.all(res.distances >= exact - 1e-6)  # approximate distances are upper bounds
    assert res.h_min >= exact.min() - 1e-6
    S = X[:100]
    cov = approximate_nearest(X, S, method=method, sample_size=200)
    assert cov.max_distance >= covering_radius(X, S) - 1e-6
    # a deliberately poor graph reports poorer recall
    bad = approximate_nearest(X, method=method, M=2, ef_construction=2, ef_search=1)
    assert bad.recall <= res.recall


def test_every_search_takes_the_shared_keyword_options():
    # all four searches take the same keyword options: each accepts every
    # keyword of it, with the defaults of nearest_distances, and refuses others
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 5))
    options = {
        "metric": "euclidean",
        "block_size": 7,
        "precision": "float64",
        "backend": "numpy",
        "prune": False,
        "random_state": 3,
        "n_jobs": 1,
        "quiet": True,
    }
    D = cdist(X, X, "euclidean")
    np.fill_diagonal(D, np.inf)
    want = D.min(axis=1)
    np.testing.assert_allclose(nearest_distances(X, X, exclude_self=True, **options)[0], want)
    np.testing.assert_allclose(nearest_neighbor_distances(X, **options), want)
    assert h_min(X, **options) == pytest.approx(want.min(), abs=1e-12)
    assert covering_radius(X, X[:9], **options) == pytest.approx(
        cdist(X, X[:9]).min(axis=1).max(), abs=1e-12
    )
    assert h_min(X) == nearest_neighbor_distances(X, metric="cosine", prune=False).min()
    for search, args in (
        (nearest_distances, (X, X)),
        (nearest_neighbor_distances, (X,)),
        (h_min, (X,)),
        (covering_radius, (X, X[:9])),
    ):
        with pytest.raises(TypeError, match="metrik"):
            search(*args, metrik="cosine")
