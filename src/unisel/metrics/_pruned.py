r"""Cluster-pruned exact nearest-neighbour search (behind :mod:`unisel.metrics.neighbors`).

Why
---
The plain kernel compares every query with every reference row: ``m * r`` distances, hours
at a million rows. Most of them are between rows of different regions of the space, which
cannot be each other's nearest neighbour. This module proves that for whole clusters of
reference rows at once and skips them; the values are the plain kernel's, bit for bit.

Bound
-----
The reference rows (unit rows for cosine, raw rows for Euclidean) are cut into ``P``
clusters around k-means centres :math:`\mu_B` (a few Lloyd steps on a sample; the clusters
only decide how much is skipped, never the result). With :math:`\rho_B` the largest
float64 distance of a member to :math:`\mu_B` (the float32 centre as stored, so the radius
is exact for the vector used), every member :math:`x` of cluster :math:`B` satisfies, by
the triangle inequality,

.. math::
    \lVert q - x\rVert \ge \lVert q - \mu_B\rVert - \rho_B .

For cosine on unit rows :math:`\delta(q, x) = 1 - \langle q, x\rangle = \lVert q - x
\rVert^2 / 2` (up to float64 rounding), and also :math:`\delta \ge 1 - \langle q,
\mu_B\rangle - \rho_B` (Cauchy-Schwarz); the larger of the two bounds is used.
:math:`\lVert q - \mu_B\rVert` comes from one float32 product per (query, cluster) pair; its
rounding is covered by :math:`\gamma = 2(d + 8) 2^{-24}\lVert q\rVert\lVert\mu_B\rVert`,
the radius carries a relative allowance of :math:`10^{-10}` and the bound a final
:math:`10^{-12}`, so the bound :math:`L(q, B)` is below every float64 distance it bounds.

Search
------
Queries are processed in blocks of nearby rows (a reference cluster for a self search, the
queries whose nearest centre is the same otherwise). Phase 1 searches the clusters with the
smallest block bound (about :data:`PHASE1_ROWS` rows) and decides each query's nearest row
among them exactly: a float32 screen of the block product, then float64 for the pairs within
:math:`2\tau` of the row's float32 minimum (the contract of the plain kernel), giving an
exact distance :math:`u_q` to a real row. Phase 2 searches, for each query, only the clusters
with :math:`L(q, B) \le u_q` (ties included, so the lowest index still wins) and keeps the
smaller exact distance. A cluster with :math:`L(q, B) > u_q` holds no row as near as the one
already found.

For a cosine self search (numpy backend) phase 2 computes each needed pair of blocks once:
block ``b`` needs block ``c`` when one of its queries has :math:`L(q, \text{cluster}(c)) \le
u_q`; a pair needed either way is one product of ``b``'s rows with ``c``'s, folded into the
candidate lists of ``b``'s queries (its rows) and of ``c``'s (its columns, read without a
transposed copy), since the unit-row products are symmetric. Each thread keeps its own lists,
seeded with the phase-1 distance (every row at least as near passes the screen); they are
merged and decided in float64 at the end. On text embeddings, where the bound skips little,
this halves the products.

Three modes share this: ``"each"`` (every query's nearest distance and index), ``"min"``
(only the smallest of them: phase 2 uses the global best found so far, so at most the pairs
that could beat it are computed; an exact 0 stops the search) and ``"max"`` (only the
largest, the covering radius: a query whose phase-1 distance is at most the largest final
distance found so far cannot raise it and is skipped; the queries are visited from the
largest phase-1 distance down).

Backends
--------
The block products are numpy float32 matrix products (BLAS) or, with ``backend="faiss"``,
``faiss.knn`` (BLAS with a fused top-k in C++) asking for :data:`FAISS_CANDIDATES`
candidates; a query whose candidate list cannot prove it holds every row within
:math:`2\tau` of the best is redone with numpy, so both return the same values.

Threads
-------
Blocks of queries run in ``n_jobs`` Python threads (numpy products and the numba screens
release the GIL), each with one BLAS/OpenMP thread: BLAS threads spinning between the small
products fought the screens for the same cores.

Memory
------
The float32 reference rows in cluster order (``4 r d`` bytes; twice for Euclidean, with an
extra column), float64 norms, one float32 block product of at most
``BLOCK_ROWS * MAX_COLUMNS`` entries (32 MB) per thread, the per-query state (24 bytes per
query) and, for the symmetric pass, ``16 * SYMMETRIC_SLOTS + 16`` bytes per query and thread
(144 MB per thread at 1M rows) plus a blocks x blocks boolean matrix.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.sparse import csr_matrix

from unisel._progress import progress_bar
from unisel.select.engine._jit import njit
from unisel.select.engine._threads import blas_threads

if TYPE_CHECKING:
    from unisel.metrics._rows import _Rows

MODES = ("each", "min", "max")
PHASE1_ROWS = 4096  # reference rows searched first for each block of queries (at most r/16)
MAX_COLUMNS = 16384  # reference rows per block product
BLOCK_ROWS = 512  # most queries per block
CLUSTER_ROWS = 192  # P ~ r / CLUSTER_ROWS clusters ...
MAX_CLUSTERS = 8192  # ... at most
LLOYD_STEPS = 4
SAMPLE_PER_CLUSTER = 24  # k-means sample: this many rows per cluster
FAISS_CANDIDATES = 8
SCREEN_SLOTS = 16  # candidate list per query of the numpy screen
SYMMETRIC = True  # cosine self search, numpy: each block pair once, into rows and columns
SYMMETRIC_SLOTS = 8  # candidate list per query and thread of the symmetric search
# partner rows per product of the symmetric search: 512 x 512 float32 products (1 MB) stay in a
# core's cache between the product and the two passes of the screen; 4096 (8 MB) took 18.2-19.1 s
# against 16.4-16.8 s for the report of the 128,935 ShareGPT turns (word2vec, two threads), and
# the same within noise on the wide mixture and on wordllama vectors (docs/performance.md)
SYMMETRIC_COLUMNS = 512
_EPS32 = 2.0**-24


def n_clusters(r: int) -> int:
    """Default number of reference clusters for ``r`` rows."""
    return int(np.clip(round(r / CLUSTER_ROWS), 1, MAX_CLUSTERS))


# ----------------------------------------------------------------------------- geometry


class _Space:
    """Float32 vectors whose inner product ``S`` gives the float32 distance ``c_q - S``.

    cosine: query and reference vectors are the unit rows, ``c_q = 1``;
    Euclidean (squared): queries ``[2x, -1]``, reference rows ``[x, |x|^2]``, ``c_q = |q|^2``.
    ``geo`` holds the rows the clusters and bounds live in (unit rows or raw rows).
    """

    def __init__(self, rows: _Rows, metric: str, side: str, geo: np.ndarray | None = None) -> None:
        self.metric = metric
        n, d = rows.shape
        self.sq = rows.sq  # float64 squared norms of the canonical rows
        if metric == "euclidean" and side == "reference":
            # the rows are the first d columns of [x, |x|^2]: one array, not two
            self.vec = np.empty((n, d + 1), dtype=np.float32)
            self.geo = self.vec[:, :d]
            if geo is None:
                _fill_f32(self.geo, rows)
            else:
                self.geo[:] = geo
            self.vec[:, d] = self.sq
            return
        if geo is None:
            geo = np.empty((n, d), dtype=np.float32)
            _fill_f32(geo, rows)
        self.geo = geo
        if metric == "cosine":
            self.vec = self.geo
        else:  # Euclidean queries
            self.vec = np.empty((n, d + 1), dtype=np.float32)
            self.vec[:, :d] = 2.0 * self.geo
            self.vec[:, d] = -1.0


def _fill_f32(out: np.ndarray, rows: _Rows) -> None:
    """``out[:] = rows.f32(all)`` in blocks (no float64 copy of every row)."""
    step = 16384
    for lo in range(0, out.shape[0], step):
        out[lo : lo + step] = rows.f32(slice(lo, lo + step))


def _tolerance(Q: _Rows, R: _Rows, metric: str) -> np.ndarray:
    """tau per query: float32 distances are within tau of the float64 ones."""
    d = Q.shape[1]
    if metric == "cosine":
        return np.full(Q.shape[0], 1.001 * (d + 6) * _EPS32 + 1e-12)
    # the extra column adds one rounded term (|x|^2) to the float32 product
    return 2.002 * (d + 10) * _EPS32 * (Q.sq + 2.0 * R.sq.max()) + 1e-300


# ----------------------------------------------------------------------------- clusters


class _Clusters:
    """Reference rows in cluster order with the centres and radii of the bound."""

    def __init__(self, space: _Space, R: _Rows, P: int, seed: int) -> None:
        r = space.geo.shape[0]
        P = int(min(P, r))
        centres = _kmeans(space.geo, P, seed)
        labels = _assign(space.geo, centres)
        order = np.argsort(labels, kind="stable")
        counts = np.bincount(labels, minlength=centres.shape[0])
        keep = counts > 0
        self.order = order.astype(np.int64)  # row index at each sorted position
        self.counts = counts[keep].astype(np.int64)
        self.start = np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)
        self.P = int(self.counts.shape[0])
        in_order = bool(np.all(labels[1:] >= labels[:-1]))
        # already in cluster order (always so for one cluster, the sampled search): a sorted
        # copy would double the memory of a search against millions of rows
        self.vec = np.ascontiguousarray(space.vec if in_order else space.vec[order])
        label_sorted = np.repeat(np.arange(self.P), self.counts)
        step = 16384
        # float64 sums in blocks of rows: a float64 copy of all rows would be 2x their size
        mu = np.zeros((self.P, space.geo.shape[1]))
        for lo in range(0, r, step):
            block = space.geo[order[lo : lo + step]]
            lab = label_sorted[lo : lo + step]
            starts = np.concatenate([[0], np.flatnonzero(np.diff(lab)) + 1])
            mu[lab[starts]] += np.add.reduceat(block, starts, axis=0, dtype=np.float64)
        self.mu32 = (mu / self.counts[:, None]).astype(np.float32)
        mu64 = self.mu32.astype(np.float64)
        self.mu_sq = np.einsum("ij,ij->i", mu64, mu64)
        self.mu_norm = np.sqrt(self.mu_sq)
        dist = np.empty(r)
        for lo in range(0, r, step):
            pos = slice(lo, lo + step)
            diff = R.f64(order[pos]) - mu64[label_sorted[pos]]
            dist[pos] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        rad = np.maximum.reduceat(dist, self.start[:-1])
        self.radius = rad * (1.0 + 1e-10) + 1e-300

    def rows_of(self, clusters: np.ndarray) -> np.ndarray:
        """Sorted positions of the members of ``clusters`` (ascending cluster order)."""
        clusters = np.sort(clusters)
        lens = self.counts[clusters]
        starts = self.start[clusters]
        total = int(lens.sum())
        if total == 0:
            return np.empty(0, dtype=np.int64)
        offs = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
        return np.arange(total, dtype=np.int64) + offs


def _kmeans(geo: np.ndarray, P: int, seed: int) -> np.ndarray:
    """``P`` centres from a few Lloyd steps on a sample (float32, shape (P, d))."""
    r = geo.shape[0]
    rng = np.random.default_rng(seed)
    m = int(min(r, max(P * SAMPLE_PER_CLUSTER, 2048)))
    sample = geo[np.sort(rng.choice(r, size=m, replace=False))] if m < r else geo
    centres = sample[np.sort(rng.choice(sample.shape[0], size=P, replace=False))].copy()
    for _ in range(LLOYD_STEPS):
        lab = _assign(sample, centres)
        counts = np.bincount(lab, minlength=P)
        member = csr_matrix(
            (np.ones(lab.shape[0], dtype=np.float32), (lab, np.arange(lab.shape[0]))),
            shape=(P, lab.shape[0]),
        )
        sums = np.asarray(member @ sample, dtype=np.float64)
        full = counts > 0
        centres[full] = (sums[full] / counts[full, None]).astype(np.float32)
    return centres


def _assign(geo: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Nearest centre (Euclidean) of each row, in blocks."""
    half_sq = 0.5 * np.einsum("ij,ij->i", centres, centres)
    out = np.empty(geo.shape[0], dtype=np.int64)
    step = max(1, (1 << 24) // max(1, centres.shape[0]))
    for lo in range(0, geo.shape[0], step):
        S = geo[lo : lo + step] @ centres.T
        S -= half_sq[None, :]
        out[lo : lo + step] = np.argmax(S, axis=1)
    return out


def _lower_bounds(C: _Clusters, qgeo: np.ndarray, q_sq: np.ndarray, metric: str) -> np.ndarray:
    """L(q, B) for each query of the block and each cluster, shape (a, P), float64."""
    d = qgeo.shape[1]
    ip = (qgeo @ C.mu32.T).astype(np.float64)
    qn = np.sqrt(q_sq)
    slack = 2.0 * (d + 8) * _EPS32 * qn[:, None] * C.mu_norm[None, :] + 1e-30
    hi = ip + slack
    both = q_sq[:, None] + C.mu_sq[None, :]
    dist_sq = both * (1.0 - 1e-15) - 2.0 * hi  # float64 cancellation near q = mu
    ball = np.maximum(np.sqrt(np.maximum(dist_sq, 0.0)) - C.radius[None, :], 0.0)
    if metric == "cosine":
        # 2e-12 covers |u|^2 != 1 in float64 and the snapping of keys below 1e-12 to 0
        lb = np.maximum(0.5 * ball * ball, 1.0 - hi - C.radius[None, :])
        return lb - 2e-12
    return ball * (1.0 - 1e-12)


# ----------------------------------------------------------------------------- screen kernel


@njit(nogil=True, fastmath={"nnan", "nsz", "reassoc"})
def _screen_into(S, cols, qidx, tol2, run, cand_i, cand_v, count):  # pragma: no cover (numba)
    """`_screen_block` for rows that are queries ``qidx`` of per-query state arrays (the
    symmetric search folds a product into its rows' and, transposed, its columns' states)."""
    a, s = S.shape
    K = cand_i.shape[1]
    for i in range(a):
        q = qidx[i]
        row = S[i]
        mx = -np.inf
        for j in range(s):
            mx = max(mx, row[j])
        m = max(run[q], np.float64(mx))
        thr = m - tol2[q]
        over = count[q] > K
        c = 0
        for t in range(min(count[q], K)):
            if cand_v[q, t] >= thr:
                cand_v[q, c] = cand_v[q, t]
                cand_i[q, c] = cand_i[q, t]
                c += 1
        if mx >= thr:
            for j in range(s):
                v = np.float64(row[j])
                if v >= thr:
                    if c < K:
                        cand_v[q, c] = v
                        cand_i[q, c] = cols[j]
                    c += 1
        run[q] = m
        count[q] = K + 1 if (over or c > K) else c


@njit(nogil=True)
def _screen_block(S, cols, tol2, run, cand_i, cand_v, count):  # pragma: no cover (numba)
    """Fold one float32 block product ``S`` (a, s) into each row's candidate list.

    Per row: ``run`` is the largest product seen so far; the list keeps every product
    within ``tol2`` of it (at most ``K`` entries, ``count`` > K marks an overflow: the row is
    redone by the caller). ``S`` is read once (the row stays in cache for its second scan).
    `_screen_into` with the rows of ``S`` as the queries 0..a-1.
    """
    _screen_into(S, cols, np.arange(S.shape[0]), tol2, run, cand_i, cand_v, count)


@njit(nogil=True, inline="always")
def _f32_at_most(x: float) -> np.float32:
    """The largest float32 at most ``x`` (float64; +-inf stay)."""
    y = np.float32(x)
    if np.float64(y) > x:
        y = np.nextafter(y, np.float32(-np.inf))
    return y


@njit(nogil=True, inline="always")
def _raise_run(q, top, tol2, run, cand_i, cand_v, count) -> float:  # pragma: no cover (numba)
    """Fold the largest product ``top`` of a block into query ``q``'s running maximum and
    return its new threshold (maximum - ``tol2[q]``), dropping the listed candidates below it
    (a list that overflowed stays overflowed)."""
    m = max(run[q], np.float64(top))
    run[q] = m
    thr = m - tol2[q]
    if count[q] <= cand_i.shape[1]:
        c = 0
        for t in range(count[q]):
            if cand_v[q, t] >= thr:
                cand_v[q, c] = cand_v[q, t]
                cand_i[q, c] = cand_i[q, t]
                c += 1
        count[q] = c
    return thr


@njit(nogil=True, fastmath={"nnan", "nsz", "reassoc"})
def _screen_both(S, j0, qrow, qcol, tol2, run, cand_i, cand_v, count):  # pragma: no cover
    """`_screen_into` for the rows of ``S`` (queries ``qrow``) and the same screen for its
    columns from ``j0`` on (queries ``qcol[j0:]``, candidates ``qrow``, read row by row: no
    transposed copy) in two passes over ``S``: the row and column maxima in one, every entry
    against its row's and its column's threshold in the other (a row screen then a column
    screen read it four times, the last two from memory). Row and column queries are different rows of the set (the
    symmetric search leaves the block's own columns, ``j < j0``, to the row screen), so the
    lists come out as the two screens one after the other leave them."""
    a, s = S.shape
    K = cand_i.shape[1]
    rowmax = np.full(a, -np.inf, dtype=np.float32)
    colmax = np.full(s, -np.inf, dtype=np.float32)
    for i in range(a):
        row = S[i]
        mx = np.float32(-np.inf)
        for j in range(s):
            v = row[j]
            mx = max(mx, v)
            colmax[j] = max(colmax[j], v)
        rowmax[i] = mx
    thr_r = np.empty(a)
    thr_c = np.full(s, np.inf)
    for i in range(a):
        thr_r[i] = _raise_run(qrow[i], rowmax[i], tol2, run, cand_i, cand_v, count)
    for j in range(j0, s):
        thr_c[j] = _raise_run(qcol[j], colmax[j], tol2, run, cand_i, cand_v, count)
    # float32 limits at or below the float64 thresholds: a vectorised count finds the rows
    # with an entry at a threshold (few: the lists are seeded with the phase-1 distance), and
    # only those are read again, in float64
    lim_c = np.empty(s, dtype=np.float32)
    for j in range(s):
        lim_c[j] = _f32_at_most(thr_c[j])
    lim = np.empty(s, dtype=np.float32)
    for i in range(a):
        row = S[i]
        tr = thr_r[i]
        lr = _f32_at_most(tr)
        for j in range(s):
            lim[j] = min(lr, lim_c[j])
        hits = 0
        for j in range(s):
            hits += row[j] >= lim[j]
        if hits == 0:
            continue
        qi = qrow[i]
        for j in range(s):
            v = np.float64(row[j])
            if v >= tr:
                c = count[qi]
                if c < K:
                    cand_v[qi, c] = v
                    cand_i[qi, c] = qcol[j]
                    count[qi] = c + 1
                else:
                    count[qi] = K + 1
            if v >= thr_c[j]:
                q = qcol[j]
                c = count[q]
                if c < K:
                    cand_v[q, c] = v
                    cand_i[q, c] = qi
                    count[q] = c + 1
                else:
                    count[q] = K + 1


# ----------------------------------------------------------------------------- block search


def _combine(d0, i0, d1, i1):
    """Elementwise the smaller distance, ties to the lower index."""
    take = (d1 < d0) | ((d1 == d0) & (i1 < i0))
    return np.where(take, d1, d0), np.where(take, i1, i0)


class _Search:
    """One exact search: queries against the clustered reference rows."""

    def __init__(
        self,
        Q: _Rows,
        R: _Rows,
        metric: str,
        exclude_self: bool,
        backend: str,
        P: int | None,
        seed: int,
        exact_pairs: Callable[..., np.ndarray],
        pick: Callable[..., Any],
        self_index: np.ndarray | None = None,
    ) -> None:
        self.Q, self.R, self.metric, self.exclude_self = Q, R, metric, exclude_self
        # reference row each query must skip (itself), or None
        self.self_row = np.arange(Q.shape[0]) if exclude_self else self_index
        self.backend = backend
        self._exact_pairs, self._pick = exact_pairs, pick
        self.rspace = _Space(R, metric, "reference")
        if exclude_self and metric == "cosine":
            self.qspace = self.rspace
        else:
            self.qspace = _Space(Q, metric, "query", self.rspace.geo if exclude_self else None)
        self.C = _Clusters(self.rspace, R, P or n_clusters(R.shape[0]), seed)
        self.tol = _tolerance(Q, R, metric)
        self.const = np.ones(Q.shape[0]) if metric == "cosine" else Q.sq
        self.inv = np.empty_like(self.C.order)
        self.inv[self.C.order] = np.arange(self.C.order.shape[0])

    # --- blocks of queries
    def blocks(self) -> list[np.ndarray]:
        """Query rows of each block (self search: ``self.ranges`` holds each block's sorted
        positions ``(lo, hi, cluster)``)."""
        C = self.C
        self.ranges: list[tuple[int, int, int]] = []
        if self.exclude_self:
            groups = [C.order[C.start[p] : C.start[p + 1]] for p in range(C.P)]
            for p in range(C.P):
                for lo in range(int(C.start[p]), int(C.start[p + 1]), BLOCK_ROWS):
                    self.ranges.append((lo, min(lo + BLOCK_ROWS, int(C.start[p + 1])), p))
        else:
            lab = _assign(self.qspace.geo, C.mu32)
            order = np.argsort(lab, kind="stable")
            cuts = np.flatnonzero(np.diff(lab[order])) + 1
            groups = np.split(order.astype(np.int64), cuts)
        out = []
        for g in groups:
            for lo in range(0, g.shape[0], BLOCK_ROWS):
                out.append(np.sort(g[lo : lo + BLOCK_ROWS]))
        return out

    def bounds(self, qi: np.ndarray) -> np.ndarray:
        return _lower_bounds(self.C, self.qspace.geo[qi], self.Q.sq[qi], self.metric)

    def phase1_clusters(self, L: np.ndarray) -> np.ndarray:
        """Clusters with the smallest block bound, about PHASE1_ROWS rows (at least one)."""
        order = np.argsort(L.min(axis=0), kind="stable")
        size = np.cumsum(self.C.counts[order])
        target = min(PHASE1_ROWS, max(2 * CLUSTER_ROWS, size[-1] // 16))
        take = int(np.searchsorted(size, target)) + 1
        return order[:take]

    # --- exact nearest row of queries ``qi`` among the members of ``clusters``
    def search(self, qi: np.ndarray, clusters: np.ndarray):
        pos = self.C.rows_of(clusters)
        a = qi.shape[0]
        best_d = np.full(a, np.inf)
        best_i = np.full(a, -1, dtype=np.int64)
        if pos.size == 0 or a == 0:
            return best_d, best_i, 0
        if self.backend == "faiss":
            pa, pb, redo = self._screen_faiss(qi, pos)
        else:
            pa, pb, redo = self._screen_numpy(qi, pos)
        if redo.size:
            ra, rb, _ = self._screen_numpy(qi[redo], pos)
            pa, pb = np.concatenate([pa, redo[ra]]), np.concatenate([pb, rb])
        if pa.size:
            exact = self._exact_pairs(self.Q, self.R, qi[pa], pb, self.metric)
            best_d, best_i = self._pick(a, pa, pb, exact)
        return best_d, best_i, a * pos.size

    def _screen_numpy(self, qi: np.ndarray, pos: np.ndarray):
        """Pairs (query row, reference index) within 2 tau of each row's float32 minimum.

        Works on the float32 products S (distance ``c_q - S``): each row's largest S and
        every S within ``2 tau`` of it, folded block by block (`_screen_block`). Rows with
        more than :data:`SCREEN_SLOTS` such pairs are screened again, all at once.
        """
        A = self.qspace.vec[qi]
        a = qi.shape[0]
        tol2 = 2.0 * self.tol[qi]
        run = np.full(a, -np.inf)  # largest product so far
        cand_i = np.empty((a, SCREEN_SLOTS), dtype=np.int64)
        cand_v = np.empty((a, SCREEN_SLOTS))
        count = np.zeros(a, dtype=np.int64)
        own = None if self.self_row is None else self.inv[self.self_row[qi]]
        for lo in range(0, pos.shape[0], MAX_COLUMNS):
            ppos = pos[lo : lo + MAX_COLUMNS]
            S = A @ self.C.vec[ppos].T
            if own is not None:  # the pair (i, i): ppos is ascending
                at = np.minimum(np.searchsorted(ppos, own), ppos.shape[0] - 1)
                hit = np.flatnonzero(ppos[at] == own)
                S[hit, at[hit]] = -np.inf
            _screen_block(S, self.C.order[ppos], tol2, run, cand_i, cand_v, count)
        over = np.flatnonzero(count > SCREEN_SLOTS)
        ok = np.flatnonzero(count <= SCREEN_SLOTS)
        take = np.arange(SCREEN_SLOTS)[None, :] < count[ok, None]
        rows = np.repeat(ok, count[ok])
        pairs_b = cand_i[ok][take]
        finite = np.isfinite(cand_v[ok][take])
        rows, pairs_b = rows[finite], pairs_b[finite]
        if over.size:
            ra, rb = self._screen_all(qi[over], pos)
            rows = np.concatenate([rows, over[ra]])
            pairs_b = np.concatenate([pairs_b, rb])
        return rows.astype(np.int64), pairs_b.astype(np.int64), np.empty(0, dtype=np.int64)

    def _screen_all(self, qi: np.ndarray, pos: np.ndarray):
        """`_screen_numpy` without a cap on the pairs per row (rows with many near ties)."""
        A = self.qspace.vec[qi]
        tol2 = 2.0 * self.tol[qi]
        run = np.full(qi.shape[0], -np.inf)
        own = None if self.self_row is None else self.inv[self.self_row[qi]]
        keep_a, keep_b, keep_v = [], [], []
        for lo in range(0, pos.shape[0], MAX_COLUMNS):
            ppos = pos[lo : lo + MAX_COLUMNS]
            S = A @ self.C.vec[ppos].T
            if own is not None:
                at = np.minimum(np.searchsorted(ppos, own), ppos.shape[0] - 1)
                hit = np.flatnonzero(ppos[at] == own)
                S[hit, at[hit]] = -np.inf
            run = np.maximum(run, S.max(axis=1))
            a, b = np.nonzero(S >= (run - tol2)[:, None])
            keep_a.append(a)
            keep_b.append(self.C.order[ppos[b]])
            keep_v.append(S[a, b])
        a = np.concatenate(keep_a).astype(np.int64)
        b = np.concatenate(keep_b).astype(np.int64)
        v = np.concatenate(keep_v).astype(np.float64)
        ok = (v >= (run - tol2)[a]) & np.isfinite(v)
        return a[ok], b[ok]

    def _screen_faiss(self, qi: np.ndarray, pos: np.ndarray):
        """As `_screen_numpy` with ``faiss.knn``; rows it cannot prove complete come back
        in the third array (to be redone with numpy)."""
        import faiss

        A = np.ascontiguousarray(self.qspace.vec[qi])
        B = self.C.vec[pos]
        cols = self.C.order[pos]
        s = pos.shape[0]
        kk = min(s, FAISS_CANDIDATES + int(self.self_row is not None))
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # this thread only: the blocks run in parallel threads
        try:
            S, J = faiss.knn(A, B, kk, metric=faiss.METRIC_INNER_PRODUCT)
        finally:
            faiss.omp_set_num_threads(before)
        S = S.astype(np.float64)
        J = J.astype(np.int64)
        valid = J >= 0
        idx = np.where(valid, cols[np.maximum(J, 0)], -1)
        # rows beyond the list have products at most the last listed one (self included)
        last = S[:, -1].copy()
        S[~valid] = -np.inf
        if self.self_row is not None:
            S[idx == self.self_row[qi][:, None]] = -np.inf
        cut = S.max(axis=1) - 2.0 * self.tol[qi]
        complete = np.full(qi.shape[0], kk == s) | (last < cut)
        a, b = np.nonzero((S >= cut[:, None]) & complete[:, None] & np.isfinite(S))
        return a.astype(np.int64), idx[a, b], np.flatnonzero(~complete)


# ----------------------------------------------------------------------------- symmetric


def _symmetric_phase2(s: _Search, blocks, first, d1, i1, rest, run, bar) -> int:
    """Phase 2 of a self search with each needed block pair computed once.

    Block ``b`` needs block ``c`` when one of its queries has ``L(q, cluster(c)) <= d1[q]``
    (cluster not in its phase 1); a pair needed either way is computed once, as ``b``'s
    rows against ``c``'s (``c >= b``), and folded into the candidate lists of ``b``'s
    queries (rows) and ``c``'s (columns, transposed). Each thread keeps its own lists, seeded
    with the phase-1 distance (``run = c_q - d1 - tau``: every row at least as near as the
    phase-1 one passes); they are merged, the candidates decided in float64 and combined with
    phase 1. Returns the distances computed.
    """
    import threading

    C = s.C
    nb_ = len(blocks)
    block_cluster = np.array([r[2] for r in s.ranges], dtype=np.int64)
    need = np.zeros((nb_, nb_), dtype=bool)

    def needs(b: int):
        qi = blocks[b]
        act = rest[qi] <= d1[qi]
        if not act.any():
            return b, None
        qa = qi[act]
        L = s.bounds(qa)
        L[:, first[b]] = np.inf
        return b, (L <= d1[qa][:, None]).any(axis=0)

    for b, cl in run(needs, range(nb_)):
        bar.update()
        if cl is not None:
            need[b] = cl[block_cluster]
    need |= need.T
    n = s.Q.shape[0]
    tol2 = 2.0 * s.tol
    seed = 1.0 - d1 - s.tol  # cosine: at most the float32 product of the phase-1 row
    K = SYMMETRIC_SLOTS
    local = threading.local()
    states: list[tuple[np.ndarray, ...]] = []
    lock = threading.Lock()

    def mine():
        if not hasattr(local, "st"):
            local.st = (
                seed.copy(),
                np.empty((n, K), dtype=np.int64),
                np.empty((n, K)),
                np.zeros(n, dtype=np.int64),
            )
            with lock:
                states.append(local.st)
        return local.st

    def pairs(b: int) -> int:
        partners = np.flatnonzero(need[b, b:]) + b
        if partners.size == 0:
            return 0
        st = mine()
        lo, hi, _ = s.ranges[b]
        A = C.vec[lo:hi]
        qrow = C.order[lo:hi]
        # partner blocks are ranges of positions; adjacent ones merge into runs, read as
        # views of the rows (a gathered copy of every partner row cost a tenth of the time)
        starts = np.array([s.ranges[c][0] for c in partners], dtype=np.int64)
        ends = np.array([s.ranges[c][1] for c in partners], dtype=np.int64)
        cut = np.flatnonzero(starts[1:] != ends[:-1]) + 1
        done = 0
        width = max(SYMMETRIC_COLUMNS, BLOCK_ROWS)  # the own block fits in the first product
        for r0, r1 in zip(starts[np.r_[0, cut]], ends[np.r_[cut - 1, ends.size - 1]], strict=True):
            for p0 in range(int(r0), int(r1), width):
                p1 = min(int(r1), p0 + width)
                S = A @ C.vec[p0:p1].T
                # the block against itself (only ever at the start of the first run,
                # partners ascending from b): skip (i, i); its columns are rows of this
                # block, screened as rows only
                j0 = max(0, min(hi, p1) - max(lo, p0)) if p0 == lo else 0
                if j0:
                    S[np.arange(j0), np.arange(j0)] = -np.inf
                _screen_both(S, j0, qrow, C.order[p0:p1], tol2, *st)
                done += S.size
        return done

    work = 0
    for w in run(pairs, range(nb_)):
        work += w
        bar.update()
    if not states:
        return work
    runs = np.max([st[0] for st in states], axis=0)
    over = np.zeros(n, dtype=bool)
    qa, qb = [], []
    for _, ci, cv, cnt in states:
        over |= cnt > K
        ok = (np.arange(K)[None, :] < np.minimum(cnt, K)[:, None]) & (cv >= (runs - tol2)[:, None])
        a, t = np.nonzero(ok)
        qa.append(a)
        qb.append(ci[a, t])
    a = np.concatenate(qa).astype(np.int64)
    b_ = np.concatenate(qb).astype(np.int64)
    keep = ~over[a]
    a, b_ = a[keep], b_[keep]
    redo = np.flatnonzero(over)
    if redo.size:  # many near ties: screen those queries against every row
        ra, rb = s._screen_all(redo, np.arange(n))
        a, b_ = np.concatenate([a, redo[ra]]), np.concatenate([b_, rb])
        work += redo.size * n
    if a.size:
        exact = s._exact_pairs(s.Q, s.R, a, b_, s.metric)
        d2, i2 = s._pick(n, a, b_, exact)
        d1[:], i1[:] = _combine(d1, i1, d2, i2)
    return work


# ----------------------------------------------------------------------------- driver


def pruned_search(
    Q: _Rows,
    R: _Rows,
    metric: str,
    exclude_self: bool,
    mode: str,
    *,
    backend: str,
    exact_pairs: Callable[..., np.ndarray],
    pick: Callable[..., Any],
    n_clusters: int | None = None,
    seed: int = 0,
    n_jobs: int | None = None,
    self_index: np.ndarray | None = None,
    progress: bool = False,
    stats: dict[str, Any] | None = None,
):
    """Exact nearest distances with cluster pruning; see the module docstring.

    ``Q`` and ``R`` hold no zero rows for cosine (the caller handles them). ``self_index``:
    the queries are these rows of ``R`` (each skips itself; ``exclude_self`` False). Returns
    ``(distances, index)`` for ``mode="each"``, else the smallest / largest distance.
    Blocks of queries run in ``n_jobs`` threads (default: all cores), each with one BLAS
    (and faiss) thread.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    s = _Search(
        Q, R, metric, exclude_self, backend, n_clusters, seed, exact_pairs, pick, self_index
    )
    m = Q.shape[0]
    blocks = s.blocks()
    d1 = np.full(m, np.inf)
    i1 = np.full(m, -1, dtype=np.int64)
    rest = np.full(m, np.inf)  # smallest bound over the clusters phase 1 left out
    first: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(blocks)
    workers = max(1, int(n_jobs or os.cpu_count() or 1))
    bar = progress_bar(
        total=2 * len(blocks), desc=f"nearest ({mode})", unit="block", quiet=not progress
    )
    work = 0

    def phase1(b: int):
        qi = blocks[b]
        L = s.bounds(qi)
        p1 = s.phase1_clusters(L)
        d, i, w = s.search(qi, p1)
        L[:, p1] = np.inf
        return b, p1, d, i, L.min(axis=1), w

    state = {"G": np.inf, "R_lo": -np.inf}

    def phase2(b: int):
        qi = blocks[b]
        if mode == "min":
            if state["G"] <= 0.0:
                return b, None, None, None, 0
            act = rest[qi] <= state["G"]
        elif mode == "max":
            act = (rest[qi] <= d1[qi]) & (d1[qi] > state["R_lo"])
        else:
            act = rest[qi] <= d1[qi]
        if not act.any():
            return b, None, None, None, 0
        qa = qi[act]
        L = s.bounds(qa)
        L[:, first[b]] = np.inf
        bound = np.full(qa.shape[0], state["G"]) if mode == "min" else d1[qa]
        need = L <= bound[:, None]
        clusters = np.flatnonzero(need.any(axis=0))
        qa = qa[need[:, clusters].any(axis=1)]
        d2, i2, w = s.search(qa, clusters)
        return b, qa, d2, i2, w

    # cosine only: there the query and reference vectors coincide, so a product block
    # transposed is the block of the other side (Euclidean's [2x, -1] . [x, |x|^2] is not)
    symmetric = (
        mode == "each" and exclude_self and backend == "numpy" and metric == "cosine" and SYMMETRIC
    )
    pool = ThreadPoolExecutor(workers) if workers > 1 else None
    run = pool.map if pool is not None else map
    try:
        # one BLAS/OpenMP thread per block: the small products (bounds) lose more to thread
        # hand-offs than they gain, and the blocks themselves run in `workers` threads
        with blas_threads(1):
            for b, p1, d, i, lb, w in run(phase1, range(len(blocks))):
                qi = blocks[b]
                first[b], d1[qi], i1[qi], rest[qi] = p1, d, i, lb
                work += w
                bar.update()
            state["G"] = float(d1.min()) if m else np.inf
            if symmetric:
                work += _symmetric_phase2(s, blocks, first, d1, i1, rest, run, bar)
                blocks = []  # done
            order: Any = range(len(blocks))
            if mode == "max":  # largest phase-1 distance first: R_lo rises fast
                final = rest > d1
                state["R_lo"] = float(d1[final].max()) if final.any() else -np.inf
                order = np.argsort([-float(d1[qi].max()) for qi in blocks], kind="stable")
            for b, qa, d2, i2, w in run(phase2, order):
                bar.update()
                work += w
                if qa is None or qa.size == 0:
                    continue
                d1[qa], i1[qa] = _combine(d1[qa], i1[qa], d2, i2)
                if mode == "min":
                    state["G"] = min(state["G"], float(d1[qa].min()))
                elif mode == "max":
                    state["R_lo"] = max(state["R_lo"], float(d1[blocks[b]].max()))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        bar.close()
    if stats is not None:
        stats.update(computed=work, plain=m * R.shape[0], clusters=s.C.P)
    if mode == "each":
        return d1, i1
    if mode == "min":
        return float(d1.min()) if m else float("nan")
    return float(d1.max()) if m else float("nan")
