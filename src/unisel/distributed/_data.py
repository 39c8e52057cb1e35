"""Where partition rows come from: a shard store on a shared file system, or driver memory."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unisel.distributed.shards import (
    INDEX_NAME,
    ShardedArray,
    load_embeddings,
    open_sharded,
    split_rows,
)
from unisel.errors import ParameterError, UniselError

if TYPE_CHECKING:
    from distributed import Client

Data = np.ndarray | ShardedArray


class ClusterError(UniselError):
    """The cluster lost work that could not be recovered (one line, names what to do next)."""


@dataclass(frozen=True)
class StoreRows:
    """Rows ``lo:hi`` of the shard store at ``path``; each worker reads them itself."""

    path: str
    lo: int
    hi: int

    def load(self) -> np.ndarray:
        return open_sharded(self.path).rows(self.lo, self.hi)


def as_data(X: Any) -> Data:
    """Embeddings as an ndarray or a `ShardedArray` (a path is opened, memory-mapped)."""
    if isinstance(X, (str, Path)):
        X = load_embeddings(X)
    if isinstance(X, ShardedArray):
        return X
    X = np.asarray(X)
    if X.ndim != 2:
        raise ParameterError(f"embeddings must be a 2-D array, got shape {X.shape}")
    return X


def partition_ranges(
    data: Data, n_partitions: int | None, client: Client | None
) -> list[tuple[int, int]]:
    """Contiguous row ranges: the shards of a store, else one per worker (or ``n_partitions``)."""
    n = int(data.shape[0])
    if n_partitions is None and isinstance(data, ShardedArray):
        return [(int(s.offset), int(s.offset + s.rows)) for s in data.index.shards if s.rows > 0]
    if n_partitions is None:
        n_partitions = (
            len(client.scheduler_info(n_workers=-1)["workers"]) if client is not None else 1
        )
    return split_rows(n, max(1, int(n_partitions)))


def local_rows(data: Data, lo: int, hi: int) -> np.ndarray:
    """Rows ``lo:hi`` read in this process, as a contiguous array."""
    if isinstance(data, ShardedArray):
        return data.rows(lo, hi)
    return np.ascontiguousarray(data[lo:hi])


def take_rows(data: Data, indices: np.ndarray) -> np.ndarray:
    """Rows at ``indices`` read in this process."""
    if isinstance(data, ShardedArray):
        return data.take(indices)
    return np.asarray(data[np.asarray(indices, dtype=np.int64)])


def data_fingerprint(data: Data) -> str:
    """Identity of the embeddings: hash of the store index, or of the array bytes."""
    if isinstance(data, ShardedArray):
        return "store:" + hashlib.sha256((data.path / INDEX_NAME).read_bytes()).hexdigest()
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{data.shape}|{data.dtype}".encode())
    for lo, hi in split_rows(data.shape[0], max(1, data.shape[0] // 65536)):
        h.update(np.ascontiguousarray(data[lo:hi]).tobytes())
    return "array:" + h.hexdigest()


def is_worker_loss(exc: BaseException) -> bool:
    """Whether ``exc`` means a worker (and what it held) went away, not a bug or bad input."""
    if isinstance(exc, UniselError):
        return False
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return False
    if isinstance(exc, (OSError, TimeoutError)):
        return True
    name = type(exc).__name__
    if name in (
        "KilledWorker",
        "CancelledError",
        "FutureCancelledError",
        "CommClosedError",
        "FutureLost",
    ):
        return True
    return isinstance(exc, RuntimeError) and "lost" in str(exc).lower()


def one_line(exc: BaseException) -> str:
    """First line of an exception's message, with its type when the message is empty."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
