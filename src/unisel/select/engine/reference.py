"""The plain greedy max-min loop: the oracle every fast engine is tested against.

Canonical definition (what "exact" means in unisel)
---------------------------------------------------
Rows are cast to float64 and scaled to unit length (a zero row stays zero, so its cosine
distance to anything is 1). The distance between rows i and j is ``1 - <u_i, u_j>`` in float64,
with every value below ``DUPLICATE_TOLERANCE`` (1e-12) set to exactly 0: for two identical
records the computed value is rounding noise of either sign (about 1e-16) that depends on the
order of summation, so without the snap "ties go to the lowest index" would depend on the
BLAS kernel. The inner product is summed in one fixed order that depends only on ``d``
(:mod:`unisel.select.engine._canonical`), so every engine can reproduce the key bit for bit
and identical rows get identical keys against any third row. Step 0 takes ``start``; step t
takes the unselected row whose minimum distance to the rows chosen so far is largest, ties
going to the lowest index.

Two correct implementations can still disagree where two candidates' keys differ by less than
the float64 rounding of a dot product (about 1e-16 for unit vectors); such near-ties do not
occur in practice outside exact duplicates, which the snap resolves.

Euclidean metric (``metric="euclidean"``)
-----------------------------------------
The theory's metric: plain Euclidean distance on the rows as given (no normalisation; zero
rows are ordinary points). The key of rows i and j is the squared distance
``sum_l (x_il - x_jl)^2`` in float64, each difference formed in float64 from the raw values
and summed in the fixed order of :func:`~unisel.select.engine._canonical.canonical_sqdist`
(the lanes and tree of the dot product). Identical rows have exactly the same differences
against any third row, so they get identical keys, and their key to each other is exactly 0:
no snap is needed. The greedy maximises this key (ties to the lowest index, as above); the
reported distance is its square root in float64, the Euclidean distance. Taking the root is
monotone, so it never changes which row wins.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from unisel.errors import ParameterError
from unisel.select.engine._canonical import canonical_dots, canonical_sqdists

DUPLICATE_TOLERANCE = 1e-12
METRICS = ("cosine", "euclidean")


def check_metric(metric: str) -> str:
    """``metric`` if it is one of `METRICS`, else a ParameterError naming the choices."""
    if metric not in METRICS:
        raise ParameterError(f"unknown metric {metric!r}; use 'cosine' or 'euclidean'")
    return metric


def canonical_sq_euclidean(X: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Canonical squared Euclidean keys from the rows of ``X`` (n, d) to ``x`` (d,), float64.

    Shape (n,); summed in the fixed order of
    :func:`~unisel.select.engine._canonical.canonical_sqdist` (exactly 0 for identical rows).
    """
    X64 = np.ascontiguousarray(X, dtype=np.float64)
    return canonical_sqdists(X64, np.ascontiguousarray(x, dtype=np.float64))


def canonical_distances(U: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Canonical cosine distances from the rows of ``U`` (n, d) to ``u`` (d,), both unit float64.

    ``1 - U @ u`` with values below `DUPLICATE_TOLERANCE` set to 0; shape (n,), float64. The
    inner products are summed in the fixed order of
    :func:`~unisel.select.engine._canonical.canonical_dot`, not by BLAS: ``dgemv`` rounds a row's
    dot product differently depending on the row's position in the matrix, so two identical
    rows could get keys one ulp apart against a third row and the tie went to the higher index.
    """
    dist = 1.0 - canonical_dots(np.ascontiguousarray(U), np.ascontiguousarray(u))
    dist[dist < DUPLICATE_TOLERANCE] = 0.0
    return dist


def cosine_normalize(X: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """Rows of ``X`` (shape (n, d)) scaled to unit L2 norm in ``dtype``; zero rows stay zero."""
    U: np.ndarray = np.asarray(X, dtype=dtype)
    norms = np.linalg.norm(U, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return U / norms


def maxmin_reference(
    X: np.ndarray,
    k: int,
    *,
    start: int = 0,
    initial: Sequence[int] | None = None,
    metric: str = "cosine",
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy max-min selection under cosine (or Euclidean) distance, the plain way.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Embeddings (any float dtype; computed in float64).
    k : int
        Length of the returned sequence, 1 <= k <= n (includes ``initial`` when given).
    start : int
        First row, used when ``initial`` is empty or None.
    initial : sequence of int, optional
        An existing selection to continue from (``--extend``); it becomes the prefix.
    metric : {"cosine", "euclidean"}
        ``"cosine"``: keys ``1 - <u_i, u_j>`` on unit rows. ``"euclidean"``: squared Euclidean
        keys on the rows as given; the distances returned are their square roots.

    Returns
    -------
    indices : ndarray of shape (k,), int64
        Selected rows in selection order.
    distances : ndarray of shape (k,), float64
        Minimum distance (cosine, or Euclidean) of each row to the rows before it when chosen;
        ``inf`` for the first row, ``nan`` for the rows of ``initial`` after the first.
    """
    euclid = check_metric(metric) == "euclidean"
    U = np.ascontiguousarray(X, dtype=np.float64) if euclid else cosine_normalize(X)
    keys = canonical_sq_euclidean if euclid else canonical_distances
    n = U.shape[0]
    prefix = [int(i) for i in initial] if initial is not None and len(initial) else [int(start)]
    if not 1 <= k <= n or len(prefix) > k:
        raise ValueError(f"need len(initial) <= k <= n, got k={k}, n={n}, initial={len(prefix)}")
    indices = np.empty(k, dtype=np.int64)
    distances = np.full(k, np.nan)
    distances[0] = np.inf
    min_dist = np.full(n, np.inf)
    for t, i in enumerate(prefix):
        indices[t] = i
        np.minimum(min_dist, keys(U, U[i]), out=min_dist)
    min_dist[indices[: len(prefix)]] = -np.inf
    for t in range(len(prefix), k):
        i = int(np.argmax(min_dist))
        indices[t] = i
        distances[t] = min_dist[i]
        np.minimum(min_dist, keys(U, U[i]), out=min_dist)
        min_dist[i] = -np.inf
    if euclid:
        distances = np.sqrt(distances)
    return indices, distances
