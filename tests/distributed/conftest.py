"""One real LocalCluster (2 worker processes, loopback) per test module, always closed."""

from __future__ import annotations

import pytest

from unisel.distributed import dask_client

CLUSTER_TIMEOUT = 60


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2, timeout=CLUSTER_TIMEOUT, memory_limit="1GiB") as c:
        yield c


@pytest.fixture
def cluster(client):
    """The module's client, with both workers up (a previous test may have killed one)."""
    client.wait_for_workers(2, timeout=CLUSTER_TIMEOUT)
    return client
