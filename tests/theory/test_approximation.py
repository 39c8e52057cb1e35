from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import Delaunay

from unisel.theory.approximation import (
    DESIGNS,
    circumcentres,
    design,
    grid_points,
    largest_simplex_diameter,
    neural_interpolant,
    piecewise_linear,
    target,
)
from unisel.theory.common import euclidean_h_min, rng_for


def _diameters_plain(X: np.ndarray) -> tuple[float, float]:
    """(largest diameter of all simplices, of those whose circumcentre is in the cube)."""
    all_d, in_d = 0.0, 0.0
    for simplex in Delaunay(X).simplices:
        V = X[simplex]
        diam = max(np.linalg.norm(a - b) for a, b in itertools.combinations(V, 2))
        # circumcentre: equidistant from all vertices
        A = 2 * (V[1:] - V[0])
        c = np.linalg.solve(A, (V[1:] ** 2).sum(1) - (V[0] ** 2).sum())
        all_d = max(all_d, diam)
        if np.all((c >= 0) & (c <= 1)):
            in_d = max(in_d, diam)
    return all_d, in_d


@pytest.mark.parametrize("d", [2, 3])
def test_largest_simplex_diameter_matches_loop(d: int) -> None:
    X = np.random.default_rng(d).random((40, d))
    all_d, in_d = _diameters_plain(X)
    assert largest_simplex_diameter(X, domain_only=False) == pytest.approx(all_d)
    assert largest_simplex_diameter(X) == pytest.approx(in_d)
    assert in_d <= all_d


def test_largest_gap_in_one_dimension() -> None:
    X = np.array([[0.1], [0.9], [0.3], [0.35]])
    assert largest_simplex_diameter(X) == pytest.approx(0.55)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(2, 3))
def test_circumcentre_is_equidistant(seed: int, d: int) -> None:
    V = np.random.default_rng(seed).random((5, d + 1, d))
    c = circumcentres(V)
    r = np.linalg.norm(V - c[:, None, :], axis=2)
    assert np.allclose(r, r[:, :1], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_piecewise_linear_reproduces_affine_functions(d: int) -> None:
    rng = np.random.default_rng(0)
    X = np.vstack([np.array(list(itertools.product((0.0, 1.0), repeat=d))), rng.random((20, d))])
    w = np.arange(1.0, d + 1)
    Q = grid_points(d, 7)
    assert np.allclose(piecewise_linear(X, X @ w + 0.5, Q), Q @ w + 0.5)


def test_piecewise_linear_outside_hull_uses_nearest_sample() -> None:
    X = np.array([[0.2, 0.2], [0.8, 0.2], [0.2, 0.8], [0.8, 0.8]])
    y = np.array([1.0, 2.0, 3.0, 4.0])
    out = piecewise_linear(X, y, np.array([[0.0, 0.0], [0.5, 0.5]]))
    assert out[0] == 1.0 and np.isfinite(out[1])


@pytest.mark.parametrize("name", DESIGNS)
def test_designs_have_n_points_in_the_cube(name: str) -> None:
    X = design(name, 30, 2, rng_for(0, name), 10)
    assert X.shape == (30, 2) and np.all((X >= 0) & (X <= 1))
    assert len(np.unique(X, axis=0)) == 30


def test_maxmin_design_is_spread_and_clustered_is_not() -> None:
    h = {n: euclidean_h_min(design(n, 40, 2, rng_for(1, n), 20)) for n in DESIGNS}
    assert h["maxmin"] > h["random"] and h["maxmin"] > h["clustered"]


def test_neural_interpolant_fits_training_points() -> None:
    X = np.linspace(0, 1, 9)[:, None]
    y = target(X)
    pred = neural_interpolant(X, y, X, width=16, steps=600, lr=1e-2, seed=0)
    assert pred.shape == (9,)
    assert np.sqrt(np.mean((pred - y) ** 2)) < 0.1 * np.std(y)


def test_quick_run_directions(quick_results) -> None:
    res = quick_results["approximation"]
    assert res.figure_path is not None and res.figure_path.is_file()
    assert res.agrees, res.summary()
    med = res.data["medians"]
    for key in {k.rsplit(",", 1)[0] for k in med}:
        mm, rnd, cl = (med[f"{key},{n}"] for n in DESIGNS)
        assert mm["median_pl_l2_error"] < rnd["median_pl_l2_error"] < cl["median_pl_l2_error"]
        assert mm["median_h_min"] > rnd["median_h_min"]
    for c in res.checks:
        if "grows with the" in c.prediction:
            assert c.value > 0
        if "falls as h_min grows" in c.prediction:
            assert c.value < 0
