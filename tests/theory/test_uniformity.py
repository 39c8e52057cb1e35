from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from unisel.theory import run
from unisel.theory.common import rng_for
from unisel.theory.uniformity import (
    beta_integral_p2,
    mixture_integral_p2,
    poisson_constant,
    sample_beta,
    sample_mixture,
)


@pytest.mark.parametrize("a", [1.0, 2.0, 5.0])
@pytest.mark.parametrize("d", [1, 2])
def test_beta_integral_of_p2_matches_monte_carlo(a: float, d: int) -> None:
    # integral p^2 = E_p[p(X)]
    X = sample_beta(rng_for(0, "t", d), a, 200_000, d)
    mc = np.prod(stats.beta.pdf(X, a, a), axis=1).mean()
    assert beta_integral_p2(a, d) == pytest.approx(mc, rel=0.02)


@pytest.mark.parametrize("w", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("d", [1, 3])
def test_mixture_integral_of_p2_matches_monte_carlo(w: float, d: int) -> None:
    sigma = 0.05
    X = sample_mixture(rng_for(1, "t", d), w, 400_000, d, sigma)
    inside = np.all((X >= 0) & (X <= 1), axis=1)
    gauss = np.prod(stats.norm.pdf(X, 0.5, sigma), axis=1)
    mc = ((1 - w) * inside + w * gauss).mean()
    assert mixture_integral_p2(w, d, sigma) == pytest.approx(mc, rel=0.03)


def test_flat_density_has_unit_integral_and_peaking_raises_it() -> None:
    assert beta_integral_p2(1.0, 3) == pytest.approx(1.0)
    assert mixture_integral_p2(0.0, 2) == pytest.approx(1.0)
    assert beta_integral_p2(1.0, 2) < beta_integral_p2(2.0, 2) < beta_integral_p2(5.0, 2)


def test_poisson_constant() -> None:
    # d = 1: V_1 = 2, so c_1 = Gamma(2) * 1 = 1; d = 2: V_2 = pi, c_2 = Gamma(3/2) (pi/2)^(-1/2).
    assert poisson_constant(1) == pytest.approx(1.0)
    assert poisson_constant(2) == pytest.approx(math.gamma(1.5) / math.sqrt(math.pi / 2))


def test_quick_run_directions(quick_results) -> None:
    res = quick_results["uniformity"]
    assert res.json_path is not None and res.json_path.is_file()
    assert res.figure_path is not None and res.figure_path.read_bytes()[:4] == b"\x89PNG"
    checks = {c.prediction: c for c in res.checks}
    assert res.agrees, res.summary()
    # h_min falls with peakedness in every family and dimension.
    peaked = [c for p, c in checks.items() if "more peaked" in p]
    assert len(peaked) == 6 and all(c.value < 0 for c in peaked)
    for d in (1, 2, 3):
        assert abs(res.data["fits"][f"d={d}"]["slope"] - 1.0) < 0.15
        # The Poisson constant predicts the level too, not only the rate.
        assert 0.7 < res.data["fits"][f"d={d}"]["measured_over_predicted_median"] < 1.3
    subs = res.data["subsets"]
    assert all(r["maxmin_h_min"] > r["random_h_min"] for r in subs)


def test_same_seed_same_json_other_seed_other_numbers(tmp_path, quick_results) -> None:
    first = quick_results["uniformity"].json_path
    run("uniformity", tmp_path / "again", quick=True, seed=0, quiet=True)
    assert (tmp_path / "again" / "uniformity.json").read_bytes() == first.read_bytes()
    run("uniformity", tmp_path / "other", quick=True, seed=1, quiet=True)
    assert (tmp_path / "other" / "uniformity.json").read_bytes() != first.read_bytes()
