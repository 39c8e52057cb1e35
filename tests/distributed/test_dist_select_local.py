"""The distributed algorithms run in-process (no cluster): exactness, bounds, checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unisel.distributed import (
    ExactOptions,
    covering_radius,
    h_min,
    read_selection,
    run_selection,
    save_sharded,
    select_distributed,
    select_exact,
    select_two_round,
)
from unisel.distributed.selection import write_checkpoint
from unisel.errors import InputError, ParameterError
from unisel.metrics import neighbors
from unisel.select.engine.reference import cosine_normalize, maxmin_reference


def _data(seed: int, n: int, d: int, dup: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    if dup:
        X[rng.integers(0, n, dup)] = X[rng.integers(0, n, dup)]  # exact duplicate rows
    return X


def _chordal_cover(X, idx):
    U = cosine_normalize(X)
    return neighbors.covering_radius(U, U[idx], metric="euclidean")


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 120),
    d=st.integers(1, 6),
    parts=st.integers(1, 6),
    m=st.integers(1, 8),
    batch=st.integers(1, 40),
    dup=st.integers(0, 30),
    data=st.data(),
)
def test_exact_equals_reference(seed, n, d, parts, m, batch, dup, data):
    X = _data(seed, n, d, dup)
    k = data.draw(st.integers(1, n))
    start = data.draw(st.integers(0, n - 1))
    ref_i, ref_d = maxmin_reference(X, k, start=start)
    sel = select_exact(
        X, k, start=start, n_partitions=parts, options=ExactOptions(candidates=m, max_batch=batch)
    )
    np.testing.assert_array_equal(sel.indices, ref_i)
    np.testing.assert_allclose(sel.distances, ref_d, rtol=0, atol=1e-12)


def test_batching_cuts_round_trips_and_initial_prefix_is_kept():
    X = _data(1, 3000, 24)
    ref_i, ref_d = maxmin_reference(X, 400, initial=[10, 20, 30])
    sel = select_exact(
        X, 400, initial=[10, 20, 30], n_partitions=4, options=ExactOptions(candidates=16)
    )
    np.testing.assert_array_equal(sel.indices, ref_i)
    np.testing.assert_allclose(sel.distances, ref_d, rtol=0, atol=1e-12)
    assert sel.rounds < 400 / 4  # a round decides several rows on spread-out data


def test_two_round_single_partition_is_exact_and_bound_holds():
    X = _data(2, 800, 8)
    ref_i, _ = maxmin_reference(X, 60, start=7)
    one = select_two_round(X, 60, start=7, n_partitions=1)
    np.testing.assert_array_equal(one.indices, ref_i)
    for parts in (2, 5, 9):
        two = select_two_round(X, 60, start=7, n_partitions=parts)
        assert two.indices[0] == 7 and len(set(two.indices.tolist())) == 60
        # Malkomes et al. 2015: two-round greedy <= 4 * OPT <= 4 * (exact greedy), chordal metric
        assert _chordal_cover(X, two.indices) <= 4 * _chordal_cover(X, ref_i) + 1e-12


def test_metrics_over_partitions_equal_single_machine(tmp_path):
    X = _data(3, 500, 5, dup=3)
    idx = np.arange(0, 500, 7)
    save_sharded(X, tmp_path / "s", n_shards=4)
    for src in (X, tmp_path / "s"):
        for metric in ("cosine", "euclidean"):
            assert covering_radius(src, idx, metric=metric, n_partitions=3) == pytest.approx(
                neighbors.covering_radius(X, X[idx], metric=metric), abs=1e-12
            )
            assert h_min(src, metric=metric, n_partitions=3) == pytest.approx(
                neighbors.h_min(X, metric=metric), abs=1e-12
            )
            assert h_min(src, indices=idx, metric=metric) == pytest.approx(
                neighbors.h_min(X[idx], metric=metric), abs=1e-12
            )


def test_checkpoint_resume_and_guard(tmp_path):
    X = _data(4, 400, 6)
    ref_i, ref_d = maxmin_reference(X, 50, start=3)
    ck = tmp_path / "ck.json"
    fp = {
        "data": __import__("unisel.distributed._data", fromlist=["x"]).data_fingerprint(X),
        "n": 400,
        "d": 6,
        "mode": "exact",
        "prefix": [3],
    }
    write_checkpoint(ck, fp, ref_i[:20], ref_d[:20])
    out = tmp_path / "sel.json"
    sel = run_selection(X, 50, out, start=3, n_partitions=3, checkpoint=ck)
    assert sel.resumed_from == 20 and not ck.exists()
    got_i, got_d = read_selection(out)
    np.testing.assert_array_equal(got_i, ref_i)
    np.testing.assert_allclose(got_d, ref_d, atol=1e-12)
    assert json.loads(out.read_text())["mode"] == "exact"
    write_checkpoint(ck, {**fp, "prefix": [4]}, ref_i[:5], ref_d[:5])
    with pytest.raises(InputError, match="differs in prefix"):
        select_exact(X, 50, start=3, checkpoint=ck)
    with pytest.raises(ParameterError, match="exists"):
        run_selection(X, 50, out, start=3)
    with pytest.raises(ParameterError, match="k must be between"):
        select_exact(X, 401)


@pytest.mark.parametrize("mode", ["exact", "two-round"])
def test_euclidean_metric_is_a_clear_parameter_error(mode):
    X = np.random.default_rng(0).normal(size=(50, 4))
    with pytest.raises(ParameterError, match="metric='cosine' only, not 'euclidean'"):
        select_distributed(X, 5, mode=mode, metric="euclidean", client=None, start=0)


def test_two_round_steps_select_with_the_engine_that_ships(monkeypatch):
    import unisel.select.engine as engine

    real, calls = engine.maxmin, []

    def spy(X, k, **kw):
        calls.append((int(np.shape(X)[0]), int(k), kw.get("start")))
        return real(X, k, **kw)

    monkeypatch.setattr(engine, "maxmin", spy)
    X = _data(4, 300, 6, dup=20)
    sel = select_two_round(X, 12, start=5, n_partitions=3)
    # one local greedy per partition, then one on the union of their picks
    assert len(calls) == 4 and calls[-1][:2] == (sel.extra["union_size"], 12)
    ref, _ = maxmin_reference(X, 12, start=5)
    one = select_two_round(X, 12, start=5, n_partitions=1)
    np.testing.assert_array_equal(one.indices, ref)
