"""Numba kernels of the lazy exact max-min engine (see :mod:`unisel.select.engine.fast`).

State shared by the kernels, for ``n`` rows:

- ``md[j]`` (float64): the canonical key of row j against the centres ``0 .. stamp[j] - 1``,
  i.e. an upper bound of its key against all centres chosen so far; ``-inf`` once selected;
- ``stamp[j]`` (int64): how many centres ``md[j]`` accounts for;
- ``heap[:hsize]`` (int64): the unselected rows as a binary max-heap on ``(md, -index)``;
- ``C32`` (k, d) float32: the chosen centres, unit rows rounded to float32, in order.

``stats`` (int64, 6): lazy refreshes, lazy float32 dots, lazy float64 keys, rows in block
refreshes, block float32 dots, block float64 keys.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from unisel.select.engine._canonical import canonical_dot_rows

DUP_TOL = 1e-12  # == reference.DUPLICATE_TOLERANCE (checked by a test)


@nb.njit(cache=True, nogil=True, inline="always")
def _above(md: np.ndarray, a: int, b: int) -> bool:
    """Row a ranks before row b: larger key, ties to the lower index."""
    return md[a] > md[b] or (md[a] == md[b] and a < b)


@nb.njit(cache=True, nogil=True)
def sift_down(heap: np.ndarray, hsize: int, pos: int, md: np.ndarray) -> None:
    """Restore the heap property below ``pos``."""
    item = heap[pos]
    while True:
        child = 2 * pos + 1
        if child >= hsize:
            break
        right = child + 1
        if right < hsize and _above(md, heap[right], heap[child]):
            child = right
        if _above(md, heap[child], item):
            heap[pos] = heap[child]
            pos = child
        else:
            break
    heap[pos] = item


@nb.njit(cache=True, nogil=True)
def build_heap(md: np.ndarray) -> tuple[np.ndarray, int]:
    """Heap of the rows whose key is not ``-inf`` (the unselected rows)."""
    n = md.shape[0]
    heap = np.empty(n, dtype=np.int64)
    hsize = 0
    for j in range(n):
        if md[j] != -np.inf:
            heap[hsize] = j
            hsize += 1
    for pos in range(hsize // 2 - 1, -1, -1):
        sift_down(heap, hsize, pos, md)
    return heap, hsize


@nb.njit(cache=True, nogil=True)
def exact_key(X: np.ndarray, nrm: np.ndarray, j: int, s: int) -> float:
    """Canonical key of rows j and s (float64, snapped to 0 below ``DUP_TOL``)."""
    dist = 1.0 - canonical_dot_rows(X, j, nrm[j], s, nrm[s])
    return 0.0 if dist < DUP_TOL else dist


@nb.njit(cache=True, nogil=True)
def absorb_block(
    D32: np.ndarray,
    rows: np.ndarray,
    centres: np.ndarray,
    X: np.ndarray,
    nrm: np.ndarray,
    keys: np.ndarray,
    tol: float,
) -> int:
    """Fold float32 products ``D32[a, b] = <u_rows[a], u_centres[b]>`` into ``keys[a]`` exactly.

    ``keys[a]`` is the key of row ``rows[a]`` (pass ``md[lo:hi]`` for rows ``lo..hi-1``). A
    pair's float64 key is computed only when its float32 distance is within ``tol`` of the
    row's key so far and within ``2 tol`` of the row's smallest float32 distance in this
    block; the others cannot be the minimum. Returns the number of float64 keys computed.
    """
    n_checked = 0
    for a in range(D32.shape[0]):
        cur = keys[a]
        if cur == -np.inf:
            continue
        top = np.float64(D32[a, 0])
        for b in range(1, D32.shape[1]):
            top = max(top, np.float64(D32[a, b]))
        # 1 - x <= cut  <=>  x >= 1 - cut, up to one rounding of 1 - cut: widen by 1e-15
        cut = min(cur + tol, 1.0 - top + 2.0 * tol)
        thr = 1.0 - cut - 1e-15
        if top < thr:
            continue
        for b in range(D32.shape[1]):
            x = np.float64(D32[a, b])
            if x >= thr and 1.0 - x <= cut:
                key = exact_key(X, nrm, rows[a], centres[b])
                n_checked += 1
                if key < cur:
                    cur = key
        keys[a] = cur
    return n_checked


@nb.njit(cache=True, nogil=True, fastmath=True)
def dot32(a: np.ndarray, b: np.ndarray) -> np.float32:
    """Float32 dot product of two 1-D arrays (any summation order: tau allows for it)."""
    acc = np.float32(0.0)
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    return acc


@nb.njit(cache=True, nogil=True)
def unit32(X: np.ndarray, nrm: np.ndarray, j: int, out: np.ndarray) -> None:
    """``out[:] = float32(X[j] / nrm[j])``, the float32 rounding of the canonical unit row."""
    for i in range(X.shape[1]):
        out[i] = np.float32(np.float64(X[j, i]) / nrm[j])


@nb.njit(cache=True, nogil=True)
def lazy_steps(
    X: np.ndarray,
    nrm: np.ndarray,
    C32: np.ndarray,
    indices: np.ndarray,
    distances: np.ndarray,
    md: np.ndarray,
    stamp: np.ndarray,
    heap: np.ndarray,
    hsize: int,
    t: int,
    t_end: int,
    tol: float,
    stats: np.ndarray,
) -> tuple[int, int]:
    """Run greedy steps ``t .. t_end - 1``; returns the new ``(t, hsize)``.

    Pop the top row of the heap. If its key is up to date it is the exact argmax (every other
    key is an upper bound ranking below it): select it. Otherwise refresh it against the
    centres it has not seen, oldest first, stopping early once it ranks below the runner-up
    (its key stays a valid upper bound with a smaller ``stamp``), and sift it down.
    ``stats`` accumulates [refreshes, float32 centre dots, float64 keys].
    """
    d = X.shape[1]
    u = np.empty(d, dtype=np.float32)
    while t < t_end and hsize > 0:
        j = heap[0]
        if stamp[j] == t:
            indices[t] = j
            distances[t] = md[j]
            unit32(X, nrm, j, u)
            C32[t, :] = u
            md[j] = -np.inf
            hsize -= 1
            if hsize > 0:
                heap[0] = heap[hsize]
                sift_down(heap, hsize, 0, md)
            t += 1
            continue
        # runner-up: the better child of the root
        runner = -1
        if hsize > 1:
            runner = heap[1]
            if hsize > 2 and _above(md, heap[2], runner):
                runner = heap[2]
        unit32(X, nrm, j, u)
        s = stamp[j]
        stats[0] += 1
        while s < t:
            dist32 = 1.0 - np.float64(dot32(u, C32[s]))
            stats[1] += 1
            if dist32 <= md[j] + tol:
                key = exact_key(X, nrm, j, indices[s])
                stats[2] += 1
                if key < md[j]:
                    md[j] = key
            s += 1
            if runner >= 0 and _above(md, runner, j):
                break
        stamp[j] = s
        sift_down(heap, hsize, 0, md)
    return t, hsize


@nb.njit(cache=True, nogil=True)
def heapify(heap: np.ndarray, hsize: int, md: np.ndarray) -> None:
    """Restore the heap property of ``heap[:hsize]`` in place after keys were lowered."""
    for pos in range(hsize // 2 - 1, -1, -1):
        sift_down(heap, hsize, pos, md)


@nb.njit(cache=True, nogil=True, fastmath=True)
def _row_max32(D32: np.ndarray, a: int, b0: int) -> np.float32:
    """Largest float32 entry of ``D32[a, b0:]`` (a screen only: no key depends on its rounding)."""
    best = np.float32(-np.inf)
    for b in range(b0, D32.shape[1]):
        v = D32[a, b]
        if v > best:
            best = v
    return best


@nb.njit(cache=True, nogil=True)
def absorb_stale(
    D32: np.ndarray,
    rows: np.ndarray,
    c0: int,
    indices: np.ndarray,
    X: np.ndarray,
    nrm: np.ndarray,
    md: np.ndarray,
    stamp: np.ndarray,
    tol: float,
) -> int:
    """Fold ``D32[a, b] = <u_rows[a], u_{indices[c0 + b]}>`` into ``md`` for centres not yet seen.

    Like :func:`absorb_block`, but row ``rows[a]`` only takes the centres ``c0 + b >=
    stamp[rows[a]]`` (the earlier ones are already in its key). Serial on purpose: a numba
    ``prange`` here ran 4-20x slower per entry, its workers competing with OpenBLAS threads
    still spinning after the product. Returns the number of float64 keys computed.
    """
    n_checked = 0
    nc = D32.shape[1]
    for a in range(D32.shape[0]):
        j = rows[a]
        b0 = max(0, stamp[j] - c0)
        if b0 >= nc:
            continue
        lo32 = 1.0 - np.float64(_row_max32(D32, a, b0))
        cut = min(md[j] + tol, lo32 + 2.0 * tol)
        # 1 - x <= cut  <=>  x >= 1 - cut, up to one rounding of 1 - cut: widen by 1e-15
        thr = 1.0 - cut - 1e-15
        best = md[j]
        for b in range(b0, nc):
            if np.float64(D32[a, b]) >= thr and 1.0 - np.float64(D32[a, b]) <= cut:
                key = exact_key(X, nrm, j, indices[c0 + b])
                n_checked += 1
                if key < best:
                    best = key
        md[j] = best
    return n_checked


@nb.njit(cache=True, nogil=True)
def eager_refresh(
    X: np.ndarray,
    nrm: np.ndarray,
    C32: np.ndarray,
    indices: np.ndarray,
    md: np.ndarray,
    stamp: np.ndarray,
    rows: np.ndarray,
    t: int,
    theta: float,
    tol: float,
    centre_chunk: int,
    stats: np.ndarray,
) -> None:
    """Bring ``rows`` (sorted by ``stamp``, all stale) up to date with block products.

    Centres are taken oldest first in chunks of ``centre_chunk``; a row joins once the chunk
    reaches its stamp and leaves as soon as its key drops below ``theta`` (its stamp then says
    how far it got, as in the lazy refresh). Each chunk is one float32 matrix product (BLAS,
    threaded) screened and decided by :func:`absorb_stale`.
    """
    m = rows.shape[0]
    d = X.shape[1]
    if m == 0:
        return
    U = np.empty((m, d), dtype=np.float32)
    for a in range(m):
        unit32(X, nrm, rows[a], U[a])
    act = np.empty(m, dtype=np.int64)
    G = np.empty((m, d), dtype=np.float32)
    prow = np.empty(m, dtype=np.int64)
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
            G[i] = U[act[i]]
            prow[i] = rows[act[i]]
            stats[4] += c1 - max(c0, stamp[rows[act[i]]])
        D32 = np.dot(G[:nact], C32[c0:c1].T)
        stats[5] += absorb_stale(D32, prow[:nact], c0, indices, X, nrm, md, stamp, tol)
        keep = 0
        for i in range(nact):
            j = rows[act[i]]
            stamp[j] = c1
            if md[j] >= theta:
                act[keep] = act[i]
                keep += 1
        nact = keep
        c0 = c1
    stats[3] += m
