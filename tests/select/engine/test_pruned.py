"""The cluster-pruned phase of the engine: identical to the reference, and it does prune.

Exact equality is the contract: the engine and the reference both decide with the canonical
float64 keys of `unisel.select.engine._canonical` (a fixed summation order, no BLAS), so no numpy
or BLAS version can move one side without the other.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unisel.errors import ParameterError
from unisel.select.engine import _kernels as K
from unisel.select.engine import _pruned, fast, maxmin, maxmin_reference
from unisel.select.engine._inputs import unit32_rows
from unisel.select.engine.reference import canonical_distances, cosine_normalize

from .test_engine import clouds, dies_on_call, same


def mixture(n: int, d: int, parts: int, spread: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(parts, d))
    return (centres[rng.integers(parts, size=n)] + spread * rng.normal(size=(n, d))).astype(
        np.float32
    )


@settings(max_examples=100, deadline=None)
@given(clouds(), st.sampled_from([1, 2, 3, 7, True]))
def test_pruned_equals_reference(case, prune):
    X, k, start = case
    same(maxmin(X, k, start=start, prune=prune), maxmin_reference(X, k, start=start))


@settings(max_examples=25, deadline=None)
@given(clouds(max_n=150), st.data())
def test_pruned_with_initial_equals_reference(case, data):
    X, k, _ = case
    m = data.draw(st.integers(1, k))
    initial = np.random.default_rng(m).permutation(X.shape[0])[:m].tolist()
    prune = data.draw(st.sampled_from([1, 4, True]))
    same(maxmin(X, k, initial=initial, prune=prune), maxmin_reference(X, k, initial=initial))


def test_pruning_skips_work_and_stays_exact():
    # well separated groups: a centre of one group provably cannot reach the others
    X = mixture(6000, 48, parts=12, spread=0.5, seed=3)
    X[100:110] = X[7]  # duplicates: ties to the lowest index
    X[200] = 0.0  # a zero row
    k = 3000
    want = maxmin_reference(X, k, start=5)
    same(maxmin(X, k, start=5, prune=24), want)
    groups, screened, dots, keys, pruned = fast.LAST_PRUNE_STATS
    assert pruned > screened // 2  # most (group, centre) pairs were skipped
    assert dots < X.shape[0] * k // 4  # a quarter of the plain loop's distances at most
    # float64 keys are decided lazily: deciding each one at once would take at least one per
    # row (the first centre) plus one for every key that drops
    assert keys < X.shape[0]
    same(maxmin(X, k, start=5, prune=24, n_jobs=1), want)  # one numba thread: same result
    same(maxmin(X, k, start=5, prune=False), want)
    assert fast.LAST_PRUNE_STATS == []


def test_phase_hands_over_to_the_lazy_loop_when_it_cannot_prune():
    # one cluster for twelve well separated groups: the bound is too wide to skip anything
    X = mixture(3000, 24, parts=12, spread=0.5, seed=9)
    k = _pruned.CHECK_AFTER + 600
    same(maxmin(X, k, start=1, prune=1), maxmin_reference(X, k, start=1))
    screened, skipped = fast.LAST_PRUNE_STATS[1], fast.LAST_PRUNE_STATS[4]
    assert skipped < _pruned.MIN_PRUNED_SHARE * screened
    assert fast.LAST_STATS[0] > 0  # the lazy loop took over


def test_phase_hands_over_when_its_blocks_compute_too_many_distances(tmp_path, monkeypatch):
    # the row-share test alone: every block computes some distances, so a zero limit hands
    # over at the first check, mid-run, with pending centres to decide
    X = mixture(3000, 24, parts=12, spread=0.5, seed=9)
    k = _pruned.CHECK_AFTER + 600
    want = maxmin_reference(X, k, start=1)
    same(maxmin(X, k, start=1, prune=24), want)
    assert fast.LAST_STATS[0] == 0  # with the default limit the phase ran to the end
    monkeypatch.setattr(_pruned, "MAX_ROW_SHARE", 0.0)
    same(maxmin(X, k, start=1, prune=24), want)
    assert fast.LAST_PRUNE_STATS and fast.LAST_STATS[0] > 0  # the lazy loop took over
    head = want[0][:40].tolist()
    same(maxmin(X, k, initial=head, prune=24), maxmin_reference(X, k, initial=head))
    # killed in the lazy loop after the hand-over, resumed from its checkpoint
    ckpt = tmp_path / "state.npz"
    real = K.lazy_steps
    monkeypatch.setattr(K, "lazy_steps", dies_on_call(real, 2))
    with pytest.raises(KeyboardInterrupt):
        maxmin(X, k, start=1, prune=24, checkpoint=ckpt, checkpoint_every=50)
    monkeypatch.setattr(K, "lazy_steps", real)
    assert int(np.load(ckpt)["t"]) >= _pruned.CHECK_AFTER
    same(maxmin(X, k, start=1, prune=24, checkpoint=ckpt), want)


def _stub_state(shares: list[float], screened: int, skipped: int) -> _pruned.PrunedState:
    """A PrunedState with only what `hand_over` reads: block shares and pair counters."""
    state = object.__new__(_pruned.PrunedState)
    state.t_start = 1
    state.shares = list(shares)
    state.stats = np.zeros(_pruned.N_STATS, dtype=np.int64)
    state.stats[1], state.stats[4] = screened, skipped
    return state


def test_hand_over_before_the_check_only_when_the_share_rises_and_the_test_fails():
    rise = [0.09, 0.20, 0.23]  # the word2vec windows' blocks at steps 37-82
    fall = [0.96, 0.88, 0.80]  # a Gaussian mixture before its radius drops below the clusters
    early = 82
    assert _stub_state(rise, 100, 10).hand_over(early)
    assert not _stub_state(fall, 100, 10).hand_over(early)
    assert not _stub_state([0.23, 0.20, 0.23], 100, 10).hand_over(early)  # rose once only
    assert not _stub_state(rise[1:], 100, 10).hand_over(early)  # too few blocks yet
    # rising but worthwhile: few distances (at most MAX_ROW_SHARE) and most pairs skipped
    assert not _stub_state([0.02, 0.04, 0.05], 100, 60).hand_over(early)
    # from CHECK_AFTER on the test alone decides, whichever way the share moves
    late = 1 + _pruned.CHECK_AFTER
    assert _stub_state(fall, 100, 10).hand_over(late)
    assert not _stub_state([0.09, 0.08, 0.05], 100, 60).hand_over(late)


def test_trial_on_a_subsample_decides_whether_prune_none_builds_the_phase(monkeypatch):
    X = mixture(2 * _pruned.TRIAL_ROWS, 8, parts=40, spread=0.2, seed=12)
    k = 300
    want = maxmin_reference(X, k)
    assert not _pruned.trial_hands_over(X, np.linalg.norm(X.astype(np.float64), axis=1), 1e-6, 4096)
    same(maxmin(X, k), want)
    assert fast.LAST_TRIAL is False and fast.LAST_PRUNE_STATS  # the mixture keeps the phase
    monkeypatch.setattr(_pruned, "trial_hands_over", lambda *args, **kwargs: True)
    same(maxmin(X, k), want)
    assert fast.LAST_TRIAL is True and fast.LAST_PRUNE_STATS == []  # the lazy loop alone
    same(maxmin(X, k, prune=True), want)  # an explicit prune runs no trial
    assert fast.LAST_TRIAL is None and fast.LAST_PRUNE_STATS
    same(
        maxmin(X[: 2 * _pruned.TRIAL_ROWS - 1], k),
        maxmin_reference(X[: 2 * _pruned.TRIAL_ROWS - 1], k),
    )
    assert fast.LAST_TRIAL is None  # too few rows for a trial: the phase decides by itself


def test_trial_fires_exactly_when_the_hand_over_rule_does(monkeypatch):
    X = mixture(2 * _pruned.TRIAL_ROWS, 8, parts=40, spread=0.2, seed=12)
    nrm = np.linalg.norm(X.astype(np.float64), axis=1)
    assert not _pruned.trial_hands_over(X, nrm, 1e-6, 4096)
    # no rise needed and no block cheap enough: the rule fires at the first synchronisation
    monkeypatch.setattr(_pruned, "RISING_BLOCKS", 0)
    monkeypatch.setattr(_pruned, "MAX_ROW_SHARE", 0.0)
    assert _pruned.trial_hands_over(X, nrm, 1e-6, 4096)


def test_auto_turns_the_phase_on_for_large_inputs():
    X = mixture(_pruned.MIN_ROWS, 6, parts=10, spread=0.3, seed=4)
    same(maxmin(X, 400), maxmin_reference(X, 400))
    assert fast.LAST_PRUNE_STATS, "prune=None should use the pruned phase at MIN_ROWS rows"
    maxmin(X[: _pruned.MIN_ROWS - 1], 10)
    assert fast.LAST_PRUNE_STATS == []
    assert not _pruned.auto_enabled(10**9, 384)  # a float32 copy that would not fit


def test_bounds_are_lower_bounds_of_every_key():
    # group: L_p(c) = 1 - <mu_p, c> - a_p |V^T c| - b_p |(I - VV^T) c| <= delta(x, c), x in G_p;
    # row:   L_x(c) = 1 - <mu_p, c> - a_x |V^T c| - b_x |(I - VV^T) c| <= delta(x, c)
    X = mixture(3000, 40, parts=6, spread=0.8, seed=5)
    n, d = X.shape
    nrm = fast.row_norms(X)
    k = 64
    idx, _ = maxmin(X, k, prune=False)
    C32 = np.zeros((k, d), dtype=np.float32)
    C32[:k] = unit32_rows(X, nrm, idx)
    md = np.zeros(n)
    stamp = np.full(n, k, dtype=np.int64)
    state = _pruned.PrunedState(X, nrm, C32, idx, md, stamp, k, 20, fast.tolerance(d), 512)
    G, R, S = state.groups, state.rows, state.centres
    U = cosine_normalize(X)
    group_of = np.repeat(np.arange(G.start.size - 1), np.diff(G.start))
    for s in range(k):
        g = G.mu32.astype(np.float64) @ C32[s].astype(np.float64)
        keys = canonical_distances(U, U[idx[s]])[R.perm]
        lower_row = 1.0 - (g[group_of] + R.ra * S.ps[s] + R.rb * S.pp[s])
        assert np.all(keys >= lower_row - 1e-9)
        lower_group = 1.0 - (g + G.a * S.ps[s] + G.b * S.pp[s])
        assert np.all(keys >= lower_group[group_of] - 1e-9)
    assert np.all(G.a >= R.ra[G.start[:-1]]) and np.all(R.ra > 0) and np.all(R.rb > 0)
    # the centre norms bound the true ones (float64 from the float32 centre rows)
    full = np.linalg.norm(C32.astype(np.float64), axis=1)
    assert np.all(S.ps[:k] ** 2 + S.pp[:k] ** 2 >= full**2 * (1 - 1e-6))


def test_keys_leave_the_phase_exact():
    # after some steps, pending centres decided: every key is the canonical minimum distance
    X = mixture(4000, 32, parts=10, spread=0.6, seed=8)
    X[50:60] = X[3]  # duplicates
    X[70] = X[71] + 1e-7  # a near-tie
    n, d = X.shape
    nrm = fast.row_norms(X)
    k = 700
    indices = np.empty(k, dtype=np.int64)
    distances = np.full(k, np.nan)
    indices[0], distances[0] = 2, np.inf
    C32 = np.zeros((k, d), dtype=np.float32)
    C32[0] = unit32_rows(X, nrm, indices[:1])
    md = np.full(n, np.inf)
    md[2] = -np.inf
    stamp = np.zeros(n, dtype=np.int64)
    state = _pruned.PrunedState(X, nrm, C32, indices, md, stamp, 1, 16, fast.tolerance(d), 1000)
    t = 1
    while t < k:
        t = state.steps(distances, t, min(k, t + _pruned.block_length(t)))
    assert int((state.rows.cand >= 0).sum()) > 0  # some centres were still pending
    state.write_back(md, stamp, t)
    assert (state.rows.cand < 0).all() and (stamp == t).all()
    U = cosine_normalize(X)
    want = np.min([canonical_distances(U, U[j]) for j in indices[:t]], axis=0)
    want[indices[:t]] = -np.inf
    np.testing.assert_array_equal(md, want)
    same((indices, distances), maxmin_reference(X, k, start=2))


def test_resumed_pruned_run_equals_uninterrupted(tmp_path, monkeypatch):
    X = mixture(5000, 16, parts=8, spread=0.6, seed=6)
    monkeypatch.setattr(_pruned, "MAX_ROW_SHARE", 1.0)  # stay in the phase (no hand-over)
    want = maxmin(X, 2500, start=3, prune=True)
    ckpt = tmp_path / "state.npz"
    real = _pruned.pruned_steps
    monkeypatch.setattr(_pruned, "pruned_steps", dies_on_call(real, 10))
    with pytest.raises(KeyboardInterrupt):
        maxmin(X, 2500, start=3, prune=True, checkpoint=ckpt, checkpoint_every=100)
    monkeypatch.setattr(_pruned, "pruned_steps", real)
    saved = int(np.load(ckpt)["t"])
    assert 1 < saved < 2500
    same(maxmin(X, 2500, start=3, prune=True, checkpoint=ckpt), want)
    # a checkpoint written without the phase (rows at different stamps) resumed with it
    ckpt2 = tmp_path / "lazy.npz"
    maxmin(X, 900, start=3, prune=False, checkpoint=ckpt2)
    same(maxmin(X, 2500, start=3, prune=True, checkpoint=ckpt2), want)
    # ... with its stale centres folded in several chunks
    ckpt3 = tmp_path / "lazy3.npz"
    maxmin(X, 900, start=3, prune=False, checkpoint=ckpt3)
    monkeypatch.setattr(_pruned, "FOLD_CHUNK", 64)
    same(maxmin(X, 2500, start=3, prune=True, checkpoint=ckpt3), want)
    same(want, maxmin_reference(X, 2500, start=3))


def test_permute_rows_and_group_starts():
    rng = np.random.default_rng(7)
    A = rng.normal(size=(500, 3)).astype(np.float32)
    perm = rng.permutation(500)
    B = A.copy()
    _pruned.permute_rows(B, perm)
    np.testing.assert_array_equal(B, A[perm])
    starts = _pruned.group_starts(np.array([5, 0, 300, 128, 129]), 128)
    sizes = np.diff(starts)
    assert starts[0] == 0 and starts[-1] == 562
    # 5 -> 5; 0 -> no group; 300 -> 3 x 100; 128 -> 128; 129 -> 64 + 65
    assert sorted(sizes.tolist()) == [5, 64, 65, 100, 100, 100, 128]


@pytest.mark.parametrize("prune", [0, -3, 2.5, "yes"])
def test_bad_prune_values(prune):
    X = np.random.default_rng(8).normal(size=(20, 3))
    with pytest.raises(ParameterError, match="prune"):
        maxmin(X, 5, prune=prune)
