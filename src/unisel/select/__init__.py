"""Selecting a subset of rows from an embedding matrix (stage 3 of the pipeline).

Selectors register under a name in `SELECTORS`; `select` is the one-call entry point::

    sel = select(X, k=5000, method="maxmin", random_state=0)
    sel.indices      # (k,) int64, selection order
    sel.distances    # (k,) float64 for maxmin, else None
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Importing the modules registers their selectors.
from unisel.select import baselines, maxmin  # noqa: F401
from unisel.select.base import SELECTORS, Selection, Selector, resolve_k


def select(
    X: np.ndarray, k: int, method: str = "maxmin", *, random_state: int | None = 0, **params: Any
) -> Selection:
    """Select ``k`` rows of ``X`` with the selector registered as ``method``.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Embeddings, one row per record (a read-only memory map is fine).
    k : int
        Number of rows, 1 <= k <= n.
    method : str
        A name in ``SELECTORS``: ``maxmin``, ``random``, ``first``, ``clustered``, ``kmeans``.
    random_state : int or None
        Seed of every random choice.
    **params
        Selector-specific parameters (e.g. ``start``, ``device``, ``checkpoint``, ``initial``,
        ``metric`` (``"cosine"`` or ``"euclidean"``) for ``maxmin``).

    Returns
    -------
    Selection
    """
    cls = SELECTORS.get(method)
    selector = cls(k, random_state=random_state, **params)  # type: ignore[call-arg]
    return selector.fit(X).selection(n_total=int(X.shape[0]))


__all__ = ["SELECTORS", "Selection", "Selector", "resolve_k", "select"]
