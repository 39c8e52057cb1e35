"""Greedy max-min: the library's selector against a plain loop written here."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unisel.errors import ParameterError
from unisel.select import select
from unisel.select.engine import maxmin, maxmin_reference


def plain_maxmin(X: np.ndarray, k: int, start: int) -> list[int]:
    """O(n*k) greedy max-min with per-pair cosine distances in float64, ties to the lowest index.

    Distances below 1e-12 count as 0 (identical records), as in the canonical definition.
    """

    def dist(a, b):
        d = 1.0 - float(np.dot(a, b))
        return 0.0 if d < 1e-12 else d

    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    unit = []
    for row in X:
        norm = math.sqrt(float(np.dot(row, row)))
        unit.append(row / norm if norm > 0 else row)
    chosen = [start]
    nearest = [dist(unit[i], unit[start]) for i in range(n)]
    while len(chosen) < k:
        best, best_i = -math.inf, -1
        for i in range(n):
            if i not in chosen and nearest[i] > best:
                best, best_i = nearest[i], i
        chosen.append(best_i)
        for i in range(n):
            nearest[i] = min(nearest[i], dist(unit[i], unit[best_i]))
    return chosen


@st.composite
def point_clouds(draw):
    n = draw(st.integers(1, 60))
    d = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    n_dup = draw(st.integers(0, n // 2))
    if n_dup and n > 1:  # exact duplicates of random rows
        X[rng.choice(n, n_dup)] = X[rng.choice(n, n_dup)]
    if draw(st.booleans()):
        X[rng.integers(n)] = 0.0  # a zero row: distance 1 from everything
    k = draw(st.integers(1, n))
    start = draw(st.integers(0, n - 1))
    return X, k, start


@settings(max_examples=150, deadline=None)
@given(point_clouds())
def test_maxmin_equals_plain_loop(case):
    X, k, start = case
    expected = plain_maxmin(X, k, start)
    ref, _ = maxmin_reference(X, k, start=start)
    fast, _ = maxmin(X, k, start=start)
    assert ref.tolist() == expected
    assert fast.tolist() == expected


@settings(max_examples=50, deadline=None)
@given(point_clouds())
def test_distances_are_the_min_distance_when_chosen(case):
    X, k, start = case
    idx, dist = maxmin(X, k, start=start)
    assert len(set(idx.tolist())) == k
    assert dist[0] == np.inf
    U = X.astype(np.float64)
    norms = np.linalg.norm(U, axis=1, keepdims=True)
    U = U / np.where(norms == 0, 1, norms)
    for t in range(1, k):
        expected = (1.0 - U[idx[:t]] @ U[idx[t]]).min()
        assert dist[t] == pytest.approx(expected, abs=1e-12)
    assert np.all(np.diff(dist[1:]) <= 1e-12)  # non-increasing


def test_selector_is_deterministic_and_seed_draws_start():
    X = np.random.default_rng(3).normal(size=(300, 16)).astype(np.float32)
    a = select(X, 50, "maxmin", random_state=7)
    b = select(X, 50, "maxmin", random_state=7)
    c = select(X, 50, "maxmin", random_state=8)
    assert a.indices.tolist() == b.indices.tolist()
    assert a.params["start"] == int(np.random.default_rng(7).integers(300))
    assert a.indices[0] == a.params["start"]
    assert c.indices[0] != a.indices[0] or c.indices.tolist() == a.indices.tolist()


def test_explicit_start_and_extend():
    X = np.random.default_rng(4).normal(size=(200, 8))
    full = select(X, 40, "maxmin", start=5)
    assert full.indices[0] == 5
    head = select(X, 15, "maxmin", start=5)
    extended = select(X, 40, "maxmin", initial=head.indices.tolist())
    assert extended.indices.tolist() == full.indices.tolist()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": 200}, "start index 200"),
        ({"initial": [1, 1]}, "repeated"),
        ({"initial": [0, 999]}, "outside"),
    ],
)
def test_bad_parameters(kwargs, message):
    X = np.random.default_rng(5).normal(size=(200, 4))
    with pytest.raises(ParameterError, match=message):
        select(X, 10, "maxmin", **kwargs)


def test_all_duplicates_do_not_crash():
    X = np.ones((10, 3))
    idx, dist = maxmin(X, 10, start=3)
    assert sorted(idx.tolist()) == list(range(10))
    assert idx.tolist() == [
        3,
        0,
        1,
        2,
        4,
        5,
        6,
        7,
        8,
        9,
    ]  # zero distances: ties to the lowest index
    assert np.all(dist[1:] == 0.0)


def plain_maxmin_euclidean(X: np.ndarray, k: int, start: int) -> tuple[list[int], list[float]]:
    """O(n*k) greedy max-min on Euclidean distance of the raw rows, ties to the lowest index."""
    rows = [[float(v) for v in row] for row in X]

    def dist(a, b):
        return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))

    chosen, dists = [start], [math.inf]
    nearest = [dist(r, rows[start]) for r in rows]
    while len(chosen) < k:
        best, best_i = -math.inf, -1
        for i in range(len(rows)):
            if i not in chosen and nearest[i] > best:
                best, best_i = nearest[i], i
        chosen.append(best_i)
        dists.append(best)
        nearest = [min(m, dist(r, rows[best_i])) for m, r in zip(nearest, rows, strict=True)]
    return chosen, dists


@settings(max_examples=80, deadline=None)
@given(point_clouds(), st.integers(0, 2**32 - 1))
def test_euclidean_selector_equals_plain_loop(case, seed):
    X, k, start = case
    # small integers: every squared distance is exact in any summation order, so exact ties
    # are real ties and a plain loop must agree step for step
    X = np.round(3 * X) * np.random.default_rng(seed).integers(1, 4, size=(X.shape[0], 1))
    expected, dists = plain_maxmin_euclidean(X, k, start)
    sel = select(X, k, "maxmin", start=start, metric="euclidean")
    assert sel.indices.tolist() == expected
    assert sel.params["metric"] == "euclidean"
    np.testing.assert_allclose(sel.distances, dists, rtol=1e-15)
    assert select(X, k, "maxmin", start=start).params["metric"] == "cosine"


def test_euclidean_selector_extends_and_rejects_unknown_metric():
    X = np.random.default_rng(6).normal(size=(200, 8)) * np.arange(1, 201)[:, None]
    full = select(X, 40, "maxmin", start=5, metric="euclidean")
    head = select(X, 15, "maxmin", start=5, metric="euclidean")
    ext = select(X, 40, "maxmin", initial=head.indices.tolist(), metric="euclidean")
    assert ext.indices.tolist() == full.indices.tolist()
    assert full.indices.tolist() != select(X, 40, "maxmin", start=5).indices.tolist()
    with pytest.raises(ParameterError, match="unknown metric 'l1'"):
        select(X, 10, "maxmin", metric="l1")
