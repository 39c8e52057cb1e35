"""Numba kernels of the lazy exact max-min engine (see :mod:`unisel.select.engine.fast`).

State shared by the kernels, for ``n`` rows:

- ``md[j]`` (float64): the canonical key of row j against the centres ``0 .. stamp[j] - 1``,
  i.e. an upper bound of its key against all centres chosen so far; ``-inf`` once selected;
- ``stamp[j]`` (int64): how many centres ``md[j]`` accounts for;
- ``heap[:hsize]`` (int64): the unselected rows as a binary max-heap on ``(md, -index)``;
- ``C32`` (k, d) float32: the chosen centres as screened rows (:func:`prep32`), in order;
- ``M`` (:class:`Geometry`): the rows and how the metric screens them.

``stats`` (int64, 9): lazy refreshes, lazy float32 dots, lazy float64 keys, rows in block
refreshes, block float32 dots, block float64 keys, rows in batched refreshes, batched float32
dots, batched float64 keys.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from unisel.select.engine._blas import sgemm_nt
from unisel.select.engine._canonical import canonical_dot_rows, canonical_sqdist_rows
from unisel.select.engine._jit import njit

DUP_TOL = 1e-12  # == reference.DUPLICATE_TOLERANCE (checked by a test)


class Geometry(NamedTuple):
    """The rows and the metric, as the kernels read them.

    A row j is screened in float32 as ``float32((X[j] - shift) / nrm[j])`` and a float32
    product ``g`` of two screened rows j, s gives the distance estimate
    ``1 - g`` (cosine) or ``sq[j] + sq[s] - 2 g`` (Euclidean), within
    ``tol + rel * (sq[j] + sq[s])`` of the canonical key (see :mod:`unisel.select.engine.fast`).
    """

    X: np.ndarray  # (n, d) the embeddings as given (canonical keys read them)
    nrm: np.ndarray  # (n,) float64 divisor: row norms (cosine) or 1 (Euclidean)
    shift: np.ndarray  # (d,) float64 subtracted before rounding: 0 (cosine) or the mean
    sq: np.ndarray  # (n,) float64 squared norms of the shifted rows (Euclidean; 1 for cosine)
    euclid: bool
    tol: float  # absolute part of the screening tolerance
    rel: float  # relative part, times sq[j] + sq[s] (0 for cosine)


@njit(nogil=True, inline="always")
def key(M: Geometry, j: int, s: int) -> float:
    """Canonical float64 key of rows j and s: cosine (snapped) or squared Euclidean."""
    if M.euclid:
        return canonical_sqdist_rows(M.X, j, s)
    return exact_key(M.X, M.nrm, j, s)


@njit(nogil=True, inline="always")
def screen(M: Geometry, j: int, s: int, g: float) -> tuple[float, float]:
    """(distance estimate, its tolerance) of rows j and s from their float32 product ``g``."""
    if M.euclid:
        a = M.sq[j] + M.sq[s]
        return a - 2.0 * g, M.tol + M.rel * a
    return 1.0 - g, M.tol


@njit(nogil=True)
def prep32(M: Geometry, j: int, out: np.ndarray) -> None:
    """``out[:] = float32((X[j] - shift) / nrm[j])``, the screened float32 row j."""
    for i in range(M.X.shape[1]):
        out[i] = np.float32((np.float64(M.X[j, i]) - M.shift[i]) / M.nrm[j])


@njit(nogil=True)
def prep32_block(M: Geometry, lo: int, out: np.ndarray) -> None:
    """``out[i] = prep32(M, lo + i)`` for every row of ``out``: a block of screened rows
    (NumPy's float64 temporaries took about 4.5 ns per entry for the same rounding)."""
    for i in range(out.shape[0]):
        prep32(M, lo + i, out[i])


@njit(nogil=True, inline="always")
def copy_row(dst: np.ndarray, i: int, src: np.ndarray, j: int) -> None:
    """``dst[i] = src[j]`` element by element: numba's row assignment compiles its broadcast
    checks with formatted error messages (about 0.5 s more on a cold cache)."""
    for c in range(dst.shape[1]):
        dst[i, c] = src[j, c]


@njit(nogil=True, inline="always")
def _above(md: np.ndarray, a: int, b: int) -> bool:
    """Row a ranks before row b: larger key, ties to the lower index."""
    return md[a] > md[b] or (md[a] == md[b] and a < b)


@njit(nogil=True, inline="always")
def _before(key: np.ndarray, tie: np.ndarray, a: int, b: int) -> bool:
    """Item a ranks before item b: larger ``key``, ties to the lower ``tie`` (to the lower
    item where ``tie`` is empty, as :func:`_above`)."""
    if tie.shape[0] == 0:
        return _above(key, a, b)
    return key[a] > key[b] or (key[a] == key[b] and tie[a] < tie[b])


@njit(nogil=True)
def sift_down_by(heap: np.ndarray, hsize: int, pos: int, key: np.ndarray, tie: np.ndarray) -> None:
    """Restore the heap property below ``pos`` of the max-heap ``heap[:hsize]`` whose items
    rank by :func:`_before` (the rows here, the groups of the pruned phase)."""
    item = heap[pos]
    while True:
        child = 2 * pos + 1
        if child >= hsize:
            break
        right = child + 1
        if right < hsize and _before(key, tie, heap[right], heap[child]):
            child = right
        if _before(key, tie, heap[child], item):
            heap[pos] = heap[child]
            pos = child
        else:
            break
    heap[pos] = item


@njit(nogil=True)
def sift_down(heap: np.ndarray, hsize: int, pos: int, md: np.ndarray) -> None:
    """Restore the heap property below ``pos`` (rows on their key ``md``, ties to the lower
    row)."""
    sift_down_by(heap, hsize, pos, md, heap[:0])


@njit(nogil=True)
def build_heap(md: np.ndarray) -> tuple[np.ndarray, int]:
    """Heap of the rows whose key is not ``-inf`` (the unselected rows)."""
    n = md.shape[0]
    heap = np.empty(n, dtype=np.int64)
    hsize = n - n  # 0, but not a literal: sift_down would compile once more for it
    for j in range(n):
        if md[j] != -np.inf:
            heap[hsize] = j
            hsize += 1
    for pos in range(hsize // 2 - 1, -1, -1):
        sift_down(heap, hsize, pos, md)
    return heap, hsize


@njit(nogil=True)
def exact_key(X: np.ndarray, nrm: np.ndarray, j: int, s: int) -> float:
    """Canonical key of rows j and s (float64, snapped to 0 below ``DUP_TOL``)."""
    dist = 1.0 - canonical_dot_rows(X, j, nrm[j], s, nrm[s])
    return 0.0 if dist < DUP_TOL else dist


@njit(nogil=True)
def absorb_block(
    D32: np.ndarray,
    rows: np.ndarray,
    centres: np.ndarray,
    M: Geometry,
    keys: np.ndarray,
) -> int:
    """Fold float32 products ``D32[a, b]`` of screened rows ``rows[a]`` and ``centres[b]``
    into ``keys[a]`` exactly.

    ``keys[a]`` is the key of row ``rows[a]`` (pass ``md[lo:hi]`` for rows ``lo..hi-1``). A
    pair's float64 key is computed only when its float32 distance is within its tolerance of
    the row's key so far and of the row's smallest float32 distance (plus tolerance) in this
    block; the others cannot be the minimum. Returns the number of float64 keys computed.
    """
    b0 = np.int64(0)  # not a literal 0: the callees would compile once more for it
    if M.euclid:
        return _absorb_general(D32, rows, centres, b0, M, keys)
    n_checked = 0
    cand = np.empty(D32.shape[1], dtype=np.int64)
    for a in range(D32.shape[0]):
        cur = keys[a]
        if cur == -np.inf:
            continue
        keys[a], n = _absorb_cosine(M, rows[a], cur, D32, a, b0, centres, cand)
        n_checked += n
    return n_checked


@njit(nogil=True)
def _absorb_cosine(
    M: Geometry,
    j: int,
    cur: float,
    D32: np.ndarray,
    a: int,
    b0: int,
    cols: np.ndarray,
    cand: np.ndarray,
) -> tuple[float, int]:
    """The cosine screen of :func:`absorb_block` for one row: fold into row ``j``'s key
    ``cur`` its products ``D32[a, b0:]`` with the centres ``cols[b0:]``; returns the new key
    and the number of float64 keys computed. ``cand``: int64 scratch of ``D32.shape[1]``.

    A pair is decided in float64 when its product ``x`` has ``1 - x <= cut``, ``cut =
    min(cur + tol, 1 - top + 2 tol)`` with ``top`` the row's largest product. One pass over
    the products keeps the candidates above a running float32 limit that never exceeds the
    final ``1 - cut`` (it starts 1e-6 below ``1 - cur - tol`` and rises to 1e-6 below
    ``top - 2 tol`` as larger products appear), then the exact test runs on them only: the
    same pairs as a pass for ``top`` and a second pass over the row, with one read of the
    products instead of two (the screen of a block refresh took about as long as its product).
    """
    tol = M.tol
    lim = np.float32(1.0 - (cur + tol) - 1e-6)  # -inf for an infinite key: every product
    best = np.float32(-np.inf)
    nh = 0
    for b in range(b0, D32.shape[1]):
        v = D32[a, b]
        if v >= lim:
            cand[nh] = b
            nh += 1
            if v > best:
                best = v
                rise = np.float32(np.float64(v) - 2.0 * tol - 1e-6)
                if rise > lim:
                    lim = rise
    n_checked = 0
    if nh == 0:
        return cur, n_checked  # no centre of the block comes within the tolerance of the key
    # 1 - x <= cut  <=>  x >= 1 - cut, up to one rounding of 1 - cut: widen by 1e-15
    cut = min(cur + tol, 1.0 - np.float64(best) + 2.0 * tol)
    thr = 1.0 - cut - 1e-15
    for h in range(nh):
        b = cand[h]
        x = np.float64(D32[a, b])
        if x >= thr and 1.0 - x <= cut:
            k = exact_key(M.X, M.nrm, j, cols[b])
            n_checked += 1
            if k < cur:
                cur = k
    return cur, n_checked


@njit(nogil=True)
def _absorb_general(
    D32: np.ndarray,
    rows: np.ndarray,
    centres: np.ndarray,
    b_first: int,
    M: Geometry,
    keys: np.ndarray,
) -> int:
    """:func:`absorb_block` with a per-pair tolerance (the Euclidean screen), from column
    ``b_first`` on. The true minimum over the row's key and this block is at most
    ``lim = min(key, min_b (dist_b + tol_b))``; a pair whose ``dist_b - tol_b`` exceeds
    ``lim`` cannot be it."""
    n_checked = 0
    for a in range(D32.shape[0]):
        cur = keys[a]
        if cur == -np.inf:
            continue
        j = rows[a]
        lim = cur
        for b in range(b_first, D32.shape[1]):
            dist, tl = screen(M, j, centres[b], np.float64(D32[a, b]))
            lim = min(lim, dist + tl)
        for b in range(b_first, D32.shape[1]):
            dist, tl = screen(M, j, centres[b], np.float64(D32[a, b]))
            if dist - tl <= lim:
                k = key(M, j, centres[b])
                n_checked += 1
                if k < cur:
                    cur = k
        keys[a] = cur
    return n_checked


@njit(nogil=True, fastmath=True)
def dot32(a: np.ndarray, b: np.ndarray) -> np.float32:
    """Float32 dot product of two 1-D arrays (any summation order: tau allows for it)."""
    acc = np.float32(0.0)
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    return acc


@njit(nogil=True)
def lazy_steps(
    M: Geometry,
    C32: np.ndarray,
    indices: np.ndarray,
    distances: np.ndarray,
    md: np.ndarray,
    stamp: np.ndarray,
    heap: np.ndarray,
    hsize: int,
    t: int,
    t_end: int,
    stats: np.ndarray,
    batch: int,
    min_stale: int,
    chunk: int,
) -> tuple[int, int]:
    """Run greedy steps ``t .. t_end - 1``; returns the new ``(t, hsize)``.

    Pop the top row of the heap. If its key is up to date it is the exact argmax (every other
    key is an upper bound ranking below it): select it. Otherwise refresh it against the
    centres it has not seen, oldest first, stopping early once it ranks below the runner-up
    (its key stays a valid upper bound with a smaller ``stamp``), and sift it down.

    Batched refreshes: when the top row misses at least ``min_stale`` centres (and
    ``batch >= 2``), the up to ``batch`` stale rows at the top of the heap (best first, up to
    the first row whose key is already exact) are refreshed together by :func:`eager_refresh`
    with float32 matrix products of ``chunk`` centres, each row leaving once its key drops
    below the best key left outside the batch. Rows the lazy loop would refresh one at a time
    (a matrix-vector product per row) get one matrix product; refreshing a row earlier than
    needed takes the same oldest-first centres, so the work stays that of the lazy loop up to
    the last chunk of each row. Any refresh leaves every key exact for its stamp, so the
    result does not depend on it.
    ``stats`` accumulates the counters of the module docstring.
    """
    d = M.X.shape[1]
    u = np.empty(d, dtype=np.float32)
    nb_max = max(1, batch)
    front = np.empty(nb_max + 2, dtype=np.int64)
    bpos = np.empty(nb_max, dtype=np.int64)
    brow = np.empty(nb_max, dtype=np.int64)
    # not literals: a constant argument would compile one more specialisation of the callee
    root = np.int64(0)
    at_batch = np.int64(6)
    while t < t_end and hsize > 0:
        j = heap[0]
        if stamp[j] == t:
            indices[t] = j
            distances[t] = md[j]
            prep32(M, j, u)
            for c in range(d):  # element loops: see copy_row
                C32[t, c] = u[c]
            md[j] = -np.inf
            hsize -= 1
            if hsize > 0:
                heap[0] = heap[hsize]
                sift_down(heap, hsize, root, md)
            t += 1
            continue
        if batch >= 2 and t - stamp[j] >= min_stale:
            m, theta = top_stale(heap, hsize, md, stamp, t, batch, front, bpos)
            # rows by stamp (eager_refresh takes them oldest first), positions deepest first;
            # insertion sorts: a batch is small, and numba's sorts cost seconds to compile
            for i in range(m):
                r, q, at = heap[bpos[i]], bpos[i], i
                while at > 0 and stamp[brow[at - 1]] > stamp[r]:
                    brow[at] = brow[at - 1]
                    at -= 1
                brow[at] = r
                at = i
                while at > 0 and bpos[at - 1] < q:
                    bpos[at] = bpos[at - 1]
                    at -= 1
                bpos[at] = q
            eager_refresh(M, C32, indices, md, stamp, brow[:m], t, theta, chunk, stats, at_batch)
            # keys only fell, and the batch is a subtree holding the root: sifting its
            # positions down, deepest first, restores the heap
            for i in range(m):
                sift_down(heap, hsize, bpos[i], md)
            continue
        # runner-up: the better child of the root
        runner = -1
        if hsize > 1:
            runner = heap[1]
            if hsize > 2 and _above(md, heap[2], runner):
                runner = heap[2]
        prep32(M, j, u)
        s = stamp[j]
        stats[0] += 1
        while s < t:
            dist32, tl = screen(M, j, indices[s], np.float64(dot32(u, C32[s])))
            stats[1] += 1
            if dist32 <= md[j] + tl:
                k = key(M, j, indices[s])
                stats[2] += 1
                if k < md[j]:
                    md[j] = k
            s += 1
            if runner >= 0 and _above(md, runner, j):
                break
        stamp[j] = s
        sift_down(heap, hsize, root, md)
    return t, hsize


@njit(nogil=True)
def top_stale(
    heap: np.ndarray,
    hsize: int,
    md: np.ndarray,
    stamp: np.ndarray,
    t: int,
    m_max: int,
    front: np.ndarray,
    out: np.ndarray,
) -> tuple[int, float]:
    """Heap positions of the stale rows at the top of the heap, best first.

    Walks the heap best first (a small heap ``front`` of positions, ``m_max + 2`` long) and
    stops at ``m_max`` rows or at the first row whose key is exact for ``t`` centres. Returns
    ``(m, theta)``: the positions are ``out[:m]`` (a subtree holding the root) and ``theta``
    the key bound of the best row left out (``-inf`` when none is).
    """
    nf = 1
    front[0] = 0
    m = 0
    while nf > 0:
        p = front[0]
        j = heap[p]
        if m == m_max or stamp[j] == t:
            return m, md[j]
        out[m] = p
        m += 1
        # pop p from the frontier ...
        nf -= 1
        if nf > 0:
            front[0] = front[nf]
            q = 0
            while True:
                c = 2 * q + 1
                if c >= nf:
                    break
                if c + 1 < nf and _above(md, heap[front[c + 1]], heap[front[c]]):
                    c += 1
                if _above(md, heap[front[c]], heap[front[q]]):
                    front[q], front[c] = front[c], front[q]
                    q = c
                else:
                    break
        # ... and push its children in the heap
        for c in (2 * p + 1, 2 * p + 2):
            if c < hsize:
                front[nf] = c
                q = nf
                nf += 1
                while q > 0:
                    par = (q - 1) // 2
                    if _above(md, heap[front[q]], heap[front[par]]):
                        front[q], front[par] = front[par], front[q]
                        q = par
                    else:
                        break
    return m, -np.inf


@njit(nogil=True)
def top_subtree(heap: np.ndarray, hsize: int, md: np.ndarray, theta: float, out: np.ndarray) -> int:
    """Heap positions of every row whose key bound is at least ``theta``, in increasing
    order, into ``out`` (at least ``hsize`` long); returns how many.

    By the heap property they form a subtree holding the root, so a breadth-first walk finds
    them in time proportional to their number (positions come out level by level, left to
    right: increasing).
    """
    if hsize == 0 or md[heap[0]] < theta:
        return 0
    out[0] = 0
    head = 0
    m = 1
    while head < m:
        p = out[head]
        head += 1
        for c in (2 * p + 1, 2 * p + 2):
            if c < hsize and md[heap[c]] >= theta:
                out[m] = c
                m += 1
    return m


@njit(nogil=True)
def sift_down_each(heap: np.ndarray, hsize: int, md: np.ndarray, positions: np.ndarray) -> None:
    """Restore the heap after the keys at ``positions`` (increasing, a subtree holding the
    root) were lowered: sift each down, deepest first."""
    for i in range(positions.shape[0] - 1, -1, -1):
        sift_down(heap, hsize, positions[i], md)


@njit(nogil=True)
def heapify(heap: np.ndarray, hsize: int, md: np.ndarray) -> None:
    """Restore the heap property of ``heap[:hsize]`` in place after keys were lowered."""
    for pos in range(hsize // 2 - 1, -1, -1):
        sift_down(heap, hsize, pos, md)


@njit(nogil=True)
def absorb_stale(
    D32: np.ndarray,
    rows: np.ndarray,
    c0: int,
    indices: np.ndarray,
    M: Geometry,
    md: np.ndarray,
    stamp: np.ndarray,
) -> int:
    """Fold ``D32[a, b] = <u_rows[a], u_{indices[c0 + b]}>`` into ``md`` for centres not yet seen.

    Like :func:`absorb_block`, but row ``rows[a]`` only takes the centres ``c0 + b >=
    stamp[rows[a]]`` (the earlier ones are already in its key). Serial on purpose: a numba
    ``prange`` here ran 4-20x slower per entry, its workers competing with OpenBLAS threads
    still spinning after the product. Returns the number of float64 keys computed.
    """
    n_checked = 0
    nc = D32.shape[1]
    cols = indices[c0 : c0 + nc]
    cand = np.empty(nc, dtype=np.int64)
    for a in range(D32.shape[0]):
        j = rows[a]
        b0 = max(0, stamp[j] - c0)
        if b0 >= nc:
            continue
        if M.euclid:
            n_checked += _absorb_general(
                D32[a : a + 1], rows[a : a + 1], cols, b0, M, md[j : j + 1]
            )
            continue
        md[j], n = _absorb_cosine(M, j, md[j], D32, a, b0, cols, cand)
        n_checked += n
    return n_checked


@njit(nogil=True)
def eager_refresh(
    M: Geometry,
    C32: np.ndarray,
    indices: np.ndarray,
    md: np.ndarray,
    stamp: np.ndarray,
    rows: np.ndarray,
    t: int,
    theta: float,
    centre_chunk: int,
    stats: np.ndarray,
    at: int,
) -> None:
    """Bring ``rows`` (sorted by ``stamp``, all stale) up to date with block products.

    Centres are taken oldest first in chunks of ``centre_chunk``; a row joins once the chunk
    reaches its stamp and leaves as soon as its key drops below ``theta`` (its stamp then says
    how far it got, as in the lazy refresh). Each chunk is one float32 matrix product
    (:func:`~unisel.select.engine._blas.sgemm_nt`, BLAS) screened and decided by
    :func:`absorb_stale`. ``stats[at : at + 3]``
    accumulates [rows, float32 dots, float64 keys].
    """
    m = rows.shape[0]
    d = M.X.shape[1]
    if m == 0:
        return
    U = np.empty((m, d), dtype=np.float32)
    for a in range(m):
        prep32(M, rows[a], U[a])
    act = np.empty(m, dtype=np.int64)
    G = np.empty((m, d), dtype=np.float32)
    prow = np.empty(m, dtype=np.int64)
    buf = np.empty(m * centre_chunk, dtype=np.float32)
    nact = 0
    nxt = 0
    c0 = stamp[rows[0]]
    while c0 < t:
        c1 = min(t, c0 + centre_chunk)
        while nxt < m and stamp[rows[nxt]] < c1:
            act[nact] = nxt
            nact += 1
            nxt += 1
        if nact == 0:
            if nxt >= m:
                break
            c0 = stamp[rows[nxt]]
            continue
        for i in range(nact):
            copy_row(G, i, U, act[i])
            prow[i] = rows[act[i]]
            stats[at + 1] += c1 - max(c0, stamp[rows[act[i]]])
        D32 = buf[: nact * (c1 - c0)].reshape((nact, c1 - c0))
        if sgemm_nt(G[:nact], C32[c0:c1], D32) != 0:  # type: ignore[call-arg]
            raise RuntimeError("BLAS sgemm (SciPy's cython_blas) is not available")
        stats[at + 2] += absorb_stale(D32, prow[:nact], c0, indices, M, md, stamp)
        keep = 0
        for i in range(nact):
            j = rows[act[i]]
            stamp[j] = c1
            if md[j] >= theta:
                act[keep] = act[i]
                keep += 1
        nact = keep
        c0 = c1
    stats[at] += m
