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

from typing import TYPE_CHECKING, Any

import numpy as np

from unisel.distributed._data import StoreRows, as_data, local_rows, partition_ranges, take_rows
from unisel.distributed.shards import ShardedArray, split_rows
from unisel.metrics.neighbors import DEFAULT_BLOCK, nearest_distances
from unisel.metrics.neighbors import h_min as _h_min_local

if TYPE_CHECKING:
    from distributed import Client


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
    X : ndarray, ShardedArray or path
    subset : ndarray of int, shape (k,)
        Global row indices of the selected rows.
    client : distributed.Client, optional
        ``None`` computes partition by partition in this process.
    metric : {"cosine", "euclidean"}
    n_partitions, block_size, retries
        Partitioning (default: store shards or one per worker), rows per distance block,
        Dask retries per task.

    Returns
    -------
    float
        In the units of ``metric`` (cosine distance or Euclidean).
    """
    data = as_data(X)
    S = take_rows(data, np.asarray(subset, dtype=np.int64))
    ranges = partition_ranges(data, n_partitions, client)
    srcs = _sources(data, ranges, client)
    if client is None:
        return max(_cover_task(s, S, metric, block_size) for s in srcs)
    S_f = client.scatter(S, broadcast=True, hash=False)
    futs = [
        client.submit(_cover_task, s, S_f, metric, block_size, retries=retries, pure=False)
        for s in srcs
    ]
    return max(client.gather(futs))


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
    X : ndarray, ShardedArray or path
    indices : ndarray of int, optional
        Restrict to these rows (gathered on the driver, then partitioned).
    client, metric, n_partitions, block_size, retries
        As in `covering_radius`.

    Returns
    -------
    float
        ``nan`` for fewer than two rows.
    """
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
    if client is None:
        return min(
            _pair_task(srcs[i], None if i == j else srcs[j], metric, block_size) for i, j in pairs
        )
    futs = [
        client.submit(
            _pair_task,
            srcs[i],
            None if i == j else srcs[j],
            metric,
            block_size,
            retries=retries,
            pure=False,
        )
        for i, j in pairs
    ]
    return min(client.gather(futs))
