"""Approximate nearest-neighbour metrics (HNSW) for sets too large for exact search.

At 10M records exact nearest-neighbour search is O(n^2 d). HNSW (hnswlib, or faiss'
``IndexHNSWFlat``) answers each query in roughly logarithmic time but may miss the true
nearest row; a missed neighbour makes a distance too large, so approximate ``h_min`` and
nearest-neighbour distances are upper bounds and the approximate covering radius can be too
large. Every call therefore measures its own recall: it draws ``sample_size`` query rows
(``random_state``), finds their exact nearest rows with the blocked exact kernel of
:mod:`unisel.metrics.neighbors`, and reports the fraction whose approximate distance equals
the exact one (within 1e-6) in :class:`ApproximateNeighbors`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unisel.errors import ParameterError
from unisel.metrics._rows import _Rows
from unisel.metrics.neighbors import nearest_distances, sampled_nearest_distances

RECALL_ATOL = 1e-6


@dataclass
class ApproximateNeighbors:
    """Approximate nearest-neighbour distances with their measured recall.

    Attributes
    ----------
    distances : ndarray of shape (m,), float64
        Distance from each query to the nearest row found (an upper bound of the exact one).
    index : ndarray of shape (m,), int64
        Row of the reference set found.
    recall : float
        Fraction of the sampled queries whose distance matches the exact nearest distance.
    sample_size : int
        Number of queries the recall was measured on.
    max_error : float
        Largest (approximate - exact) distance on the sample.
    method : str
        "hnswlib" or "faiss".
    params : dict
        Index parameters (M, ef_construction, ef_search).
    """

    distances: np.ndarray
    index: np.ndarray
    recall: float
    sample_size: int
    max_error: float
    method: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def h_min(self) -> float:
        """Approximate minimum of the distances (an upper bound of the exact value)."""
        return float(self.distances.min()) if self.distances.size else float("nan")

    @property
    def max_distance(self) -> float:
        """Approximate maximum of the distances (the covering radius for a subset search)."""
        return float(self.distances.max()) if self.distances.size else float("nan")


def _hnswlib_search(R32, Q32, metric, kk, M, ef_construction, ef_search, seed):
    import hnswlib

    index = hnswlib.Index(space="cosine" if metric == "cosine" else "l2", dim=R32.shape[1])
    index.init_index(
        max_elements=R32.shape[0], M=M, ef_construction=ef_construction, random_seed=seed
    )
    index.add_items(R32, np.arange(R32.shape[0]))
    index.set_ef(max(ef_search, kk))
    labels, dist = index.knn_query(Q32, k=kk)
    return labels.astype(np.int64), dist.astype(np.float64)


def _faiss_search(R32, Q32, metric, kk, M, ef_construction, ef_search, seed):
    import faiss

    measure = faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2
    index = faiss.IndexHNSWFlat(R32.shape[1], M, measure)
    index.hnsw.efConstruction = ef_construction
    index.add(R32)
    index.hnsw.efSearch = max(ef_search, kk)
    dist, labels = index.search(Q32, kk)
    dist = dist.astype(np.float64)
    dist = 1.0 - dist if metric == "cosine" else dist
    return labels.astype(np.int64), dist


_SEARCH = {"hnswlib": _hnswlib_search, "faiss": _faiss_search}


def approximate_nearest(
    queries: np.ndarray,
    reference: np.ndarray | None = None,
    *,
    metric: str = "cosine",
    method: str = "hnswlib",
    M: int = 32,
    ef_construction: int = 200,
    ef_search: int = 128,
    sample_size: int = 1000,
    random_state: int = 0,
) -> ApproximateNeighbors:
    """Approximate nearest reference row of each query row, with measured recall.

    Parameters
    ----------
    queries : ndarray of shape (m, d)
    reference : ndarray of shape (r, d), optional
        None: the queries themselves, excluding each row itself (nearest *other* row).
    metric : {"cosine", "euclidean"}
    method : {"hnswlib", "faiss"}
        HNSW implementation (``pip install 'unisel[fast]'``).
    M, ef_construction, ef_search : int
        HNSW graph degree and beam widths (higher: better recall, slower).
    sample_size : int
        Queries on which recall is measured against exact search.
    random_state : int
        Seed of the sample and of the graph construction.

    Returns
    -------
    ApproximateNeighbors
    """
    if method not in _SEARCH:
        raise ParameterError(f"method must be one of {sorted(_SEARCH)}, got {method!r}")
    exclude_self = reference is None
    Q = _Rows(queries, metric)
    R = Q if reference is None else _Rows(reference, metric)
    m, r = Q.shape[0], R.shape[0]
    if r == 0 or m == 0 or (exclude_self and r < 2):
        raise ParameterError("approximate search needs at least 2 reference rows")
    kk = min(r, 2 if exclude_self else 1)
    try:
        labels, dist = _SEARCH[method](
            R.f32(slice(None)),
            Q.f32(slice(None)),
            metric,
            kk,
            M,
            ef_construction,
            ef_search,
            random_state,
        )
    except ImportError as exc:
        raise ParameterError(
            f"method={method!r} is not installed: pip install 'unisel[fast]'"
        ) from exc
    if metric == "euclidean":
        dist = np.sqrt(np.maximum(dist, 0.0))
    dist = np.maximum(dist, 0.0)
    if exclude_self:
        # drop the query itself (a duplicate may come first; then either is the nearest other)
        is_self = labels[:, 0] == np.arange(m)
        col = np.where(is_self, 1, 0)
        labels = labels[np.arange(m), col]
        dist = dist[np.arange(m), col]
    else:
        labels, dist = labels[:, 0], dist[:, 0]
    missing = labels < 0
    dist[missing] = np.inf

    rng = np.random.default_rng(random_state)
    sample = np.sort(rng.choice(m, size=min(sample_size, m), replace=False))
    if reference is None:
        exact = _exact_for_sample(Q, sample, metric)
    else:
        exact = nearest_distances(np.asarray(queries)[sample], reference, metric=metric)[0]
    err = dist[sample] - exact
    recall = float(np.mean(np.abs(err) <= RECALL_ATOL)) if sample.size else float("nan")
    return ApproximateNeighbors(
        distances=dist,
        index=labels,
        recall=recall,
        sample_size=int(sample.size),
        max_error=float(err.max()) if sample.size else float("nan"),
        method=method,
        params={"M": M, "ef_construction": ef_construction, "ef_search": ef_search},
    )


def _exact_for_sample(Q: _Rows, sample: np.ndarray, metric: str) -> np.ndarray:
    """Exact nearest-other-row distance of the sampled rows against the whole set."""
    return sampled_nearest_distances(Q.X, sample, metric=metric)
