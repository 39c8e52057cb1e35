"""maxmin with length_buckets: buckets, proportional interleaving, per-bucket greedy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from unisel.errors import ParameterError
from unisel.select import select
from unisel.select.buckets import bucket_ids, proportional_labels
from unisel.select.engine import maxmin_reference


def test_bucket_ids_are_quantile_buckets_and_keep_ties_together():
    lengths = np.array([5, 1, 1, 1, 9, 7, 3, 3, 8, 2])
    ids = bucket_ids(lengths, 3)
    assert ids.min() == 0 and set(ids.tolist()) == set(range(ids.max() + 1))
    for a in range(10):
        for b in range(10):
            if lengths[a] == lengths[b]:
                assert ids[a] == ids[b]
            if lengths[a] < lengths[b]:
                assert ids[a] <= ids[b]
    assert bucket_ids(lengths, 1).tolist() == [0] * 10
    with pytest.raises(ParameterError, match="at least 1"):
        bucket_ids(lengths, 0)


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6))
@example(sizes=[1, 1, 1, 14, 14])  # "furthest behind its share first" falls 1.03 behind here
def test_every_prefix_holds_each_bucket_in_proportion(sizes):
    sizes = np.array(sizes)
    n = int(sizes.sum())
    labels = proportional_labels(sizes, n)
    assert np.bincount(labels, minlength=sizes.size).tolist() == sizes.tolist()
    taken = np.zeros(sizes.size)
    for t, b in enumerate(labels, start=1):
        taken[b] += 1
        assert np.all(np.abs(taken - t * sizes / n) <= 1.0), (t, taken, sizes)


def _bucketed_reference(X, lengths, k, n_buckets, seed):
    """Per-bucket plain max-min with the documented start draws, each bucket continuing from
    the shorter buckets' picks, placed by the labels."""
    ids = bucket_ids(lengths, n_buckets)
    labels = proportional_labels(np.bincount(ids), k)
    rng = np.random.default_rng(seed)
    order = np.empty(k, dtype=np.int64)
    chosen: list[int] = []  # each bucket continues from the shorter buckets' picks
    for b in range(ids.max() + 1):
        rows = np.flatnonzero(ids == b)
        start = int(rng.integers(rows.size))
        k_b = int((labels == b).sum())
        if k_b:
            pool = np.concatenate([np.asarray(chosen, dtype=np.int64), rows])
            idx, _ = maxmin_reference(
                X[pool], len(chosen) + k_b, start=start, initial=list(range(len(chosen))) or None
            )
            picks = pool[idx[len(chosen) :]]
            order[labels == b] = picks
            chosen += picks.tolist()
    return order


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 1000), n_buckets=st.integers(2, 5), frac=st.floats(0.05, 1.0))
def test_bucketed_maxmin_equals_the_reference_per_bucket(seed, n_buckets, frac):
    rng = np.random.default_rng(seed)
    n = 120
    X = rng.normal(size=(n, 4))
    lengths = rng.integers(1, 60, size=n)
    k = max(1, int(frac * n))
    got = select(X, k, "maxmin", random_state=seed, length_buckets=n_buckets, token_counts=lengths)
    assert got.indices.tolist() == _bucketed_reference(X, lengths, k, n_buckets, seed).tolist()
    assert got.params["length_buckets"] == n_buckets and len(set(got.indices.tolist())) == k


def test_bucketed_maxmin_under_a_token_budget_is_the_prefix_rule():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 5))
    lengths = rng.integers(1, 40, size=200)
    got = select(X, method="maxmin", token_budget=900, token_counts=lengths, length_buckets=3)
    k_max = int(np.searchsorted(np.cumsum(np.sort(lengths)), 900, side="right"))
    order = _bucketed_reference(X, lengths, k_max, 3, 0)
    total, want = 0, []
    for i in order:
        if total + lengths[i] > 900:
            break
        total += int(lengths[i])
        want.append(int(i))
    assert got.indices.tolist() == want and got.tokens["total"] == total


def test_bucketed_maxmin_keeps_the_length_distribution_plain_maxmin_shifts():
    rng = np.random.default_rng(0)
    short = rng.normal(size=(300, 8)) * 3.0  # short records spread far apart: maxmin's pick
    long_ = rng.normal(size=(300, 8)) * 0.3
    X = np.vstack([short, long_])
    lengths = np.r_[rng.integers(5, 20, 300), rng.integers(200, 400, 300)]
    plain = select(X, 60, "maxmin", metric="euclidean")
    bucketed = select(X, 60, "maxmin", metric="euclidean", length_buckets=2, token_counts=lengths)
    assert (lengths[plain.indices] < 100).mean() > 0.8
    assert (lengths[bucketed.indices] < 100).mean() == 0.5


def test_bucket_errors():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ParameterError, match="needs the length"):
        select(X, 5, "maxmin", length_buckets=2)
    with pytest.raises(ParameterError, match="cannot be combined"):
        select(X, 5, "maxmin", length_buckets=2, token_counts=np.ones(20, int), start=3)
    with pytest.raises(ParameterError, match="one per record"):
        select(X, 5, "maxmin", length_buckets=2, token_counts=np.ones(19, int))
    for one in (0, 1):  # one bucket still needs lengths and refuses start: not plain maxmin
        with pytest.raises(ParameterError, match="at least 2"):
            select(X, 5, "maxmin", length_buckets=one, token_counts=np.ones(20, int))
