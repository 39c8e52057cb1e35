r"""Nearest-neighbour kernels behind the uniformity metrics: exact, blocked, bounded memory.

Distances are cosine (``1 - cos``, rows normalised in float64 as in the reference engine,
values below 1e-12 snapped to 0 like the canonical key) or Euclidean on the raw vectors.

Exactness with a float32 fast path
----------------------------------
The default ``precision="float32"`` screens all pairs with float32 block products and decides
in float64. For a query row, let :math:`\hat m` be its smallest float32 distance. Every float32
distance is within :math:`\tau` of its float64 value (cosine:
:math:`\tau = 1.001(d+6)2^{-24} + 10^{-12}`, see :mod:`unisel.select.engine.fast`; squared
Euclidean: :math:`\tau = 2.002(d+8)2^{-24}(\|q\|^2 + \max_r \|r\|^2)`), so the exact nearest
row is among the rows with float32 distance :math:`\le \hat m + 2\tau`; those (usually one)
are recomputed in float64 and the smallest wins, ties to the lowest index. The result equals
the float64 computation up to float64 rounding (about 1e-16), for ``h_min`` too.
``precision="float64"`` screens with float64 products instead (slower, same answers; holds
the reference set in float64, ``8 r d`` bytes).

Memory
------
Queries are processed ``block_size`` rows at a time against the whole reference set, so the
products take ``block_size * r * 4`` bytes (float32; 8 for float64) with ``r`` reference rows;
the reference set is held once in float32 (``4 r d`` bytes) with float64 norms (16 bytes per
row of either set); float64 rows are formed only for the screened pairs. The
default block is chosen so one product block stays near 256 MB:
``block_size = clip(2**26 // r, 16, 8192)``. The pruned search of every row's nearest other
row searches each set of identical rows once (`_without_copies`), on a copy of the distinct
rows when the set has copies (``X.nbytes`` at most), with 8 bytes per row for their hashes.

Backends
--------
``backend="numpy"`` (BLAS) or ``backend="faiss"`` (``IndexFlatIP``/``IndexFlatL2``, when
faiss is installed: ``pip install 'unisel[fast]'``). FAISS returns the 8 best float32
candidates; rows whose candidate list cannot prove it holds every row within
:math:`2\tau` of the best are redone with numpy, so both backends return the same values.
The pruned search's numpy blocks (BLAS product and a fused numba screen, one thread per
block) measured about 3x faster than ``faiss.knn`` on the same blocks, so numpy stays the
default; ``backend="faiss"`` gives the same values.

Pruning
-------
``prune=True`` (the default from :data:`PRUNE_MIN_ROWS` reference rows, float32 only) cuts
the reference rows into k-means clusters and skips, per block of queries, every cluster whose
triangle-inequality bound proves it holds no row as near as one already found
(:mod:`unisel.metrics._pruned`). Same values and indices as the plain kernel; how much is
skipped depends on the data (most of it on clustered data, little on rows spread evenly in
many dimensions). :func:`h_min` and :func:`covering_radius` use the stronger bounds of their
single number (the best pair so far, the largest distance so far).
For approximate search at 10M rows see :mod:`unisel.metrics.approximate`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from unisel.errors import ParameterError
from unisel.metrics._rows import _Rows
from unisel.select.engine.reference import DUPLICATE_TOLERANCE

DEFAULT_BLOCK = 2048  # kept for callers; the working default is `auto_block_size`
PRODUCT_BYTES = 1 << 28  # ~256 MB per product block
FAISS_CANDIDATES = 8
METRICS = ("cosine", "euclidean")
BACKENDS = ("numpy", "faiss")
PRUNE_MIN_ROWS = 2048  # prune=None: pruned search from this many reference rows
_EPS32 = 2.0**-24


def auto_block_size(r: int) -> int:
    """Query rows per block so that one float32 product block is about 256 MB."""
    return int(np.clip(PRODUCT_BYTES // (4 * max(1, r)), 16, 8192))


def _check(metric: str, precision: str, backend: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; use 'cosine' or 'euclidean'")
    if precision not in ("float32", "float64"):
        raise ParameterError(f"precision must be 'float32' or 'float64', got {precision!r}")
    if backend not in BACKENDS:
        raise ParameterError(f"backend must be 'numpy' or 'faiss', got {backend!r}")


def _resolve_backend(backend: str) -> str:
    if backend == "faiss" and not faiss_available():
        raise ParameterError("backend='faiss' needs faiss: pip install 'unisel[fast]'")
    return backend


PAIR_CHUNK = 32768  # pairs per float64 gather in `_exact_pairs`


def _exact_pairs(Q: _Rows, R: _Rows, a: np.ndarray, b: np.ndarray, metric: str):
    """Float64 distances of the pairs (Q[a], R[b]), shape (len(a),).

    In chunks of pairs: the pairs of rows with many exact duplicates (one text repeated
    thousands of times) grow quadratically, and gathering all their rows at once in float64
    took gigabytes.
    """
    out = np.empty(a.shape[0])
    for lo in range(0, a.shape[0], PAIR_CHUNK):
        qa, rb = a[lo : lo + PAIR_CHUNK], b[lo : lo + PAIR_CHUNK]
        if metric == "cosine":
            out[lo : lo + PAIR_CHUNK] = 1.0 - np.einsum("ij,ij->i", Q.f64(qa), R.f64(rb))
        else:
            diff = Q.f64(qa) - R.f64(rb)
            out[lo : lo + PAIR_CHUNK] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    if metric == "cosine":
        out[out < DUPLICATE_TOLERANCE] = 0.0
    return out


def _pick(rows: int, a: np.ndarray, b: np.ndarray, dist: np.ndarray):
    """Per row of ``a``: the smallest ``dist``, ties to the lowest ``b``."""
    order = np.lexsort((b, dist, a))
    a, b, dist = a[order], b[order], dist[order]
    first = np.ones(a.shape[0], dtype=bool)
    first[1:] = a[1:] != a[:-1]
    out_d = np.full(rows, np.inf)
    out_i = np.full(rows, -1, dtype=np.int64)
    out_d[a[first]] = dist[first]
    out_i[a[first]] = b[first]
    return out_d, out_i


def _screen(D: np.ndarray, tol: np.ndarray):
    """Candidate pairs (a, b): float32 distance within ``2 * tol`` of the row's minimum."""
    lo = D.min(axis=1)
    a, b = np.nonzero(D <= (lo + 2.0 * tol)[:, None])
    return a.astype(np.int64), b.astype(np.int64)


def _block32(Q32, R32, R_sq, q_sq, metric):
    """Float32 distances (cosine) or squared distances (Euclidean), float64 array."""
    P = (Q32 @ R32.T).astype(np.float64)
    if metric == "cosine":
        return 1.0 - P
    return q_sq[:, None] + R_sq[None, :] - 2.0 * P


def nearest_distances(
    queries: np.ndarray,
    reference: np.ndarray,
    *,
    metric: str = "cosine",
    exclude_self: bool = False,
    block_size: int | None = None,
    precision: str = "float32",
    backend: str = "numpy",
    prune: bool | None = None,
    n_clusters: int | None = None,
    random_state: int = 0,
    n_jobs: int | None = None,
    quiet: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each query row to its nearest reference row, exact.

    Parameters
    ----------
    queries : ndarray of shape (m, d)
    reference : ndarray of shape (r, d)
    exclude_self : bool
        ``queries`` and ``reference`` are the same set: skip the pair (i, i). The nearest
        *other* row is returned, so an exact duplicate gives distance 0.
    metric : {"cosine", "euclidean"}
        Default "cosine". This and the keywords below (but ``n_clusters``) are the options of
        every search of this module.
    n_clusters : int, optional
        Reference clusters of the pruned search (default ``r / 192``, at most 8192).
    block_size : int, optional
        Query rows per block of the plain kernel; memory is about ``block_size * r * 4``
        bytes (float32 screen). Default: :func:`auto_block_size`.
    precision : {"float32", "float64"}
        float32 screen with float64 decision (default), or all pairs in float64.
    backend : {"numpy", "faiss"}
        Block products with BLAS (default) or FAISS (same results).
    prune : bool or None
        Cluster-pruned search (same results, see the module docstring); None (default): from
        :data:`PRUNE_MIN_ROWS` reference rows with the float32 screen.
    random_state : int
        Seed of the k-means sample of the pruned search (changes the work, not the result);
        default 0.
    n_jobs : int, optional
        Threads of the pruned search (default: all cores).
    quiet : bool
        No progress bar (default True).

    Returns
    -------
    distances : ndarray of shape (m,), float64
    index : ndarray of shape (m,), int64 (row of ``reference``, lowest on ties; -1 when r == 1
        and exclude_self)
    """
    return _search(
        queries,
        reference,
        exclude_self,
        "each",
        metric=metric,
        block_size=block_size,
        precision=precision,
        backend=backend,
        prune=prune,
        n_clusters=n_clusters,
        random_state=random_state,
        n_jobs=n_jobs,
        quiet=quiet,
    )


def _search(
    queries: np.ndarray,
    reference: np.ndarray,
    exclude_self: bool,
    mode: str,
    *,
    metric: str = "cosine",
    block_size: int | None = None,
    precision: str = "float32",
    backend: str = "numpy",
    prune: bool | None = None,
    n_clusters: int | None = None,
    random_state: int = 0,
    n_jobs: int | None = None,
    quiet: bool = True,
) -> Any:
    """Every query's nearest distance and index (``mode="each"``), or only the smallest or
    the largest of those distances (``"min"``, ``"max"``, a float); the options as in
    :func:`nearest_distances`, whose defaults are these.

    A single number takes the pruned search with the stronger bounds of that number (the
    best pair so far, the largest distance so far) when pruning is on; otherwise it is
    reduced from the plain kernel's distances.
    """
    _check(metric, precision, backend)
    backend = _resolve_backend(backend)
    Q = _Rows(queries, metric)
    R = Q if exclude_self else _Rows(reference, metric)
    if Q.shape[1] != R.shape[1]:
        raise ParameterError(f"queries have {Q.shape[1]} columns, reference {R.shape[1]}")
    m, r = Q.shape[0], R.shape[0]
    opts = {"backend": backend, "n_clusters": n_clusters, "seed": random_state, "n_jobs": n_jobs}
    if mode != "each" and _use_prune(prune, precision, r) and m:
        return float(_pruned(Q, R, metric, exclude_self, mode, opts, quiet))
    if m == 0:
        dist, index = np.empty(0), np.empty(0, dtype=np.int64)
    elif r == 0:
        raise ParameterError("the reference set is empty")
    elif exclude_self and r == 1:
        dist, index = np.full(1, np.inf), np.full(1, -1, dtype=np.int64)
    elif mode == "each" and _use_prune(prune, precision, r):
        dist, index = _pruned(Q, R, metric, exclude_self, "each", opts, quiet)
    else:
        block = int(block_size or auto_block_size(r))
        if precision == "float64":
            dist, index = _nearest32(Q, R, metric, exclude_self, block, np.arange(m), np.float64)
        elif backend == "faiss":
            dist, index = _nearest_faiss(Q, R, metric, exclude_self, block)
        else:
            dist, index = _nearest32(Q, R, metric, exclude_self, block, np.arange(m))
    if mode == "each":
        return dist, index
    return float(dist.min() if mode == "min" else dist.max())


def _use_prune(prune: bool | None, precision: str, r: int) -> bool:
    if prune is None:
        return precision == "float32" and r >= PRUNE_MIN_ROWS
    if prune and precision != "float32":
        raise ParameterError("prune=True needs precision='float32' (the float32 screen)")
    return bool(prune)


def first_copies(X: np.ndarray, skip: np.ndarray | None = None) -> np.ndarray:
    """For each row of ``X`` (shape (n, d)), the lowest index of a row equal to it bit for bit
    (itself when it has no earlier copy), shape (n,), int64. Rows where ``skip`` is True are
    left alone (their own index).

    A 64-bit hash of each row's bytes (in blocks) finds the rows that can be equal; only those
    are compared byte for byte, so the memory beyond ``X`` is that of the colliding rows.
    """
    X = np.asarray(X)
    n = X.shape[0]
    first = np.arange(n, dtype=np.int64)
    row_bytes = X.dtype.itemsize * int(np.prod(X.shape[1:], dtype=np.int64))
    if n < 2:
        return first
    if row_bytes == 0:  # empty rows are all equal
        same = np.arange(n) if skip is None else np.flatnonzero(~skip)
        first[same] = same[0] if same.size else 0
        return first
    word = next(w for w in (8, 4, 2, 1) if row_bytes % w == 0)
    # odd multipliers: a random linear hash of the row's words, modulo 2**64
    mult = np.random.default_rng(0).integers(0, 2**63, size=row_bytes // word, dtype=np.uint64)
    mult = mult * np.uint64(2) + np.uint64(1)
    hashes = np.empty(n, dtype=np.uint64)
    step = max(1, (1 << 22) // row_bytes)
    for lo in range(0, n, step):
        words = np.ascontiguousarray(X[lo : lo + step]).view(f"u{word}")
        words = words.reshape(words.shape[0], -1).astype(np.uint64)
        hashes[lo : lo + step] = (words * mult).sum(axis=1)
    _, at, counts = np.unique(hashes, return_index=True, return_counts=True)
    collide = np.isin(hashes, hashes[at[counts > 1]])
    if skip is not None:
        collide &= ~skip
    idx = np.flatnonzero(collide)
    if idx.size < 2:
        return first
    # rows with different hashes differ: the equal rows are all among the colliding ones
    cand = np.ascontiguousarray(X[idx]).reshape(idx.size, -1)
    rows = cand.view(np.dtype((np.void, row_bytes))).ravel()
    _, at, inverse = np.unique(rows, return_index=True, return_inverse=True)
    first[idx] = idx[at[inverse.ravel()]]  # first occurrence = lowest index (idx ascends)
    return first


def _without_copies(Q: _Rows, metric: str, opts, quiet):
    """Nearest other row of every row of a self search, each set of identical rows searched
    once; None when no row has a copy.

    Identical rows are at distance exactly 0 (cosine: below the 1e-12 snap; Euclidean: 0), and
    every row is as far from each copy of another row, so only the first copy of each row
    (lowest index) needs searching, among the first copies: a row with copies then has
    distance 0 and, by the tie rule, the lowest index at distance 0: the first of its other
    copies, or the first copy's own nearest row when that is at distance 0 and lower. Text
    sets repeat some records thousands of times; searched as they were, their ties overflowed
    the candidate lists and took every pair among the copies in float64. Zero rows (cosine)
    are at distance 1 from everything, themselves included: never grouped here.
    """
    n = Q.shape[0]
    zero = Q.sq == 0 if metric == "cosine" else None
    first = first_copies(Q.X, zero)
    own = np.arange(n, dtype=np.int64)
    copies = first != own
    if not copies.any():
        return None
    keep = np.flatnonzero(~copies)  # first copies and rows without a copy, ascending
    if keep.size >= 2:
        Qk = _Rows(Q.X[keep], metric)
        dk, ik = _pruned(Qk, Qk, metric, True, "each", opts, quiet, dedup=False)
        ik = np.where(ik >= 0, keep[np.maximum(ik, 0)], -1)
    else:
        dk, ik = np.full(keep.size, np.inf), np.full(keep.size, -1, dtype=np.int64)
    dist = np.empty(n)
    index = np.empty(n, dtype=np.int64)
    dist[keep], index[keep] = dk, ik
    at_keep = np.empty(n, dtype=np.int64)
    at_keep[keep] = np.arange(keep.size)
    # a copy's nearest row: its first copy, or the first copy's nearest when at 0 and lower
    m = np.flatnonzero(copies)
    f = first[m]
    fd, fi = dk[at_keep[f]], ik[at_keep[f]]
    dist[m] = 0.0
    index[m] = np.where((fd == 0.0) & (fi >= 0) & (fi < f), fi, f)
    # a first copy's nearest row: its second copy, or its own nearest when at 0 and lower
    second = np.full(n, n, dtype=np.int64)
    np.minimum.at(second, f, m)
    g = np.unique(f)
    gd, gi = dist[g], index[g]
    dist[g] = 0.0
    index[g] = np.where((gd == 0.0) & (gi >= 0) & (gi < second[g]), gi, second[g])
    return dist, index


def _pruned(
    Q: _Rows, R: _Rows, metric: str, exclude_self: bool, mode: str, opts, quiet, dedup=True
):
    """The pruned search, with zero rows (cosine) answered directly and, for every row's
    nearest other row, identical rows searched once (`_without_copies`).

    A zero row is at cosine distance exactly 1 from every row, so its nearest row is the
    lowest other index, and a zero reference row offers distance 1 to every query.
    """
    from unisel.metrics import _pruned as P

    if dedup and mode == "each" and exclude_self:
        found = _without_copies(Q, metric, opts, quiet)
        if found is not None:
            return found

    def run(Qs: _Rows, Rs: _Rows):
        return P.pruned_search(
            Qs,
            Rs,
            metric,
            exclude_self,
            mode,
            exact_pairs=_exact_pairs,
            pick=_pick,
            progress=not quiet,
            **opts,
        )

    m, r = Q.shape[0], R.shape[0]
    zq = Q.sq == 0 if metric == "cosine" else np.zeros(m, dtype=bool)
    zr = zq if exclude_self else (R.sq == 0 if metric == "cosine" else np.zeros(r, dtype=bool))
    if not zq.any() and not zr.any():
        return run(Q, R)
    qn, rn = np.flatnonzero(~zq), np.flatnonzero(~zr)
    Qs = _Rows(Q.X[qn], metric) if qn.size else None
    Rs = (Qs if exclude_self else _Rows(R.X[rn], metric)) if rn.size else None
    searchable = Qs is not None and Rs is not None and rn.size >= (2 if exclude_self else 1)
    first_zero = int(np.flatnonzero(zr)[0]) if zr.any() else -1
    if mode == "each":
        dist = np.full(m, np.inf)
        index = np.full(m, -1, dtype=np.int64)
        if searchable:
            d, i = run(Qs, Rs)  # type: ignore[arg-type]
            dist[qn], index[qn] = d, np.where(i >= 0, rn[np.maximum(i, 0)], -1)
        if first_zero >= 0:  # distance 1 to a zero reference row
            take = (~zq) & ((1.0 < dist) | ((dist == 1.0) & (first_zero < index)))
            if exclude_self:
                take &= np.arange(m) != first_zero
            dist[take], index[take] = 1.0, first_zero
        zero_q = np.flatnonzero(zq)
        dist[zero_q] = 1.0
        index[zero_q] = np.where(exclude_self & (zero_q == 0), 1, 0)
        return dist, index
    values = []
    if mode == "min":  # a self search: a zero row is at distance 1 from any other row
        if searchable:
            values.append(float(run(Qs, Rs)))  # type: ignore[arg-type]
        if zq.any():
            values.append(1.0)
        return min(values) if values else float("nan")
    if qn.size:
        best = float(run(Qs, Rs)) if searchable else np.inf  # type: ignore[arg-type]
        values.append(min(best, 1.0) if first_zero >= 0 else best)
    if zq.any():
        values.append(1.0)
    return max(values)


def _tolerances(Q: _Rows, R: _Rows, metric: str, eps: float = _EPS32):
    d = Q.shape[1]
    if metric == "cosine":
        return np.full(Q.shape[0], 1.001 * (d + 6) * eps + 1e-12), None, None
    tol = 2.002 * (d + 8) * eps * (Q.sq + R.sq.max()) + 1e-300
    return tol, Q.sq, R.sq


def _nearest32(Q, R, metric, exclude_self, block, rows, dtype=np.float32):
    """Float32 (or float64) screen + float64 decision for query rows ``rows`` of ``Q``."""
    eps = _EPS32 if dtype == np.float32 else 2.0**-53
    tol, q_sq, R_sq = _tolerances(Q, R, metric, eps)
    R32 = R.f64(slice(None)).astype(dtype)
    dist = np.empty(rows.shape[0])
    index = np.empty(rows.shape[0], dtype=np.int64)
    for lo in range(0, rows.shape[0], block):
        sel = rows[lo : lo + block]
        D = _block32(
            Q.f64(sel).astype(dtype), R32, R_sq, None if q_sq is None else q_sq[sel], metric
        )
        if exclude_self:
            D[np.arange(sel.shape[0]), sel] = np.inf
        a, b = _screen(D, tol[sel])
        exact = _exact_pairs(Q, R, sel[a], b, metric)
        dist[lo : lo + sel.shape[0]], index[lo : lo + sel.shape[0]] = _pick(
            sel.shape[0], a, b, exact
        )
    return dist, index


def faiss_available() -> bool:
    """True when the optional faiss package imports."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def _nearest_faiss(Q, R, metric, exclude_self, block):
    try:
        import faiss
    except ImportError as exc:
        raise ParameterError("backend='faiss' needs faiss: pip install 'unisel[fast]'") from exc
    tol, q_sq, R_sq = _tolerances(Q, R, metric)
    d = Q.shape[1]
    R32 = np.ascontiguousarray(R.f32(slice(None)))
    index_ = faiss.IndexFlatIP(d) if metric == "cosine" else faiss.IndexFlatL2(d)
    index_.add(R32)
    kk = min(R.shape[0], FAISS_CANDIDATES + int(exclude_self))
    m = Q.shape[0]
    dist = np.empty(m)
    nearest = np.empty(m, dtype=np.int64)
    redo = []
    for lo in range(0, m, block):
        hi = min(m, lo + block)
        S, J = index_.search(np.ascontiguousarray(Q.f32(slice(lo, hi))), kk)
        D = 1.0 - S.astype(np.float64) if metric == "cosine" else S.astype(np.float64)
        rows = np.arange(lo, hi)
        if exclude_self:
            D[J == rows[:, None]] = np.inf
        best = D.min(axis=1)
        cut = best + 2.0 * tol[lo:hi]
        # the list is complete only if a row beyond it is provably worse than the cut
        complete = (kk == R.shape[0]) | (D.max(axis=1) > cut)
        if exclude_self:
            complete &= np.isfinite(D).sum(axis=1) >= 1
        a, b = np.nonzero((D <= cut[:, None]) & complete[:, None] & (J >= 0))
        exact = _exact_pairs(Q, R, rows[a], J[a, b].astype(np.int64), metric)
        dd, ii = _pick(hi - lo, a.astype(np.int64), J[a, b].astype(np.int64), exact)
        dist[lo:hi], nearest[lo:hi] = dd, ii
        redo.extend(rows[~complete].tolist())
    if redo:
        sel = np.asarray(redo, dtype=np.int64)
        dist[sel], nearest[sel] = _nearest32(Q, R, metric, exclude_self, block, sel)
    return dist, nearest


def sampled_nearest_distances(
    X: np.ndarray,
    rows: np.ndarray,
    *,
    metric: str = "cosine",
    backend: str = "numpy",
    n_jobs: int | None = None,
    quiet: bool = True,
) -> np.ndarray:
    """Exact distance from rows ``rows`` of ``X`` (n, d) to their nearest *other* row, (len(rows),).

    The blocked float32 screen + float64 decision of the other kernels, for a sample of
    queries against the whole set (``len(rows) * n`` distances, no pruning: random queries
    share no neighbourhood).
    """
    _check(metric, "float32", backend)
    backend = _resolve_backend(backend)
    rows = np.asarray(rows, dtype=np.int64)
    R = _Rows(X, metric)
    n = R.shape[0]
    if rows.size == 0:
        return np.empty(0)
    if n < 2:
        return np.full(rows.shape[0], np.inf)
    from unisel.metrics import _pruned as P

    zero = R.sq == 0 if metric == "cosine" else np.zeros(n, dtype=bool)
    out = np.full(rows.shape[0], np.inf)
    keep = np.flatnonzero(~zero)
    qz = zero[rows]
    if keep.size >= 2 and (~qz).any():
        Rs = R if keep.size == n else _Rows(R.X[keep], metric)
        local = np.searchsorted(keep, rows[~qz])  # the queries' rows inside Rs
        Qs = _Rows(Rs.X[local], metric)
        d, _ = P.pruned_search(
            Qs,
            Rs,
            metric,
            False,
            "each",
            backend=backend,
            exact_pairs=_exact_pairs,
            pick=_pick,
            n_clusters=1,
            n_jobs=n_jobs,
            self_index=local,
            progress=not quiet,
        )
        out[~qz] = d
    if zero.any():  # cosine distance 1 between a zero row and any other row
        out = np.minimum(out, 1.0)
    return out


def nearest_neighbor_distances(
    X: np.ndarray,
    *,
    metric: str = "cosine",
    block_size: int | None = None,
    precision: str = "float32",
    backend: str = "numpy",
    prune: bool | None = None,
    random_state: int = 0,
    n_jobs: int | None = None,
    quiet: bool = True,
) -> np.ndarray:
    """Distance from each row of ``X`` (shape (n, d), n >= 2) to its nearest other row, (n,).

    The keywords are those of :func:`nearest_distances`.
    """
    return nearest_distances(
        X,
        X,
        exclude_self=True,
        metric=metric,
        block_size=block_size,
        precision=precision,
        backend=backend,
        prune=prune,
        random_state=random_state,
        n_jobs=n_jobs,
        quiet=quiet,
    )[0]


def h_min(
    X: np.ndarray,
    *,
    metric: str = "cosine",
    block_size: int | None = None,
    precision: str = "float32",
    backend: str = "numpy",
    prune: bool | None = None,
    random_state: int = 0,
    n_jobs: int | None = None,
    quiet: bool = True,
) -> float:
    """Minimum pairwise distance between distinct rows of ``X``; ``nan`` for fewer than 2 rows.

    The keywords are those of :func:`nearest_distances`. The pruned search only computes the pairs
    that could beat the closest pair found so far (and stops at an exact 0), so it is much
    cheaper than all nearest-neighbour distances.
    """
    if X.shape[0] < 2:
        return float("nan")
    return _search(
        X,
        X,
        True,
        "min",
        metric=metric,
        block_size=block_size,
        precision=precision,
        backend=backend,
        prune=prune,
        random_state=random_state,
        n_jobs=n_jobs,
        quiet=quiet,
    )


def covering_radius(
    full: np.ndarray,
    subset: np.ndarray,
    *,
    metric: str = "cosine",
    block_size: int | None = None,
    precision: str = "float32",
    backend: str = "numpy",
    prune: bool | None = None,
    random_state: int = 0,
    n_jobs: int | None = None,
    quiet: bool = True,
) -> float:
    """Largest distance from a row of ``full`` (n, d) to its nearest row of ``subset`` (k, d).

    The keywords are those of :func:`nearest_distances`. The pruned search skips every row whose
    first upper bound is below the largest exact distance found so far, so only the few rows
    that could be the farthest are refined.
    """
    if np.asarray(subset).shape[0] == 0:
        raise ParameterError("the subset is empty")
    return _search(
        full,
        subset,
        False,
        "max",
        metric=metric,
        block_size=block_size,
        precision=precision,
        backend=backend,
        prune=prune,
        random_state=random_state,
        n_jobs=n_jobs,
        quiet=quiet,
    )
