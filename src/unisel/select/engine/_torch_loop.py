r"""The device-resident greedy loop: blocked lazy refresh in torch, on a GPU or on CPU torch.

Which loop runs
---------------
:func:`unisel.select.engine.maxmin` has two greedy loops with identical output. ``loop="cpu"``
is the compiled numba loop of :mod:`unisel.select.engine.fast` (block products may still go to
``device``). ``loop="device"`` is this module: every per-row array lives on the torch device
and the steps run there. ``loop=None`` (default) picks ``"device"`` when ``device`` is (or
``"auto"`` resolves to) ``"cuda"``/``"cuda:N"`` and ``"cpu"`` otherwise; ``loop="device"``
with ``device="cpu"`` or ``"torch"`` runs this loop on CPU torch tensors (how the tests run
it).

State on the device
-------------------
For ``n`` rows of dimension ``d``: the raw rows ``X`` in their dtype and their float64 norms
(for canonical keys), the float32 unit rows ``U32`` (for screening), ``md`` (float64; the
canonical key of each row against the centres ``0 .. stamp - 1``, ``-inf`` once selected),
``stamp`` (int64) and the selected indices and distances: :math:`(4 + s) n d + 24 n` bytes
with ``s`` the input's item size (3.1 GB at n = 1M, d = 384, float32 input). ``md`` and
``stamp`` have exactly the meaning of the CPU engine's, so its checkpoints are shared: a run
checkpointed by one loop resumes in the other.

Blocks
------
Every block of at most ``B = refresh_every`` steps:

1. *Predict* the selection value ``B`` steps ahead as the CPU engine does,
   :math:`\theta = \max(r_t - s\,(r_{t-B} - r_t),\ r_t / 2)` with the span :math:`s = 1`
   doubled (up to 8) after each block that ended early on :math:`\theta` and halved after
   each full one; without that much history :math:`\theta` is the :math:`L`-th largest bound,
   :math:`L = 4sB` (doubled again each time the block below finds nothing).
2. *Refresh* every unselected row with ``md >= theta`` and ``stamp < t``: rows sorted by
   stamp, centres oldest first in chunks of ``2 B``, one float32 matrix product per chunk,
   a row leaving as soon as its key drops below :math:`\theta` (its stamp says how far it got).
   Pairs are screened in float32 with the tolerance :math:`\tau(d)` of
   :func:`~unisel.select.engine._canonical.tolerance` and decided with canonical float64 keys.
3. The *active set* ``A`` = unselected rows with ``md >= theta``: all are now exact for the
   ``t`` centres. Each step then touches only ``A``: pick the largest key of ``A`` (first
   position, ``A`` in ascending row order, so ties go to the lowest index), and fold the new
   centre into ``A`` with one float32 matrix-vector product and the screen
   :math:`\hat\delta \le \mathrm{md} + \tau`. A row that passes with
   :math:`\hat\delta + \tau < \theta` is *dropped*: its new key is below :math:`\theta`, so it
   cannot be picked in this block; it leaves ``A`` with its key and stamp from before this
   centre (still exact for that stamp; a later refresh goes on from there if it must). The
   other rows that pass (few: those near the selection value) get canonical keys, compacted
   into a buffer of fixed capacity ``cap``.

The pick is the exact argmax over *all* rows as long as its key is at least :math:`\theta`:
every row outside ``A`` has a bound, and every dropped row a key, below :math:`\theta`. A step whose best key is below
:math:`\theta` is not taken and the block ends (its centre count is what the next refresh
starts from); so does a step with more than ``cap`` screened rows (its centre is taken but
not folded into ``A``; the next refresh folds it, and ``cap`` doubles). Either way no key is
ever approximate, and the sequence and distances equal
:func:`~unisel.select.engine.reference.maxmin_reference` bit for bit.

Canonical keys on the device
----------------------------
The key is :math:`1 - \langle u_j, u_s\rangle` with :math:`u = X / \lVert X\rVert` divided per
element in float64 and the inner product summed in the fixed order of
:mod:`unisel.select.engine._canonical` (8 lanes, sequential in ``i``, then a fixed pairwise
combine). Here it is built from elementwise float64 torch operations (division by a
*tensor*, never by a Python scalar, which CUDA turns into a multiplication by the reciprocal;
products; additions), each correctly rounded in IEEE arithmetic and independent of the
device, so the key is bit for bit the numba kernel's. The ``d / 8`` sequential lane steps are
either ``d / 8`` additions on a ``P x 8`` tensor, or one ``torch.cumsum`` over the step
dimension of a ``P x (d / 8) x 8`` tensor: torch documents no order for it, but its CPU kernel
and its CUDA kernel for a non-innermost dimension run one sequential loop per column, the
canonical order. ``cumsum`` is used only where a probe on random data of mixed magnitude
(:func:`agrees_with_adds`, once per device and ``d``) found it bit for bit equal to the
additions, which any other order fails; ``LANE_SUMS = "adds"`` turns it off. ``sum`` and
``matmul`` are never used for a key: their order is not fixed.

Host synchronisation
--------------------
A step issues about 40 small kernels (about ``d / 8`` more where the probe fails) and no host
synchronisation: the pick, the "block still valid" flag and the counters stay on the device,
and the failed-step handling above makes every later step of a block a no-op once one fails.
The host reads the block's outcome once per block (a few scalars and the block's ``B``
picks) and synchronises a few times per centre chunk in the refresh (variable-size screened
pairs). All shapes are fixed within a block, so a CUDA graph of the block could remove the
per-kernel launch cost; that is not done here. No GPU was available when this was written:
nothing here has been timed on one (see ``benchmarks/gpu_check.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from unisel._progress import bars_enabled, progress_bar
from unisel.errors import ParameterError
from unisel.select.engine import _inputs
from unisel.select.engine._backends import _full_float32, resolve_device
from unisel.select.engine._canonical import tolerance
from unisel.select.engine.reference import DUPLICATE_TOLERANCE, check_metric

LOOPS = ("cpu", "device")
DEFAULT_CAP = 64  # screened rows per step before the block ends and the capacity doubles
FALLBACK_ROWS = 4  # first fallback theta: the (FALLBACK_ROWS * B)-th largest bound
MAX_SPAN = 8  # at most this many times the extrapolated drop after early block ends
PAIR_ELEMENTS = 1 << 24  # float64 elements per batch of canonical keys / refresh product
# Work counters of the last call: blocks, steps taken in blocks, blocks ended by theta,
# blocks ended by the capacity, refreshed rows, refresh float32 dots, refresh float64 keys,
# step float32 dots, step float64 keys (buffer slots evaluated); and cumsum_lane_sums, 1 when
# the keys' lane sums ran as one cumsum (see "Canonical keys on the device").
LAST_STATS: dict[str, int] = {}


def uses_device_loop(loop: str | None, device: str, n: int, d: int, metric: str = "cosine") -> bool:
    """Whether ``maxmin(..., device=device, loop=loop, metric=metric)`` runs this module's loop.

    ``loop=None``: yes when ``device`` is, or ``"auto"`` resolves to, a CUDA device and the
    metric is cosine (the only one this loop has).
    """
    if loop is None:
        name, _ = resolve_device(device, n, d)
        return name.startswith("cuda") and metric == "cosine"
    if loop not in LOOPS:
        raise ParameterError(f"unknown loop {loop!r}; use 'cpu', 'device' or None")
    return loop == "device"


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is installed with unisel[embed]
        raise ParameterError("loop='device' needs torch: pip install 'unisel[embed]'") from exc
    return torch


def torch_device(device: str, n: int, d: int) -> Any:
    """The torch device for ``device`` ("cpu"/"torch": CPU tensors; "cuda[:N]"; "auto")."""
    torch = _torch()
    if device == "auto":
        device, _ = resolve_device(device, n, d)
    if device in ("cpu", "torch"):
        return torch.device("cpu")
    if device == "cuda" or device.startswith("cuda:"):
        resolve_device(device, n, d)  # raises when torch sees no CUDA device
        return torch.device(device)
    raise ParameterError(f"unknown device {device!r}; use 'cpu', 'torch', 'cuda' or 'auto'")


def _lane_sums_by_adds(body: Any) -> Any:
    """``acc[..., l] = (((0 + body[..., 0, l]) + body[..., 1, l]) + ...)``: one add per step."""
    torch = _torch()
    acc = torch.zeros((*body.shape[:-2], 8), dtype=torch.float64, device=body.device)
    for i in range(body.shape[-2]):
        acc += body[..., i, :]
    return acc


# (device, steps) -> whether torch.cumsum over a non-innermost dimension sums in sequence
# there (see `_cumsum_is_sequential`)
_CUMSUM_SEQUENTIAL: dict[tuple[str, int], bool] = {}


def _cumsum_lane_sums(body: Any) -> Any:
    return _torch().cumsum(body, dim=-2)[..., -1, :]


def agrees_with_adds(lane_sums: Any, device: Any, steps: int) -> bool:
    """Whether ``lane_sums(body)`` equals :func:`_lane_sums_by_adds` bit for bit on ``device``.

    Probed on random float64 data of mixed magnitude and sign, ``(rows, steps, 8)`` for three
    row counts: any other summation order rounds differently in many of its 6,000 columns.
    """
    torch = _torch()
    gen = np.random.default_rng(steps)
    for rows in (1, 33, 717):
        probe = gen.standard_normal((rows, steps, 8)) * np.exp(
            gen.uniform(-20, 20, (rows, steps, 8))
        )
        body = torch.from_numpy(probe).to(device)
        if not torch.equal(lane_sums(body), _lane_sums_by_adds(body)):
            return False
    return True


def _cumsum_is_sequential(device: Any, steps: int) -> bool:
    """Whether ``torch.cumsum(body, dim=-2)`` sums in the canonical lane order on ``device``.

    Torch documents no summation order for ``cumsum``; its CPU kernel and its CUDA kernel for
    a non-innermost dimension both run one sequential loop per column, which is the canonical
    order in one kernel instead of ``steps``. Checked with :func:`agrees_with_adds` once per
    device and ``steps``; where it disagrees the additions are used.
    """
    key = (str(device), steps)
    if key not in _CUMSUM_SEQUENTIAL:
        _CUMSUM_SEQUENTIAL[key] = agrees_with_adds(_cumsum_lane_sums, device, steps)
    return _CUMSUM_SEQUENTIAL[key]


LANE_SUMS = "auto"  # "auto": cumsum where it probed sequential, else additions; "adds"


def canonical_keys(Xd: Any, nrm: Any, rows: Any, cols: Any) -> Any:
    """Canonical float64 keys of the row pairs ``(rows[p], cols[p])``, shape (P,).

    ``Xd`` (n, d) raw rows on the device, ``nrm`` (n,) their float64 norms (0 replaced by 1),
    ``rows``/``cols`` int64 index tensors of equal length (``cols`` may also have one
    element: one centre for every row). Equal, bit for bit, to
    :func:`unisel.select.engine._kernels.exact_key`; see the module docstring for why.
    """
    torch = _torch()
    a = Xd[rows].to(torch.float64) / nrm[rows].unsqueeze(-1)
    b = Xd[cols].to(torch.float64) / nrm[cols].unsqueeze(-1)
    prod = a * b
    lead = prod.shape[:-1]
    d = prod.shape[-1]
    m = d - d % 8
    body = prod[..., :m].reshape(*lead, m // 8, 8)
    if m and LANE_SUMS == "auto" and _cumsum_is_sequential(prod.device, m // 8):
        acc = _cumsum_lane_sums(body)
    else:
        acc = _lane_sums_by_adds(body)
    if d > m:
        acc[..., : d - m] += prod[..., m:]
    # ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)), one addition per level
    pairs = acc[..., 0::2] + acc[..., 1::2]
    quads = pairs[..., 0::2] + pairs[..., 1::2]
    dist = 1.0 - (quads[..., 0] + quads[..., 1])
    return torch.where(dist < DUPLICATE_TOLERANCE, torch.zeros_like(dist), dist)


class _DeviceState:
    """Rows, keys and the selection on the torch device; the block loop's methods."""

    def __init__(
        self,
        X: np.ndarray,
        nrm: np.ndarray,
        k: int,
        dev: Any,
        block_size: int,
        refresh_every: int,
        cap: int,
    ) -> None:
        torch = _torch()
        self.torch = torch
        self.dev = dev
        n, d = X.shape
        self.n, self.d, self.k = n, d, k
        self.tau = tolerance(d)
        self.B = refresh_every
        # larger than the CPU engine's B / 2: a chunk is one product and a few host
        # synchronisations, and a device does the extra products of a late exit cheaply
        self.centre_chunk = 2 * refresh_every
        self.cap = cap
        self.nrm = torch.from_numpy(np.ascontiguousarray(nrm)).to(dev)
        self.X = torch.empty((n, d), dtype=getattr(torch, X.dtype.name), device=dev)
        self.U32 = torch.empty((n, d), dtype=torch.float32, device=dev)
        for lo in range(0, n, block_size):  # streamed: X may be memory-mapped
            hi = min(n, lo + block_size)
            part = torch.from_numpy(np.array(X[lo:hi])).to(dev)  # a copy: X may be read-only
            self.X[lo:hi] = part
            self.U32[lo:hi] = (part.to(torch.float64) / self.nrm[lo:hi].unsqueeze(1)).float()
        self.ind = torch.zeros(k, dtype=torch.int64, device=dev)
        self.dist = torch.full((k,), math.nan, dtype=torch.float64, device=dev)
        self.stats = dict.fromkeys(
            (
                "blocks",
                "block_steps",
                "theta_ends",
                "cap_ends",
                "refresh_rows",
                "refresh_dots",
                "refresh_keys",
                "step_dots",
                "step_keys",
            ),
            0,
        )

    # -- state in and out ------------------------------------------------------------------
    def load(self, indices: np.ndarray, distances: np.ndarray, md: np.ndarray, stamp: np.ndarray):
        torch = self.torch
        t = indices.size
        self.ind[:t] = torch.from_numpy(np.ascontiguousarray(indices, dtype=np.int64)).to(self.dev)
        self.dist[:t] = torch.from_numpy(np.ascontiguousarray(distances, dtype=np.float64)).to(
            self.dev
        )
        self.md = torch.from_numpy(np.ascontiguousarray(md, dtype=np.float64)).to(self.dev)
        self.stamp = torch.from_numpy(np.ascontiguousarray(stamp, dtype=np.int64)).to(self.dev)

    def keys_to_host(self) -> tuple[np.ndarray, np.ndarray]:
        return self.md.cpu().numpy().copy(), self.stamp.cpu().numpy().copy()

    # -- refresh -----------------------------------------------------------------------------
    def refresh(self, t: int, theta: float, mask: Any = None) -> None:
        """Bring unselected rows with ``md >= theta`` (and ``mask``) up to ``t`` centres.

        Oldest centres first in chunks; a row joins once the chunk reaches its stamp and leaves
        as soon as its key drops below ``theta``. Every key stays exact for its stamp.
        """
        torch = self.torch
        live = (self.md > -math.inf) & (self.md >= theta) & (self.stamp < t)
        if mask is not None:
            live &= mask
        rows = torch.nonzero(live).squeeze(1)
        if rows.numel() == 0:
            return
        self.stats["refresh_rows"] += int(rows.numel())
        rows = rows[torch.argsort(self.stamp[rows], stable=True)]
        st = self.stamp[rows].cpu().numpy()
        act = rows[:0]
        nxt = 0
        c0 = int(st[0])
        while c0 < t:
            c1 = min(t, c0 + self.centre_chunk)
            join = int(np.searchsorted(st, c1, side="left"))  # rows with stamp < c1
            if join > nxt:
                act = torch.cat([act, rows[nxt:join]])
                nxt = join
            if act.numel() == 0:
                if nxt >= st.size:
                    break
                c0 = int(st[nxt])
                continue
            C = self.U32[self.ind[c0:c1]]
            step = max(1, PAIR_ELEMENTS // (c1 - c0))
            for p0 in range(0, act.numel(), step):
                self._fold(act[p0 : p0 + step], C, c0, c1)
            self.stamp[act] = c1
            if theta > -math.inf:
                act = act[self.md[act] >= theta]
            c0 = c1

    def _fold(self, r: Any, C: Any, c0: int, c1: int) -> None:
        """Fold centres ``c0 .. c1 - 1`` (float32 rows ``C``) into rows ``r`` not yet seeing them."""
        torch = self.torch
        with _full_float32(torch):
            D = self.U32[r] @ C.T
        dist = 1.0 - D.to(torch.float64)
        b0 = (self.stamp[r] - c0).clamp(min=0)
        valid = torch.arange(c1 - c0, device=self.dev).unsqueeze(0) >= b0.unsqueeze(1)
        self.stats["refresh_dots"] += int(valid.sum())
        dist = torch.where(valid, dist, torch.full_like(dist, math.inf))
        lo32 = dist.min(dim=1).values
        # no canonical key is needed where the float32 distance is more than tau above the
        # row's key (it cannot lower it) or more than 2 tau above the row's smallest one
        cut = torch.minimum(self.md[r] + self.tau, lo32 + 2.0 * self.tau)
        a_idx, b_idx = torch.nonzero(valid & (dist <= cut.unsqueeze(1)), as_tuple=True)
        if a_idx.numel() == 0:
            return
        rr = r[a_idx]
        cc = self.ind[c0 + b_idx]
        self.stats["refresh_keys"] += int(rr.numel())
        step = max(1, PAIR_ELEMENTS // self.d)
        for q0 in range(0, rr.numel(), step):
            keys = canonical_keys(self.X, self.nrm, rr[q0 : q0 + step], cc[q0 : q0 + step])
            self.md.scatter_reduce_(0, rr[q0 : q0 + step], keys, reduce="amin")

    # -- blocks ------------------------------------------------------------------------------
    def theta_fallback(self, rows: int) -> float:
        """The ``rows``-th largest bound of the unselected rows (all of them if fewer)."""
        torch = self.torch
        bounds = self.md[self.md > -math.inf]
        if bounds.numel() == 0:
            return math.inf
        return float(torch.topk(bounds, min(rows, bounds.numel())).values[-1])

    def block(self, t: int, steps: int, theta: float) -> tuple[int, int]:
        """Up to ``steps`` greedy steps from ``t`` on the active set of ``theta``.

        Returns ``(taken, folded)``: the steps taken, and how many of their centres were folded
        into the active rows (``taken`` or ``taken - 1``). Needs every unselected row with
        ``md >= theta`` to be exact for ``t`` centres (what :meth:`refresh` leaves).
        """
        torch = self.torch
        dev = self.dev
        idx = torch.nonzero(self.md >= theta).squeeze(1)  # ascending: first max = lowest index
        m = int(idx.numel())
        if m == 0:
            return 0, 0
        idx_p = torch.cat([idx, idx[:1]])  # slot m: a dummy that is never a candidate
        neg_inf = torch.tensor(-math.inf, dtype=torch.float64, device=dev)
        pos_inf = torch.tensor(math.inf, dtype=torch.float64, device=dev)
        mdA = torch.cat([self.md[idx], neg_inf.view(1)])
        saved = mdA.clone()  # a dropped row's key, exact for the centres before its drop
        dropped_at = torch.full((m + 1,), -1, dtype=torch.int64, device=dev)
        UA = self.U32[idx_p]
        cap = min(self.cap, m)
        slots_all = torch.arange(m + 1, device=dev)
        buf = torch.empty(cap + 1, dtype=torch.int64, device=dev)
        theta_t = torch.tensor(theta, dtype=torch.float64, device=dev)
        alive = torch.tensor(True, device=dev)
        taken = torch.zeros((), dtype=torch.int64, device=dev)
        folded = torch.zeros((), dtype=torch.int64, device=dev)
        with _full_float32(torch):
            for s in range(steps):
                # 1-element index tensors throughout: a 0-d one may be read back as an int
                i = torch.argmax(mdA).view(1)
                best = mdA.index_select(0, i)
                alive = alive & (best[0] >= theta_t)
                g = idx_p.index_select(0, i)
                self.ind[t + s : t + s + 1] = g
                self.dist[t + s : t + s + 1] = best
                taken += alive
                mdA.index_copy_(0, i, torch.where(alive, neg_inf, best))
                if t + s + 1 == self.k:
                    break  # the last centre is never folded
                dist32 = 1.0 - (UA @ UA.index_select(0, i)[0]).to(torch.float64)
                cand = dist32 <= mdA + self.tau
                # the new key is at most dist32 + tau: below theta, the row cannot be picked in
                # this block, so it is dropped with its key so far instead of getting a new one
                drop = cand & (dist32 + self.tau < theta_t)
                need = cand & ~drop
                pos = torch.cumsum(need, 0) - 1
                alive = alive & (pos[-1] < cap)
                buf.fill_(m)
                buf.scatter_(0, torch.where(need & (pos < cap), pos, cap), slots_all)
                slots = buf[:cap]
                keys = canonical_keys(self.X, self.nrm, idx_p[slots], g)
                drop &= alive
                saved = torch.where(drop, mdA, saved)
                dropped_at.masked_fill_(drop, t + s + 1)
                mdA.masked_fill_(drop, -math.inf)
                mdA.scatter_reduce_(0, slots, torch.where(alive, keys, pos_inf), reduce="amin")
                folded += alive
        n_taken, n_folded = int(taken), int(folded)
        self.stats["blocks"] += 1
        self.stats["block_steps"] += n_taken
        self.stats["step_dots"] += m * n_folded
        self.stats["step_keys"] += cap * n_folded
        # write back: an active row's key is exact for t + n_folded centres, a dropped one's
        # for the centres before the one that dropped it
        was_dropped = dropped_at[:m] >= 0
        self.md[idx] = torch.where(was_dropped, saved[:m], mdA[:m])
        self.stamp[idx] = torch.where(was_dropped, dropped_at[:m] - 1, t + n_folded)
        if n_folded < n_taken and t + n_taken < self.k:
            self.stats["cap_ends"] += 1
            self.cap = min(2 * self.cap, max(self.cap, self.n))
        elif n_taken < steps and t + n_taken < self.k:
            self.stats["theta_ends"] += 1
        return n_taken, n_folded


def predict_theta(
    distances: np.ndarray, t: int, window: int, p: int, span: float = 1.0
) -> float | None:
    """The value predicted ``window`` steps ahead (None: not that much history).

    The CPU engine's linear extrapolation :math:`r_t - (r_{t-B} - r_t)` with the drop
    multiplied by ``span``, at least :math:`r_t / 2`.
    """
    if window < 1 or t - window < max(p, 1):
        return None
    r_now, r_then = float(distances[t - 1]), float(distances[t - window])
    if not r_now > 0.0:
        return 0.0  # only duplicates of chosen rows are left
    return max(r_now - span * (r_then - r_now), 0.5 * r_now)


@contextmanager
def _torch_threads(torch: Any, dev: Any, n_jobs: int | None) -> Iterator[None]:
    if n_jobs is None or dev.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n_jobs)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def maxmin_device(
    X: Any,
    k: int,
    *,
    start: int = 0,
    initial: Sequence[int] | None = None,
    device: str = "cuda",
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 5000,
    block_size: int | None = None,
    n_jobs: int | None = None,
    refresh_every: int = 1024,
    prune: bool | int | None = None,
    metric: str = "cosine",
    quiet: bool = True,
    cap: int = DEFAULT_CAP,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact greedy max-min on a torch device, identical to `maxmin_reference`.

    Parameters are those of :func:`unisel.select.engine.maxmin` (``loop="device"``), with
    these differences: ``device`` is the torch device ("cuda", "cuda:N", "auto"; "cpu" or
    "torch" for CPU tensors); ``refresh_every`` (>= 1) is the block length ``B``; ``prune``
    (the CPU loop's cluster-pruned phase) must be None or False; ``n_jobs`` sets torch's CPU
    threads; ``cap`` is the first capacity of the per-step candidate buffer (a speed knob,
    doubled whenever a step needs more). Only ``metric="cosine"``.

    Returns
    -------
    indices : ndarray of shape (k,), int64
    distances : ndarray of shape (k,), float64
        As :func:`unisel.select.engine.maxmin`, bit for bit.
    """
    if check_metric(metric) != "cosine":
        raise ParameterError(f"loop='device' supports metric='cosine' only, got {metric!r}")
    if prune not in (None, False):
        raise ParameterError("prune applies to loop='cpu'; the device loop has no pruned phase")
    X = _inputs.as_rows(X)
    n, d = X.shape
    if n == 0:
        raise ParameterError("embeddings have no rows")
    prefix = _inputs.check_prefix(n, k, start, initial)
    k = int(k)
    if (
        isinstance(refresh_every, bool)
        or not isinstance(refresh_every, (int, np.integer))
        or refresh_every < 1
    ):
        raise ParameterError(
            f"refresh_every (the block length of loop='device') must be a positive integer, "
            f"got {refresh_every!r}"
        )
    if checkpoint_every < 1:
        raise ParameterError(f"checkpoint_every must be positive, got {checkpoint_every}")
    block = int(block_size or _inputs.DEFAULT_BLOCK)
    if block < 1:
        raise ParameterError(f"block_size must be positive, got {block_size}")
    if isinstance(cap, bool) or not isinstance(cap, (int, np.integer)) or cap < 1:
        raise ParameterError(f"cap must be a positive integer, got {cap!r}")
    torch = _torch()
    dev = torch_device(device, n, d)
    nrm = _inputs.row_norms(X, block)

    ckpt = None
    state = None
    if checkpoint is not None:
        ckpt = _inputs.Checkpoint(checkpoint, _inputs.fingerprint(X, nrm), (n, d), prefix)
        state = ckpt.load()
    indices = np.empty(k, dtype=np.int64)
    distances = np.full(k, np.nan)
    if state is not None:
        t = int(state["t"])
        if t >= k:
            return state["indices"][:k].copy(), state["distances"][:k].copy()
        md, stamp = _inputs.restore_state(state, indices, distances)
    else:
        t = prefix.size
        indices[:t] = prefix
        distances[0] = np.inf
        md = np.full(n, np.inf)
        md[prefix] = -np.inf
        stamp = np.zeros(n, dtype=np.int64)
    p = prefix.size

    progress = None
    if bars_enabled(quiet):
        progress = progress_bar(total=k, initial=t, desc="max-min (device)", unit="pick")
    B = int(refresh_every)
    last_saved = t
    try:
        with torch.no_grad(), _torch_threads(torch, dev, n_jobs):
            S = _DeviceState(X, nrm, k, dev, block, B, int(cap))
            S.load(indices[:t], distances[:t], md, stamp)
            # rows with no key yet (a fresh run: all of them) take every centre so far
            S.refresh(t, -math.inf, S.md == math.inf)
            fallback = 0  # > 0: the last block found no row at or above theta
            span = 1  # doubles after a block ended early on theta, halves after a full one
            while t < k:
                theta = None if fallback else predict_theta(distances, t, B, p, span)
                if theta is None:
                    theta = S.theta_fallback(max(fallback, FALLBACK_ROWS * B * span))
                S.refresh(t, theta)
                theta_ends = S.stats["theta_ends"]
                taken, _ = S.block(t, min(B, k - t), theta)
                if taken == 0:  # refreshed, nothing stayed at or above theta: lower it
                    fallback = 2 * max(fallback, FALLBACK_ROWS * B)
                    continue
                fallback = 0
                if S.stats["theta_ends"] > theta_ends:
                    span = min(MAX_SPAN, 2 * span)
                elif taken == B:
                    span = max(1, span // 2)
                indices[t : t + taken] = S.ind[t : t + taken].cpu().numpy()
                distances[t : t + taken] = S.dist[t : t + taken].cpu().numpy()
                if progress is not None:
                    progress.update(taken)
                t += taken
                if ckpt is not None and t - last_saved >= checkpoint_every and t < k:
                    ckpt.save(t, indices, distances, *S.keys_to_host())
                    last_saved = t
            if ckpt is not None:
                ckpt.save(t, indices, distances, *S.keys_to_host())
    finally:
        if progress is not None:
            progress.close()
    global LAST_STATS
    LAST_STATS = dict(S.stats)
    steps8 = d // 8
    LAST_STATS["cumsum_lane_sums"] = int(
        bool(steps8) and LANE_SUMS == "auto" and _cumsum_is_sequential(dev, steps8)
    )
    return indices, distances
