"""Selection to a token budget against a brute-force prefix rule, for every selector.

The rule (unisel.tokens): the selection is the longest prefix of the selector's order whose
token counts sum to at most the budget; the record that would cross the budget is left out.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unisel.errors import ParameterError
from unisel.select import SELECTORS, select
from unisel.select.engine import cosine_normalize, maxmin, maxmin_reference
from unisel.tokens import TokenCounts


def brute_prefix(order, counts, budget) -> list[int]:
    """Walk the order one record at a time; stop before the first that would cross."""
    out, total = [], 0
    for i in order:
        if total + int(counts[i]) > budget:
            break
        total += int(counts[i])
        out.append(int(i))
    return out


def unconstrained_order(method: str, X: np.ndarray, counts, budget: int, seed: int) -> list[int]:
    """Each selector's order, written out independently of the budget code."""
    n = X.shape[0]
    if method == "maxmin":
        start = int(np.random.default_rng(seed).integers(n))
        return maxmin_reference(X, n, start=start)[0].tolist()
    if method == "random":
        return np.random.default_rng(seed).permutation(n).tolist()
    if method == "first":
        return list(range(n))
    if method == "clustered":
        rng = np.random.default_rng(seed)
        anchor = int(rng.integers(n))
        U = cosine_normalize(X)
        dist = 1.0 - U @ U[anchor]
        dist[anchor] = -np.inf
        near = np.argsort(dist, kind="stable")
        half = brute_prefix(near, counts, budget // 2) or [int(near[0])]
        rest = np.array([i for i in range(n) if i not in set(half)], dtype=np.int64)
        return half + rest[rng.permutation(rest.size)].tolist()
    if method == "kmeans":
        # its order depends on the number of centroids: k = the most records that could fit
        k = int(np.searchsorted(np.cumsum(np.sort(counts)), budget, side="right"))
        return select(X, k, "kmeans", random_state=seed).indices.tolist()
    raise AssertionError(method)


@st.composite
def budget_cases(draw):
    n = draw(st.integers(2, 60))
    d = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.normal(size=(n, d))
    counts = rng.integers(0, draw(st.integers(1, 40)), size=n)
    counts[rng.integers(n)] += 1  # at least one non-empty record
    budget = draw(st.integers(int(counts.max()), max(int(counts.max()), int(counts.sum()) + 5)))
    return X, counts, budget, draw(st.integers(0, 5))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("method", sorted(SELECTORS.names()))
@settings(max_examples=25, deadline=None)
@given(case=budget_cases())
def test_budget_selection_is_the_longest_prefix_within_the_budget(method, case):
    X, counts, budget, seed = case
    order = unconstrained_order(method, X, counts, budget, seed)
    want = brute_prefix(order, counts, budget)
    try:
        got = select(X, method=method, token_budget=budget, token_counts=counts, random_state=seed)
    except ParameterError as exc:  # the first record alone is over the budget
        assert not want and "smaller than" in str(exc)
        return
    assert got.indices.tolist() == want
    assert got.tokens["total"] == sum(int(counts[i]) for i in want) <= budget
    assert got.tokens["per_record"] == [int(counts[i]) for i in want]
    assert got.tokens["budget"] == budget and got.k == len(want)
    if len(want) < len(order):  # the next record of the order would have crossed
        assert got.tokens["total"] + int(counts[order[len(want)]]) > budget


def test_maxmin_budget_keeps_the_distances_of_the_greedy_prefix():
    X = np.random.default_rng(3).normal(size=(200, 5))
    counts = np.random.default_rng(4).integers(1, 30, size=200)
    got = select(X, method="maxmin", token_budget=700, token_counts=counts, start=7)
    ref_idx, ref_d = maxmin_reference(X, got.k, start=7)
    assert got.indices.tolist() == ref_idx.tolist()
    np.testing.assert_array_equal(got.distances, ref_d)  # both canonical float64 keys: exact


@pytest.mark.parametrize("prune", [False, 16])
def test_engine_stops_early_on_the_pruned_and_lazy_paths(prune):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 8))
    w = rng.integers(1, 10, size=3000)
    idx, dist = maxmin(X, 3000, start=0, prune=prune, weights=w, budget=2000)
    ref_idx, ref_d = maxmin_reference(X, idx.size + 1, start=0)
    assert idx.tolist() == ref_idx[:-1].tolist()
    np.testing.assert_array_equal(dist, ref_d[:-1])  # canonical float64 keys on both sides
    assert w[idx].sum() <= 2000 < w[ref_idx].sum()


def test_engine_budget_resumes_from_a_checkpoint(tmp_path):
    X = np.random.default_rng(6).normal(size=(500, 4))
    w = np.random.default_rng(7).integers(1, 5, size=500)
    ck = tmp_path / "state.npz"
    full = maxmin(X, 400, start=1, checkpoint=ck)  # a state far beyond the budget
    idx, _ = maxmin(X, 400, start=1, checkpoint=ck, weights=w, budget=300)
    assert idx.tolist() == brute_prefix(full[0], w, 300)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_whole_set_when_the_budget_exceeds_every_record():
    X = np.random.default_rng(0).normal(size=(30, 3))
    counts = np.full(30, 2)
    for method in SELECTORS.names():
        sel = select(X, method=method, token_budget=10_000, token_counts=counts)
        assert sorted(sel.indices.tolist()) == list(range(30)), method


def test_token_counts_object_names_the_tokenizer():
    X = np.random.default_rng(0).normal(size=(10, 3))
    sel = select(
        X,
        method="first",
        token_budget=5,
        token_counts=TokenCounts(np.arange(10, dtype=np.int64), "whitespace"),
    )
    assert sel.indices.tolist() == [0, 1, 2] and sel.tokens["tokenizer"] == "whitespace"
    assert sel.params["token_budget"] == 5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(k=3, token_budget=10, token_counts=np.ones(10, dtype=int)), "not both"),
        (dict(token_budget=10), "needs token_counts"),
        (dict(token_budget=0, token_counts=np.ones(10, dtype=int)), "at least 1"),
        (dict(token_budget=10, token_counts=np.ones(9, dtype=int)), "9 token counts for 10"),
        (dict(token_budget=2, token_counts=np.full(10, 3)), "shortest record"),
        (dict(token_budget=4, token_counts=np.r_[5, np.ones(9, dtype=int)]), "first selected"),
        (dict(token_budget=4, token_counts=-np.ones(10, dtype=int)), "negative"),
        (dict(k=None), "give k or token_budget"),
    ],
)
def test_bad_budget_input_is_one_clear_error(kwargs, message):
    X = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(ParameterError, match=message) as info:
        select(X, method="first", **kwargs)
    assert "\n" not in str(info.value)


def test_maxmin_first_record_over_budget():
    X = np.random.default_rng(0).normal(size=(10, 3))
    counts = np.ones(10, dtype=int)
    counts[4] = 50
    with pytest.raises(ParameterError, match=r"record 4, 50 tokens"):
        select(X, method="maxmin", token_budget=20, token_counts=counts, start=4)
