"""Nearest-neighbour kernels behind the uniformity metrics, exact, with bounded memory.

Distances are cosine (``1 - cos``, rows normalised in float64 as in the reference engine) or
Euclidean on the raw vectors. Work is done in row blocks so memory stays at
O(block_size * n) float64 whatever n is.
"""

from __future__ import annotations

import numpy as np

from unisel.select.engine.reference import cosine_normalize

DEFAULT_BLOCK = 2048


def _prepare(X: np.ndarray, metric: str) -> np.ndarray:
    if metric == "cosine":
        return cosine_normalize(X)
    if metric == "euclidean":
        return np.asarray(X, dtype=np.float64)
    raise ValueError(f"unknown metric {metric!r}; use 'cosine' or 'euclidean'")


def _block_distances(
    Q: np.ndarray, R: np.ndarray, R_sq: np.ndarray | None, metric: str
) -> np.ndarray:
    if metric == "cosine":
        return 1.0 - Q @ R.T
    assert R_sq is not None
    sq = (Q * Q).sum(axis=1)[:, None] + R_sq[None, :] - 2.0 * (Q @ R.T)
    np.maximum(sq, 0.0, out=sq)
    return np.sqrt(sq)


def nearest_distances(
    queries: np.ndarray,
    reference: np.ndarray,
    *,
    metric: str = "cosine",
    exclude_self: bool = False,
    block_size: int = DEFAULT_BLOCK,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each query row to its nearest reference row.

    Parameters
    ----------
    queries : ndarray of shape (m, d)
    reference : ndarray of shape (r, d)
    metric : {"cosine", "euclidean"}
    exclude_self : bool
        ``queries`` and ``reference`` are the same set: skip the pair (i, i). The nearest
        *other* row is returned, so an exact duplicate gives distance 0.
    block_size : int
        Query rows per block; memory is about ``block_size * r * 8`` bytes.

    Returns
    -------
    distances : ndarray of shape (m,), float64
    index : ndarray of shape (m,), int64 (row of ``reference``; -1 when r == 1 and exclude_self)
    """
    Q = _prepare(queries, metric)
    R = Q if exclude_self else _prepare(reference, metric)
    R_sq = (R * R).sum(axis=1) if metric == "euclidean" else None
    m = Q.shape[0]
    dist = np.empty(m, dtype=np.float64)
    index = np.empty(m, dtype=np.int64)
    for lo in range(0, m, block_size):
        hi = min(m, lo + block_size)
        D = _block_distances(Q[lo:hi], R, R_sq, metric)
        if exclude_self:
            D[np.arange(hi - lo), np.arange(lo, hi)] = np.inf
        j = np.argmin(D, axis=1)
        index[lo:hi] = j
        dist[lo:hi] = D[np.arange(hi - lo), j]
    if exclude_self and R.shape[0] == 1:
        index[:] = -1
    return dist, index


def nearest_neighbor_distances(
    X: np.ndarray, *, metric: str = "cosine", block_size: int = DEFAULT_BLOCK
) -> np.ndarray:
    """Distance from each row of ``X`` (shape (n, d), n >= 2) to its nearest other row, shape (n,)."""
    return nearest_distances(X, X, metric=metric, exclude_self=True, block_size=block_size)[0]


def h_min(X: np.ndarray, *, metric: str = "cosine", block_size: int = DEFAULT_BLOCK) -> float:
    """Minimum pairwise distance between distinct rows of ``X``; ``nan`` for fewer than 2 rows."""
    if X.shape[0] < 2:
        return float("nan")
    return float(nearest_neighbor_distances(X, metric=metric, block_size=block_size).min())


def covering_radius(
    full: np.ndarray, subset: np.ndarray, *, metric: str = "cosine", block_size: int = DEFAULT_BLOCK
) -> float:
    """Largest distance from a row of ``full`` (n, d) to its nearest row of ``subset`` (k, d)."""
    return float(nearest_distances(full, subset, metric=metric, block_size=block_size)[0].max())
