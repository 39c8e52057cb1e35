"""The baseline selectors and the size resolution."""

import numpy as np
import pytest

from unisel.errors import ParameterError
from unisel.select import SELECTORS, resolve_k, select
from unisel.select.engine.reference import cosine_normalize

X = np.random.default_rng(0).normal(size=(400, 10)).astype(np.float32)


@pytest.mark.parametrize("method", SELECTORS.names())
def test_every_selector_gives_k_distinct_valid_indices_deterministically(method):
    a = select(X, 60, method, random_state=1)
    b = select(X, 60, method, random_state=1)
    assert a.indices.dtype == np.int64
    assert a.k == 60 and len(set(a.indices.tolist())) == 60
    assert a.indices.min() >= 0 and a.indices.max() < 400
    assert a.indices.tolist() == b.indices.tolist()
    assert a.method == method and a.n_total == 400


@pytest.mark.parametrize("method", SELECTORS.names())
def test_k_equals_n_and_k_one(method):
    assert sorted(select(X[:30], 30, method).indices.tolist()) == list(range(30))
    assert select(X[:30], 1, method).k == 1


def test_random_matches_numpy_choice():
    sel = select(X, 25, "random", random_state=9)
    expected = np.random.default_rng(9).choice(400, size=25, replace=False)
    assert sel.indices.tolist() == expected.tolist()


def test_first_is_the_head():
    assert select(X, 7, "first").indices.tolist() == list(range(7))


def test_clustered_half_is_tighter_than_random():
    k = 80
    sel = select(X, k, "clustered", random_state=2)
    U = cosine_normalize(X)
    tight = sel.indices[: k // 2]
    rand = select(X, k // 2, "random", random_state=2).indices

    def mean_pairwise(idx):
        D = 1 - U[idx] @ U[idx].T
        return D[np.triu_indices(len(idx), 1)].mean()

    assert mean_pairwise(tight) < 0.7 * mean_pairwise(rand)


def test_kmeans_picks_the_record_nearest_each_centroid_when_clusters_are_clear():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(5, 6)) * 10
    pts = np.concatenate([c + rng.normal(scale=0.01, size=(40, 6)) for c in centres])
    sel = select(pts, 5, "kmeans", random_state=0)
    assert sorted({int(i) // 40 for i in sel.indices}) == [0, 1, 2, 3, 4]


def test_unknown_method_lists_known():
    with pytest.raises(ParameterError, match="known: clustered, first, kmeans, maxmin, random"):
        select(X, 3, "nope")


@pytest.mark.parametrize(
    ("k", "fraction", "message"),
    [
        (0, None, "positive"),
        (-3, None, "positive"),
        (101, None, "larger"),
        (None, 0.0, r"\(0, 1\]"),
        (None, 1.5, r"\(0, 1\]"),
        (None, None, "exactly one"),
        (5, 0.5, "exactly one"),
    ],
)
def test_resolve_k_rejects(k, fraction, message):
    with pytest.raises(ParameterError, match=message):
        resolve_k(100, k, fraction)


def test_resolve_k():
    assert resolve_k(100, 10) == 10
    assert resolve_k(17624, fraction=0.5) == 8812
    assert resolve_k(3, fraction=0.01) == 1
    assert resolve_k(100, fraction=1.0) == 100
