"""Uniformity metrics over partitions on the cluster, exact, with blocked products.

- `covering_radius`: the selected rows (k x d) are broadcast once; every partition computes
  the distance of each of its rows to the nearest selected row in row blocks
  (`unisel.metrics.neighbors.nearest_distances`) and returns its maximum; the driver takes
  the maximum. Data moved: ``k * d`` floats per worker in, one float per partition out.
- `h_min`: the minimum pairwise distance is the minimum over partition pairs ``i <= j`` of the
  closest pair between partition i and partition j (``i == j``: excluding a row paired with
  itself). ``P (P + 1) / 2`` tasks, each holding two partitions and a
  ``block_size x n_j`` distance block. Exact, but quadratic in n: use it on subsets or on
  full sets of moderate size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from unisel.distributed._data import StoreRows, as_data, local_rows, partition_ranges, take_rows
from unisel.distributed.shards import ShardedArray, split_rows
from unisel.metrics.neighbors import DEFAULT_BLOCK, nearest_distances
from unisel.metrics.neighbors import h_min as _h_min_local

if TYPE_CHECKING:
    from distributed import Client


@dataclass(frozen=True)
class _Run:
    """The partitioning keywords of `covering_radius` and `h_min`, and the one way both run
    their tasks."""

    client: Client | None = None
    metric: str = "cosine"
    n_partitions: int | None = None
    block_size: int = DEFAULT_BLOCK
    retries: int = 2

    def map(self, task: Callable[..., float], calls: list[tuple[Any, ...]]) -> list[float]:
        """``task(*args, metric, block_size)`` for every ``args`` of ``calls``, in order: in
        this process without a client, else as Dask tasks retried ``retries`` times."""
        tail = (self.metric, self.block_size)
        if self.client is None:
            return [task(*args, *tail) for args in calls]
        futs = [
            self.client.submit(task, *args, *tail, retries=self.retries, pure=False)
            for args in calls
        ]
        return list(self.client.gather(futs))


def _load(rows: np.ndarray | StoreRows) -> np.ndarray:
    return rows.load() if isinstance(rows, StoreRows) else np.asarray(rows)


def _cover_task(rows: np.ndarray | StoreRows, S: np.ndarray, metric: str, block_size: int) -> float:
    X = _load(rows)
    if X.shape[0] == 0:
        return float("-inf")
    return float(nearest_distances(X, S, metric=metric, block_size=block_size)[0].max())


def _pair_task(
    a: np.ndarray | StoreRows, b: np.ndarray | StoreRows | None, metric: str, block_size: int
) -> float:
    A = _load(a)
    if b is None:
        return (
            _h_min_local(A, metric=metric, block_size=block_size)
            if A.shape[0] >= 2
            else float("inf")
        )
    B = _load(b)
    if A.shape[0] == 0 or B.shape[0] == 0:
        return float("inf")
    return float(nearest_distances(A, B, metric=metric, block_size=block_size)[0].min())


def _sources(data: Any, ranges: list[tuple[int, int]], client: Client | None) -> list[Any]:
    if isinstance(data, ShardedArray):
        return [StoreRows(str(data.path), lo, hi) for lo, hi in ranges]
    parts = [local_rows(data, lo, hi) for lo, hi in ranges]
    return parts if client is None else client.scatter(parts, hash=False)


def covering_radius(
    X: Any,
    subset: np.ndarray,
    *,
    client: Client | None = None,
    metric: str = "cosine",
    n_partitions: int | None = None,
    block_size: int = DEFAULT_BLOCK,
    retries: int = 2,
) -> float:
    """Largest distance from a row of ``X`` (n, d) to its nearest row among ``X[subset]``.

    Parameters
    ----------
    X : ndarray of shape (n, d), ShardedArray or path
        Embeddings (a store or ``.npy`` path is opened memory-mapped).
    subset : ndarray of int, shape (k,)
        Global row indices of the selected rows.
    client : distributed.Client or None
        ``None`` (the default) computes partition by partition in this process.
    metric : {"cosine", "euclidean"}
    n_partitions : int or None
        Partitions (default: the store's shards, or one per worker).
    block_size : int
        Rows per distance block: a task holds ``block_size x n_j`` distances at a time.
    retries : int
        Dask retries per task.

    Returns
    -------
    float
        In the units of ``metric`` (cosine distance or Euclidean).
    """
    run = _Run(client, metric, n_partitions, block_size, retries)
    data = as_data(X)
    S = take_rows(data, np.asarray(subset, dtype=np.int64))
    ranges = partition_ranges(data, run.n_partitions, run.client)
    srcs = _sources(data, ranges, run.client)
    # the selected rows go to every worker once, not once per partition task
    S_f = S if run.client is None else run.client.scatter(S, broadcast=True, hash=False)
    return max(run.map(_cover_task, [(s, S_f) for s in srcs]))


def h_min(
    X: Any,
    *,
    indices: np.ndarray | None = None,
    client: Client | None = None,
    metric: str = "cosine",
    n_partitions: int | None = None,
    block_size: int = DEFAULT_BLOCK,
    retries: int = 2,
) -> float:
    """Minimum distance between two distinct rows of ``X`` (or of ``X[indices]``).

    Parameters
    ----------
    X : ndarray of shape (n, d), ShardedArray or path
        Embeddings (a store or ``.npy`` path is opened memory-mapped).
    indices : ndarray of int, shape (k,), optional
        Restrict to these rows (gathered on the driver, then partitioned).
    client : distributed.Client or None
        ``None`` (the default) computes partition by partition in this process.
    metric : {"cosine", "euclidean"}
    n_partitions : int or None
        Partitions (default: the store's shards, or one per worker).
    block_size : int
        Rows per distance block: a task holds ``block_size x n_j`` distances at a time.
    retries : int
        Dask retries per task.

    Returns
    -------
    float
        In the units of ``metric``; ``nan`` for fewer than two rows.
    """
    run = _Run(client, metric, n_partitions, block_size, retries)
    data: Any = as_data(X)
    if indices is not None:
        data = take_rows(data, np.asarray(indices, dtype=np.int64))
    n = int(data.shape[0])
    if n < 2:
        return float("nan")
    if isinstance(data, np.ndarray) and n_partitions is None and client is not None:
        n_partitions = len(client.scheduler_info(n_workers=-1)["workers"])
    ranges = (
        partition_ranges(data, n_partitions, client)
        if not isinstance(data, np.ndarray)
        else split_rows(n, n_partitions or 1)
    )
    srcs = _sources(data, ranges, client)
    pairs = [(i, j) for i in range(len(srcs)) for j in range(i, len(srcs))]
    return min(run.map(_pair_task, [(srcs[i], None if i == j else srcs[j]) for i, j in pairs]))
