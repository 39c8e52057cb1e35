"""Admission of max-min candidates: isolation scores against their plain reference, and the
robust selector against the plain greedy on the admitted records."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unisel.errors import ParameterError
from unisel.select import select
from unisel.select.admission import (
    admit,
    isolation_scores,
    isolation_scores_reference,
)
from unisel.select.engine import maxmin_reference


@st.composite
def point_sets(draw):
    """Random rows with the cases that break screens: duplicates, zero rows, wide clusters."""
    n = draw(st.integers(2, 120))
    d = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(draw(st.integers(1, 5)), d)) * draw(st.sampled_from([0.1, 1, 10]))
    X = centres[rng.integers(len(centres), size=n)] + rng.normal(size=(n, d)) * rng.uniform(
        0.01, 2, size=(n, 1)
    )
    if draw(st.booleans()):
        X[rng.integers(n, size=n // 4)] = X[0]  # exact duplicates
    if draw(st.booleans()):
        X[rng.integers(n)] = 0.0
    return X.astype(draw(st.sampled_from([np.float32, np.float64])))


@settings(max_examples=60, deadline=None)
@given(
    point_sets(),
    st.integers(1, 12),
    st.sampled_from(["cosine", "euclidean"]),
    st.sampled_from([7, 50, 10_000]),
)
def test_isolation_scores_equal_the_reference(X, m, metric, sample_size):
    want = isolation_scores_reference(X, m, metric=metric, sample_size=sample_size)
    got = isolation_scores(X, m, metric=metric, sample_size=sample_size)
    # identical: both take the m-th smallest of the same canonical float64 keys
    np.testing.assert_array_equal(got, want)


@settings(max_examples=40, deadline=None)
@given(
    point_sets(),
    st.floats(0.0, 0.5),
    st.sampled_from(["cosine", "euclidean"]),
    st.integers(0, 3),
    st.data(),
)
def test_robust_maxmin_is_the_plain_greedy_over_the_admitted(X, outliers, metric, seed, data):
    n = X.shape[0]
    aside = data.draw(st.lists(st.integers(0, n - 1), max_size=n // 3, unique=True))
    adm = admit(
        X,
        outliers=outliers,
        n_neighbors=3,
        set_aside=np.array(aside, dtype=int),
        metric=metric,
        random_state=seed,
    )
    rows = adm.rows
    if rows.size == 0:
        return
    k = data.draw(st.integers(1, n))
    sel = select(
        X,
        k,
        "maxmin",
        random_state=seed,
        metric=metric,
        outliers=outliers,
        outlier_neighbors=3,
        set_aside=aside,
    )
    # the reference: the same start draw, plain greedy on the admitted rows, then on all rows
    start = int(rows[np.random.default_rng(seed).integers(rows.size)])
    k_adm = min(k, rows.size)
    idx, dist = maxmin_reference(
        X[rows], k_adm, start=int(np.searchsorted(rows, start)), metric=metric
    )
    want = rows[idx]
    if k > k_adm:
        more, more_d = maxmin_reference(X, k, initial=want.tolist(), metric=metric)
        want, dist = more, np.concatenate([dist, more_d[k_adm:]])
    assert sel.indices.tolist() == want.tolist()
    # distances: the engine's float64 keys equal the reference's; sqrt/1 - dot may round
    np.testing.assert_allclose(sel.distances, dist, rtol=1e-12, atol=1e-12)
    assert sel.params.get("set_aside", 0) == len(aside)


def test_isolated_records_are_the_sparse_ones():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)) * 0.05 + np.array([1.0, 0, 0, 0])
    X[:6] = rng.normal(size=(6, 4)) * 3  # six scattered points far from the cluster
    adm = admit(X, outliers=0.02, n_neighbors=5, metric="euclidean")
    assert adm.isolated.tolist() == [0, 1, 2, 3, 4, 5]
    assert adm.params["isolated"] == 6 and adm.params["set_aside"] == 0
    sel = select(X, 20, "maxmin", metric="euclidean", outliers=0.02, outlier_neighbors=5)
    assert not set(sel.indices.tolist()) & set(range(6))
    plain = select(X, 20, "maxmin", metric="euclidean")
    assert set(plain.indices.tolist()) >= set(range(6))  # the paper's greedy takes them all


def test_set_aside_records_are_never_early_picks():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 8))
    far = [3, 50, 120]
    X[far] = 100 * rng.normal(size=(3, 8))
    sel = select(X, 197, "maxmin", set_aside=far)
    assert not set(sel.indices.tolist()) & set(far)
    everything = select(X, 200, "maxmin", set_aside=far)
    assert sorted(everything.indices[-3:].tolist()) == far  # after every admitted record


def test_bad_parameters():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ParameterError, match="outliers must be a fraction"):
        admit(X, outliers=1.0)
    with pytest.raises(ParameterError, match="outside 0..19"):
        admit(X, set_aside=np.array([25]))
    with pytest.raises(ParameterError, match="no record is a max-min candidate"):
        select(X, 3, "maxmin", set_aside=list(range(20)))


def test_buckets_with_more_records_than_candidates_put_the_candidates_first():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 5))
    lengths = rng.integers(1, 50, size=60)
    aside = [2, 9, 31]
    sel = select(X, 60, "maxmin", set_aside=aside, outliers=0.1, length_buckets=3, lengths=lengths)
    assert sorted(sel.indices.tolist()) == list(range(60))
    n_admitted = 60 - 3 - 6  # ceil(0.1 * 60) isolated
    assert not set(sel.indices[:n_admitted].tolist()) & set(aside)
    assert set(aside) <= set(sel.indices[n_admitted:].tolist())
