r"""Which records are greedy max-min candidates: leave out what the embedding cannot see, and
isolated noise.

Farthest-point sampling chases outliers: the record farthest from everything chosen so far is,
early on, the most isolated record of the set. In a mean-pooled word embedding the most
isolated records are the shortest and emptiest texts (the mean of three word vectors is the
noisiest point in the space), so plain max-min collects them first. Two rules keep them out of
the candidates while the greedy stays exact over the records it admits:

- **set aside**: records the embedder has nothing for (a zero vector: no in-vocabulary word,
  whitespace or zero-width text) or fewer content tokens than a minimum; the caller names them;
- **isolated**: the ``outliers`` fraction of records with the largest *isolation score*, the
  distance to their ``m``-th nearest neighbour (a density estimate in the spirit of robust
  k-center, Charikar et al. 2001: a candidate needs ``m`` records near it).

The isolation score of record :math:`i` is

.. math:: s_i = d_{(m)}\bigl(x_i, \{x_j : j \in R, j \neq i\}\bigr)

the ``m``-th smallest distance (cosine, or Euclidean for ``metric="euclidean"``) from
:math:`x_i` to the reference rows :math:`R`: all rows when :math:`n \le` ``sample_size``, else a
seeded random sample of ``sample_size`` rows (so the cost is :math:`O(n \cdot |R| \cdot d)`,
linear in n). Distances are the engine's canonical float64 keys
(:func:`unisel.select.engine.reference.canonical_distances`); :func:`isolation_scores` screens
with float32 (cosine) or float64 (Euclidean) matrix products, recomputes the candidates
canonically, and falls back to the full row where the screen cannot prove the ``m``-th value,
so it returns exactly :func:`isolation_scores_reference`'s values (tested on random inputs).
The records excluded are the ``ceil(outliers * n)`` largest scores among those not set aside,
ties to the higher index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unisel.errors import ParameterError
from unisel.options import DEFAULT_OUTLIER_NEIGHBORS, DEFAULT_OUTLIER_SAMPLE_SIZE
from unisel.select import engine
from unisel.select.engine._canonical import canonical_dot, canonical_sqdist
from unisel.select.engine._jit import njit
from unisel.select.engine.reference import DUPLICATE_TOLERANCE as DUP

DEFAULT_NEIGHBORS = DEFAULT_OUTLIER_NEIGHBORS
DEFAULT_SAMPLE_SIZE = DEFAULT_OUTLIER_SAMPLE_SIZE
_MARGIN = 16  # screened candidates beyond the m-th, so the proof rarely needs the full row
_BLOCK = 256  # query rows per matrix product (256 x 20,000 float64: 41 MB)


@dataclass
class Admission:
    """The outcome of :func:`admit` over n records.

    Attributes
    ----------
    admitted : ndarray of shape (n,), bool
        True for the greedy's candidates.
    set_aside : ndarray of shape (a,), int64
        Records the embedding cannot see (given by the caller), in increasing order.
    isolated : ndarray of shape (b,), int64
        Records left out as isolated, in increasing order.
    params : dict
        The rule's parameters, for the manifest.
    """

    admitted: np.ndarray
    set_aside: np.ndarray
    isolated: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> np.ndarray:
        """The admitted row indices, increasing, shape (n_admitted,), int64."""
        return np.flatnonzero(self.admitted)


def reference_rows(n: int, sample_size: int, random_state: int | None) -> np.ndarray:
    """The rows the isolation score is measured against: all, or a seeded sorted sample."""
    if sample_size < 1:
        raise ParameterError(f"outlier sample size must be at least 1, got {sample_size}")
    if n <= sample_size:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=sample_size, replace=False)).astype(np.int64)


def _keys(X: np.ndarray, metric: str) -> tuple[np.ndarray, Any]:
    if metric == "euclidean":
        return np.ascontiguousarray(X, dtype=np.float64), engine.canonical_sq_euclidean
    return engine.cosine_normalize(X), engine.canonical_distances


def isolation_scores_reference(
    X: np.ndarray,
    n_neighbors: int = DEFAULT_NEIGHBORS,
    *,
    metric: str = "cosine",
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    random_state: int | None = 0,
) -> np.ndarray:
    """The isolation score of every row, the plain way (the oracle of :func:`isolation_scores`,
    whose parameters and result it has)."""
    metric = engine.check_metric(metric)
    ref = reference_rows(X.shape[0], sample_size, random_state)
    U, keys = _keys(X, metric)
    n = U.shape[0]
    out = np.full(n, np.inf)
    for i in range(n):
        d = keys(U[ref], U[i])
        d = d[ref != i]
        if d.size >= n_neighbors:
            out[i] = np.sort(d)[n_neighbors - 1]
    return np.sqrt(out) if metric == "euclidean" else out


def isolation_scores(
    X: np.ndarray,
    n_neighbors: int = DEFAULT_NEIGHBORS,
    *,
    metric: str = "cosine",
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    random_state: int | None = 0,
) -> np.ndarray:
    """The isolation score of every row, fast; identical to :func:`isolation_scores_reference`.

    Blocks of ``_BLOCK`` query rows are screened against the reference rows with one matrix
    product (float32 unit rows for cosine, float64 for Euclidean); the ``m + 16`` smallest
    screened values of a row are recomputed canonically, and the m-th of those is the score if
    it is provably below every unscreened value (the screen's error bound, the engine's
    tolerance); otherwise the row is recomputed in full.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Embeddings.
    n_neighbors : int
        ``m``: the score is the distance to the m-th nearest reference row other than itself.
    metric : {"cosine", "euclidean"}
    sample_size, random_state : int
        The reference rows (:func:`reference_rows`).

    Returns
    -------
    ndarray of shape (n,), float64
        Cosine distance, or Euclidean distance, to the m-th nearest reference row; ``inf``
        where fewer than m other reference rows exist.
    """
    metric = engine.check_metric(metric)
    if n_neighbors < 1:
        raise ParameterError(f"outlier neighbours must be at least 1, got {n_neighbors}")
    n, d = X.shape
    ref = reference_rows(n, sample_size, random_state)
    R, keys = _keys(X[ref], metric)
    out = np.full(n, np.inf)
    c = min(ref.size, n_neighbors + 1 + _MARGIN)  # +1: the row itself may be a reference row
    euclid = metric == "euclidean"
    if euclid:
        R_sq = np.einsum("ij,ij->i", R, R)
        R_screen = R
        rel = 4.0 * (d + 4) * 2.0**-53  # float64 product error, relative to |q|^2 + |r|^2
    else:
        R_screen = R.astype(np.float32)
        tol = engine.tolerance(d)  # the engine's float32-vs-canonical bound for unit rows
    self_pos = np.full(n, -1)
    self_pos[ref] = np.arange(ref.size)
    for lo in range(0, n, _BLOCK):
        hi = min(n, lo + _BLOCK)
        Q, _ = _keys(X[lo:hi], metric)
        if euclid:
            q_sq = np.einsum("ij,ij->i", Q, Q)
            D = q_sq[:, None] + R_sq[None, :] - 2.0 * (Q @ R_screen.T)
        else:
            D = -(Q.astype(np.float32) @ R_screen.T)  # minus the dot: smallest = nearest
        mine = self_pos[lo:hi]
        has_self = mine >= 0
        if c < ref.size:
            cand, edge_key = _smallest(D, mine, c)
            # every row outside the candidates screened at least the c-th smallest key
            if euclid:
                rest = edge_key - 2.0 * rel * (q_sq + R_sq[cand[:, c - 1]])
            else:
                rest = 1.0 + edge_key.astype(np.float64) - tol
        if c < ref.size:
            value = _mth_of_candidates(Q, R, cand, mine, n_neighbors, euclid, DUP)
            proven = value < rest  # the m-th smallest of the candidates is below every other row
            out[lo:hi][proven] = value[proven]
            todo = np.flatnonzero(~proven)
        else:
            todo = np.arange(hi - lo)
        for r in todo:
            if ref.size - int(has_self[r]) < n_neighbors:
                continue  # fewer than m other reference rows: inf
            full = keys(R, Q[r])
            if has_self[r]:
                full = np.delete(full, mine[r])
            out[lo + r] = np.partition(full, n_neighbors - 1)[n_neighbors - 1]
    return np.sqrt(out) if euclid else out


@njit(nogil=True)
def _smallest(D, mine, c):  # pragma: no cover - compiled
    """Per row of ``D`` (b, r): the columns of its c smallest values (column ``mine[row]``
    skipped), the c-th smallest last, and that value. An insertion into a sorted buffer of c:
    O(r) per row once the buffer is full, against a full partition's several passes."""
    b, r = D.shape
    cols = np.empty((b, c), dtype=np.int64)
    edge = np.empty(b, dtype=D.dtype)
    for row in range(b):  # serial: a parallel=True kernel costs seconds of compile
        vals = np.empty(c, dtype=D.dtype)
        idx = np.empty(c, dtype=np.int64)
        t = 0
        for j in range(r):
            if j == mine[row]:
                continue
            v = D[row, j]
            if t == c and not v < vals[c - 1]:
                continue
            p = t if t < c else c - 1
            while p > 0 and vals[p - 1] > v:
                if p < c:
                    vals[p] = vals[p - 1]
                    idx[p] = idx[p - 1]
                p -= 1
            vals[p] = v
            idx[p] = j
            if t < c:
                t += 1
        cols[row] = idx
        edge[row] = vals[c - 1]
    return cols, edge


@njit(nogil=True)
def _mth_of_candidates(Q, R, cand, mine, m, euclid, dup_tol):  # pragma: no cover - compiled
    """The m-th smallest canonical key from each row of ``Q`` to its candidate rows of ``R``
    (``cand``, shape (b, c)), the row's own reference position ``mine`` skipped."""
    b, c = cand.shape
    out = np.empty(b)
    keys = np.empty(c)
    for r in range(b):
        t = 0
        for j in range(c):
            s = cand[r, j]
            if s == mine[r]:
                continue
            if euclid:
                keys[t] = canonical_sqdist(R[s], Q[r])
            else:
                v = 1.0 - canonical_dot(R[s], Q[r])
                keys[t] = 0.0 if v < dup_tol else v
            t += 1
        out[r] = np.sort(keys[:t])[m - 1]
    return out


def admit(
    X: np.ndarray,
    *,
    outliers: float = 0.0,
    n_neighbors: int = DEFAULT_NEIGHBORS,
    set_aside: np.ndarray | None = None,
    metric: str = "cosine",
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    random_state: int | None = 0,
    scores: np.ndarray | None = None,
) -> Admission:
    """Decide which rows of ``X`` (shape (n, d)) are greedy max-min candidates.

    Parameters
    ----------
    outliers : float
        Fraction in [0, 1) of the rows (of all n) left out as isolated: the
        ``ceil(outliers * n)`` largest isolation scores among the rows not set aside.
    n_neighbors : int
        ``m`` of the isolation score.
    set_aside : array of int, optional
        Rows the embedding cannot see; never candidates.
    metric, sample_size, random_state
        As :func:`isolation_scores`.
    scores : ndarray of shape (n,), optional
        Precomputed isolation scores (e.g. from the reference implementation).

    Returns
    -------
    Admission
    """
    n = int(X.shape[0])
    if not 0.0 <= outliers < 1.0:
        raise ParameterError(f"outliers must be a fraction in [0, 1), got {outliers}")
    admitted = np.ones(n, dtype=bool)
    aside = np.unique(np.asarray([] if set_aside is None else set_aside, dtype=np.int64))
    if aside.size and (aside[0] < 0 or aside[-1] >= n):
        raise ParameterError(f"set-aside record {int(aside[-1])} is outside 0..{n - 1}")
    admitted[aside] = False
    isolated = np.empty(0, dtype=np.int64)
    count = min(int(math.ceil(outliers * n)), int(admitted.sum()) - 1)
    if count > 0:
        if scores is None:
            scores = isolation_scores(
                X, n_neighbors, metric=metric, sample_size=sample_size, random_state=random_state
            )
        pool = np.flatnonzero(admitted)
        # largest score first, ties to the higher index: a stable sort of (-score, -index)
        order = np.lexsort((-pool, -scores[pool]))
        isolated = np.sort(pool[order[:count]])
        admitted[isolated] = False
    params: dict[str, Any] = {"set_aside": int(aside.size)}
    if outliers > 0:
        params.update(
            outliers=float(outliers),
            outlier_neighbors=int(n_neighbors),
            outlier_sample_size=int(sample_size),
            isolated=int(isolated.size),
        )
    return Admission(admitted=admitted, set_aside=aside, isolated=isolated, params=params)
