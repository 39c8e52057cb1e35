r"""Cluster-pruned phase of the exact max-min engine (see :mod:`unisel.select.engine.fast`).

Why
---
The lazy engine only skips rows whose key is already far below the selection value. On data
whose minimum distances are concentrated (a Gaussian mixture at d = 384, text embeddings),
most rows stay near that value and it still computes about half of the plain loop's n*k
distances. Most of those distances, though, are between a new centre and rows of *another*
region of the space, which cannot be its nearest centre. This phase proves that for whole
groups of rows at once, then for single rows, and skips them.

Bound
-----
Let :math:`x` be the canonical unit rows and :math:`V` (d x q, orthonormal) the top
principal directions of an evenly spaced sample of them. The rows are clustered around
``P`` farthest-point centres of a sample, in the coordinates :math:`V^\top x` (k-center
clustering in the principal subspace), and each cluster is cut into groups of at most
:data:`GROUP_ROWS` rows :math:`G_p` with mean :math:`\mu_p`. For every :math:`x \in G_p` and
every centre :math:`c`,

.. math::
    \langle x, c\rangle = \langle \mu_p, c\rangle + \langle x - \mu_p, c\rangle
    \le \langle \mu_p, c\rangle + a_x \lVert V^\top c\rVert + b_x \lVert (I - VV^\top) c\rVert,

with :math:`a_x = \lVert V^\top (x - \mu_p)\rVert` and
:math:`b_x = \lVert (I - VV^\top)(x - \mu_p)\rVert` (Cauchy-Schwarz in the two orthogonal
subspaces; tighter than the ball bound :math:`\lVert x - \mu_p\rVert` because rows and
centres put their mass in different subspaces). So the key
:math:`\delta(x, c) = 1 - \langle x, c\rangle` is at least
:math:`L_x(c) = 1 - \langle \mu_p, c\rangle - a_x \lVert V^\top c\rVert - b_x \lVert (I - VV^\top)
c\rVert`. If :math:`L_x(c) - \eta` is above an upper bound of the row's key, :math:`c` cannot
be the row's nearest centre, now or (keys only shrink) ever. With the group's largest radii
:math:`a_p = \max_x a_x`, :math:`b_p = \max_x b_x` and its largest key bound :math:`U_p` the
same test rules out :math:`c` for the whole group at once, with one inner product
:math:`\langle \mu_p, c\rangle` for the group instead of one per row.
:math:`\eta = 2\cdot 10^{-4}` covers the float32 evaluation of :math:`\langle \mu_p, c\rangle`
(error below :math:`3\cdot 10^{-5}` at d = 384); the radii and the norms of :math:`c` carry
their own rounding allowance (:func:`row_geometry`).

Pending candidates
------------------
A centre that passes both tests gets a float32 distance :math:`\hat\delta` (within
:math:`\tau` of the canonical key, see :mod:`unisel.select.engine.fast`). Most such centres
do lower the row's key, which then lies far below the selection value and will never be
selected; deciding its canonical float64 key at once (what the lazy engine does) would be
wasted work. So each row keeps ``ex`` (the exact key against the centres decided so far) and
at most one *pending* centre with its float32 distance ``c32``; its key is then bounded by
``ub = min(ex, c32 + tau)``, and only this bound is used for screening and for the group
order. A new centre with :math:`\hat\delta > ub + \tau` is never the minimum. If it is more
than :math:`2\tau` below the pending one it replaces it (the old one cannot be the minimum
any more); otherwise both are decided in float64 now. A row's pending centre is decided when
the row becomes its group's best row, so :math:`U_p` is always an exact key of an up-to-date
row, and before the keys leave the phase (:meth:`PrunedState.write_back`). Every exact key
equals the minimum of the canonical keys over all centres, whichever order they came in.

Steps
-----
Rows are stored group by group as float32 unit rows. Each group keeps :math:`U_p`, its best
row (largest key, ties to the lowest index) and ``sig[p]``, the number of centres its keys
account for; groups sit in a max-heap on :math:`(U_p, -\text{best})`. One step looks at the
top group: if it is up to date its best row is the exact argmax with the reference's tie
rule (every other group's :math:`U_q` bounds its rows' keys and ranks below), so it is
selected; otherwise the centres it has not seen are screened by the group bound, the
survivors are screened row by row and folded in with float32 dot products, and the group is
sifted down. Every :func:`block_length` steps (256 once past the first few hundred) all
groups are brought up to date, in parallel threads, after one matrix product of the group
means with the block's centres. Screening so never needs the history of old centres.

The partition, :math:`V` and the block length only change how much work is skipped: keys are
the canonical float64 keys, so the sequence and distances equal the reference's bit for bit.

Hand-over
---------
After each block the phase measures the share of the plain loop's distances the block
computed. It hands the keys to the lazy loop of :mod:`unisel.select.engine.fast`
(:meth:`PrunedState.hand_over`) when, from :data:`CHECK_AFTER` steps on, its bounds skip
too little (:meth:`PrunedState.worthwhile`), and earlier when they skip too little and that
share rose over :data:`RISING_BLOCKS` blocks in a row. On a mixture the share falls block
after block until the selection radius is below the clusters' scale, however many clusters
there are; on text embeddings it rises from the first blocks. With ``prune=None`` the same
test first runs on a subsample (:func:`trial_hands_over`), so data where it fires at once
never pays for the phase's construction.

Memory: the float32 rows in group order, :math:`4 n d` bytes (1.5 GB at n = 1M, d = 384);
while the groups are built, the float32 coordinates :math:`V^\top x` (:math:`4 n q`, 384 MB at
q = 96) and one float32 block product; then 72 bytes per row (keys, pending candidates,
radii, norms, position), the group means (:math:`4 d` bytes per group of about 128 rows) and
16 bytes per centre.
"""

from __future__ import annotations

import mmap
from typing import NamedTuple

import numpy as np

from unisel.select.engine import _kernels as K
from unisel.select.engine._inputs import evenly_spaced, unit32_rows
from unisel.select.engine._jit import njit
from unisel.select.engine._threads import blas_threads, n_workers, run_parallel

PRUNE_BLOCK = 256  # steps between full synchronisations of the groups
EARLY_BLOCK = 8  # ... at the start of a selection (see `block_length`)
PRUNE_MARGIN = 2e-4  # eta: safety margin of the float32 bound evaluation
CLUSTER_ROWS = 128  # P = n / CLUSTER_ROWS clusters (then cut into groups of GROUP_ROWS)
GROUP_ROWS = 128  # clusters are cut into groups of at most this many rows
MAX_CLUSTERS = 2048
MIN_CLUSTERS = 16
MIN_ROWS = 8192  # below this the lazy engine alone is as fast
MAX_BYTES = 4 * 2**30  # auto mode: largest float32 copy of the rows the phase may hold
SUBSPACE_MAX = 96  # q = min(96, max(1, d // 3))
SAMPLE_ROWS = 4096  # rows of the sample whose principal directions give V
CHECK_AFTER = 256  # from this many steps on, the phase must have pruned ...
MIN_PRUNED_SHARE = 0.25  # ... this share of (group, centre) pairs, or hand over to the lazy loop
# ... and its last block must have computed at most this share of the plain loop's row-centre
# distances (unselected rows x steps), or hand over: on a wide mixture (50 components,
# noise U(0.2, 1)) the bounds skip 40% of the pairs but leave 30% of the distances, which the
# lazy loop's block refreshes compute faster; Gaussian-mixture blocks leave about 1%
MAX_ROW_SHARE = 0.1
# Before CHECK_AFTER the phase hands over only when that test fails and the blocks' share of
# the plain loop's distances has risen over this many blocks in a row: on a mixture the share
# falls block after block until the selection radius drops below the clusters' scale, which
# can take as many steps as there are clusters; on the word2vec windows and turns of ShareGPT
# it rises from the first blocks (0.09, 0.20, 0.23 at steps 37-82; wordllama's stays near 0.99)
RISING_BLOCKS = 2
# prune=None first runs that rule on an evenly spaced subsample of TRIAL_ROWS rows for at most
# TRIAL_STEPS steps (inputs of at least 2 TRIAL_ROWS rows), and leaves the phase off where it
# fires: on the word2vec windows and turns of ShareGPT it fired at step 25 on 8,192 and 16,384
# rows as on the whole set, on no Gaussian or biased mixture (50 to 1,000 components)
TRIAL_ROWS = 8192
TRIAL_STEPS = 40
N_STATS = 5  # work counters, see `pruned_steps`
FOLD_CHUNK = 2048  # centres per product when stale keys are folded in


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


class Rows(NamedTuple):
    """Per-row state, in group order (position ``pos``; ``perm[pos]`` is the row index)."""

    X32: np.ndarray  # (n, d) float32 unit rows
    perm: np.ndarray  # (n,) int64 row index at each position
    ra: np.ndarray  # (n,) a_x: radius bound inside V
    rb: np.ndarray  # (n,) b_x: radius bound outside V
    cps: np.ndarray  # (n,) bound of |V^T x|, for the row as a centre
    cpp: np.ndarray  # (n,) bound of |(I - V V^T) x|, for the row as a centre
    ub: np.ndarray  # (n,) upper bound of the key (exact without a pending centre); -inf: chosen
    ex: np.ndarray  # (n,) exact key against the centres decided so far
    cand: np.ndarray  # (n,) int64 pending centre (position in the sequence), -1 for none
    c32: np.ndarray  # (n,) its float32 distance


class Groups(NamedTuple):
    """Per-group state (``G`` groups; group p holds positions ``start[p] .. start[p+1]-1``)."""

    start: np.ndarray  # (G + 1,) int64
    mu32: np.ndarray  # (G, d) float32 means
    a: np.ndarray  # (G,) largest a_x
    b: np.ndarray  # (G,) largest b_x
    sig: np.ndarray  # (G,) int64 centres its keys account for
    U: np.ndarray  # (G,) largest key bound of its unselected rows (exact), -inf when none
    best: np.ndarray  # (G,) int64 row index of that row (n when none)
    bpos: np.ndarray  # (G,) int64 its position (-1 when none)


class Centres(NamedTuple):
    """The selection so far and what the kernels read of it."""

    X: np.ndarray  # (n, d) the embeddings (canonical keys)
    nrm: np.ndarray  # (n,) float64 row norms
    C32: np.ndarray  # (k, d) float32 unit rows of the centres, in order
    indices: np.ndarray  # (k,) int64 row index of each centre
    ps: np.ndarray  # (k,) bound of |V^T c|
    pp: np.ndarray  # (k,) bound of |(I - V V^T) c|
    tol: float  # tau, the float32 distance tolerance


# ----------------------------------------------------------------------------- kernels


@njit(nogil=True)
def heapify_groups(heap: np.ndarray, G: Groups) -> None:
    """Heap of all groups on ``(U, -best)``."""
    size = heap.shape[0]
    for p in range(size):
        heap[p] = p
    for pos in range(size // 2 - 1, -1, -1):
        K.sift_down_by(heap, size, pos, G.U, G.best)


@njit(nogil=True)
def resolve(pos: int, R: Rows, S: Centres) -> float:
    """Decide row ``pos``'s pending centre in float64; returns its exact key."""
    c = R.cand[pos]
    if c >= 0:
        key = K.exact_key(S.X, S.nrm, R.perm[pos], S.indices[c])
        if key < R.ex[pos]:
            R.ex[pos] = key
        R.cand[pos] = -1
    R.ub[pos] = R.ex[pos]
    return R.ex[pos]


@njit(nogil=True)
def rescan(p: int, G: Groups, R: Rows, S: Centres, stats: np.ndarray) -> None:
    """Group p's best row (largest key bound, lowest index on ties) and its key, deciding
    pending centres until the best row's key is exact."""
    lo, hi = G.start[p], G.start[p + 1]
    while True:
        top = -np.inf
        at = lo - lo - 1  # -1, but not a literal: resolve would compile once more for it
        for pos in range(lo, hi):
            # positions are in increasing row order within a group: strict > keeps the lowest
            if R.ub[pos] > top:
                top = R.ub[pos]
                at = pos
        if at >= 0 and R.cand[at] >= 0:
            resolve(at, R, S)
            stats[3] += 1
            continue
        G.U[p] = top
        G.best[p] = R.perm[at] if at >= 0 else R.perm.shape[0]
        G.bpos[p] = at
        return


@njit(nogil=True)
def resolve_all(R: Rows, S: Centres) -> None:
    """Decide every pending centre: ``ub`` becomes the exact keys (chosen rows stay -inf)."""
    for pos in range(R.ub.shape[0]):
        if R.ub[pos] != -np.inf:
            resolve(pos, R, S)


@njit(nogil=True, inline="always")
def _candidate(pos: int, s: int, dist: float, R: Rows, S: Centres, stats: np.ndarray) -> float:
    """Centre s may lower row pos's key (``dist``, its float32 distance, is within tau of the
    row's key bound); returns the row's new key bound (see "Pending candidates")."""
    c = R.cand[pos]
    if c < 0 or dist + 2.0 * S.tol < R.c32[pos]:
        R.cand[pos] = s
        R.c32[pos] = dist
        return min(R.ex[pos], dist + S.tol)
    # within 2 tau of the pending centre: float32 cannot order them, float64 must
    for other in (s, c):
        key = K.exact_key(S.X, S.nrm, R.perm[pos], S.indices[other])
        stats[3] += 1
        if key < R.ex[pos]:
            R.ex[pos] = key
    R.cand[pos] = -1
    return R.ex[pos]


@njit(nogil=True, inline="always")
def _relevant(g: float, a: float, b: float, ps: float, pp: float, U: float) -> bool:
    """False when the bound proves the centre cannot lower a key bounded by ``U``."""
    return 1.0 - (g + a * ps + b * pp) - PRUNE_MARGIN <= U


@njit(nogil=True)
def fold_pending(
    D32: np.ndarray, lo: int, c0: int, stamp: np.ndarray, R: Rows, S: Centres, stats: np.ndarray
) -> None:
    """Fold ``D32[a, b] = <x_{lo+a}, c_{c0+b}>`` (float32; positions in group order) into the
    keys as pending centres, each row only for the centres at or after its ``stamp``."""
    for a in range(D32.shape[0]):
        pos = lo + a
        cur = R.ub[pos]
        for b in range(max(0, stamp[pos] - c0), D32.shape[1]):
            dist = 1.0 - np.float64(D32[a, b])
            if dist <= cur + S.tol:
                cur = _candidate(pos, c0 + b, dist, R, S, stats)
        R.ub[pos] = cur


@njit(nogil=True)
def _refresh_group(
    p: int,
    g: np.ndarray,
    s0: int,
    t: int,
    G: Groups,
    R: Rows,
    S: Centres,
    lst: np.ndarray,
    stats: np.ndarray,
) -> None:
    """Bring group p up to the ``t`` centres: screen ``sig[p] .. t-1`` by the group bound
    (``g[s - s0] = <mu_p, c_s>``), then every row by its own bound, fold the survivors in with
    float32 dot products and recompute the group's best row. ``lst`` is scratch
    (>= t - sig[p])."""
    m = 0
    if G.U[p] != -np.inf:
        for s in range(G.sig[p], t):
            stats[1] += 1
            if _relevant(np.float64(g[s - s0]), G.a[p], G.b[p], S.ps[s], S.pp[s], G.U[p]):
                lst[m] = s
                m += 1
            else:
                stats[4] += 1
    stats[0] += 1
    if m:
        for pos in range(G.start[p], G.start[p + 1]):
            cur = R.ub[pos]
            if cur == -np.inf:
                continue
            for i in range(m):
                s = lst[i]
                if _relevant(np.float64(g[s - s0]), R.ra[pos], R.rb[pos], S.ps[s], S.pp[s], cur):
                    # one row, one centre: a dot product reads only the rows still in reach
                    # (a matrix product for the group was slower even with a quarter of the
                    # pairs in reach)
                    stats[2] += 1
                    dist = 1.0 - np.float64(K.dot32(R.X32[pos], S.C32[s]))
                    if dist <= cur + S.tol:
                        cur = _candidate(pos, s, dist, R, S, stats)
            R.ub[pos] = cur
        rescan(p, G, R, S, stats)
    G.sig[p] = t


@njit(nogil=True)
def pruned_steps(
    G: Groups,
    R: Rows,
    S: Centres,
    distances: np.ndarray,
    heap: np.ndarray,
    t: int,
    t_end: int,
    stats: np.ndarray,
) -> int:
    """Greedy steps ``t .. t_end - 1`` on the group heap; returns the new ``t``.

    ``stats``: [group refreshes, (group, centre) pairs screened, row-centre float32 dots,
    float64 keys, pairs pruned].
    """
    lst = np.empty(t_end - t + 1, dtype=np.int64)
    g = np.empty(t_end - t + 1, dtype=np.float32)
    size = heap.shape[0]
    root = np.int64(0)  # not a literal: sift_down_by would compile once more for it
    while t < t_end:
        p = heap[0]
        if G.U[p] == -np.inf:
            break  # every row is selected
        if G.sig[p] == t:
            at = G.bpos[p]
            S.indices[t] = G.best[p]
            distances[t] = R.ub[at]  # exact: rescan decided it
            for c in range(R.X32.shape[1]):  # element loops: see K.copy_row
                S.C32[t, c] = R.X32[at, c]
            S.ps[t] = R.cps[at]
            S.pp[t] = R.cpp[at]
            R.ub[at] = -np.inf
            rescan(p, G, R, S, stats)
            t += 1
            K.sift_down_by(heap, size, root, G.U, G.best)
            continue
        s0 = G.sig[p]
        for s in range(s0, t):
            g[s - s0] = K.dot32(G.mu32[p], S.C32[s])
        _refresh_group(p, g, s0, t, G, R, S, lst, stats)
        K.sift_down_by(heap, size, root, G.U, G.best)
    return t


@njit(nogil=True)
def sync_groups(
    Gm: np.ndarray,
    t0: int,
    t: int,
    G: Groups,
    R: Rows,
    S: Centres,
    p_lo: int,
    p_hi: int,
    stats: np.ndarray,
) -> None:
    """Bring groups ``p_lo .. p_hi - 1`` up to the ``t`` centres; ``Gm[p, s - t0] =
    <mu_p, c_s>`` (float32).

    Groups are independent (disjoint rows and keys), so ranges of groups run in parallel
    threads (`PrunedState.steps`), each with its own counters.
    """
    lst = np.empty(max(0, t - t0), dtype=np.int64)
    for p in range(p_lo, p_hi):
        if G.sig[p] < t:
            _refresh_group(p, Gm[p], t0, t, G, R, S, lst, stats)


@njit(nogil=True)
def permute_rows(A: np.ndarray, perm: np.ndarray) -> None:
    """``A[:] = A[perm]`` in place, one row of scratch (follows the permutation's cycles)."""
    n = A.shape[0]
    done = np.zeros(n, dtype=np.bool_)
    tmp = np.empty((1, A.shape[1]), dtype=A.dtype)
    for i in range(n):
        if done[i] or perm[i] == i:
            done[i] = True
            continue
        K.copy_row(tmp, 0, A, i)
        j = i
        while True:
            src = perm[j]
            done[j] = True
            if src == i:
                K.copy_row(A, j, tmp, 0)
                break
            K.copy_row(A, j, A, src)
            j = src


@njit(nogil=True)
def row_geometry(
    X32: np.ndarray,
    XV32: np.ndarray,
    perm: np.ndarray,
    V: np.ndarray,
    start: np.ndarray,
    err: float,
    g_lo: int,
    g_hi: int,
    mu: np.ndarray,
    ra: np.ndarray,
    rb: np.ndarray,
    cps: np.ndarray,
    cpp: np.ndarray,
) -> None:
    """For groups ``g_lo .. g_hi - 1``: the group means ``mu`` (float64, (G, d), zeros on
    entry) and, per position, ``ra`` = ``a_x``, ``rb`` = ``b_x``, ``cps`` = ``|V^T x|`` and
    ``cpp`` = ``|(I - V V^T) x|`` as upper bounds valid for the canonical rows (float64, (n,)).
    Ranges of groups are independent (threads).

    ``X32`` is in group order, ``XV32 = X32 @ float32(V)`` in row order (``XV32[perm[pos]]``).
    Each float32 entry of ``XV32`` is within ``e1 = (d + 2) 2^-24 (1 + 1e-2)`` of ``x . v_c``,
    so a norm in V computed from it is within ``err = sqrt(q) e1``: upper bounds add it, and
    the norms outside V use ``|r|^2 - (|s| - err)^2``. A further 1e-6 on the radii covers the
    float32 rounding of the rows themselves (``|x32 - x| <= 2^-24``).
    """
    d = X32.shape[1]
    q = V.shape[1]
    for g in range(g_lo, g_hi):
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
            xv = XV32[perm[i]]
            r2 = 0.0  # |x - mu|^2
            n2 = 0.0  # |x|^2
            for c in range(d):
                x = np.float64(X32[i, c])
                r2 += (x - mu[g, c]) * (x - mu[g, c])
                n2 += x * x
            s2 = 0.0  # |V^T (x - mu)|^2
            v2 = 0.0  # |V^T x|^2
            for e in range(q):
                y = np.float64(xv[e])
                s2 += (y - muV[e]) * (y - muV[e])
                v2 += y * y
            s = np.sqrt(s2)
            low = max(0.0, s - err)
            ra[i] = (s + err) * (1 + 1e-9) + 1e-6
            rb[i] = np.sqrt(max(0.0, r2 - low * low)) * (1 + 1e-9) + 1e-6
            v = np.sqrt(v2)
            low = max(0.0, v - err)
            cps[i] = (v + err) * (1 + 1e-9) + 1e-12
            cpp[i] = np.sqrt(max(0.0, n2 - low * low)) * (1 + 1e-9) + 1e-12


def group_max(values: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Largest of ``values[start[p]:start[p+1]]`` for every group p (groups are not empty)."""
    return np.maximum.reduceat(values, start[:-1])


@njit(nogil=True)
def unit32_into(X: np.ndarray, nrm: np.ndarray, lo: int, out: np.ndarray) -> None:
    """``out[i] = float32(X[lo + i] / nrm[lo + i])``, rounded exactly as ``unit32_rows``
    (float64 quotient, then one rounding). A compiled loop: NumPy's mixed-precision divide
    and cast took about 4.5 ns per entry, five times this."""
    for i in range(out.shape[0]):
        r = nrm[lo + i]
        for c in range(out.shape[1]):
            out[i, c] = np.float32(np.float64(X[lo + i, c]) / r)


def empty_pages(shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    """An uninitialised array in its own anonymous memory mapping, without NumPy's huge-page
    hint (freed with the array).

    NumPy asks the kernel for transparent huge pages on large arrays; where the kernel then
    compacts memory on first touch, writing a fresh 153 MB array took anywhere from 0.01 s to
    0.41 s on the benchmark machine, against a steady 0.06-0.08 s with normal pages. The
    float32 rows are the phase's largest allocation, so they take the steady cost.
    """
    count = int(np.prod(shape))
    size = max(1, count * np.dtype(dtype).itemsize)
    # Linux: map the pages at once (MAP_POPULATE). Faulting in 153 MB page by page took
    # 0.09 s on the benchmark machine, populating it 0.05 s
    populate = getattr(mmap, "MAP_POPULATE", 0)
    if populate:
        buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
    else:
        buf = mmap.mmap(-1, size)
    return np.frombuffer(buf, dtype=dtype, count=count).reshape(shape)


def top_subspace(S: np.ndarray, q: int) -> np.ndarray:
    """Orthonormal basis (float64, shape (d, q)) of the top-``q`` principal directions of the
    rows of ``S`` (uncentred: eigenvectors of ``S^T S``, largest eigenvalues first)."""
    _, Q = np.linalg.eigh(S.T @ S)
    return np.ascontiguousarray(Q[:, ::-1][:, :q])


def sample_seeds(S: np.ndarray, P: int) -> np.ndarray:
    """``P`` rows of ``S`` (float32, shape (P, q)) chosen by farthest-point sampling
    (Euclidean), starting at the first. Deterministic."""
    S = np.ascontiguousarray(S)
    P = min(P, S.shape[0])
    sq = np.einsum("ij,ij->i", S, S)
    chosen = np.empty(P, dtype=np.int64)
    gap = np.full(S.shape[0], np.inf, dtype=np.float32)
    cur = 0
    # P tiny matrix-vector products: one BLAS thread (handing each to a second thread took
    # 3.7-6.3 s instead of 0.1 s for P = 781 on a busy 2-core machine)
    with blas_threads(1):
        for i in range(P):
            chosen[i] = cur
            np.minimum(gap, sq + sq[cur] - 2.0 * (S @ S[cur]), out=gap)
            gap[chosen[: i + 1]] = -np.inf  # never pick a row twice (duplicates are at 0)
            cur = int(np.argmax(gap))
    return np.ascontiguousarray(S[chosen])


def prepare_rows(
    X: np.ndarray,
    nrm: np.ndarray,
    V32: np.ndarray,
    seeds: np.ndarray,
    block_size: int,
    n_jobs: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The float32 unit rows ``X32`` (n, d), their coordinates ``XV32 = X32 @ V32`` (n, q)
    and the index of every row's nearest seed (Euclidean, in those coordinates; (n,) int64).

    One pass: each thread (``n_jobs``; call it with one BLAS thread) takes a contiguous
    range of rows and, block by block, rounds them, projects them and finds their seeds
    while the block is still in cache, reusing one set of buffers of at most
    ``min(block_size, 2048)`` rows (fresh large temporaries cost page faults that can take
    longer than the products). Row order is kept.
    """
    n, d = X.shape
    q = V32.shape[1]
    X32 = empty_pages((n, d))
    XV32 = empty_pages((n, q))
    owner = np.empty(n, dtype=np.int64)
    half = 0.5 * np.einsum("ij,ij->i", seeds, seeds)
    seeds_t = np.ascontiguousarray(seeds.T)
    rows = max(1, min(block_size, 2048))
    workers = n_workers(n_jobs, -(-n // rows))
    cuts = np.linspace(0, n, workers + 1).round().astype(np.int64)

    def part(i: int) -> None:
        D = np.empty((rows, seeds.shape[0]), dtype=np.float32)
        for lo in range(int(cuts[i]), int(cuts[i + 1]), rows):
            hi = min(int(cuts[i + 1]), lo + rows)
            unit32_into(X, nrm, lo, X32[lo:hi])
            np.matmul(X32[lo:hi], V32, out=XV32[lo:hi])
            Dm = D[: hi - lo]
            np.matmul(XV32[lo:hi], seeds_t, out=Dm)
            Dm -= half
            owner[lo:hi] = np.argmax(Dm, axis=1)

    run_parallel(part, workers, n_jobs)
    return X32, XV32, owner


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


def _ranges(n_groups: int, n_jobs: int | None) -> list[tuple[int, int]]:
    """Ranges of groups for the threads: four per thread, so uneven groups balance."""
    parts = min(n_groups, 4 * n_workers(n_jobs, n_groups)) if n_groups else 0
    cuts = np.linspace(0, n_groups, parts + 1).round().astype(np.int64)
    return [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]


# ----------------------------------------------------------------------------- driver


class PrunedState:
    """Groups, their bounds, the float32 rows and the keys in group order (internal).

    ``rows.ub`` holds the key bounds in group order while the phase runs;
    :meth:`write_back` decides the pending centres and copies the exact keys to the caller's
    ``md`` (row order) for checkpoints and the lazy loop.
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
        n_jobs: int | None = None,
    ) -> None:
        n, d = X.shape
        k = C32.shape[0]
        self.n_jobs = n_jobs
        # the principal subspace V of a deterministic sample, k-center seeds in its
        # coordinates (from a sample), then every row rounded, projected and given its seed
        sample = evenly_spaced(n, SAMPLE_ROWS)
        q = int(min(SUBSPACE_MAX, max(1, d // 3), d))
        V = top_subspace(np.asarray(X[sample], dtype=np.float64) / nrm[sample][:, None], q)
        V32 = np.ascontiguousarray(V, dtype=np.float32)
        P = min(int(n_clusters), n)
        seed_rows = evenly_spaced(n, max(4096, 8 * P))  # farthest-point sampling on these
        seeds = sample_seeds(unit32_rows(X, nrm, seed_rows) @ V32, P)
        X32, XV32, owner = prepare_rows(X, nrm, V32, seeds, block_size, n_jobs)
        # rows cluster by cluster (increasing index inside: the tie rule), each cluster cut
        # into groups of at most `group_rows` consecutive rows: a refresh reads one small group
        perm = np.argsort(owner, kind="stable").astype(np.int64)
        start = group_starts(np.bincount(owner, minlength=seeds.shape[0]), group_rows)
        del owner
        permute_rows(X32, perm)
        err = np.sqrt(q) * (d + 2) * 2.0**-24 * 1.01
        n_groups = start.size - 1
        mu = np.zeros((n_groups, d))
        ra, rb, cps, cpp = (np.zeros(n) for _ in range(4))
        ranges = _ranges(n_groups, n_jobs)

        def geometry(i: int, XV32: np.ndarray = XV32) -> None:
            lo, hi = ranges[i]
            row_geometry(X32, XV32, perm, V, start, err, lo, hi, mu, ra, rb, cps, cpp)

        run_parallel(geometry, len(ranges), n_jobs)
        del geometry, XV32
        ub = md[perm]
        self.rows = Rows(
            X32, perm, ra, rb, cps, cpp, ub, ub.copy(), np.full(n, -1, dtype=np.int64), np.zeros(n)
        )
        pos_of = np.empty(n, dtype=np.int64)
        pos_of[perm] = np.arange(n, dtype=np.int64)
        ps = np.zeros(k)
        pp = np.zeros(k)
        ps[:t] = cps[pos_of[indices[:t]]]
        pp[:t] = cpp[pos_of[indices[:t]]]
        self.centres = Centres(X, nrm, C32, indices, ps, pp, float(tol))
        # every row's key brought up to the t centres, as pending centres (the prefix of a
        # fresh run, or the stale rows of a state from the lazy loop); centres in chunks, so
        # a state resumed at a large t never needs a block x t product
        self.stats = np.zeros(N_STATS, dtype=np.int64)
        stamp_pos = stamp[perm]
        for lo in range(0, n, block_size):
            hi = min(n, lo + block_size)
            for c0 in range(int(stamp_pos[lo:hi].min()), t, FOLD_CHUNK):
                c1 = min(t, c0 + FOLD_CHUNK)
                D32 = np.ascontiguousarray(X32[lo:hi] @ C32[c0:c1].T)
                fold_pending(D32, lo, c0, stamp_pos, self.rows, self.centres, self.stats)
        del stamp_pos
        self.groups = Groups(
            start,
            mu.astype(np.float32),
            group_max(ra, start),
            group_max(rb, start),
            np.full(n_groups, t, dtype=np.int64),
            np.empty(n_groups),
            np.empty(n_groups, dtype=np.int64),
            np.empty(n_groups, dtype=np.int64),
        )
        for p in range(n_groups):
            rescan(p, self.groups, self.rows, self.centres, self.stats)
        self.heap = np.empty(n_groups, dtype=np.int64)
        heapify_groups(self.heap, self.groups)
        self.t_start = t
        self.shares: list[float] = []  # share of the plain loop's distances, per block

    @property
    def block_share(self) -> float:
        """Share of the plain loop's distances the last block computed (0 before any)."""
        return self.shares[-1] if self.shares else 0.0

    def worthwhile(self) -> bool:
        """Whether the bounds skip enough: at least MIN_PRUNED_SHARE of the pairs screened,
        and the last block computed at most MAX_ROW_SHARE of the plain loop's distances.

        Clusters much wider than the selection radius (fewer clusters than the data has
        natural groups, or groups wider than the radius) skip little; the lazy loop is then
        faster.
        """
        screened, skipped = int(self.stats[1]), int(self.stats[4])
        if self.block_share > MAX_ROW_SHARE:
            return False
        return screened == 0 or skipped >= MIN_PRUNED_SHARE * screened

    def hand_over(self, t: int) -> bool:
        """Whether the lazy loop should take over after step ``t``: from CHECK_AFTER steps
        on when the phase is not :meth:`worthwhile`; before, when it is not and the share of
        distances its blocks compute rose over the last RISING_BLOCKS blocks."""
        if t - self.t_start >= CHECK_AFTER:
            return not self.worthwhile()
        last = self.shares[-RISING_BLOCKS - 1 :]
        rising = len(last) == RISING_BLOCKS + 1 and all(
            a < b for a, b in zip(last[:-1], last[1:], strict=True)
        )
        return rising and not self.worthwhile()

    def steps(self, distances: np.ndarray, t: int, t_end: int) -> int:
        """Run steps ``t .. t_end - 1`` (at most one block), then sync every group to them."""
        G, R, S = self.groups, self.rows, self.centres
        t0, dots0 = t, int(self.stats[2])
        t = pruned_steps(G, R, S, distances, self.heap, t, t_end, self.stats)
        lag = int(G.sig.min())
        if lag < t:
            Gm = np.ascontiguousarray(G.mu32 @ S.C32[lag:t].T)
            ranges = _ranges(G.sig.shape[0], self.n_jobs)
            counts = np.zeros((len(ranges), N_STATS), dtype=np.int64)

            def sync(i: int) -> None:
                sync_groups(Gm, lag, t, G, R, S, ranges[i][0], ranges[i][1], counts[i])

            run_parallel(sync, len(ranges), self.n_jobs)
            self.stats += counts.sum(axis=0)
            heapify_groups(self.heap, G)
        live = R.perm.shape[0] - t0
        if t > t0 and live > 0:  # row-centre dots of this block, steps and sync
            self.shares.append((int(self.stats[2]) - dots0) / (live * (t - t0)))
        return t

    def write_back(self, md: np.ndarray, stamp: np.ndarray, t: int) -> None:
        """The lazy loop's state after a block: exact keys in row order, every stamp ``t``."""
        resolve_all(self.rows, self.centres)
        md[self.rows.perm] = self.rows.ub
        stamp[:] = t


def trial_hands_over(
    X: np.ndarray, nrm: np.ndarray, tol: float, block_size: int, n_jobs: int | None = None
) -> bool:
    """Whether the phase, run on an evenly spaced subsample of :data:`TRIAL_ROWS` rows of
    ``X`` (row norms ``nrm``) from its first row, hands over before :data:`TRIAL_STEPS`
    steps: its blocks' share of distances rose while its bounds skipped too little
    (:meth:`PrunedState.hand_over`). Costs the phase's construction on the subsample and at
    most TRIAL_STEPS steps (0.03 s on the word2vec windows, d = 101; 0.08-0.13 s at d = 256-384,
    where it does not fire); only the speed depends on it.
    """
    n, d = X.shape
    rows = evenly_spaced(n, TRIAL_ROWS)
    S = np.ascontiguousarray(X[rows])
    S_nrm = np.ascontiguousarray(nrm[rows])
    m = S.shape[0]
    k = min(m, TRIAL_STEPS)
    C32 = np.empty((k, d), dtype=np.float32)
    C32[:1] = unit32_rows(S, S_nrm, slice(0, 1))
    indices = np.zeros(k, dtype=np.int64)
    distances = np.full(k, np.inf)
    md = np.full(m, np.inf)
    md[0] = -np.inf
    stamp = np.zeros(m, dtype=np.int64)
    with blas_threads(1):
        state = PrunedState(
            S, S_nrm, C32, indices, md, stamp, 1, n_clusters(m), tol, block_size, n_jobs=n_jobs
        )
        t = 1
        while t < k:
            t = state.steps(distances, t, min(k, t + block_length(t)))
            if state.hand_over(t):
                return True
    return False
