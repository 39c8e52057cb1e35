r"""Cluster-pruned phase of the exact max-min engine (see :mod:`unisel.select.engine.fast`).

Why
---
The lazy engine only skips rows whose key is already far below the selection value. On data
whose minimum distances are concentrated (a Gaussian mixture at d = 384, text embeddings),
most rows stay near that value and it still computes about half of the plain loop's n*k
distances. Most of those distances, though, are between a new centre and rows of *another*
region of the space, which cannot be its nearest centre. This phase proves that for whole
groups of rows at once and skips them.

Bound
-----
Every row is assigned to its nearest of ``P`` farthest-point centres of an evenly spaced
sample (a k-center partition into clusters), and each cluster is cut into groups of at most
:data:`GROUP_ROWS` rows :math:`G_p`. Let :math:`x` be the canonical unit rows, :math:`\mu_p`
the mean of the rows of :math:`G_p`, and :math:`V` (d x q, orthonormal) the top right
singular vectors of the sample. For every :math:`x \in G_p` and every centre :math:`c`,

.. math::
    \langle x, c\rangle = \langle \mu_p, c\rangle + \langle x - \mu_p, c\rangle
    \le \langle \mu_p, c\rangle + a_p \lVert V^\top c\rVert + b_p \lVert (I - VV^\top) c\rVert,

with :math:`a_p = \max_{x\in G_p} \lVert V^\top (x - \mu_p)\rVert` and
:math:`b_p = \max_{x\in G_p} \lVert (I - VV^\top)(x - \mu_p)\rVert` (Cauchy-Schwarz in the two
orthogonal subspaces; tighter than the ball bound :math:`\lVert x - \mu_p\rVert` because rows
and centres put their mass in different subspaces). So the key
:math:`\delta(x, c) = 1 - \langle x, c\rangle` is at least
:math:`L_p(c) = 1 - \langle \mu_p, c\rangle - a_p \lVert V^\top c\rVert - b_p \lVert (I - VV^\top)
c\rVert`. If :math:`L_p(c) - \eta > U_p`, where :math:`U_p` is the largest key bound of the
unselected rows of :math:`G_p`, then :math:`c` is farther from every row of the cluster than
that row's current nearest centre, now and (keys only shrink) forever: the cluster never
needs it. :math:`\eta = 2\cdot 10^{-4}` covers the float32 evaluation of
:math:`\langle \mu_p, c\rangle` (error below :math:`3\cdot 10^{-5}` at d = 384); the norms of
:math:`c` are computed in float64 and :math:`a_p, b_p` carry their own rounding allowance
(:func:`group_geometry`).

Steps
-----
Rows are stored group by group as float32 unit rows. Each group keeps :math:`U_p`, its best
row (largest key, ties to the lowest index) and ``sig[p]``, the number of centres its keys
account for; groups sit in a max-heap on :math:`(U_p, -\text{best})`. One step looks at the
top group: if it is up to date its best row is the exact argmax with the reference's tie
rule (every other group's :math:`U_q` bounds its rows' exact keys and ranks below), so it is
selected; otherwise the centres it has not seen are screened by the bound, the survivors are
folded into all its rows with one float32 matrix product (screened in float32, decided in
float64 exactly as in the lazy engine) and the group is sifted down. Every
:func:`block_length` steps (256 once past the first few hundred) all groups are brought up to
date, in parallel threads: one product of the group means with the block's centres, then
one product per group with the centres that survive its bound. Screening so never needs the
history of old centres.

The partition, :math:`V` and the block length only change how much work is skipped: keys are
the canonical float64 keys, so the sequence and distances equal the reference's bit for bit.

Memory: the float32 rows in group order, :math:`4 n d` bytes (1.5 GB at n = 1M, d = 384);
while the groups are built, a float32 (n, q) product (:math:`4 n q`, 384 MB at q = 96) and
one float32 block product; then the keys in group order (8 n), the group means
(:math:`12 d` bytes per group of about 128 rows, so :math:`0.09\,n d` bytes) and 16 bytes per
centre.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from unisel.select.engine import _kernels as K

PRUNE_BLOCK = 256  # steps between full synchronisations of the groups
EARLY_BLOCK = 8  # ... at the start of a selection (see `block_length`)
PRUNE_MARGIN = 2e-4  # eta: safety margin of the float32 bound evaluation
CLUSTER_ROWS = 128  # P = n / CLUSTER_ROWS clusters (then cut into groups of GROUP_ROWS)
GROUP_ROWS = 128  # clusters are cut into groups of at most this many rows
MAX_CLUSTERS = 2048
MIN_CLUSTERS = 16
MIN_ROWS = 8192  # below this the lazy engine alone is as fast
MAX_BYTES = 4 * 2**30  # auto mode: largest float32 copy of the rows the phase may hold
SUBSPACE_MAX = 96  # q <= min(96, d // 3)
SAMPLE_ROWS = 4096  # rows of the sample whose singular vectors give V
CHECK_AFTER = 256  # from this many steps on, the phase must have pruned ...
MIN_PRUNED_SHARE = 0.25  # ... this share of (group, centre) pairs, or hand over to the lazy loop


def block_length(t: int) -> int:
    """Steps before the next synchronisation, with ``t`` centres chosen.

    Short while the selection value still falls fast (early steps invalidate most keys, so
    per-group refreshes would repeat work that one synchronisation does in bulk), then
    :data:`PRUNE_BLOCK`.
    """
    return int(min(PRUNE_BLOCK, max(EARLY_BLOCK, t // 2)))


def n_clusters(n: int) -> int:
    """Default number of clusters ``P`` for ``n`` rows."""
    return int(min(MAX_CLUSTERS, max(MIN_CLUSTERS, n // CLUSTER_ROWS)))


def auto_enabled(n: int, d: int) -> bool:
    """Whether ``prune=None`` turns the phase on: enough rows and a float32 copy that fits."""
    return n >= MIN_ROWS and 4 * n * d <= MAX_BYTES


# ----------------------------------------------------------------------------- kernels


@nb.njit(cache=True, nogil=True, inline="always")
def _c_above(Uc: np.ndarray, bo: np.ndarray, p: int, q: int) -> bool:
    return Uc[p] > Uc[q] or (Uc[p] == Uc[q] and bo[p] < bo[q])


@nb.njit(cache=True, nogil=True)
def _c_sift_down(heap: np.ndarray, size: int, pos: int, Uc: np.ndarray, bo: np.ndarray) -> None:
    item = heap[pos]
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        right = child + 1
        if right < size and _c_above(Uc, bo, heap[right], heap[child]):
            child = right
        if _c_above(Uc, bo, heap[child], item):
            heap[pos] = heap[child]
            pos = child
        else:
            break
    heap[pos] = item


@nb.njit(cache=True, nogil=True)
def c_heapify(heap: np.ndarray, Uc: np.ndarray, bo: np.ndarray) -> None:
    """Heap of all clusters on ``(Uc, -bo)``."""
    size = heap.shape[0]
    for p in range(size):
        heap[p] = p
    for pos in range(size // 2 - 1, -1, -1):
        _c_sift_down(heap, size, pos, Uc, bo)


@nb.njit(cache=True, nogil=True)
def rescan(
    p: int,
    start: np.ndarray,
    perm: np.ndarray,
    mdp: np.ndarray,
    Uc: np.ndarray,
    bo: np.ndarray,
    bpos: np.ndarray,
) -> None:
    """Recompute group p's largest key, its row (lowest index on ties) and its position."""
    best = -np.inf
    at = -1
    for pos in range(start[p], start[p + 1]):
        # rows are in increasing index order within a group: strict > keeps the lowest
        if mdp[pos] > best:
            best = mdp[pos]
            at = pos
    Uc[p] = best
    bo[p] = perm[at] if at >= 0 else perm.shape[0]
    bpos[p] = at


@nb.njit(cache=True, nogil=True, fastmath=True)
def _dot32(a: np.ndarray, b: np.ndarray) -> float:
    acc = np.float32(0.0)
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    return np.float64(acc)


@nb.njit(cache=True, nogil=True, inline="always")
def _relevant(g: float, a: float, b: float, ps: float, pp: float, U: float) -> bool:
    """False when the bound proves the centre cannot lower any key of the cluster."""
    return 1.0 - (g + a * ps + b * pp) - PRUNE_MARGIN <= U


@nb.njit(cache=True, nogil=True)
def _refresh_group(
    p: int,
    g: np.ndarray,
    s0: int,
    t: int,
    a: np.ndarray,
    b: np.ndarray,
    ps: np.ndarray,
    pp: np.ndarray,
    X32: np.ndarray,
    start: np.ndarray,
    perm: np.ndarray,
    C32: np.ndarray,
    indices: np.ndarray,
    X: np.ndarray,
    nrm: np.ndarray,
    mdp: np.ndarray,
    sig: np.ndarray,
    Uc: np.ndarray,
    bo: np.ndarray,
    bpos: np.ndarray,
    lst: np.ndarray,
    tol: float,
    stats: np.ndarray,
) -> None:
    """Bring group p up to the ``t`` centres: screen ``sig[p] .. t-1`` by the bound
    (``g[s - s0] = <mu_p, c_s>``), fold the survivors into every row of the group with one
    float32 product, and recompute the group's best row. ``lst`` is scratch (>= t - sig[p])."""
    m = 0
    if Uc[p] != -np.inf:
        for s in range(sig[p], t):
            stats[1] += 1
            if _relevant(np.float64(g[s - s0]), a[p], b[p], ps[s], pp[s], Uc[p]):
                lst[m] = s
                m += 1
            else:
                stats[4] += 1
    stats[0] += 1
    if m:
        lo, hi = start[p], start[p + 1]
        buf = np.empty((m, X32.shape[1]), dtype=np.float32)
        for i in range(m):
            buf[i] = C32[lst[i]]
        D32 = np.dot(X32[lo:hi], buf.T)
        stats[2] += (hi - lo) * m
        stats[3] += K.absorb_block(D32, perm[lo:hi], indices[lst[:m]], X, nrm, mdp[lo:hi], tol)
        rescan(p, start, perm, mdp, Uc, bo, bpos)
    sig[p] = t


@nb.njit(cache=True, nogil=True)
def pruned_steps(
    X: np.ndarray,
    nrm: np.ndarray,
    X32: np.ndarray,
    start: np.ndarray,
    perm: np.ndarray,
    mu32: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    V: np.ndarray,
    C32: np.ndarray,
    ps: np.ndarray,
    pp: np.ndarray,
    indices: np.ndarray,
    distances: np.ndarray,
    mdp: np.ndarray,
    sig: np.ndarray,
    Uc: np.ndarray,
    bo: np.ndarray,
    bpos: np.ndarray,
    heap: np.ndarray,
    t: int,
    t_end: int,
    tol: float,
    stats: np.ndarray,
) -> int:
    """Greedy steps ``t .. t_end - 1`` on the cluster heap; returns the new ``t``.

    ``stats``: [cluster refreshes, (cluster, centre) pairs screened, row-centre float32
    dots, float64 keys, pairs pruned].
    """
    P = heap.shape[0]
    lst = np.empty(t_end - t + 1, dtype=np.int64)
    g = np.empty(t_end - t + 1, dtype=np.float32)
    while t < t_end:
        p = heap[0]
        if Uc[p] == -np.inf:
            break  # every row is selected
        if sig[p] == t:
            j = bo[p]
            indices[t] = j
            distances[t] = mdp[bpos[p]]
            C32[t] = X32[bpos[p]]
            _centre_norm(C32, V, t, ps, pp)
            mdp[bpos[p]] = -np.inf
            rescan(p, start, perm, mdp, Uc, bo, bpos)
            t += 1
            _c_sift_down(heap, P, 0, Uc, bo)
            continue
        s0 = sig[p]
        for s in range(s0, t):
            g[s - s0] = _dot32(mu32[p], C32[s])
        _refresh_group(
            p, g, s0, t, a, b, ps, pp, X32, start, perm, C32, indices, X, nrm, mdp, sig, Uc,
            bo, bpos, lst, tol, stats,
        )  # fmt: skip
        _c_sift_down(heap, P, 0, Uc, bo)
    return t


@nb.njit(cache=True, nogil=True, parallel=True)
def sync_all(
    X: np.ndarray,
    nrm: np.ndarray,
    X32: np.ndarray,
    start: np.ndarray,
    perm: np.ndarray,
    G: np.ndarray,
    t0: int,
    a: np.ndarray,
    b: np.ndarray,
    C32: np.ndarray,
    ps: np.ndarray,
    pp: np.ndarray,
    indices: np.ndarray,
    mdp: np.ndarray,
    sig: np.ndarray,
    Uc: np.ndarray,
    bo: np.ndarray,
    bpos: np.ndarray,
    t: int,
    tol: float,
    stats: np.ndarray,
) -> None:
    """Bring every group up to the ``t`` centres; ``G[p, s - t0] = <mu_p, c_s>`` (float32).

    Groups are independent (disjoint rows and keys), so they run in parallel threads, each
    with its own buffers and counters; the products inside are single-threaded BLAS calls.
    """
    P = start.shape[0] - 1
    counts = np.zeros((P, 5), dtype=np.int64)
    for p in nb.prange(P):
        if sig[p] < t:
            lst = np.empty(t - sig[p], dtype=np.int64)
            _refresh_group(
                p, G[p], t0, t, a, b, ps, pp, X32, start, perm, C32, indices, X, nrm, mdp, sig,
                Uc, bo, bpos, lst, tol, counts[p],
            )  # fmt: skip
    for c in range(5):
        stats[c] += counts[:, c].sum()


@nb.njit(cache=True, nogil=True)
def _centre_norm(C32: np.ndarray, V: np.ndarray, s: int, ps: np.ndarray, pp: np.ndarray) -> None:
    """``ps[s] = |V^T c_s|``, ``pp[s] = |(I - V V^T) c_s|`` in float64 (V float64, d x q)."""
    d = C32.shape[1]
    n2 = 0.0
    for i in range(d):
        n2 += np.float64(C32[s, i]) * np.float64(C32[s, i])
    s2 = 0.0
    for e in range(V.shape[1]):
        proj = 0.0
        for i in range(d):
            proj += V[i, e] * np.float64(C32[s, i])
        s2 += proj * proj
    ps[s] = np.sqrt(s2)
    pp[s] = np.sqrt(max(0.0, n2 - s2))


@nb.njit(cache=True, nogil=True)
def centre_norms(C32: np.ndarray, V: np.ndarray, t: int, ps: np.ndarray, pp: np.ndarray) -> None:
    """:func:`_centre_norm` for the first ``t`` centres."""
    for s in range(t):
        _centre_norm(C32, V, s, ps, pp)


@nb.njit(cache=True, nogil=True)
def permute_rows(A: np.ndarray, perm: np.ndarray) -> None:
    """``A[:] = A[perm]`` in place, one row of scratch (follows the permutation's cycles)."""
    n = A.shape[0]
    done = np.zeros(n, dtype=np.bool_)
    tmp = np.empty(A.shape[1], dtype=A.dtype)
    for i in range(n):
        if done[i] or perm[i] == i:
            done[i] = True
            continue
        tmp[:] = A[i]
        j = i
        while True:
            src = perm[j]
            done[j] = True
            if src == i:
                A[j] = tmp
                break
            A[j] = A[src]
            j = src


@nb.njit(cache=True, nogil=True, parallel=True)
def unit32_into(X: np.ndarray, nrm: np.ndarray, lo: int, out: np.ndarray) -> None:
    """``out[i] = float32(X[lo + i] / nrm[lo + i])``, rounded exactly as ``unit32_rows``."""
    for i in nb.prange(out.shape[0]):
        for c in range(out.shape[1]):
            out[i, c] = np.float32(np.float64(X[lo + i, c]) / nrm[lo + i])


@nb.njit(cache=True, nogil=True, parallel=True)
def group_geometry(
    X32: np.ndarray, XV32: np.ndarray, V: np.ndarray, start: np.ndarray, err: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean ``mu`` (float64) and radii ``a``, ``b`` of every group, valid for the canonical rows.

    ``XV32 = X32 @ float32(V)`` in float32: each entry is within ``e1 = (d + 2) 2^-24``
    (1 + 1e-2) of ``x . v_c``, so ``|V^T (x - mu)|`` is within ``err = sqrt(q) e1`` of the
    computed value; ``a`` adds it, ``b`` uses ``|r|^2 - (|s| - err)^2``. A further 1e-6
    covers the float32 rounding of the rows themselves (``|x32 - x| <= 2^-24``).
    """
    G = start.shape[0] - 1
    d = X32.shape[1]
    q = V.shape[1]
    mu = np.zeros((G, d))
    a = np.zeros(G)
    b = np.zeros(G)
    for g in nb.prange(G):
        lo, hi = start[g], start[g + 1]
        for i in range(lo, hi):
            for c in range(d):
                mu[g, c] += np.float64(X32[i, c])
        for c in range(d):
            mu[g, c] /= hi - lo
        muV = np.zeros(q)
        for c in range(d):
            for e in range(q):
                muV[e] += mu[g, c] * V[c, e]
        for i in range(lo, hi):
            r2 = 0.0
            for c in range(d):
                diff = np.float64(X32[i, c]) - mu[g, c]
                r2 += diff * diff
            s2 = 0.0
            for e in range(q):
                diff = np.float64(XV32[i, e]) - muV[e]
                s2 += diff * diff
            s = np.sqrt(s2)
            a[g] = max(a[g], s + err)
            low = max(0.0, s - err)
            b[g] = max(b[g], np.sqrt(max(0.0, r2 - low * low)))
    for g in range(G):
        a[g] = a[g] * (1 + 1e-9) + 1e-6
        b[g] = b[g] * (1 + 1e-9) + 1e-6
    return mu, a, b


def sample_centres(X32: np.ndarray, P: int) -> np.ndarray:
    """``P`` rows (float32, shape (P, d)) chosen by farthest-point sampling of a sample.

    The sample is ``max(4096, 8 P)`` evenly spaced rows; the walk starts at its first row and
    uses float32 cosine distances: these centres only shape the clusters (speed), never the
    result. Deterministic.
    """
    n = X32.shape[0]
    m = min(n, max(4096, 8 * P))
    S = X32[np.unique(np.linspace(0, n - 1, num=m).astype(np.int64))]
    P = min(P, S.shape[0])
    chosen = np.empty(P, dtype=np.int64)
    gap = np.full(S.shape[0], np.inf, dtype=np.float32)
    cur = 0
    for i in range(P):
        chosen[i] = cur
        np.minimum(gap, 1.0 - S @ S[cur], out=gap)
        gap[cur] = -np.inf  # a zero row is at distance 1 even from itself
        cur = int(np.argmax(gap))
    return np.ascontiguousarray(S[chosen])


def group_starts(cluster_sizes: np.ndarray, group_rows: int) -> np.ndarray:
    """Start offsets (and the end) of the groups: each cluster cut into near-equal groups of
    at most ``group_rows`` rows; empty clusters give no group."""
    bounds = [0]
    for c in cluster_sizes:
        c = int(c)
        if c == 0:
            continue
        parts = -(-c // group_rows)
        cuts = np.linspace(bounds[-1], bounds[-1] + c, parts + 1).round().astype(np.int64)
        bounds.extend(int(v) for v in cuts[1:])
    return np.asarray(bounds, dtype=np.int64)


# ----------------------------------------------------------------------------- driver


class PrunedState:
    """Groups, their bounds, the float32 rows and the keys in group order (internal).

    ``mdp`` holds the keys in group order while the phase runs; :meth:`write_back` copies
    them to the caller's ``md`` (row order) for checkpoints and at the end.
    """

    def __init__(
        self,
        X: np.ndarray,
        nrm: np.ndarray,
        C32: np.ndarray,
        indices: np.ndarray,
        md: np.ndarray,
        stamp: np.ndarray,
        t: int,
        n_clusters: int,
        tol: float,
        block_size: int,
        group_rows: int = GROUP_ROWS,
    ) -> None:
        n, d = X.shape
        # 1. float32 unit rows, and every row's key brought up to the t centres (a no-op
        # unless the state comes from a run without this phase)
        X32 = np.empty((n, d), dtype=np.float32)
        for lo in range(0, n, block_size):
            hi = min(n, lo + block_size)
            unit32_into(X, nrm, lo, X32[lo:hi])
            c0 = int(stamp[lo:hi].min())
            if c0 < t:
                D32 = np.ascontiguousarray(X32[lo:hi] @ C32[c0:t].T)
                rows = np.arange(lo, hi, dtype=np.int64)
                K.absorb_stale(D32, rows, c0, indices, X, nrm, md, stamp, tol)
        stamp[:] = t
        # clusters: every row to its nearest of P farthest-point centres of a sample
        seeds = sample_centres(X32, min(int(n_clusters), n))
        P = seeds.shape[0]
        owner = np.empty(n, dtype=np.int64)
        for lo in range(0, n, block_size):
            hi = min(n, lo + block_size)
            owner[lo:hi] = np.argmax(X32[lo:hi] @ seeds.T, axis=1)
        # 2. rows cluster by cluster (increasing index inside: the tie rule), each cluster cut
        # into groups of at most `group_rows` consecutive rows: a refresh then reads one
        # small group, not a whole cluster
        perm = np.argsort(owner, kind="stable").astype(np.int64)
        start = group_starts(np.bincount(owner, minlength=P), group_rows)
        del owner
        permute_rows(X32, perm)
        G_ = start.size - 1
        # 3. the subspace V from a deterministic sample, the means and the two radii, in
        # float64 from the float32 rows (each within 2^-24 of the canonical unit row; the
        # slack below covers it)
        sample = np.unique(np.linspace(0, n - 1, num=min(n, SAMPLE_ROWS)).astype(np.int64))
        S = np.asarray(X[sample], dtype=np.float64) / nrm[sample][:, None]
        q = int(min(SUBSPACE_MAX, d // 3, S.shape[0]))
        V = np.linalg.svd(S, full_matrices=False)[2][:q].T.copy() if q else np.zeros((d, 0))
        V32 = np.ascontiguousarray(V, dtype=np.float32)
        XV32 = np.empty((n, q), dtype=np.float32)
        for lo in range(0, n, block_size):
            hi = min(n, lo + block_size)
            XV32[lo:hi] = X32[lo:hi] @ V32
        err = np.sqrt(q) * (d + 2) * 2.0**-24 * 1.01
        mu, self.a, self.b = group_geometry(X32, XV32, np.ascontiguousarray(V), start, err)
        del XV32
        self.mu32 = mu.astype(np.float32)
        self.V = np.ascontiguousarray(V)
        self.X32, self.perm, self.start = X32, perm, start
        self.mdp = md[perm]
        k = C32.shape[0]
        self.ps = np.zeros(k)
        self.pp = np.zeros(k)
        centre_norms(C32, self.V, t, self.ps, self.pp)
        self.sig = np.full(G_, t, dtype=np.int64)
        self.Uc = np.empty(G_)
        self.bo = np.empty(G_, dtype=np.int64)
        self.bpos = np.empty(G_, dtype=np.int64)
        for p in range(G_):
            rescan(p, start, perm, self.mdp, self.Uc, self.bo, self.bpos)
        self.heap = np.empty(G_, dtype=np.int64)
        c_heapify(self.heap, self.Uc, self.bo)
        self.stats = np.zeros(5, dtype=np.int64)
        self.t_start = t

    def worthwhile(self) -> bool:
        """Whether the bounds skip enough: at least MIN_PRUNED_SHARE of the pairs screened.

        Clusters much wider than the selection radius (fewer clusters than the data has
        natural groups) skip nothing; the lazy loop is then faster.
        """
        screened, skipped = int(self.stats[1]), int(self.stats[4])
        return screened == 0 or skipped >= MIN_PRUNED_SHARE * screened

    def steps(
        self,
        X: np.ndarray,
        nrm: np.ndarray,
        C32: np.ndarray,
        indices: np.ndarray,
        distances: np.ndarray,
        t: int,
        t_end: int,
        tol: float,
    ) -> int:
        """Run steps ``t .. t_end - 1`` (at most one block), then sync every group to them."""
        t = pruned_steps(
            X, nrm, self.X32, self.start, self.perm, self.mu32, self.a, self.b, self.V,
            C32, self.ps, self.pp, indices, distances, self.mdp, self.sig, self.Uc, self.bo,
            self.bpos, self.heap, t, t_end, tol, self.stats,
        )  # fmt: skip
        lag = int(self.sig.min())
        if lag < t:
            G = np.ascontiguousarray(self.mu32 @ C32[lag:t].T)
            sync_all(
                X, nrm, self.X32, self.start, self.perm, G, lag, self.a, self.b, C32,
                self.ps, self.pp, indices, self.mdp, self.sig, self.Uc, self.bo, self.bpos, t,
                tol, self.stats,
            )  # fmt: skip
            c_heapify(self.heap, self.Uc, self.bo)
        return t

    def write_back(self, md: np.ndarray, stamp: np.ndarray, t: int) -> None:
        """The lazy loop's state after a block: keys in row order, every stamp ``t``."""
        md[self.perm] = self.mdp
        stamp[:] = t
