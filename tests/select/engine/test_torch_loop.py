"""The device-resident torch loop, run on CPU torch, against the reference and the CPU engine."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from unisel.errors import ParameterError
from unisel.select.engine import _kernels, _torch_loop, fast, maxmin, maxmin_reference
from unisel.select.maxmin import MaxMinSelector

from .test_engine import clouds, dies_on_call, same

torch = pytest.importorskip("torch")  # a core test dependency here; skip only if it is absent


def device_loop(X, k, **kwargs):
    return _torch_loop.maxmin_device(X, k, device="cpu", **kwargs)


@settings(max_examples=60, deadline=None)
@given(clouds(max_n=150), st.sampled_from([1, 2, 3, 8, 1024]), st.sampled_from([1, 3, 64]))
def test_device_loop_equals_reference(case, refresh_every, cap):
    X, k, start = case
    want = maxmin_reference(X, k, start=start)
    same(device_loop(X, k, start=start, refresh_every=refresh_every, cap=cap), want)


@pytest.mark.parametrize(
    "kind", ["d=1", "k=1", "k=n", "all-zero", "all-duplicates", "one-row", "sign-flips"]
)
def test_edge_cases(kind):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 5))
    k = 30
    if kind == "d=1":  # every key is 0 or 2: ties everywhere
        X = rng.normal(size=(40, 1))
    elif kind == "k=1":
        k = 1
    elif kind == "k=n":
        k = 40
    elif kind == "all-zero":
        X = np.zeros((40, 5))
    elif kind == "all-duplicates":
        X = np.repeat(X[:1], 40, axis=0)
        k = 40
    elif kind == "one-row":
        X, k = X[:1], 1
    else:  # x and -x: keys 0 and 2 exactly
        X = np.concatenate([X[:20], -X[:20]])
        k = 40
    want = maxmin_reference(X, k, start=3 % X.shape[0])
    for every in (1, 2, 7):
        same(device_loop(X, k, start=3 % X.shape[0], refresh_every=every, cap=2), want)


@settings(max_examples=25, deadline=None)
@given(clouds(max_n=120), st.data())
def test_initial_matches_reference(case, data):
    X, k, _ = case
    n = X.shape[0]
    m = data.draw(st.integers(1, k))
    initial = np.random.default_rng(m).permutation(n)[:m].tolist()
    every = data.draw(st.sampled_from([1, 2, 5, 1024]))
    same(
        device_loop(
            X, k, initial=initial, refresh_every=every, cap=data.draw(st.sampled_from([1, 64]))
        ),
        maxmin_reference(X, k, initial=initial),
    )


def test_blocks_end_early_and_agree_with_cpu_engine():
    # clustered, with duplicates: small blocks end on theta, a small buffer overflows
    rng = np.random.default_rng(11)
    X = rng.normal(size=(8, 24))[rng.integers(8, size=700)] + 0.3 * rng.normal(size=(700, 24))
    X[300:320] = X[5]
    X = X.astype(np.float32)
    want = maxmin(X, 500, start=2)  # the CPU engine
    same(want, maxmin_reference(X, 500, start=2))
    seen = {"theta_ends": 0, "cap_ends": 0}
    for every, cap in ((16, 2), (64, 8)):
        same(device_loop(X, 500, start=2, refresh_every=every, cap=cap), want)
        stats = _torch_loop.LAST_STATS
        assert stats["block_steps"] == 499 and stats["refresh_rows"] > 0
        for key in seen:
            seen[key] += stats[key]
    assert seen["theta_ends"] > 0 and seen["cap_ends"] > 0  # both early block ends ran


def test_memmap_path_streams_in_blocks(tmp_path):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(400, 9)).astype(np.float32)
    np.save(tmp_path / "emb.npy", X)
    want = maxmin_reference(X, 150, start=7)
    same(device_loop(tmp_path / "emb.npy", 150, start=7, block_size=33, refresh_every=8), want)


def test_dispatch_from_maxmin_and_selector(monkeypatch):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 12)).astype(np.float32)
    X[10:20] = X[0]
    initial = rng.permutation(300)[:9].tolist()
    want = maxmin(X, 120, initial=initial)
    same(maxmin(X, 120, initial=initial, loop="device", device="torch", refresh_every=4), want)
    same(maxmin(X, 120, initial=initial, loop="device", device="cpu"), want)
    sel = MaxMinSelector(120, start=5, loop="device", device="cpu").fit(X)
    assert sel.get_params()["loop"] == "device"
    want5 = maxmin(X, 120, start=5)
    assert sel.ranking_.tolist() == want5[0].tolist()
    np.testing.assert_array_equal(sel.gains_, want5[1])  # both loops decide canonical keys

    # loop=None on a CPU device keeps the compiled CPU loop
    def dies(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_torch_loop, "maxmin_device", dies)
    same(maxmin(X, 120, initial=initial, device="torch"), want)
    with pytest.raises(KeyboardInterrupt):
        maxmin(X, 120, initial=initial, loop="device")


def test_canonical_keys_equal_numba_kernel():
    rng = np.random.default_rng(2)
    for d in (1, 7, 8, 9, 33, 384):
        X = rng.normal(size=(60, d)) * np.exp(rng.normal(size=(60, 1)))
        X[5] = X[2]
        X[7] = 0.0
        for dtype in (np.float32, np.float64):
            Xt = X.astype(dtype)
            nrm = fast.row_norms(Xt)
            rows = rng.integers(60, size=200)
            cols = rng.integers(60, size=200)
            rows[:3], cols[:3] = [2, 5, 7], [5, 2, 7]
            got = _torch_loop.canonical_keys(
                torch.from_numpy(Xt), torch.from_numpy(nrm),
                torch.from_numpy(rows), torch.from_numpy(cols),
            ).numpy()  # fmt: skip
            want = [
                _kernels.exact_key(Xt, nrm, int(a), int(b)) for a, b in zip(rows, cols, strict=True)
            ]
            assert got.tolist() == want  # bit for bit
            assert got[0] == got[1] == 0.0


def test_checkpoints_resume_and_cross_over(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(1200, 10)).astype(np.float32)
    want = maxmin(X, 700, start=3)
    # a device-loop run killed after a few blocks resumes to the same result
    ckpt = tmp_path / "device.npz"
    real = _torch_loop._DeviceState.block
    monkeypatch.setattr(_torch_loop._DeviceState, "block", dies_on_call(real, 30))
    with pytest.raises(KeyboardInterrupt):
        device_loop(X, 700, start=3, checkpoint=ckpt, checkpoint_every=50, refresh_every=16)
    monkeypatch.setattr(_torch_loop._DeviceState, "block", real)
    saved = int(np.load(ckpt)["t"])
    assert 1 < saved < 700
    same(device_loop(X, 700, start=3, checkpoint=ckpt, refresh_every=16), want)
    # ... and the CPU engine continues a device-loop checkpoint, and the other way round
    for first, second in ((device_loop, maxmin), (maxmin, device_loop)):
        path = tmp_path / f"{first.__name__}.npz"
        first(X, 300, start=3, checkpoint=path)
        same(second(X, 700, start=3, checkpoint=path), want)
        assert int(np.load(path)["t"]) == 700
    same(device_loop(X, 500, start=3, checkpoint=ckpt), (want[0][:500], want[1][:500]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "euclidean"}, "metric='cosine' only"),
        ({"prune": True}, "prune applies to loop='cpu'"),
        ({"refresh_every": 0}, "refresh_every"),
        ({"cap": 0}, "cap must be"),
        ({"device": "tpu"}, "unknown device"),
        ({"k": 0}, "between 1"),
    ],
)
def test_bad_parameters(kwargs, message):
    X = np.random.default_rng(7).normal(size=(10, 3))
    args = {"k": 3, "device": "cpu", **kwargs}
    with pytest.raises(ParameterError, match=message):
        _torch_loop.maxmin_device(X, **args)


def test_unknown_loop_is_a_parameter_error():
    with pytest.raises(ParameterError, match="unknown loop"):
        maxmin(np.ones((4, 2)), 2, loop="gpu")


def test_euclidean_stays_on_the_cpu_loop():
    X = np.random.default_rng(8).normal(size=(60, 4))
    assert not _torch_loop.uses_device_loop(None, "cpu", 60, 4, "euclidean")
    assert _torch_loop.uses_device_loop("device", "cpu", 60, 4, "cosine")
    with pytest.raises(ParameterError, match="metric='cosine' only"):
        maxmin(X, 5, metric="euclidean", loop="device", device="cpu")
    with pytest.raises(ParameterError, match="unknown metric"):
        maxmin(X, 5, metric="manhattan", loop="device", device="cpu")


@example(n=1)
@given(st.integers(1, 6))
@settings(max_examples=5, deadline=None)
def test_prediction_needs_history(n):
    dist = np.array([np.inf, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    assert _torch_loop.predict_theta(dist, n, 7, 1) is None
    assert _torch_loop.predict_theta(dist, 7, 3, 1) == pytest.approx(max(0.4 - 0.2, 0.2))


@settings(max_examples=30, deadline=None)
@given(clouds(max_n=120), st.sampled_from([1, 3, 8]), st.sampled_from([0.05, 0.5]))
def test_looser_screen_changes_work_not_result(case, refresh_every, tau):
    # any tau above the float32 error is valid; a large one keeps rows whose key fell below
    # theta in the active set, so the pick's "key >= theta" check has to end the block
    X, k, start = case
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_torch_loop, "tolerance", lambda d: tau)
        got = device_loop(X, k, start=start, refresh_every=refresh_every, cap=4)
    same(got, maxmin_reference(X, k, start=start))


@pytest.mark.parametrize("lane_sums", ["auto", "adds"])
def test_both_lane_sum_paths_are_canonical(monkeypatch, lane_sums):
    monkeypatch.setattr(_torch_loop, "LANE_SUMS", lane_sums)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 43)).astype(np.float32)
    X[100:110] = X[3]
    nrm = fast.row_norms(X)
    rows, cols = rng.integers(300, size=500), rng.integers(300, size=500)
    got = _torch_loop.canonical_keys(
        torch.from_numpy(X), torch.from_numpy(nrm), torch.from_numpy(rows), torch.from_numpy(cols)
    ).numpy()
    assert got.tolist() == [
        _kernels.exact_key(X, nrm, int(a), int(b)) for a, b in zip(rows, cols, strict=True)
    ]
    same(device_loop(X, 150, start=4, refresh_every=8), maxmin_reference(X, 150, start=4))


def test_lane_sum_probe_rejects_another_order():
    cpu = torch.device("cpu")
    assert _torch_loop.agrees_with_adds(_torch_loop._cumsum_lane_sums, cpu, 48)  # CPU: in order

    def pairwise(body):  # the same terms, summed as a tree
        while body.shape[-2] > 1:
            if body.shape[-2] % 2:
                body = torch.cat([body, torch.zeros_like(body[..., :1, :])], dim=-2)
            body = body[..., 0::2, :] + body[..., 1::2, :]
        return body[..., 0, :]

    def reversed_order(body):
        return _torch_loop._lane_sums_by_adds(torch.flip(body, dims=[-2]))

    for steps in (5, 48):
        assert not _torch_loop.agrees_with_adds(pairwise, cpu, steps)
        assert not _torch_loop.agrees_with_adds(reversed_order, cpu, steps)
