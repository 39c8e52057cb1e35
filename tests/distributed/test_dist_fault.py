"""A worker killed by its pid mid-selection: no partial output, recovery or a clean resume."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from unisel.distributed import (
    ClusterError,
    ExactOptions,
    read_selection,
    run_selection,
    select_exact,
)
from unisel.select.engine.reference import maxmin_reference


def _killer(client, after: int):
    """An on_round hook that SIGKILLs one worker process once ``after`` rows are selected."""
    pid = sorted(client.run(os.getpid).values())[0]
    fired = []

    def hook(selected: int) -> None:
        if selected >= after and not fired:
            fired.append(selected)
            os.kill(pid, signal.SIGKILL)

    return hook, fired


@pytest.fixture(scope="module")
def data():
    X = np.random.default_rng(7).standard_normal((3000, 12)).astype(np.float32)
    return X, maxmin_reference(X, 150, start=5)


def test_kill_without_retries_fails_cleanly_then_resumes(cluster, tmp_path, data):
    X, (ref_i, ref_d) = data
    out, ck = tmp_path / "sel.json", tmp_path / "ck.json"
    hook, fired = _killer(cluster, after=40)
    with pytest.raises(
        ClusterError, match=r"partition \d was lost .*rerun with the same checkpoint"
    ) as err:
        run_selection(
            X,
            150,
            out,
            client=cluster,
            start=5,
            checkpoint=ck,
            options=ExactOptions(candidates=4, checkpoint_every=0, retries=0, timeout=30),
            on_round=hook,
        )
    assert fired and "\n" not in str(err.value)
    assert not out.exists() and ck.exists()  # no partial output; the prefix is checkpointed
    cluster.wait_for_workers(2, timeout=60)
    sel = run_selection(
        X,
        150,
        out,
        client=cluster,
        start=5,
        checkpoint=ck,
        options=ExactOptions(candidates=4, timeout=30),
    )
    assert sel.resumed_from >= fired[0]
    got_i, got_d = read_selection(out)
    np.testing.assert_array_equal(got_i, ref_i)
    np.testing.assert_allclose(got_d, ref_d, atol=1e-12)
    assert not ck.exists()


def test_kill_with_retries_recovers_identically(cluster, data):
    X, (ref_i, ref_d) = data
    hook, fired = _killer(cluster, after=60)
    sel = select_exact(
        X,
        150,
        client=cluster,
        start=5,
        options=ExactOptions(candidates=4, retries=2, timeout=30),
        on_round=hook,
    )
    assert fired and sel.recoveries >= 1
    np.testing.assert_array_equal(sel.indices, ref_i)
    np.testing.assert_allclose(sel.distances, ref_d, atol=1e-12)
