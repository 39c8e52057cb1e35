"""Selecting a subset of rows from an embedding matrix (stage 3 of the pipeline).

Selectors register under a name in `SELECTORS`; `select` is the one-call entry point::

    sel = select(X, k=5000, method="maxmin", random_state=0)
    sel.indices      # (k,) int64, selection order
    sel.distances    # (k,) float64 for maxmin, else None

    # to a token budget instead of a record count (counts: one per row, see unisel.tokens)
    sel = select(X, method="maxmin", token_budget=200_000, token_counts=counts)
    sel.tokens["total"]  # <= 200_000
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from unisel.errors import ParameterError

# Importing the modules registers their selectors.
from unisel.select import baselines, maxmin  # noqa: F401
from unisel.select.base import SELECTORS, Selection, Selector, resolve_k
from unisel.tokens import TokenBudget, TokenCounts


def select(
    X: np.ndarray,
    k: int | None = None,
    method: str = "maxmin",
    *,
    random_state: int | None = 0,
    token_budget: int | None = None,
    token_counts: np.ndarray | TokenCounts | None = None,
    **params: Any,
) -> Selection:
    """Select ``k`` rows of ``X``, or rows up to a token budget, with the selector ``method``.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Embeddings, one row per record (a read-only memory map is fine).
    k : int or None
        Number of rows, 1 <= k <= n; exactly one of ``k`` and ``token_budget``.
    method : str
        A name in ``SELECTORS``: ``maxmin``, ``random``, ``first``, ``clustered``, ``kmeans``.
    random_state : int or None
        Seed of every random choice.
    token_budget : int or None
        Most tokens the selection may hold. The selection is the longest prefix of the
        selector's order whose ``token_counts`` sum to at most ``token_budget`` (the record
        that would cross it is left out); see docs/token_budget.md for each selector's order.
    token_counts : ndarray of shape (n,) or TokenCounts, optional
        Token count of every row (:func:`unisel.tokens.count_tokens`); required with
        ``token_budget``.
    **params
        Selector-specific parameters (e.g. ``start``, ``device``, ``checkpoint``, ``initial``,
        ``metric`` (``"cosine"`` or ``"euclidean"``), ``length_buckets`` (with
        ``token_counts`` as the lengths) for ``maxmin``).

    Returns
    -------
    Selection
        With ``tokens`` set (tokenizer, budget, per-record counts, total) under a budget.
    """
    cls = SELECTORS.get(method)
    n = int(X.shape[0])
    if token_budget is None:
        buckets = params.get("length_buckets") is not None
        if token_counts is not None and not buckets:
            raise ParameterError("token_counts without token_budget; give both or neither")
        if k is None:
            raise ParameterError("give k or token_budget")
        if buckets and token_counts is not None:
            counts = token_counts.counts if isinstance(token_counts, TokenCounts) else token_counts
            params["lengths"] = np.asarray(counts)
        selector = cls(k, random_state=random_state, **params)  # type: ignore[call-arg]
        selection = selector.fit(X).selection(n_total=n)
        if selection.k == n:
            _warn_whole_input(f"k = {n:,} keeps all {n:,} records", method)
        return selection
    if k is not None:
        raise ParameterError("give k or token_budget, not both")
    if token_counts is None:
        raise ParameterError("token_budget needs token_counts (one count per record)")
    if isinstance(token_counts, TokenCounts):
        budget = TokenBudget(token_budget, token_counts.counts, token_counts.tokenizer)
    else:
        budget = TokenBudget(token_budget, np.asarray(token_counts), "given")
    budget.check_counts(n)
    selector = cls(budget.max_records(), random_state=random_state, **params)  # type: ignore[call-arg]
    selection = selector.fit(X, budget=budget).selection(n_total=n)
    selection.tokens = budget.describe(selection.indices)
    selection.params.update(n_samples=selection.k, token_budget=budget.budget)
    if selection.k == n:
        _warn_whole_input(
            f"token budget {budget.budget:,} holds all {n:,} records "
            f"({int(budget.counts.sum()):,} tokens)",
            method,
        )
    return selection


def _warn_whole_input(why: str, method: str) -> None:
    """One warning line: the selection is every record, so its metrics are the full set's."""
    warnings.warn(
        f"{why}: the selection is the whole input (only the order is {method}'s)", stacklevel=3
    )


__all__ = ["SELECTORS", "Selection", "Selector", "resolve_k", "select"]
