r"""The fast exact max-min engine: lazy upper-bound greedy with float32 filtering.

Algorithm
---------
Let :math:`u_j` be the canonical unit rows and :math:`\delta(i, j)` the canonical float64 key of
:mod:`unisel.select.engine.reference` (fixed-order float64 inner product, values below 1e-12
snapped to 0). After :math:`t` centres :math:`c_0, \dots, c_{t-1}` the greedy picks

.. math:: c_t = \operatorname{arg\,max}_{j \notin C} m_t(j), \qquad
          m_t(j) = \min_{s < t} \delta(j, c_s),

ties to the lowest index. Minimum distances only shrink, so a value computed against the first
:math:`\sigma_j \le t` centres, :math:`m_{\sigma_j}(j)`, is an upper bound of :math:`m_t(j)`. The
engine keeps, per row, that bound ``md[j]`` and ``stamp[j]`` :math:`= \sigma_j`, in a binary
max-heap ordered by ``(md, -index)``. One step:

1. look at the top row :math:`j` of the heap;
2. if :math:`\sigma_j = t` its key is exact, and every other row's key is bounded by a value that
   ranks below it, so :math:`j` is the exact argmax with the reference's tie rule: select it;
3. otherwise fold in the centres :math:`c_{\sigma_j}, \dots` oldest first, stop as soon as the row
   ranks below the runner-up (the bound stays valid with the smaller stamp), sift it down and go
   to 1.

Rows far below the current radius are never touched again, which is where the work goes away:
on Gaussian-mixture data at d=384 the engine computes about 20% (k = n/10) to 45% (k = n/2)
of the n*k distances of the plain loop, in a compiled (numba) loop with no per-step
interpreter overhead and no O(n) argmax.

Block refreshes. A per-row refresh reads every stale centre from memory for one row (a
matrix-vector product, memory-bound once the centres outgrow the cache). So every
``refresh_every`` = B steps (default 1024) the engine predicts the selection value B steps
ahead by linear extrapolation, :math:`\theta = r_t - (r_{t-B} - r_t)` (at least
:math:`r_t / 2`), and refreshes every row whose bound is at least :math:`\theta` with float32
matrix products: those rows are a subtree of the heap holding its root (found without reading
the others), sorted by stamp and cut into tiles of 1024 rows, run in parallel threads (the
kernels release the GIL; one single-threaded BLAS product per tile and chunk: on 2 cores this
halved the CPU time of a block refresh against one threaded product over 16384 rows, whose
serial screening left the BLAS threads spinning); centres oldest first in chunks of B/2, a
row joining once the chunk reaches its stamp and leaving as soon as its key drops below
:math:`\theta` (its stamp records how far it got, exactly as in step 3). Refreshing any rows
at any time leaves every key exact for its stamp, so this changes the speed, never the
result; afterwards the refreshed positions are sifted down, deepest first. The lazy loop then
mostly sees rows stale by fewer than B centres, which are in cache.

Batched refreshes. Between block refreshes, when the top row misses at least
``BATCH_MIN_STALE`` (64) centres, the lazy loop does not refresh it alone: it takes the up to
``BATCH_ROWS`` (256) stale rows at the top of the heap (best first, up to the first row whose
key is already exact) and refreshes them together with float32 matrix products of
``BATCH_CHUNK`` (512) centres, each row leaving once its key drops below the best key left
outside the batch (:func:`~unisel.select.engine._kernels.lazy_steps`). A row refreshed
earlier than the lazy loop would have done it takes the same oldest-first centres, so the
work is that of one-row refreshes up to the last chunk of each row, done as matrix products
(on the wide mixture at k = n/2 they were a third of the float32 dots, and the one-row
refreshes had done them as matrix-vector products). Again only the speed depends on it.

Cluster pruning. For ``n >= 8192`` (``prune=None``) the steps run in the cluster-pruned phase
of :mod:`unisel.select.engine._pruned` instead: rows are grouped around farthest-point
centres of a sample, and a bound on the inner product of a group (then of a row) with a
centre (group mean plus two radii, in a principal subspace and its complement) proves that
most centres cannot change any key of most groups. Those pairs are never computed; the
remaining ones get float32 dot products, and a centre that may lower a row's key stays
*pending* (the row's key is then known to within the tolerance below) until the row could
be selected, when it is decided in float64 exactly as below. On the Gaussian-mixture
benchmark (n = 100k, d = 384) it computes about 1.4% (k = n/10) and 0.8% (k = n/2) of the
plain loop's distances. The lazy loop above remains for smaller inputs, for ``prune=False``,
when a float32 copy of the rows would exceed 4 GiB, when the phase hands over (its bounds
skip too little) and when a trial of the phase on a subsample hands over at once (text
embeddings: see :func:`~unisel.select.engine._pruned.trial_hands_over`).

Exactness
---------
Distances are screened in float32 and decided in float64. Let :math:`\hat u_j` be
:math:`u_j` rounded to float32 and :math:`\hat\delta = 1 - \mathrm{fl}_{32}(\hat u_j \cdot \hat
u_s)` the float32 distance (any summation order: BLAS, numba ``fastmath``, torch). With unit
round-off :math:`\epsilon = 2^{-24}`,

.. math::
    |\hat\delta - \delta| \le \underbrace{\gamma_d}_{\text{float32 sum}}
    + \underbrace{2\epsilon(1+\epsilon)}_{\text{rounding } u \text{ to float32}}
    + \underbrace{2\epsilon}_{1 - x} + \underbrace{d\,2^{-52}}_{\text{float64 key}}
    \le \tau := 1.001\,(d + 6)\,\epsilon + 10^{-12},
    \qquad \gamma_d = \frac{d\epsilon}{1 - d\epsilon},

since :math:`\sum_l |u_{jl} u_{sl}| \le 1` for unit rows. When centre :math:`s` is folded into
row :math:`j`, its float64 key is computed (with the reference's own kernel, bit for bit) only
if :math:`\hat\delta \le \mathrm{md}[j] + \tau`; otherwise
:math:`\delta \ge \hat\delta - \tau > \mathrm{md}[j]` cannot lower the minimum. Hence ``md``
always holds reference keys exactly (never float32 values), near-ties within :math:`\tau` are
decided in float64, and the selected sequence and its distances are identical to
:func:`~unisel.select.engine.reference.maxmin_reference`, bit for bit. Block products (the
initial centres, ``device="torch"``/``"cuda"``) go through the same filter, so every device
returns the same sequence.

Euclidean metric
----------------
With ``metric="euclidean"`` the key is the canonical squared distance
:math:`\delta(j, s) = \mathrm{fl}_{64}\sum_l (x_{jl} - x_{sl})^2` of
:mod:`unisel.select.engine.reference` and the same loop runs on it (the reported distances
are :math:`\sqrt\delta`). The screen works on the rows shifted by their float64 column mean
:math:`m` (distances do not change under a shift, and the rounding error below scales with
the shifted norms, so data far from the origin still screens well):
:math:`z_j = \mathrm{fl}_{64}(x_j - m)`, :math:`\hat z_j` its float32 rounding,
:math:`A_j = \mathrm{fl}_{64}\lVert z_j\rVert^2`, and

.. math:: \hat\delta = A_j + A_s - 2\,\mathrm{fl}_{32}(\hat z_j \cdot \hat z_s)

(any float32 summation order). Since :math:`\sum_l |z_{jl} z_{sl}| \le (A_j + A_s)/2` up to
float64 rounding, the float32 product is within
:math:`(\gamma_d (1+\epsilon)^2 + 2\epsilon + \epsilon^2)(A_j + A_s)/2` of
:math:`z_j \cdot z_s`; the float64 terms (the canonical key against the exact distance, at
most :math:`(d+3)2^{-53}\cdot 2(A_j + A_s)`; the norms; the shift; the evaluation of
:math:`\hat\delta`) add at most :math:`(4d + 24)\,2^{-53}(A_j + A_s)`. Float32 underflow
(values below :math:`2^{-126}`) adds an absolute :math:`4(d+1)\,2^{-149}`. Hence

.. math:: |\hat\delta - \delta| \le \tau_{js} := 1.01\,(d + 4)\,\epsilon\,(A_j + A_s)
          + 4(d+1)\,2^{-149},

a norm-dependent tolerance (the same form as the squared-Euclidean :math:`\tau` of
:mod:`unisel.metrics.neighbors`), and the screen decides in float64 every pair with
:math:`\hat\delta \le \mathrm{md}[j] + \tau_{js}` exactly as above. Block products use the
same rows and the same test per pair, so the sequence and distances are again identical to
the reference's bit for bit on every device. Shifted squared norms above :math:`10^{36}`
(where float32 products would overflow) are refused with a ParameterError. The cluster-pruned
phase is cosine only (its bounds are written for unit rows); with ``metric="euclidean"`` the
lazy loop with block refreshes runs, ``prune=None`` leaves the phase off and ``prune=True``
or an int is a ParameterError.

Memory
------
The engine never materialises the normalised matrix. It holds, per row, 32 bytes (float64
norm, float64 key, int64 stamp, int64 heap slot), plus the chosen centres in float32
(:math:`4dk` bytes), plus one block of ``block_size`` rows while it folds the initial
centres (:math:`12\,d` bytes per row for the float64/float32 copies and :math:`4 \times 2048`
for the products), plus 8 bytes per row for the heap positions of a block refresh, 8 bytes
per refreshed row (their list) and, per thread, one tile of 1024 rows of
:math:`8\,d + 2\,B` bytes (two float32 row buffers and one product chunk; 5 MB at d = 384,
B = 1024). For n = 1M, d = 384, k = 100k that is about 40 MB + 154 MB + 110 MB
(``metric="euclidean"``: 16 more bytes per row, the shifted squared norms and a unit
divisor). ``X`` may be a memory-mapped ``.npy`` larger than RAM: it is read in blocks for the
norms and then row by row; those pages are file cache, not process memory. The pruned phase
adds a float32 copy of the rows, :math:`4nd` bytes (1.5 GB at n = 1M, d = 384; see its module
for the rest), which is why ``prune=None`` leaves it off above 4 GiB: pass ``prune=False`` to
keep the bound above for memory-mapped inputs that must stay out of RAM.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from unisel._progress import bars_enabled, progress_bar
from unisel.errors import ParameterError
from unisel.select.engine import _kernels as K
from unisel.select.engine import _pruned
from unisel.select.engine._backends import Matmul, resolve_device
from unisel.select.engine._canonical import euclidean_tolerance, tolerance
from unisel.select.engine._inputs import (
    DEFAULT_BLOCK,
    Checkpoint,
    as_rows,
    check_prefix,
    fingerprint,
    restore_state,
    row_norms,
)
from unisel.select.engine._threads import blas_threads, run_parallel
from unisel.select.engine.reference import check_metric

CENTRE_CHUNK = 2048  # centres per block product
DEFAULT_CHECKPOINT_EVERY = 5000  # steps between checkpoint writes
DEFAULT_REFRESH_EVERY = 1024  # steps between block refreshes (0: lazy refreshes only)
REFRESH_TILE = 1024  # rows per parallel tile of a block refresh
REFRESH_CHUNK: int | None = None  # centres per product of a block refresh (None: B / 2)
BATCH_ROWS = 256  # rows refreshed together when the top row is far behind (1: never)
BATCH_MIN_STALE = 64  # centres the top row must miss for a batched refresh
BATCH_CHUNK = 512  # centres per matrix product of a batched refresh
# Work counters of the last `maxmin` call (diagnostics for the benchmark): lazy refreshes,
# lazy float32 dots, lazy float64 keys, block-refreshed rows, block float32 dots, block keys.
LAST_STATS: list[int] = []
# ... and of its cluster-pruned phase: cluster refreshes, (cluster, centre) pairs screened,
# row-centre float32 dots, float64 keys, pairs pruned (empty when the phase did not run).
LAST_PRUNE_STATS: list[int] = []
# ... and whether prune=None's trial on a subsample left the phase off (None: no trial)
LAST_TRIAL: bool | None = None


EUCLID_MAX_SQ = 1e36  # largest shifted squared norm the float32 screen handles


def geometry(
    X: np.ndarray, nrm: np.ndarray, metric: str, block_size: int = DEFAULT_BLOCK
) -> K.Geometry:
    """The kernels' view of ``X`` for ``metric`` (``nrm``: the row norms of `row_norms`).

    Cosine: rows divided by their norms, no shift, tolerance :func:`tolerance`. Euclidean:
    rows shifted by their float64 column mean, the shifted squared norms, tolerance
    :func:`euclidean_tolerance`; raises ParameterError where float32 would overflow.
    """
    n, d = X.shape
    if metric != "euclidean":
        return K.Geometry(X, nrm, np.zeros(d), np.ones(n), False, tolerance(d), 0.0)
    step = max(1, min(block_size, (4 << 20) // (8 * max(1, d))))
    total = np.zeros(d)
    for lo in range(0, n, step):
        total += np.asarray(X[lo : lo + step], dtype=np.float64).sum(axis=0)
    shift = total / n
    sq = np.empty(n)
    for lo in range(0, n, step):
        Z = np.asarray(X[lo : lo + step], dtype=np.float64) - shift
        sq[lo : lo + step] = np.einsum("ij,ij->i", Z, Z)
    if n and not sq.max() <= EUCLID_MAX_SQ:
        raise ParameterError(
            "metric='euclidean' handles rows within 1e18 of the mean; scale the embeddings"
        )
    tol0, rel = euclidean_tolerance(d)
    return K.Geometry(X, np.ones(n), shift, sq, True, tol0, rel)


def prep32_rows(M: K.Geometry, rows: np.ndarray | slice) -> np.ndarray:
    """Screened float32 rows of ``M`` (as :func:`~unisel.select.engine._kernels.prep32`),
    shape (len(rows), d)."""
    block = np.asarray(M.X[rows], dtype=np.float64) - M.shift
    return (block / M.nrm[rows][:, None]).astype(np.float32)


def fold_centres(
    M: K.Geometry,
    centres: np.ndarray,
    md: np.ndarray,
    matmul: Matmul,
    block_size: int = DEFAULT_BLOCK,
) -> None:
    """Lower ``md`` (n,) to the exact canonical keys against ``centres`` with block products."""
    n = M.X.shape[0]
    centres = np.asarray(centres, dtype=np.int64)
    C32 = prep32_rows(M, centres)
    buf = np.empty((min(n, block_size), M.X.shape[1]), dtype=np.float32)
    for lo in range(0, n, block_size):
        hi = min(n, lo + block_size)
        rows = np.arange(lo, hi, dtype=np.int64)
        U32 = buf[: hi - lo]
        K.prep32_block(M, lo, U32)
        for c0 in range(0, len(centres), CENTRE_CHUNK):
            c1 = min(len(centres), c0 + CENTRE_CHUNK)
            D32 = np.ascontiguousarray(matmul(U32, C32[c0:c1]), dtype=np.float32)
            K.absorb_block(D32, rows, centres[c0:c1], M, md[lo:hi])


def maxmin(
    X: Any,
    k: int,
    *,
    start: int = 0,
    initial: Sequence[int] | None = None,
    device: str = "cpu",
    checkpoint: str | Path | None = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    block_size: int | None = None,
    n_jobs: int | None = None,
    refresh_every: int = DEFAULT_REFRESH_EVERY,
    prune: bool | int | None = None,
    metric: str = "cosine",
    loop: str | None = None,
    weights: np.ndarray | None = None,
    budget: float | None = None,
    quiet: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact greedy max-min selection, identical to `maxmin_reference`, fast.

    Parameters
    ----------
    X : ndarray of shape (n, d), np.memmap, or path to a ``.npy`` file
        Embeddings (float32/float64 used as they are; other real dtypes converted to float64).
        A path is opened memory-mapped and streamed (see the module docstring for the bound).
    k : int
        Length of the returned sequence, 1 <= k <= n (includes ``initial`` when given).
    start : int
        First row, used when ``initial`` is empty or None.
    initial : sequence of int, optional
        An existing selection to continue from; it becomes the prefix, and the result equals
        one longer run whose first ``len(initial)`` picks were these.
    device : {"cpu", "torch", "cuda", "cuda:N", "auto"}
        Where block products run (folding in ``initial`` and resumed state when the pruned
        phase is off; the pruned phase folds them with its own float32 copy on the CPU); the
        greedy loop runs compiled on CPU unless ``loop`` says otherwise (a CUDA device runs
        the device-resident loop by default). Every device returns the same sequence.
    checkpoint : path, optional
        ``.npz`` file holding the state; written atomically every ``checkpoint_every`` steps
        and at the end. If it exists, the run resumes from it after checking it was made
        from the same embeddings (shape and fingerprint) and the same start/initial.
    checkpoint_every : int
        Steps between checkpoint writes.
    block_size : int, optional
        Rows per block when streaming ``X`` (default 8192).
    n_jobs : int, optional
        Threads for block products (BLAS / torch) and for the kernel threads of the block
        refreshes and the pruned phase's group updates; None: the libraries' defaults and one
        kernel thread per core.
    refresh_every : int
        Steps between block refreshes of the rows likely to be popped next (float32 matrix
        products, oldest centres first, in chunks of ``refresh_every // 2`` centres); 0 turns
        them off (lazy per-row refreshes only). A speed knob: the result does not depend on it.
    prune : bool, int or None
        The cluster-pruned phase (:mod:`unisel.select.engine._pruned`): rows are grouped
        around farthest-point centres of a sample and a centre is skipped for every group it
        provably cannot reach. None (default) turns it on when ``n >= 8192`` and a
        float32 copy of the rows fits in 4 GiB; True forces it with the default number of
        clusters (about n / 128, at most 2048); an int forces it with that many clusters;
        False turns it off. If from 256 steps on its bounds have skipped less than a quarter
        of the (group, centre) pairs, the run goes on with the lazy loop; before that, when
        the share of distances its blocks compute rose twice in a row. With None and
        ``n >= 16384`` that early test first runs on an evenly spaced subsample of 8192 rows
        (:func:`~unisel.select.engine._pruned.trial_hands_over`, at most 40 steps), and
        where it fires the phase is not built. A speed knob: the result does not depend on
        it. Cosine only: with ``metric="euclidean"`` None means
        off and True or an int is a ParameterError.
    metric : {"cosine", "euclidean"}
        ``"cosine"`` (default): cosine distance of the unit rows. ``"euclidean"``: Euclidean
        distance of the rows as given (see "Euclidean metric" in the module docstring). A
        checkpoint records it and refuses to resume under the other one.
    loop : {None, "cpu", "device"}
        Where the greedy steps run: "cpu", the compiled loop described above; "device", the
        torch loop of :mod:`unisel.select.engine._torch_loop` with every per-row array on
        ``device`` ("cpu"/"torch" run it on CPU torch tensors; ``refresh_every`` is then its
        block length, >= 1, and ``prune`` must stay None/False; cosine only). None: "device"
        when ``device`` is, or "auto" resolves to, a CUDA device and the metric is cosine,
        else "cpu". Same result.
    weights, budget : ndarray of shape (n,) and float, optional
        A budget on the selection (token counts and a token budget): the result is the
        longest prefix of the greedy sequence whose weights sum to at most ``budget``, and
        ``k`` only an upper bound. The greedy stops at the end of the first block of steps
        (at most a few thousand) that crosses the budget, so the work is that of the prefix
        plus one block; without a budget nothing changes.
    quiet : bool
        No progress bar when True.

    Returns
    -------
    indices : ndarray of shape (k,), int64
        Selected rows in selection order (shorter than ``k`` under a budget).
    distances : ndarray of shape (k,), float64
        Canonical minimum distance (cosine, or Euclidean: the square root of the canonical
        squared key) of each row to the rows before it when chosen; ``inf`` for the first
        row, ``nan`` for the rows of ``initial`` after the first.
    """
    euclid = check_metric(metric) == "euclidean"
    if euclid and prune is not None and prune is not False:
        raise ParameterError("prune: the cluster-pruned phase supports metric='cosine' only")
    X = as_rows(X)
    n, d = X.shape
    if n == 0:
        raise ParameterError("embeddings have no rows")
    from unisel.select.engine import _torch_loop  # imports this module: not at the top

    if _torch_loop.uses_device_loop(loop, device, n, d, metric):
        # The device loop has no early stop: it runs to k and the budget keeps the prefix.
        stop_device = None if budget is None else _BudgetStop(weights, budget, n)
        idx, dist = _torch_loop.maxmin_device(
            X, k, start=start, initial=initial, device=device, checkpoint=checkpoint,
            checkpoint_every=checkpoint_every, block_size=block_size, n_jobs=n_jobs,
            refresh_every=refresh_every, prune=prune, metric=metric, quiet=quiet,
        )  # fmt: skip
        if stop_device is None:
            return idx, dist
        m = stop_device.prefix(idx, idx.shape[0])
        return idx[:m], dist[:m]
    prefix = check_prefix(n, k, start, initial)
    k = int(k)
    if (
        isinstance(refresh_every, bool)
        or not isinstance(refresh_every, (int, np.integer))
        or refresh_every < 0
    ):
        raise ParameterError(f"refresh_every must be a non-negative integer, got {refresh_every!r}")
    refresh_every = int(refresh_every)
    if checkpoint_every < 1:
        raise ParameterError(f"checkpoint_every must be positive, got {checkpoint_every}")
    block = int(block_size or DEFAULT_BLOCK)
    if block < 1:
        raise ParameterError(f"block_size must be positive, got {block_size}")
    _, matmul = resolve_device(device, n, d)
    if n_jobs is not None:
        matmul = _with_threads(matmul, int(n_jobs))
    tol = tolerance(d)
    n_clusters = 0 if euclid else _prune_clusters(prune, n, d)
    stop = None if budget is None else _BudgetStop(weights, budget, n)
    nrm = row_norms(X, block)
    M = geometry(X, nrm, metric, block)
    global LAST_TRIAL
    LAST_TRIAL = None
    if n_clusters and prune is None and n >= 2 * _pruned.TRIAL_ROWS:
        # the phase's own early hand-over, tried on a subsample before it is built for all
        # rows (its construction cost 0.2-0.3 s on 111k word2vec windows, where it hands over)
        LAST_TRIAL = _pruned.trial_hands_over(X, nrm, tol, block, n_jobs)
        if LAST_TRIAL:
            n_clusters = 0

    indices = np.empty(k, dtype=np.int64)
    distances = np.full(k, np.nan)
    ckpt = None
    state = None
    if checkpoint is not None:
        ckpt = Checkpoint(checkpoint, fingerprint(X, nrm), (n, d), prefix, metric)
        state = ckpt.load()

    if state is not None:
        t = int(state["t"])
        if t >= k or (stop is not None and stop.crossed(state["indices"], t)):
            m = min(t, k) if stop is None else stop.prefix(state["indices"], min(t, k))
            done = state["distances"][:m].copy()
            return state["indices"][:m].copy(), np.sqrt(done) if euclid else done
        md, stamp = restore_state(state, indices, distances)
    else:
        p = prefix.size
        indices[:p] = prefix
        distances[0] = np.inf
        md = np.full(n, np.inf)
        if n_clusters and p < k:
            # keys against no centre yet: the pruned phase folds the prefix in with its
            # float32 copy of the rows
            stamp = np.zeros(n, dtype=np.int64)
        else:
            fold_centres(M, prefix, md, matmul, block)
            stamp = np.full(n, p, dtype=np.int64)
        md[prefix] = -np.inf
        t = p

    C32 = np.empty((k, d), dtype=np.float32)
    C32[:t] = prep32_rows(M, indices[:t])
    stats = np.zeros(9, dtype=np.int64)
    p = prefix.size

    progress = None
    if bars_enabled(quiet):
        progress = progress_bar(total=k, initial=t, desc="max-min", unit="pick")
    chunk = max(256, min(checkpoint_every, max(1, k // 100)))
    if refresh_every:
        chunk = min(chunk, refresh_every)
    centre_chunk = max(1, refresh_every // 2) if REFRESH_CHUNK is None else REFRESH_CHUNK
    last_saved = t
    prune_stats = np.zeros(0, dtype=np.int64)
    try:
        if n_clusters and t < k:
            t, last_saved, prune_stats = _pruned_phase(
                X, nrm, C32, indices, distances, md, stamp, t, k, n_clusters, tol, block, n_jobs,
                ckpt, checkpoint_every, last_saved, progress, stop,
            )  # fmt: skip
        last_refresh = t
        heap, hsize = K.build_heap(md)
        positions = np.empty(hsize, dtype=np.int64) if refresh_every else heap[:0]
        arrays = _LoopArrays(M, C32, indices, distances, md, stamp)
        while t < k and (stop is None or not stop.crossed(indices, t)):
            if refresh_every and t - last_refresh >= refresh_every and t - refresh_every >= p:
                _block_refresh(
                    arrays, heap, hsize, t, refresh_every, centre_chunk, stats, n_jobs, positions
                )
                last_refresh = t
            t_end = min(k, t + chunk)
            # the batched refreshes' products are small: one BLAS thread (waking the others
            # for each of them cost more than it saved, many times over on a busy machine)
            with blas_threads(1):
                t_new, hsize = K.lazy_steps(
                    *arrays, heap, hsize, t, t_end, stats, BATCH_ROWS, BATCH_MIN_STALE, BATCH_CHUNK
                )
            if progress is not None:
                progress.update(t_new - t)
            t = t_new
            if ckpt is not None and t - last_saved >= checkpoint_every and t < k:
                ckpt.save(t, indices, distances, md, stamp)
                last_saved = t
    finally:
        if progress is not None:
            progress.close()
    if ckpt is not None:
        ckpt.save(t, indices, distances, md, stamp)
    global LAST_STATS, LAST_PRUNE_STATS
    LAST_STATS = stats.tolist()
    LAST_PRUNE_STATS = prune_stats.tolist()
    if stop is not None:
        t = stop.prefix(indices, t)
    # Euclidean keys are squared distances (checkpoints keep them so); report the distances
    out = distances[:t] if t < k else distances
    return (indices[:t].copy() if t < k else indices), (np.sqrt(out) if euclid else out)


class _BudgetStop:
    """Running weight of the selected rows, for a budget-bounded run."""

    def __init__(self, weights: np.ndarray | None, budget: float, n: int) -> None:
        if weights is None:
            raise ParameterError("a budget needs weights (one per row)")
        w = np.asarray(weights)
        if w.shape != (n,):
            raise ParameterError(f"weights must have shape ({n},), got {w.shape}")
        self.weights = w
        self.budget = budget
        self.total = 0.0
        self.seen = 0

    def crossed(self, indices: np.ndarray, t: int) -> bool:
        """Whether the first ``t`` selected rows weigh more than the budget."""
        if t > self.seen:
            self.total += float(self.weights[indices[self.seen : t]].sum())
            self.seen = t
        return self.total > self.budget

    def prefix(self, indices: np.ndarray, t: int) -> int:
        """Length of the longest prefix of ``indices[:t]`` within the budget."""
        cum = np.cumsum(self.weights[indices[:t]], dtype=np.float64)
        return int(np.searchsorted(cum, self.budget, side="right"))


def _pruned_phase(
    X: np.ndarray,
    nrm: np.ndarray,
    C32: np.ndarray,
    indices: np.ndarray,
    distances: np.ndarray,
    md: np.ndarray,
    stamp: np.ndarray,
    t: int,
    k: int,
    n_clusters: int,
    tol: float,
    block: int,
    n_jobs: int | None,
    ckpt: Checkpoint | None,
    checkpoint_every: int,
    last_saved: int,
    progress: Any,
    stop: _BudgetStop | None = None,
) -> tuple[int, int, np.ndarray]:
    """Greedy steps in the cluster-pruned phase, from ``t`` to ``k`` or to a hand-over.

    Leaves ``md``/``stamp`` as the lazy loop expects them (every key exact for the ``t``
    centres) and returns ``(t, last_saved, work counters)``. The phase hands over when its
    bounds skip too little (groups too wide for the data; :meth:`PrunedState.hand_over`).
    """
    # one BLAS thread throughout: the phase runs its own threads (group geometry, nearest
    # seeds, synchronisations), and its products are small (the group means, once per
    # block: with BLAS threads still spinning after it, a 100k x 10k run took 1.8-2.4 s
    # instead of 1.0-1.5 s; the sample's eigendecomposition and seed search took seconds on
    # a busy machine with two BLAS threads, a tenth of a second with one)
    with blas_threads(1):
        state = _pruned.PrunedState(
            X, nrm, C32, indices, md, stamp, t, n_clusters, tol, block, n_jobs=n_jobs
        )
        while t < k:
            t_end = min(k, t + _pruned.block_length(t))
            t_new = state.steps(distances, t, t_end)
            if progress is not None:
                progress.update(t_new - t)
            t = t_new
            if stop is not None and stop.crossed(indices, t):
                break
            if state.hand_over(t):
                break
            if ckpt is not None and t - last_saved >= checkpoint_every and t < k:
                state.write_back(md, stamp, t)  # every group is up to date after a block
                ckpt.save(t, indices, distances, md, stamp)
                last_saved = t
    stopped = stop is not None and stop.crossed(indices, t)
    # someone reads the keys (the lazy loop, a checkpoint): decide the pending ones
    if (t < k and not stopped) or ckpt is not None:
        state.write_back(md, stamp, t)
    return t, last_saved, state.stats


class _LoopArrays(NamedTuple):
    """The arrays of the greedy loop, in the order of the first arguments of
    :func:`~unisel.select.engine._kernels.lazy_steps` (see :mod:`~unisel.select.engine._kernels`
    for what they hold)."""

    M: K.Geometry
    C32: np.ndarray
    indices: np.ndarray
    distances: np.ndarray
    md: np.ndarray
    stamp: np.ndarray


def _block_refresh(
    arrays: _LoopArrays,
    heap: np.ndarray,
    hsize: int,
    t: int,
    window: int,
    centre_chunk: int,
    stats: np.ndarray,
    n_jobs: int | None,
    positions: np.ndarray,
) -> None:
    """Refresh, with block products, the rows the next ``window`` steps will probably pop.

    ``heap[:hsize]``: the heap of the unselected rows; ``positions``: int64 scratch of at
    least ``hsize`` entries.

    The selection value fell from ``r_then`` to ``r_now`` over the last ``window`` steps; the
    rows whose bound is at least ``theta = r_now - (r_then - r_now)`` (the value predicted
    ``window`` steps ahead) are brought up to date, oldest centres first, each leaving as soon
    as its key drops below ``theta``. Any subset of rows may be refreshed at any time without
    changing the result (keys stay exact for their stamps); the prediction only decides how
    much of the lazy loop's work is done as matrix products instead. ``theta`` is clamped to
    at least ``r_now / 2``.
    """
    M, C32, indices, distances, md, stamp = arrays
    theta = _refresh_threshold(distances, t, window)
    if not theta > 0.0:
        return  # only duplicates of chosen rows are left: nothing for a block product to do
    # the rows at or above theta: a subtree of the heap, found without reading the others
    positions = positions[: K.top_subtree(heap, hsize, md, theta, positions)]
    rows = heap[positions]
    rows = rows[stamp[rows] < t]
    if rows.size == 0:
        return
    rows = rows[np.argsort(stamp[rows], kind="stable")]
    # tiles of consecutive rows hold disjoint keys and stamps, so threads can refresh them at
    # once; one BLAS thread each (spinning BLAS threads would compete with them)
    n_tiles = -(-rows.size // REFRESH_TILE)
    parts = np.zeros((n_tiles, stats.size), dtype=np.int64)

    def tile(i: int) -> None:
        lo = i * REFRESH_TILE
        K.eager_refresh(
            M, C32, indices, md, stamp, rows[lo : lo + REFRESH_TILE], t, theta, centre_chunk,
            parts[i], 3,
        )  # fmt: skip

    with blas_threads(1):
        run_parallel(tile, n_tiles, n_jobs)
    stats += parts.sum(axis=0)
    K.sift_down_each(heap, hsize, md, positions)


def _refresh_threshold(distances: np.ndarray, t: int, window: int) -> float:
    """The selection value predicted ``window`` steps ahead (0: nothing to refresh)."""
    r_now, r_then = float(distances[t - 1]), float(distances[t - window])
    if not r_now > 0.0:
        return 0.0
    # never below half the current value, so a steep drop cannot refresh every row at once
    return max(r_now - (r_then - r_now), 0.5 * r_now)


def _prune_clusters(prune: bool | int | None, n: int, d: int) -> int:
    """Number of clusters of the pruned phase (0: off) for the ``prune`` argument."""
    if prune is None:
        return _pruned.n_clusters(n) if _pruned.auto_enabled(n, d) else 0
    if isinstance(prune, (bool, np.bool_)):
        return _pruned.n_clusters(n) if prune else 0
    if not isinstance(prune, (int, np.integer)) or prune < 1:
        raise ParameterError(f"prune must be None, a bool or a positive integer, got {prune!r}")
    return int(prune)


def _with_threads(matmul: Matmul, n_jobs: int) -> Matmul:
    """Run ``matmul`` with at most ``n_jobs`` BLAS threads (threadpoolctl, from scikit-learn)."""

    def limited(A: np.ndarray, B: np.ndarray) -> np.ndarray:
        with blas_threads(max(1, n_jobs)):
            return matmul(A, B)

    return limited
