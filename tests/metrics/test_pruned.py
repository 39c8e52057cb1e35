"""The cluster-pruned exact search against the plain kernel: same distances, same indices.

Exact equality is the contract here, not luck: both searches decide every reported distance with
the same float64 pair kernel on the same canonical rows (the float32 products only screen), so a
numpy or BLAS version changes both sides alike.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unisel.metrics import _pruned
from unisel.metrics.neighbors import (
    covering_radius,
    faiss_available,
    h_min,
    nearest_distances,
    sampled_nearest_distances,
)

BACKENDS = ["numpy"] + (["faiss"] if faiss_available() else [])


def tiny_blocks(mp: pytest.MonkeyPatch) -> None:
    """Many small clusters, blocks, column chunks and candidate lists, so every branch of the
    pruned search (phase 2, chunked screens, overflowing lists) runs on small inputs."""
    mp.setattr(_pruned, "CLUSTER_ROWS", 6)
    mp.setattr(_pruned, "PHASE1_ROWS", 10)
    mp.setattr(_pruned, "MAX_COLUMNS", 9)
    mp.setattr(_pruned, "SYMMETRIC_COLUMNS", 9)
    mp.setattr(_pruned, "BLOCK_ROWS", 5)
    mp.setattr(_pruned, "SCREEN_SLOTS", 2)
    mp.setattr(_pruned, "SYMMETRIC_SLOTS", 2)
    mp.setattr(_pruned, "FAISS_CANDIDATES", 2)
    mp.setattr(_pruned, "SAMPLE_PER_CLUSTER", 2)


@st.composite
def point_sets(draw, n_max: int = 90):
    """Clustered rows with wide and tight clusters, grid rows (many ties), exact and scaled
    duplicates and zero rows."""
    n = draw(st.integers(2, n_max))
    d = draw(st.integers(1, 10))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["mixture", "grid", "normal"]))
    scale = 10.0 ** draw(st.integers(-3, 3))
    if kind == "mixture":
        centres = rng.normal(size=(draw(st.integers(1, 6)), d)) * 5
        spread = 10.0 ** rng.uniform(-3, 0.5, size=centres.shape[0])
        lab = rng.integers(centres.shape[0], size=n)
        X = centres[lab] + spread[lab, None] * rng.normal(size=(n, d))
    elif kind == "grid":
        X = rng.integers(-2, 3, size=(n, d)).astype(float)
    else:
        X = rng.normal(size=(n, d))
    X *= scale
    if draw(st.booleans()):
        X[rng.integers(n, size=3)] = X[rng.integers(n)]  # exact duplicates
    if draw(st.booleans()):
        X[rng.integers(n)] = 3.0 * X[rng.integers(n)]  # cosine distance 0, not a duplicate
    if draw(st.booleans()):
        X[rng.integers(n, size=2)] = 0.0  # zero rows
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return X.astype(dtype)


@settings(max_examples=80, deadline=None)
@given(
    point_sets(),
    st.sampled_from(["cosine", "euclidean"]),
    st.sampled_from(BACKENDS),
    st.integers(0, 3),
    st.booleans(),
)
def test_pruned_self_search_equals_plain(X, metric, backend, seed, symmetric):
    want_d, want_i = nearest_distances(X, X, metric=metric, exclude_self=True, prune=False)
    with pytest.MonkeyPatch.context() as mp:
        tiny_blocks(mp)
        mp.setattr(_pruned, "SYMMETRIC", symmetric)  # cosine + numpy: pairs computed once
        got_d, got_i = nearest_distances(
            X, X, metric=metric, exclude_self=True, prune=True, backend=backend, random_state=seed
        )
        hmin = h_min(X, metric=metric, prune=True, backend=backend, random_state=seed)
    np.testing.assert_array_equal(got_d, want_d)
    np.testing.assert_array_equal(got_i, want_i)
    assert hmin == want_d.min()


@settings(max_examples=50, deadline=None)
@given(
    point_sets(),
    st.integers(1, 40),
    st.sampled_from(["cosine", "euclidean"]),
    st.sampled_from(BACKENDS),
)
def test_pruned_cross_search_and_covering_radius_equal_plain(X, k, metric, backend):
    rng = np.random.default_rng(k)
    S = X[rng.choice(X.shape[0], size=min(k, X.shape[0]), replace=False)]
    if k % 3 == 0:  # also a reference set that is not a subset
        S = S + 0.01 * np.abs(S).max() * rng.normal(size=S.shape).astype(S.dtype)
    want_d, want_i = nearest_distances(X, S, metric=metric, prune=False)
    with pytest.MonkeyPatch.context() as mp:
        tiny_blocks(mp)
        got_d, got_i = nearest_distances(X, S, metric=metric, prune=True, backend=backend)
        radius = covering_radius(X, S, metric=metric, prune=True, backend=backend)
    np.testing.assert_array_equal(got_d, want_d)
    np.testing.assert_array_equal(got_i, want_i)
    assert radius == want_d.max()


@settings(max_examples=30, deadline=None)
@given(point_sets(), st.sampled_from(["cosine", "euclidean"]), st.sampled_from(BACKENDS))
def test_sampled_rows_equal_their_plain_distances(X, metric, backend):
    rng = np.random.default_rng(X.shape[0])
    rows = np.sort(rng.choice(X.shape[0], size=max(1, X.shape[0] // 3), replace=False))
    want = nearest_distances(X, X, metric=metric, exclude_self=True, prune=False)[0][rows]
    with pytest.MonkeyPatch.context() as mp:
        tiny_blocks(mp)
        got = sampled_nearest_distances(X, rows, metric=metric, backend=backend)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_default_pruning_on_clustered_data_skips_work_and_keeps_values(metric):
    rng = np.random.default_rng(4)
    centres = rng.normal(size=(40, 24)) * 4
    X = (centres[rng.integers(40, size=4000)] + 0.3 * rng.normal(size=(4000, 24))).astype(
        np.float32
    )
    X[17] = X[3000]
    want_d, want_i = nearest_distances(X, X, metric=metric, exclude_self=True, prune=False)
    stats: dict = {}
    from unisel.metrics.neighbors import _exact_pairs, _pick, _Rows

    R = _Rows(X, metric)
    got_d, got_i = _pruned.pruned_search(
        R,
        R,
        metric,
        True,
        "each",
        backend="numpy",
        exact_pairs=_exact_pairs,
        pick=_pick,
        stats=stats,
    )
    np.testing.assert_array_equal(got_d, want_d)
    np.testing.assert_array_equal(got_i, want_i)
    assert stats["computed"] < 0.5 * stats["plain"]  # the bound skips most pairs here
    # the defaults (prune=None from PRUNE_MIN_ROWS) take the same path
    np.testing.assert_array_equal(
        nearest_distances(X, X, metric=metric, exclude_self=True)[0], want_d
    )
    assert h_min(X, metric=metric) == 0.0


def test_bad_mode_and_backend():
    X = np.random.default_rng(0).normal(size=(10, 3))
    from unisel.errors import ParameterError

    with pytest.raises(ParameterError, match="prune=True needs precision='float32'"):
        nearest_distances(X, X, prune=True, precision="float64")
    with pytest.raises(ParameterError):
        sampled_nearest_distances(X, [0, 1], backend="annoy")


def test_copies_are_searched_once_with_the_plain_values_and_indices(monkeypatch):
    # one text repeated hundreds of times (as in real chat sets), a scaled copy (cosine
    # distance 0, not a copy), zero rows: the search runs on the distinct rows only
    rng = np.random.default_rng(7)
    X = rng.normal(size=(3000, 16)).astype(np.float32)
    X[rng.choice(3000, 600, replace=False)] = X[2500]
    X[rng.choice(3000, 50, replace=False)] = X[10]
    X[40] = 2.0 * X[2500]
    X[[5, 6]] = 0.0
    sizes = []
    real = _pruned.pruned_search

    def spy(Q, R, *args, **kwargs):
        sizes.append(Q.shape[0])
        return real(Q, R, *args, **kwargs)

    monkeypatch.setattr(_pruned, "pruned_search", spy)
    distinct = np.unique(X, axis=0).shape[0]
    for metric in ("cosine", "euclidean"):
        want = nearest_distances(X, X, metric=metric, exclude_self=True, prune=False)
        sizes.clear()
        got = nearest_distances(X, X, metric=metric, exclude_self=True, prune=True)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        # one search, of the distinct rows; cosine answers the zero row without a search
        assert sizes == [distinct - 1 if metric == "cosine" else distinct]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 60), st.integers(0, 4), st.integers(0, 2**32 - 1), st.booleans())
def test_first_copies_is_the_lowest_equal_row(n, d, seed, skip_some):
    from unisel.metrics.neighbors import first_copies

    rng = np.random.default_rng(seed)
    X = rng.integers(0, 3, size=(n, d)).astype(rng.choice([np.float32, np.float64]))
    skip = rng.random(n) < 0.3 if skip_some else None
    want = np.arange(n)
    for i in range(n):
        if skip is not None and skip[i]:
            continue
        for j in range(i):
            if (skip is None or not skip[j]) and X[j].tobytes() == X[i].tobytes():
                want[i] = j
                break
    np.testing.assert_array_equal(first_copies(X, skip), want)
