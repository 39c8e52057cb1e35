"""Theorem 1: uniformity raises h_min.

The claim
---------
For n i.i.d. points with density p in d dimensions, the number of pairs closer than r is
about (n^2 / 2) * (integral of p^2) * V_d r^d for small r (V_d the volume of the unit ball),
so by the Poisson approximation

    E[h_min] ~ Gamma(1 + 1/d) * (V_d / 2)^(-1/d) * (n^2 * integral of p^2)^(-1/d).

A peaked density has a larger integral of p^2 than a flat one on the same support, hence a
smaller h_min. Greedy max-min subsets do not sample a density at all: they pack, with h_min of
order k^(-1/d) instead of k^(-2/d) for a random subset.

The experiment
--------------
Two families of densities on [0, 1]^d going from flat to peaked, each with a closed-form
integral of p^2:

* ``beta``: product of d Beta(a, a) marginals, a = 1 (uniform) upwards;
  integral of p^2 = (B(2a - 1, 2a - 1) / B(a, a)^2)^d.
* ``mixture``: (1 - w) * uniform + w * N(1/2, sigma^2 I) with sigma = 0.05 (the Gaussian lies
  in the cube up to probability < 1e-20); integral of p^2 =
  (1 - w)^2 + 2 w (1 - w) (2 Phi(1 / (2 sigma)) - 1)^d + w^2 (4 pi sigma^2)^(-d/2).

For several n and d and many seeds, h_min is measured exactly (k-d tree). Then from one biased
sample (Beta(5, 5)^d) a Euclidean max-min subset and a random subset of the same size k are
compared, pool by pool.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special, stats

from unisel.theory import common
from unisel.theory.common import Check, TheoryResult

NAME = "uniformity"
CLAIM = (
    "Theorem 1: h_min of n i.i.d. points scales like (n^2 * integral p^2)^(-1/d), "
    "so peaked (biased) densities give smaller gaps"
)
MIXTURE_SIGMA = 0.05


@dataclass(frozen=True)
class UniformityConfig:
    """Sizes of the uniformity experiment.

    Attributes
    ----------
    ns, dims : tuple of int
        Sample sizes and dimensions swept.
    beta_a : tuple of float
        Beta(a, a) shape parameters (1 = uniform; larger = more peaked).
    mixture_w : tuple of float
        Weights of the narrow Gaussian in the mixture family (0 = uniform).
    reps : int
        Independent samples per (family, parameter, n, d) cell.
    pool_size : int
        Size of the biased sample the subsets are drawn from.
    pool_a : float
        Beta(a, a)^d of the biased sample.
    subset_ks : tuple of int
        Subset sizes.
    subset_reps : int
        Pools per (d, k); each gives one (max-min, random) pair.
    """

    ns: tuple[int, ...] = (100, 300, 1000, 3000)
    dims: tuple[int, ...] = (1, 2, 3)
    beta_a: tuple[float, ...] = (1.0, 1.5, 2.0, 3.0, 5.0, 8.0)
    mixture_w: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 0.9)
    reps: int = 200
    pool_size: int = 2000
    pool_a: float = 5.0
    subset_ks: tuple[int, ...] = (25, 50, 100, 200)
    subset_reps: int = 10


QUICK = UniformityConfig(
    ns=(200, 800),
    beta_a=(1.0, 2.0, 5.0),
    mixture_w=(0.0, 0.5, 0.9),
    reps=30,
    pool_size=600,
    subset_ks=(20, 60),
    subset_reps=6,
)
FULL = UniformityConfig()


# ------------------------------------------------------------------------------- densities
def beta_integral_p2(a: float, d: int) -> float:
    """Integral of p^2 over [0, 1]^d for the product of d Beta(a, a) densities (a > 1/2)."""
    log1 = special.betaln(2 * a - 1, 2 * a - 1) - 2 * special.betaln(a, a)
    return float(math.exp(d * log1))


def mixture_integral_p2(w: float, d: int, sigma: float = MIXTURE_SIGMA) -> float:
    """Integral of p^2 for (1 - w) uniform([0,1]^d) + w N(1/2, sigma^2 I)."""
    mass_in_cube = (2 * stats.norm.cdf(0.5 / sigma) - 1) ** d
    gauss_sq = (4 * math.pi * sigma**2) ** (-d / 2)
    return float((1 - w) ** 2 + 2 * w * (1 - w) * mass_in_cube + w**2 * gauss_sq)


def sample_beta(rng: np.random.Generator, a: float, n: int, d: int) -> np.ndarray:
    """n points (n, d) from Beta(a, a)^d."""
    return rng.beta(a, a, size=(n, d))


def sample_mixture(
    rng: np.random.Generator, w: float, n: int, d: int, sigma: float = MIXTURE_SIGMA
) -> np.ndarray:
    """n points (n, d) from (1 - w) uniform + w N(1/2, sigma^2 I)."""
    peaked = rng.random(n) < w
    X = rng.random((n, d))
    X[peaked] = 0.5 + sigma * rng.standard_normal((int(peaked.sum()), d))
    return X


@dataclass(frozen=True)
class Family:
    """A one-parameter family of densities from flat to peaked."""

    name: str
    parameter: str
    integral_p2: Callable[[float, int], float]
    sample: Callable[[np.random.Generator, float, int, int], np.ndarray]


FAMILIES = {
    "beta": Family("beta", "a", beta_integral_p2, sample_beta),
    "mixture": Family("mixture", "w", mixture_integral_p2, sample_mixture),
}


def poisson_constant(d: int) -> float:
    """c_d in E[h_min] ~ c_d (n^2 * integral p^2)^(-1/d): Gamma(1 + 1/d) (V_d / 2)^(-1/d)."""
    v_d = math.pi ** (d / 2) / math.gamma(d / 2 + 1)
    return math.gamma(1 + 1 / d) * (v_d / 2) ** (-1 / d)


# ------------------------------------------------------------------------------- experiment
def _cells(cfg: UniformityConfig) -> list[tuple[str, float]]:
    return [("beta", a) for a in cfg.beta_a] + [("mixture", w) for w in cfg.mixture_w]


def _sweep(cfg: UniformityConfig, seed: int, progress: Callable[[], None]) -> list[dict]:
    rows = []
    for fam_name, param in _cells(cfg):
        fam = FAMILIES[fam_name]
        for d in cfg.dims:
            ip2 = fam.integral_p2(param, d)
            for n in cfg.ns:
                rng = common.rng_for(seed, NAME, fam_name, repr(param), n, d)
                h = np.array(
                    [common.euclidean_h_min(fam.sample(rng, param, n, d)) for _ in range(cfg.reps)]
                )
                x = (n**2 * ip2) ** (-1 / d)
                rows.append(
                    {
                        "family": fam_name,
                        "parameter": param,
                        "n": n,
                        "d": d,
                        "integral_p2": ip2,
                        "x": x,
                        "predicted_mean_h_min": poisson_constant(d) * x,
                        "mean_h_min": float(h.mean()),
                        "median_h_min": float(np.median(h)),
                        "q10_h_min": float(np.quantile(h, 0.1)),
                        "q90_h_min": float(np.quantile(h, 0.9)),
                        "h_min": h,
                    }
                )
                progress()
    return rows


def _subsets(cfg: UniformityConfig, seed: int, progress: Callable[[], None]) -> list[dict]:
    rows = []
    for d in cfg.dims:
        for k in cfg.subset_ks:
            for r in range(cfg.subset_reps):
                rng = common.rng_for(seed, NAME, "subsets", d, k, r)
                pool = sample_beta(rng, cfg.pool_a, cfg.pool_size, d)
                mm = common.euclidean_maxmin(pool, k, start=int(rng.integers(cfg.pool_size)))
                rnd = rng.choice(cfg.pool_size, size=k, replace=False)
                rows.append(
                    {
                        "d": d,
                        "k": k,
                        "rep": r,
                        "pool_h_min": common.euclidean_h_min(pool),
                        "maxmin_h_min": common.euclidean_h_min(pool[mm]),
                        "random_h_min": common.euclidean_h_min(pool[rnd]),
                    }
                )
                progress()
    return rows


def _checks(
    cfg: UniformityConfig, sweep: list[dict], subsets: list[dict]
) -> tuple[list[Check], dict]:
    checks: list[Check] = []
    fits: dict[str, Any] = {}
    for d in cfg.dims:
        rows = [r for r in sweep if r["d"] == d]
        fit = common.fit_line(
            np.log([r["x"] for r in rows]), np.log([r["mean_h_min"] for r in rows])
        )
        ratio = np.array([r["mean_h_min"] / r["predicted_mean_h_min"] for r in rows])
        fits[f"d={d}"] = {
            **fit.to_dict(),
            "poisson_constant": poisson_constant(d),
            "measured_over_predicted_median": float(np.median(ratio)),
            "measured_over_predicted_min": float(ratio.min()),
            "measured_over_predicted_max": float(ratio.max()),
        }
        checks.append(
            common.slope_check(
                f"d={d}: mean h_min is proportional to (n^2 * integral p^2)^(-1/d)",
                fit,
                target=1.0,
                tolerance=0.15,
                what=f"log mean h_min vs log (n^2 int p^2)^(-1/{d}) over {len(rows)} cells",
            )
        )
    for fam in FAMILIES.values():
        for d in cfg.dims:
            rows = [r for r in sweep if r["d"] == d and r["family"] == fam.name]
            # h_min * n^(2/d) removes the dependence on n, so every n pools into one test.
            ip2 = np.concatenate([np.full(len(r["h_min"]), r["integral_p2"]) for r in rows])
            hn = np.concatenate([r["h_min"] * r["n"] ** (2 / d) for r in rows])
            checks.append(
                common.spearman_check(
                    f"{fam.name}, d={d}: h_min decreases as the density gets more peaked",
                    ip2,
                    hn,
                    sign=-1,
                    x_name="integral p^2",
                    y_name="h_min * n^(2/d)",
                )
            )
    mm = np.array([r["maxmin_h_min"] for r in subsets])
    rnd = np.array([r["random_h_min"] for r in subsets])
    checks.append(
        common.paired_check(
            f"max-min subsets of a biased sample (Beta({cfg.pool_a:g},{cfg.pool_a:g})^d) "
            "have a larger h_min than random subsets of the same size",
            mm,
            rnd,
            larger_is_better=True,
            what="h_min, all d and k",
        )
    )
    rates: dict[str, Any] = {}
    for d in cfg.dims:
        rows = [r for r in subsets if r["d"] == d]
        lk = np.log([r["k"] for r in rows])
        rates[f"d={d}"] = {
            "maxmin_slope_vs_log_k": common.fit_line(
                lk, np.log([r["maxmin_h_min"] for r in rows])
            ).slope,
            "random_slope_vs_log_k": common.fit_line(
                lk, np.log([r["random_h_min"] for r in rows])
            ).slope,
            "packing_rate": -1 / d,
            "theorem1_rate": -2 / d,
        }
    return checks, {"fits": fits, "subset_rates": rates}


def _figure(
    cfg: UniformityConfig,
    sweep: list[dict],
    subsets: list[dict],
    checks: list[Check],
    path: Path,
    seed: int,
) -> None:
    fig = common.new_figure(2, 2)
    ax = fig.axes
    markers = {"beta": "o", "mixture": "s"}

    a = ax[0]
    for c, d in enumerate(cfg.dims):
        rows = [r for r in sweep if r["d"] == d]
        for fam in FAMILIES:
            rr = [r for r in rows if r["family"] == fam]
            a.scatter(
                [r["x"] for r in rr],
                [r["mean_h_min"] for r in rr],
                marker=markers[fam],
                color=f"C{c}",
                s=18,
                alpha=0.8,
                label=f"d={d}, {fam}",
            )
        xs = np.array([min(r["x"] for r in rows), max(r["x"] for r in rows)])
        a.plot(xs, poisson_constant(d) * xs, "-", color=f"C{c}", lw=1)
    a.set(xscale="log", yscale="log", xlabel="(n^2 * integral p^2)^(-1/d)", ylabel="mean h_min")
    a.set_title("Theorem 1 (lines: Poisson constant)")
    a.legend(fontsize=6, ncol=2)

    a = ax[1]
    n_show = max(cfg.ns)
    for c, d in enumerate(cfg.dims):
        for fam, ls in (("beta", "-"), ("mixture", "--")):
            rr = [r for r in sweep if r["d"] == d and r["family"] == fam and r["n"] == n_show]
            rr.sort(key=lambda r: r["integral_p2"])
            ip = [r["integral_p2"] for r in rr]
            a.plot(
                ip,
                [r["median_h_min"] for r in rr],
                ls,
                marker=markers[fam],
                color=f"C{c}",
                ms=4,
                label=f"d={d}, {fam}",
            )
            a.fill_between(
                ip,
                [r["q10_h_min"] for r in rr],
                [r["q90_h_min"] for r in rr],
                color=f"C{c}",
                alpha=0.12,
            )
    a.set(
        xscale="log",
        yscale="log",
        xlabel="integral p^2 (peakedness)",
        ylabel="h_min (median, 10-90%)",
    )
    a.set_title(f"flat -> peaked, n = {n_show}")
    a.legend(fontsize=6, ncol=2)

    a = ax[2]
    for c, d in enumerate(cfg.dims):
        for key, ls, lab in (("maxmin_h_min", "-", "max-min"), ("random_h_min", "--", "random")):
            med = [
                np.median([r[key] for r in subsets if r["d"] == d and r["k"] == k])
                for k in cfg.subset_ks
            ]
            a.plot(cfg.subset_ks, med, ls, marker="o", color=f"C{c}", ms=4, label=f"d={d}, {lab}")
    a.set(xscale="log", yscale="log", xlabel="subset size k", ylabel="h_min (median over pools)")
    a.set_title(f"subsets of a Beta({cfg.pool_a:g},{cfg.pool_a:g})^d sample of {cfg.pool_size}")
    a.legend(fontsize=6, ncol=2)

    a = ax[3]
    rng = common.rng_for(seed, NAME, "figure")
    pool = sample_beta(rng, cfg.pool_a, cfg.pool_size, 2)
    k = cfg.subset_ks[-1]
    mm = common.euclidean_maxmin(pool, k, start=int(rng.integers(cfg.pool_size)))
    rnd = rng.choice(cfg.pool_size, size=k, replace=False)
    a.scatter(pool[:, 0], pool[:, 1], s=3, color="0.8", label="biased sample")
    a.scatter(
        pool[rnd, 0],
        pool[rnd, 1],
        s=12,
        color="C1",
        label=f"random k={k}, h_min={common.euclidean_h_min(pool[rnd]):.3f}",
    )
    a.scatter(
        pool[mm, 0],
        pool[mm, 1],
        s=12,
        color="C0",
        marker="s",
        label=f"max-min k={k}, h_min={common.euclidean_h_min(pool[mm]):.3f}",
    )
    a.set(xlim=(0, 1), ylim=(0, 1), aspect="equal")
    a.set_title("d = 2 example")
    a.legend(fontsize=6, loc="upper right")
    fig.suptitle(f"Theorem 1 (uniformity): {common.verdict_title(checks)}")
    common.save_figure(fig, path)


def run_uniformity(
    output_dir: Path, *, quick: bool = False, seed: int = 0, quiet: bool = False
) -> TheoryResult:
    """Run the uniformity experiment and draw ``uniformity.png`` into ``output_dir``.

    ``quick`` takes the small sweep (seconds); ``seed`` and ``quiet`` are those of
    `unisel.theory.run`, which writes the JSON.
    """
    cfg = QUICK if quick else FULL
    total = (
        len(_cells(cfg)) * len(cfg.dims) * len(cfg.ns)
        + len(cfg.dims) * len(cfg.subset_ks) * cfg.subset_reps
    )
    sweep, subsets = common.measure(
        NAME, total, quiet, partial(_sweep, cfg, seed), partial(_subsets, cfg, seed)
    )
    checks, fits = _checks(cfg, sweep, subsets)
    settings = common.run_settings(cfg, quick=quick, seed=seed, mixture_sigma=MIXTURE_SIGMA)
    data = {**fits, "sweep": sweep, "subsets": subsets}
    return common.with_figure(
        TheoryResult(NAME, CLAIM, checks, settings, data),
        output_dir,
        lambda path: _figure(cfg, sweep, subsets, checks, path, seed),
    )
