"""Greedy max-min selection over partitions held by Dask workers: ``exact`` and ``two-round``.

Exact mode
----------
Every partition lives in one Dask actor (`PartitionState`) on a worker: its rows, scaled to unit
length in float64 as in `unisel.select.engine.reference`, and the minimum cosine distance of
each row to the rows selected so far. The driver keeps only the selected sequence. One *round*:

1. the driver sends the winners decided since the last round (their unit vectors, ``b x d``
   float64) to every partition;
2. each partition lowers its minimum distances with one blocked matrix product and answers
   with its ``m`` best candidates (values, global indices, vectors), always including its exact
   arg-max with the lowest index, and an upper *bound* on every row it did not send;
3. the driver picks the best candidate (largest value, lowest global index): that is the exact
   next row. It then keeps choosing among the gathered candidates, updating their values
   against each new winner itself, as long as the best value is *strictly* larger than every
   partition's bound: no unsent row can beat or tie it, so that choice is exact too. When the
   certificate fails (or ``max_batch`` winners are decided) the round ends.

So a round costs one round trip and decides between 1 and ``max_batch`` rows; on spread-out data
a round typically decides a large fraction of the ``m * P`` candidates. The index sequence is
the one `maxmin_reference` returns (same canonical float64 key, with distances below 1e-12
snapped to 0, same lowest-index tie rule); distances agree to float64 rounding (partition
products are blocked differently from the reference's single matrix-vector product, so two
candidates whose keys differ by less than ~1e-16 could in principle be ordered differently;
exact duplicates tie exactly thanks to the snap).

Use it when the selection must be the canonical one (reproducible against a single machine)
and ``k`` is moderate: the run needs about ``k / (rows decided per round)`` sequential round
trips (~1-5 ms each on a LAN plus the partition's matrix product).

Two-round mode (composable coreset)
-----------------------------------
Every partition runs greedy max-min on its own rows and returns ``k`` candidates; greedy
max-min on the union (at most ``P * k`` rows, on the driver) picks the final ``k``. One round
trip in all. Malkomes, Kusner, Chen, Weinberger and Moseley, "Fast Distributed k-Center
Clustering with Outliers on Massive Data" (NeurIPS 2015), show that this two-round greedy is a
4-approximation of the optimal k-center covering radius for any metric (the sequential greedy
is a 2-approximation, Gonzalez 1985); the per-partition greedy sets form a composable coreset
in the sense of Indyk, Mahabadi, Mahdian and Mirrokni, "Composable core-sets for diversity and
coverage maximization" (PODS 2014). Cosine distance ``1 - cos`` is not a metric, but on unit
vectors it is ``||u - v||^2 / 2``, a monotone function of the Euclidean (chordal) metric, so
greedy makes the same choices under both and the bound holds for the chordal covering radius:
``r_two_round <= 4 * r_opt <= 4 * r_exact`` (chordal), i.e. at most 16x in cosine distance.
No constant bound is claimed for h_min; `benchmarks/bench_dask.py` measures the ratios.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unisel._progress import progress_bar
from unisel.distributed._atomic import atomic_write_json
from unisel.distributed._data import (
    ClusterError,
    Data,
    StoreRows,
    as_data,
    data_fingerprint,
    is_worker_loss,
    local_rows,
    one_line,
    partition_ranges,
    take_rows,
)
from unisel.distributed.cluster import worker_addresses
from unisel.distributed.shards import ShardedArray
from unisel.errors import InputError, ParameterError
from unisel.select.engine.reference import DUPLICATE_TOLERANCE, cosine_normalize

if TYPE_CHECKING:
    from distributed import Client

MODES = ("exact", "two-round")
CHECKPOINT_FORMAT = "unisel-checkpoint/1"
_REPLAY_CHUNK = 2048
_BLOCK_ROWS = 16384


@dataclass(frozen=True)
class ExactOptions:
    """How `select_exact` runs its rounds, checkpoints and recovers from worker losses.

    Attributes
    ----------
    candidates : int
        Candidates ``m`` each partition returns per round, at least 1.
    max_batch : int
        Most rows decided per round, at least 1.
    checkpoint_every : float
        Seconds between checkpoint writes (0: every round), at least 0.
    retries : int
        Worker losses the run recovers from by rebuilding the lost partitions (reloading
        their rows and replaying the selection so far), at least 0; one more raises
        `ClusterError`.
    timeout : float
        Seconds to wait for any single worker reply, above 0.
    """

    candidates: int = 32
    max_batch: int = 256
    checkpoint_every: float = 30.0
    retries: int = 2
    timeout: float = 600.0

    def __post_init__(self) -> None:
        if self.candidates < 1 or self.max_batch < 1:
            raise ParameterError("candidates and max_batch must be positive")
        if self.checkpoint_every < 0:
            raise ParameterError(f"checkpoint_every must be >= 0, got {self.checkpoint_every}")
        if self.retries < 0:
            raise ParameterError(f"retries must be >= 0, got {self.retries}")
        if not self.timeout > 0:
            raise ParameterError(f"timeout must be positive, got {self.timeout}")


@dataclass
class DistributedSelection:
    """Result of a distributed selection.

    Attributes
    ----------
    indices : ndarray of shape (k,), int64
        Selected rows in selection order.
    distances : ndarray of shape (k,), float64
        Cosine distance of each row to the rows before it when chosen (``inf`` first, ``nan``
        for rows of ``initial`` after the first).
    mode : str
        ``"exact"`` or ``"two-round"``.
    n_partitions : int
    rounds : int
        Driver-worker round trips of the selection loop.
    recoveries : int
        Partition states rebuilt after a worker was lost.
    resumed_from : int
        Rows taken from a checkpoint instead of being selected again.
    seconds : float
        Wall time.
    """

    indices: np.ndarray
    distances: np.ndarray
    mode: str
    n_partitions: int
    rounds: int = 0
    recoveries: int = 0
    resumed_from: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ partition state (actor)
class PartitionState:
    """Rows ``offset .. offset + n_p - 1`` and their minimum distance to the selection.

    Runs as a Dask actor on a worker (or as a plain object in the single-process path).

    Parameters
    ----------
    rows : ndarray of shape (n_p, d) or StoreRows
        The partition's raw rows, or where to read them.
    offset : int
        Global index of the first row.
    """

    def __init__(self, rows: np.ndarray | StoreRows, offset: int) -> None:
        raw = rows.load() if isinstance(rows, StoreRows) else rows
        self.U = cosine_normalize(raw)
        self.offset = int(offset)
        self.n = int(self.U.shape[0])
        self.min_dist = np.full(self.n, np.inf)

    def take(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit rows (float64) of the global ``indices`` this partition holds, and those indices."""
        idx = np.asarray(indices, dtype=np.int64)
        mine = idx[(idx >= self.offset) & (idx < self.offset + self.n)]
        return mine, self.U[mine - self.offset]

    def apply(self, W: np.ndarray, chosen: np.ndarray) -> int:
        """Lower the minimum distances by the unit rows ``W`` (b, d); mark ``chosen`` as taken."""
        W = np.asarray(W, dtype=np.float64)
        if W.shape[0]:
            for lo in range(0, self.n, _BLOCK_ROWS):
                hi = min(self.n, lo + _BLOCK_ROWS)
                # min over winners of (1 - dot) == 1 - max dot: rounding of 1 - x is monotone
                closest = 1.0 - (self.U[lo:hi] @ W.T).max(axis=1)
                # the canonical snap commutes with the minimum (it is non-decreasing)
                closest[closest < DUPLICATE_TOLERANCE] = 0.0
                np.minimum(self.min_dist[lo:hi], closest, out=self.min_dist[lo:hi])
        loc = np.asarray(chosen, dtype=np.int64) - self.offset
        loc = loc[(loc >= 0) & (loc < self.n)]
        self.min_dist[loc] = -np.inf
        return self.n

    def step(self, W: np.ndarray, chosen: np.ndarray, m: int) -> dict[str, Any]:
        """`apply` the new winners, then report the ``m`` best candidates and a bound.

        Returns
        -------
        dict with ``values`` (c,), ``index`` (c,) global, ``rows`` (c, d) unit float64 and
        ``bound``: no row outside ``index`` has a larger minimum distance. The exact
        arg-max (lowest index among equal values) is always among the candidates.
        """
        self.apply(W, chosen)
        md = self.min_dist
        empty = {
            "values": np.empty(0),
            "index": np.empty(0, np.int64),
            "rows": self.U[:0],
            "bound": -np.inf,
        }
        if self.n == 0:
            return empty
        j = int(np.argmax(md))
        if md[j] == -np.inf:
            return empty
        if m >= self.n:
            cand = np.arange(self.n)
            bound = -np.inf
        else:
            part = np.argpartition(md, (self.n - m - 1, self.n - m))
            cand = part[self.n - m :]
            bound = float(md[part[self.n - m - 1]])
            if md[cand].max() == md[j] and j not in cand:
                cand = np.append(cand, j)
        cand = cand[md[cand] > -np.inf]
        return {
            "values": md[cand].copy(),
            "index": cand + self.offset,
            "rows": self.U[cand],
            "bound": bound,
        }


# ------------------------------------------------------------------ backends
class _LocalBackend:
    """Partition states as plain objects in this process (the no-cluster path)."""

    def __init__(self, data: Data, ranges: list[tuple[int, int]]) -> None:
        self.data, self.ranges = data, ranges
        self.states: dict[int, PartitionState] = {}

    def create(self, p: int) -> None:
        lo, hi = self.ranges[p]
        self.states[p] = PartitionState(local_rows(self.data, lo, hi), lo)

    def call(
        self, method: str, args: dict[int, tuple[Any, ...]]
    ) -> tuple[dict[int, Any], dict[int, BaseException]]:
        return {p: getattr(self.states[p], method)(*a) for p, a in args.items()}, {}

    def close(self) -> None:
        self.states.clear()


class _DaskBackend:
    """Partition states as Dask actors, one per partition, spread over the workers."""

    def __init__(
        self, client: Client, data: Data, ranges: list[tuple[int, int]], timeout: float
    ) -> None:
        self.client, self.data, self.ranges, self.timeout = client, data, ranges, timeout
        self.actors: dict[int, Any] = {}
        self.futures: dict[int, Any] = {}

    def create(self, p: int) -> None:
        lo, hi = self.ranges[p]
        workers = worker_addresses(self.client)
        if not workers:
            raise ClusterError("no Dask workers are connected")
        addr = workers[p % len(workers)]
        if isinstance(self.data, ShardedArray):
            src: Any = StoreRows(str(self.data.path), lo, hi)
        else:
            src = self.client.scatter(local_rows(self.data, lo, hi), workers=[addr], hash=False)
        fut = self.client.submit(PartitionState, src, lo, actor=True, workers=[addr], pure=False)
        self.actors[p] = fut.result(timeout=self.timeout)
        self.futures[p] = fut
        if not isinstance(src, StoreRows):
            src.release()  # the actor keeps its own normalised copy

    def call(
        self, method: str, args: dict[int, tuple[Any, ...]]
    ) -> tuple[dict[int, Any], dict[int, BaseException]]:
        pending: dict[int, Any] = {}
        lost: dict[int, BaseException] = {}
        for p, a in args.items():
            try:
                pending[p] = getattr(self.actors[p], method)(*a)
            except Exception as exc:
                if not is_worker_loss(exc):
                    raise
                lost[p] = exc
        done = {}
        for p, fut in pending.items():
            try:
                done[p] = fut.result(timeout=self.timeout)
            except Exception as exc:
                if not is_worker_loss(exc):
                    raise
                lost[p] = exc
        return done, lost

    def close(self) -> None:
        for fut in self.futures.values():
            fut.release()
        self.actors.clear()
        self.futures.clear()


# ------------------------------------------------------------------ checkpoints
def _dist_to_json(d: float) -> float | str:
    return float(d) if math.isfinite(d) else ("inf" if d > 0 else "nan")


def _dist_from_json(d: float | str) -> float:
    return float(d)


def write_checkpoint(
    path: str | Path,
    fingerprint: dict[str, Any],
    indices: Sequence[int],
    distances: Sequence[float],
) -> None:
    """Atomically write the selected prefix (indices and distances) with the run's fingerprint."""
    atomic_write_json(
        path,
        {
            "format": CHECKPOINT_FORMAT,
            "fingerprint": fingerprint,
            "indices": [int(i) for i in indices],
            "distances": [_dist_to_json(float(d)) for d in distances],
        },
    )


def read_checkpoint(path: str | Path, fingerprint: dict[str, Any]) -> tuple[list[int], list[float]]:
    """The prefix stored in a checkpoint written for the same data and parameters.

    Raises
    ------
    InputError
        Unreadable, or written for other embeddings, start or initial rows.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"format {data.get('format')!r}")
        indices = [int(i) for i in data["indices"]]
        distances = [_dist_from_json(d) for d in data["distances"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: unreadable checkpoint ({exc})") from None
    if data["fingerprint"] != fingerprint:
        diff = sorted(k for k in fingerprint if data["fingerprint"].get(k) != fingerprint[k])
        raise InputError(
            f"{path}: checkpoint belongs to another run (differs in {', '.join(diff)}); delete it or pass another path"
        )
    return indices, distances


# ------------------------------------------------------------------ exact mode
def _check_k(k: int, n: int) -> int:
    if not 1 <= int(k) <= n:
        raise ParameterError(f"k must be between 1 and the number of records ({n}), got {k}")
    return int(k)


def _driver_batch(
    results: list[dict[str, Any]], limit: int
) -> tuple[list[int], list[float], list[np.ndarray]]:
    """Winners certified from the gathered candidates (see the module docstring)."""
    vals = np.concatenate([r["values"] for r in results])
    if vals.size == 0:
        raise RuntimeError("no candidates left although fewer than k rows are selected")
    idx = np.concatenate([r["index"] for r in results])
    rows = np.concatenate([r["rows"] for r in results])
    bound = max(r["bound"] for r in results)
    vals = vals.astype(np.float64, copy=True)
    win_i: list[int] = []
    win_d: list[float] = []
    win_r: list[np.ndarray] = []
    while len(win_i) < limit:
        mx = vals.max()
        if mx == -np.inf or (win_i and not mx > bound):
            break
        ties = np.flatnonzero(vals == mx)
        j = int(ties[np.argmin(idx[ties])])
        win_i.append(int(idx[j]))
        win_d.append(float(mx))
        win_r.append(rows[j])
        dist = 1.0 - rows @ rows[j]
        dist[dist < DUPLICATE_TOLERANCE] = 0.0
        np.minimum(vals, dist, out=vals)
        vals[j] = -np.inf
    return win_i, win_d, win_r


def select_exact(
    X: Any,
    k: int,
    *,
    client: Client | None = None,
    start: int = 0,
    initial: Sequence[int] | None = None,
    n_partitions: int | None = None,
    checkpoint: str | Path | None = None,
    options: ExactOptions | None = None,
    quiet: bool = True,
    on_round: Callable[[int], None] | None = None,
) -> DistributedSelection:
    """Exact greedy max-min with partition state on the workers (see the module docstring).

    Parameters
    ----------
    X : ndarray (n, d), ShardedArray, or path of a shard store / ``.npy`` file
        Embeddings. A store is read by the workers themselves (shared file system); an array is
        scattered from the driver.
    k : int
        Rows to select, 1 <= k <= n (including ``initial``).
    client : distributed.Client, optional
        ``None`` runs the same algorithm in this process.
    start : int
        First row when ``initial`` is empty.
    initial : sequence of int, optional
        Rows already selected (the returned prefix).
    n_partitions : int, optional
        Default: the store's shards, or one partition per worker.
    checkpoint : path, optional
        JSON file holding the selected prefix. Written every ``options.checkpoint_every``
        seconds and when the run fails; a run that finds a checkpoint of the same data and
        parameters resumes from it. Removed by `run_selection` once the output is written.
    options : ExactOptions, optional
        Candidates per partition and round, rows decided per round, checkpoint interval,
        recoveries and reply timeout (default: `ExactOptions()`).
    quiet : bool
        No progress bar.
    on_round : callable, optional
        Called with the number of rows selected after every round (monitoring, tests).

    Returns
    -------
    DistributedSelection
    """
    t0 = time.perf_counter()
    o = options if options is not None else ExactOptions()
    candidates, max_batch, retries, timeout = o.candidates, o.max_batch, o.retries, o.timeout
    data = as_data(X)
    n, d = int(data.shape[0]), int(data.shape[1])
    k = _check_k(k, n)
    prefix = [int(i) for i in initial] if initial is not None and len(initial) else [int(start)]
    if any(not 0 <= i < n for i in prefix):
        raise ParameterError(f"start/initial rows must be in [0, {n}), got {prefix[:5]}")
    if len(set(prefix)) != len(prefix) or len(prefix) > k:
        raise ParameterError("initial rows must be distinct and at most k")
    ranges = partition_ranges(data, n_partitions, client)
    fingerprint = {
        "data": data_fingerprint(data) if checkpoint else "",
        "n": n,
        "d": d,
        "mode": "exact",
        "prefix": prefix,
    }
    indices: list[int] = list(prefix)
    dists: list[float] = [math.inf] + [math.nan] * (len(prefix) - 1)
    resumed = 0
    if checkpoint is not None and Path(checkpoint).is_file():
        ck_i, ck_d = read_checkpoint(checkpoint, fingerprint)
        if len(ck_i) >= len(prefix):
            indices, dists = ck_i[:k], ck_d[:k]
            resumed = len(indices)

    backend: Any = (
        _DaskBackend(client, data, ranges, timeout)
        if client is not None
        else _LocalBackend(data, ranges)
    )
    W = np.empty((k, d), dtype=np.float64)
    parts = list(range(len(ranges)))
    stats = {"rounds": 0, "recoveries": 0}

    def fail(exc: BaseException, p: int) -> ClusterError:
        if checkpoint is not None:
            write_checkpoint(checkpoint, fingerprint, indices, dists)
        hint = f"; rerun with the same checkpoint ({checkpoint}) to resume" if checkpoint else ""
        return ClusterError(
            f"exact selection stopped: the worker holding partition {p} was lost after "
            f"{stats['recoveries']} of {retries} recoveries ({one_line(exc)}); {len(indices)} of {k} "
            f"rows were selected{hint}"
        )

    def fetch_rows(idx: list[int]) -> np.ndarray:
        got, lost = backend.call("take", {p: (np.asarray(idx),) for p in parts})
        if lost:
            p, exc = next(iter(lost.items()))
            raise fail(exc, p)
        order = {i: r for res in got.values() for i, r in zip(res[0].tolist(), res[1], strict=True)}
        return np.stack([order[i] for i in idx])

    def rebuild(p: int, applied: int) -> None:
        backend.create(p)
        for lo in range(0, applied, _REPLAY_CHUNK):
            hi = min(applied, lo + _REPLAY_CHUNK)
            _, lost = backend.call("apply", {p: (W[lo:hi], np.asarray(indices[lo:hi]))})
            if lost:
                raise next(iter(lost.values()))

    def step_all(new_lo: int) -> list[dict[str, Any]]:
        applied = len(indices)
        args = {
            p: (W[new_lo:applied], np.asarray(indices[new_lo:applied]), candidates) for p in parts
        }
        done, lost = backend.call("step", args)
        while lost:
            p, exc = next(iter(lost.items()))
            if stats["recoveries"] >= retries:
                raise fail(exc, p)
            stats["recoveries"] += 1
            client.wait_for_workers(1, timeout=timeout)  # type: ignore[union-attr]
            retry: dict[int, BaseException] = {}
            for q in lost:
                try:
                    rebuild(q, applied)
                    got, again = backend.call(
                        "step", {q: (W[:0], np.empty(0, np.int64), candidates)}
                    )
                    done.update(got)
                    retry.update(again)
                except Exception as err:
                    if not is_worker_loss(err):
                        raise
                    retry[q] = err
            lost = retry
        return [done[p] for p in parts]

    bar = progress_bar(total=k, desc="exact max-min", unit="row", quiet=quiet)
    last_ck = time.monotonic()
    try:
        for p in parts:
            backend.create(p)
        W[: len(indices)] = fetch_rows(indices)
        bar.update(len(indices))
        new_lo = 0
        while len(indices) < k:
            results = step_all(new_lo)
            stats["rounds"] += 1
            new_lo = len(indices)
            win_i, win_d, win_r = _driver_batch(results, min(max_batch, k - len(indices)))
            W[new_lo : new_lo + len(win_i)] = np.asarray(win_r)
            indices.extend(win_i)
            dists.extend(win_d)
            bar.update(len(win_i))
            if checkpoint is not None and time.monotonic() - last_ck >= o.checkpoint_every:
                write_checkpoint(checkpoint, fingerprint, indices, dists)
                last_ck = time.monotonic()
            if on_round is not None:
                on_round(len(indices))
    finally:
        bar.close()
        backend.close()
    return DistributedSelection(
        indices=np.asarray(indices, dtype=np.int64),
        distances=np.asarray(dists, dtype=np.float64),
        mode="exact",
        n_partitions=len(parts),
        rounds=stats["rounds"],
        recoveries=stats["recoveries"],
        resumed_from=resumed,
        seconds=time.perf_counter() - t0,
    )


# ------------------------------------------------------------------ two-round mode
def _maxmin(X: np.ndarray, k: int, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact greedy max-min (cosine) in this process: the engine of `unisel select`.

    Returns the indices and distances of `unisel.select.engine.maxmin_reference` (the engine's
    contract), so a partition's coreset and the driver's final pick are the single-machine
    selection of their rows.
    """
    from unisel.select.engine import maxmin

    indices, distances = maxmin(np.asarray(X), k, start=start)
    return np.asarray(indices, dtype=np.int64), np.asarray(distances, dtype=np.float64)


def _local_greedy(
    rows: np.ndarray | StoreRows, offset: int, k: int, start: int, start_row: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy max-min inside one partition, seeded by the global start row.

    The partition holding ``start`` starts from it; any other partition starts from its row
    farthest from the start row (greedy with the start row as a virtual first centre).
    Returns global indices and the raw rows, in local selection order.
    """
    X = rows.load() if isinstance(rows, StoreRows) else np.asarray(rows)
    n_p = X.shape[0]
    if offset <= start < offset + n_p:
        idx, _ = _maxmin(X, min(k, n_p), start - offset)
    else:
        Y = np.vstack([start_row[None, :].astype(X.dtype), X])
        idx, _ = _maxmin(Y, min(k, n_p) + 1, 0)
        idx = idx[1:] - 1
    return idx + offset, X[idx]


def select_two_round(
    X: Any,
    k: int,
    *,
    client: Client | None = None,
    start: int = 0,
    n_partitions: int | None = None,
    retries: int = 2,
    timeout: float = 600.0,
    quiet: bool = True,
) -> DistributedSelection:
    """Two-round composable-coreset greedy max-min (see the module docstring for the bound).

    Parameters
    ----------
    X : ndarray (n, d), ShardedArray or path
        Embeddings.
    k : int
        Rows to select, 1 <= k <= n. The driver holds the union, ``P * k`` rows.
    client : distributed.Client, optional
        ``None`` runs the partitions one after another in this process.
    start : int
        First row of the final sequence (and the seed of every partition).
    n_partitions : int, optional
        Default: the store's shards, or one partition per worker.
    retries : int
        Times the whole first round is resubmitted after a worker loss.
    timeout : float
        Seconds to wait for the first round.
    quiet : bool
        Unused (one round; kept for symmetry).

    Returns
    -------
    DistributedSelection
        ``extra["union_size"]`` is the size of the coreset union.
    """
    t0 = time.perf_counter()
    data = as_data(X)
    n = int(data.shape[0])
    k = _check_k(k, n)
    if not 0 <= start < n:
        raise ParameterError(f"start must be in [0, {n}), got {start}")
    ranges = partition_ranges(data, n_partitions, client)
    start_row = take_rows(data, np.array([start]))[0]
    attempts = 0
    while True:
        try:
            parts = _first_round(data, ranges, k, start, start_row, client, timeout)
            break
        except Exception as exc:
            if client is None or not is_worker_loss(exc):
                raise
            attempts += 1
            if attempts > retries:
                raise ClusterError(
                    f"two-round selection stopped: a worker was lost {attempts} time(s) ({one_line(exc)})"
                ) from None
            client.wait_for_workers(1, timeout=timeout)
    union_idx = np.concatenate([p[0] for p in parts])
    union_rows = np.concatenate([p[1] for p in parts])
    s = int(np.flatnonzero(union_idx == start)[0])
    pick, dist = _maxmin(union_rows, k, s)
    return DistributedSelection(
        indices=union_idx[pick].astype(np.int64),
        distances=np.asarray(dist, dtype=np.float64),
        mode="two-round",
        n_partitions=len(ranges),
        rounds=1,
        recoveries=attempts,
        seconds=time.perf_counter() - t0,
        extra={"union_size": int(union_idx.size)},
    )


def _first_round(
    data: Data,
    ranges: list[tuple[int, int]],
    k: int,
    start: int,
    start_row: np.ndarray,
    client: Client | None,
    timeout: float,
) -> list[tuple[np.ndarray, np.ndarray]]:
    if client is None:
        return [
            _local_greedy(local_rows(data, lo, hi), lo, k, start, start_row) for lo, hi in ranges
        ]
    futs = []
    for lo, hi in ranges:
        src: Any = (
            StoreRows(str(data.path), lo, hi)
            if isinstance(data, ShardedArray)
            else client.scatter(local_rows(data, lo, hi), hash=False)
        )
        futs.append(client.submit(_local_greedy, src, lo, k, start, start_row, pure=False))
    try:
        return [f.result(timeout=timeout) for f in futs]
    finally:
        for f in futs:
            f.release()


# ------------------------------------------------------------------ one entry point + output
def select_distributed(
    X: Any, k: int, *, mode: str = "exact", metric: str = "cosine", **params: Any
) -> DistributedSelection:
    """`select_exact` or `select_two_round` by ``mode`` (``"exact"`` or ``"two-round"``).

    ``metric`` must be ``"cosine"``: the distributed layer has no Euclidean selection (use the
    single-process engine, ``unisel.select.engine.maxmin(..., metric="euclidean")``).
    """
    if metric != "cosine":
        raise ParameterError(
            f"distributed selection supports metric='cosine' only, not {metric!r}; "
            "run metric='euclidean' without --scheduler/--workers"
        )
    if mode not in _MODES:
        raise ParameterError(f"unknown distributed mode {mode!r}; known: {', '.join(MODES)}")
    return _MODES[mode](X, k, **params)


_MODES: dict[str, Callable[..., DistributedSelection]] = {
    "exact": select_exact,
    "two-round": select_two_round,
}


def run_selection(
    X: Any,
    k: int,
    output: str | Path,
    *,
    mode: str = "exact",
    checkpoint: str | Path | None = None,
    overwrite: bool = False,
    meta: dict[str, Any] | None = None,
    **params: Any,
) -> DistributedSelection:
    """Select and write ``output`` (JSON: indices, distances, mode, stats) atomically.

    Nothing is written at ``output`` unless the selection completes; the checkpoint (exact
    mode) is then removed.
    """
    output = Path(output)
    if output.exists() and not overwrite:
        raise ParameterError(
            f"{output}: output exists; pass overwrite=True (--overwrite) to replace it"
        )
    if mode == "exact":
        params["checkpoint"] = checkpoint
    elif checkpoint is not None:
        raise ParameterError("checkpoints apply to exact mode only (two-round has a single round)")
    sel = select_distributed(X, k, mode=mode, **params)
    atomic_write_json(
        output,
        {
            "mode": sel.mode,
            "k": int(sel.indices.size),
            "n_partitions": sel.n_partitions,
            "rounds": sel.rounds,
            "recoveries": sel.recoveries,
            "resumed_from": sel.resumed_from,
            "seconds": round(sel.seconds, 3),
            "indices": sel.indices.tolist(),
            "distances": [_dist_to_json(float(x)) for x in sel.distances],
            **(meta or {}),
            **sel.extra,
        },
    )
    if checkpoint is not None:
        Path(checkpoint).unlink(missing_ok=True)
    return sel


def read_selection(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Indices and distances from a file written by `run_selection`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return (
            np.asarray(data["indices"], dtype=np.int64),
            np.asarray([_dist_from_json(x) for x in data["distances"]], dtype=np.float64),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a distributed selection file ({exc})") from None
