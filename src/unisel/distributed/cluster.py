"""Connecting to a Dask cluster, or starting a local one, for the length of a ``with`` block.

Three cases, one switch each on the command line:

- ``--scheduler ADDRESS``: connect to a cluster that is already running (``tcp://host:8786``);
  it is left running afterwards. Every worker must be able to import ``unisel`` and, for
  file inputs, read the same paths as the driver (a shared file system).
- ``--workers N``: start a ``LocalCluster`` of N worker processes with one thread each, bound
  to the loopback interface, dashboards off; it is closed when the block ends.
- neither: no cluster; the distributed functions then run in the calling process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from unisel.errors import ParameterError

if TYPE_CHECKING:
    from distributed import Client


def require_dask() -> None:
    """Raise a one-line `ParameterError` when ``dask.distributed`` is not installed."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ParameterError(
            "the distributed mode needs dask.distributed; install it with: pip install 'unisel[dask]'"
        ) from None


@contextmanager
def dask_client(
    scheduler: str | None = None,
    workers: int | None = None,
    *,
    timeout: float = 60.0,
    memory_limit: str | float | int | None = "auto",
    quiet: bool = True,
) -> Iterator[Client | None]:
    """A Dask client for the block, or ``None`` when neither argument is given.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); the cluster is not shut down.
    workers : int, optional
        Start a local cluster of this many single-threaded worker processes on 127.0.0.1,
        closed at the end of the block.
    timeout : float
        Seconds to wait for the connection or for the local workers to come up.
    memory_limit : str, float, int or None
        Per-worker memory limit of the local cluster (Dask's ``memory_limit``).
    quiet : bool
        Keep Dask's informational log lines off stderr.

    Yields
    ------
    distributed.Client or None

    Raises
    ------
    ParameterError
        Both arguments given, a worker count below 1, dask missing, or no scheduler at
        ``scheduler``.
    """
    if scheduler is not None and workers is not None:
        raise ParameterError("give at most one of --scheduler and --workers")
    if scheduler is None and workers is None:
        yield None
        return
    require_dask()
    from distributed import Client, LocalCluster

    if workers is not None:
        if int(workers) < 1:
            raise ParameterError(f"--workers must be at least 1, got {workers}")
        level = logging.CRITICAL if quiet else logging.WARNING
        cluster: Any = LocalCluster(
            n_workers=int(workers),
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
            memory_limit=memory_limit,
            silence_logs=level,
        )
        try:
            client = Client(cluster, timeout=timeout)
            try:
                client.wait_for_workers(int(workers), timeout=timeout)
                yield client
            finally:
                client.close()
        finally:
            cluster.close(timeout=timeout)
        return
    try:
        client = Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise ParameterError(
            f"cannot connect to the Dask scheduler at {scheduler}: {exc}"
        ) from None
    try:
        yield client
    finally:
        client.close()


def worker_addresses(client: Client) -> list[str]:
    """Addresses of the workers connected now, sorted (a stable placement order)."""
    return sorted(client.scheduler_info(n_workers=-1)["workers"])
