"""Scale-out on Dask: sharded embedding, exact and two-round max-min, metrics on the cluster.

Public API
----------
- `dask_client(scheduler=None, workers=None)`: context manager yielding a ``Client`` (a running
  cluster, or a ``LocalCluster`` of ``workers`` processes it closes), or ``None``.
- `embed_partitions(source, output, embedder=..., client=..., fit=FitOptions(...))`: read and
  embed an input in partitions on the workers, written as a shard store.
- `open_sharded(path)`, `load_sharded(path)`, `save_sharded(X, path, n_shards=...)`: the shard
  store (one ``.npy`` per partition plus ``index.json``).
- `select_exact` (tuned by `ExactOptions`), `select_two_round`,
  `select_distributed(X, k, mode=...)`, `run_selection`.
- `covering_radius`, `h_min`: exact metrics over partitions.

Only `dask_client` with an argument, and the functions given a ``client``, need
``dask.distributed`` (the ``[dask]`` extra); everything runs in-process without one.
"""

from unisel.distributed._data import ClusterError
from unisel.distributed.cluster import dask_client, require_dask, worker_addresses
from unisel.distributed.embedding import FitOptions, embed_partitions, resolve_embedder, tfidf_svd
from unisel.distributed.metrics import covering_radius, h_min
from unisel.distributed.partitions import Partition, plan_partitions, read_partition_texts
from unisel.distributed.selection import (
    MODES,
    DistributedSelection,
    ExactOptions,
    PartitionState,
    read_selection,
    run_selection,
    select_distributed,
    select_exact,
    select_two_round,
)
from unisel.distributed.shards import (
    ShardedArray,
    load_embeddings,
    load_sharded,
    open_sharded,
    save_sharded,
)

__all__ = [
    "MODES",
    "ClusterError",
    "DistributedSelection",
    "ExactOptions",
    "FitOptions",
    "Partition",
    "PartitionState",
    "ShardedArray",
    "covering_radius",
    "dask_client",
    "embed_partitions",
    "h_min",
    "load_embeddings",
    "load_sharded",
    "open_sharded",
    "plan_partitions",
    "read_partition_texts",
    "read_selection",
    "require_dask",
    "resolve_embedder",
    "run_selection",
    "save_sharded",
    "select_distributed",
    "select_exact",
    "select_two_round",
    "tfidf_svd",
    "worker_addresses",
]
