"""A token budget or a k that keeps every record warns: the "subset" is the full set."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from unisel.select import select


def test_a_budget_or_k_keeping_every_record_warns():
    X = np.random.default_rng(0).normal(size=(20, 4))
    counts = np.full(20, 5)
    with pytest.warns(UserWarning) as caught:
        sel = select(X, method="maxmin", token_budget=10**6, token_counts=counts)
    assert sel.k == 20
    assert [str(w.message) for w in caught] == [
        "token budget 1,000,000 holds all 20 records (100 tokens): the selection is the whole "
        "input (only the order is maxmin's)"
    ]
    with pytest.warns(UserWarning, match="k = 20 keeps all 20 records"):
        select(X, 20, "random")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert select(X, method="maxmin", token_budget=99, token_counts=counts).k == 19
        assert select(X, 19).k == 19
