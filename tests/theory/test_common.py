from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import pdist

from unisel.select.engine.reference import maxmin_reference
from unisel.theory.common import (
    Check,
    TheoryResult,
    deterministic,
    euclidean_h_min,
    euclidean_maxmin,
    fit_line,
    jsonable,
    paired_check,
    rng_for,
    slope_check,
    spearman_check,
    write_json,
)


def _maxmin_plain(X: np.ndarray, k: int, start: int) -> list[int]:
    """Farthest-point selection straight from the definition (all pairwise distances)."""
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    chosen = [start]
    while len(chosen) < k:
        score = D[:, chosen].min(axis=1)
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return chosen


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 40), d=st.integers(1, 4))
def test_euclidean_maxmin_matches_definition(seed: int, n: int, d: int) -> None:
    X = np.random.default_rng(seed).random((n, d))
    k = max(1, n // 2)
    start = seed % n
    assert euclidean_maxmin(X, k, start=start).tolist() == _maxmin_plain(X, k, start)


def test_euclidean_maxmin_equals_cosine_reference_on_the_unit_sphere() -> None:
    # On unit rows |u - v|^2 = 2 (1 - cos): the two greedy orders must coincide.
    rng = np.random.default_rng(3)
    U = rng.standard_normal((300, 5))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    ref, _ = maxmin_reference(U, 40, start=7)
    assert euclidean_maxmin(U, 40, start=7).tolist() == ref.tolist()


def test_euclidean_maxmin_continues_from_initial() -> None:
    X = np.random.default_rng(1).random((50, 2))
    out = euclidean_maxmin(X, 10, initial=[4, 9])
    assert out[:2].tolist() == [4, 9]
    assert len(set(out.tolist())) == 10
    with pytest.raises(ValueError):
        euclidean_maxmin(X, 51)


def test_euclidean_h_min_matches_pdist_even_for_tiny_gaps() -> None:
    rng = np.random.default_rng(2)
    X = rng.random((200, 3))
    X[17] = X[5] + 1e-10  # below what a Gram-matrix expansion can resolve
    assert euclidean_h_min(X) == pytest.approx(pdist(X).min(), rel=1e-6)
    assert euclidean_h_min(X) < 2e-10
    assert math.isnan(euclidean_h_min(X[:1]))


def test_spearman_check_decides_by_sign_and_p_value() -> None:
    x = np.arange(30.0)
    up = spearman_check("p", x, x**2, sign=+1, x_name="x", y_name="y")
    assert up.agrees and up.value == pytest.approx(1.0) and up.p_value is not None
    assert not spearman_check("p", x, x**2, sign=-1, x_name="x", y_name="y").agrees
    noise = np.random.default_rng(0).random(30)
    weak = spearman_check("p", x, noise, sign=+1, x_name="x", y_name="y", alpha=1e-6)
    assert not weak.agrees


def test_slope_and_paired_checks() -> None:
    x = np.linspace(0, 1, 20)
    fit = fit_line(x, 2.0 * x + 1.0)
    assert fit.slope == pytest.approx(2.0) and fit.low <= 2.0 <= fit.high
    assert slope_check("p", fit, target=2.0, tolerance=0.1, what="y").agrees
    assert not slope_check("p", fit, target=1.0, tolerance=0.1, what="y").agrees
    a, b = np.arange(10.0) + 1.0, np.arange(10.0)
    assert paired_check("p", a, b, larger_is_better=True, what="v").agrees
    assert not paired_check("p", a, b, larger_is_better=False, what="v").agrees
    assert not paired_check("p", b, b, larger_is_better=True, what="v").agrees


def test_rng_for_is_stable_and_separates_keys() -> None:
    a = rng_for(5, "x", 1).random(4)
    assert np.array_equal(a, rng_for(5, "x", 1).random(4))
    assert not np.array_equal(a, rng_for(5, "x", 2).random(4))
    assert not np.array_equal(a, rng_for(6, "x", 1).random(4))


def test_deterministic_restores_torch_settings() -> None:
    import torch

    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
    with deterministic(threads=1):
        assert torch.get_num_threads() == 1
        assert torch.are_deterministic_algorithms_enabled()
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == before


def test_json_output_is_strict_and_complete(tmp_path) -> None:
    res = TheoryResult(
        "x",
        "claim",
        [Check("p", "s", 0.5, None, "c", True)],
        {"n": np.int64(3)},
        {"v": np.array([1.0, np.nan, np.inf]), "t": (np.float32(0.5), np.bool_(True))},
    )
    write_json(res.to_dict(), tmp_path / "x.json")
    back = json.loads((tmp_path / "x.json").read_text())
    assert back["data"]["v"] == [1.0, None, None]
    assert back["data"]["t"] == [0.5, True]
    assert back["agrees"] is True and back["checks"][0]["prediction"] == "p"
    assert jsonable({1: np.float64(2.0)}) == {"1": 2.0}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temp file left behind


def test_the_theory_selects_with_the_engine_that_ships(monkeypatch) -> None:
    import unisel.select.engine as engine

    real, calls = engine.maxmin, []

    def spy(X, k, **kw):
        calls.append(kw.get("metric"))
        return real(X, k, **kw)

    monkeypatch.setattr(engine, "maxmin", spy)
    X = np.random.default_rng(5).random((200, 3))
    X[50] = X[10]  # an exact duplicate: ties go to the lowest index in every engine
    out = euclidean_maxmin(X, 30, start=3)
    assert calls == ["euclidean"]
    ref, _ = maxmin_reference(X, 30, start=3, metric="euclidean")
    assert out.tolist() == ref.tolist() == _maxmin_plain(X, 30, 3)
