"""Theorem 3: well-spread samples give smaller approximation error.

The claim
---------
Theorem 3 is a data-dependent Bramble-Hilbert lemma on a Delaunay triangulation of the data:
the error of fitting a smooth function from its values at the data points is bounded through
the local spacing (the diameters of the Delaunay simplices) and the shape regularity of the
simplices, which degrades when points crowd together (small h_min). Samples that leave large
holes (random, clustered) should fit worse than max-min samples of the same size.

The experiment
--------------
A smooth target ``g(x) = sin(pi * c.x) + exp(-4 |x - 0.3|^2)`` on [0, 1]^d, d = 1, 2, 3,
sampled at n points by three designs drawn from one uniform pool of ``pool_factor * n`` points:

* ``maxmin``: Euclidean greedy max-min from the pool, from a random first point;
* ``random``: uniform random pool points;
* ``clustered``: half random pool points, half the nearest pool neighbours of one random pool
  point (the paper's deliberately clustered baseline).

Measured for each sample: h_min, the largest diameter of a Delaunay simplex whose circumcentre
lies in the cube (in d = 1 the largest gap; see `largest_simplex_diameter`), the fill distance
(largest distance from a grid point to the sample), and the RMS error on a dense grid over the whole cube of a piecewise-linear interpolant
(``np.interp`` / ``scipy.interpolate.LinearNDInterpolator`` on the Delaunay triangulation,
nearest-sample value outside the convex hull) and of a small neural network (tanh MLP trained
by full-batch Adam) fitted to the same values.

No corner points are added to the designs: with the cube's corners in every sample, the
triangulation of every design would contain simplices spanning a whole face of the cube, and
the largest diameter would be the same (1 or sqrt 2) for all of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator
from scipy.spatial import Delaunay, cKDTree

from unisel.theory import common
from unisel.theory.common import Check, TheoryResult

NAME = "approximation"
CLAIM = (
    "Theorem 3: the interpolation error grows with the local spacing (largest Delaunay "
    "simplex) and falls as h_min grows at fixed n"
)
DESIGNS = ("maxmin", "random", "clustered")
_C = np.array([2.0, 1.5, 1.0])


@dataclass(frozen=True)
class ApproximationConfig:
    """Sizes of the approximation experiment.

    Attributes
    ----------
    sizes : tuple of (d, n) pairs
        Dimensions and sample sizes.
    reps : int
        Samples per (d, n, design).
    nn_reps : int
        The neural interpolant is fitted on the first ``nn_reps`` of them (it is the slow part).
    pool_factor : int
        Pool size as a multiple of n.
    grid : dict d -> points per axis
        Dense evaluation grid.
    nn_width, nn_steps, nn_lr : int, int, float
        Tanh MLP (two hidden layers) and its full-batch Adam schedule.
    """

    sizes: tuple[tuple[int, int], ...] = (
        (1, 8), (1, 16), (1, 32),
        (2, 32), (2, 64), (2, 128),
        (3, 64), (3, 128), (3, 256),
    )  # fmt: skip
    reps: int = 10
    nn_reps: int = 3
    pool_factor: int = 30
    grid: tuple[tuple[int, int], ...] = ((1, 2001), (2, 101), (3, 31))
    nn_width: int = 64
    nn_steps: int = 1500
    nn_lr: float = 1e-2


QUICK = ApproximationConfig(
    sizes=((1, 12), (2, 48), (3, 96)),
    reps=6,
    nn_reps=3,
    pool_factor=20,
    grid=((1, 1001), (2, 61), (3, 21)),
    nn_width=32,
    nn_steps=400,
)
FULL = ApproximationConfig()


# ------------------------------------------------------------------------------- pieces
def target(X: np.ndarray) -> np.ndarray:
    """The smooth target g(x) = sin(pi * c.x) + exp(-4 |x - 0.3|^2), X of shape (m, d) -> (m,)."""
    d = X.shape[1]
    return np.sin(math.pi * X @ _C[:d]) + np.exp(-4.0 * ((X - 0.3) ** 2).sum(axis=1))


def grid_points(d: int, per_axis: int) -> np.ndarray:
    """Regular grid of per_axis^d points on [0, 1]^d, shape (per_axis^d, d)."""
    axes = [np.linspace(0.0, 1.0, per_axis)] * d
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, d)


def design(name: str, n: int, d: int, rng: np.random.Generator, pool_factor: int) -> np.ndarray:
    """n sample points (n, d) in [0, 1]^d by design ``name`` ("maxmin", "random", "clustered")."""
    pool = rng.random((pool_factor * n, d))
    if name == "maxmin":
        return pool[common.euclidean_maxmin(pool, n, start=int(rng.integers(len(pool))))]
    if name == "random":
        return pool[rng.choice(len(pool), size=n, replace=False)]
    if name == "clustered":
        n_rand = n // 2
        rand = rng.choice(len(pool), size=n_rand, replace=False)
        rest = np.setdiff1d(np.arange(len(pool)), rand)
        centre = pool[rng.choice(rest)]
        order = np.argsort(((pool[rest] - centre) ** 2).sum(axis=1), kind="stable")
        return np.vstack([pool[rand], pool[rest[order[: n - n_rand]]]])
    raise ValueError(f"unknown design {name!r}")


def circumcentres(V: np.ndarray) -> np.ndarray:
    """Circumcentres of simplices ``V`` of shape (s, d + 1, d); returns (s, d).

    Solves ``2 (v_i - v_0) . c = |v_i|^2 - |v_0|^2`` for i = 1..d; a numerically flat simplex
    falls back to the pseudo-inverse (its centre is then far away, as it should be).
    """
    A = 2.0 * (V[:, 1:, :] - V[:, :1, :])
    b = (V[:, 1:, :] ** 2).sum(-1) - (V[:, :1, :] ** 2).sum(-1)
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return np.einsum("sij,sj->si", np.linalg.pinv(A), b)


def simplex_diameters(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Diameters of the Delaunay simplices of ``X`` (n, d >= 2) and whether each one's
    circumcentre lies in [0, 1]^d; arrays of shape (s,)."""
    V = X[Delaunay(X).simplices]  # (s, d + 1, d)
    diff = V[:, :, None, :] - V[:, None, :, :]
    diam = np.sqrt((diff**2).sum(-1)).max(axis=(1, 2))
    c = circumcentres(V)
    inside = np.all((c >= 0.0) & (c <= 1.0), axis=1)
    return diam, inside


def largest_simplex_diameter(X: np.ndarray, *, domain_only: bool = True) -> float:
    """Largest diameter of a Delaunay simplex of ``X`` (n, d); in d = 1 the largest gap.

    Parameters
    ----------
    X : ndarray of shape (n, d), points in [0, 1]^d
    domain_only : bool
        Only simplices whose circumcentre (the centre of their empty ball) lies in the cube.
        The flat slivers Delaunay puts along the convex hull have their circumcentres far
        outside and cover almost no area; counted, they make the largest diameter the same
        (about the side of the cube) for every design. With the restriction it measures the
        largest hole inside the domain, the local spacing Theorem 3 speaks of.
    """
    if X.shape[1] == 1:
        return float(np.diff(np.sort(X[:, 0])).max())
    diam, inside = simplex_diameters(X)
    if domain_only:
        diam = diam[inside]
    return float(diam.max()) if diam.size else float("nan")


def piecewise_linear(X: np.ndarray, y: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Piecewise-linear interpolant of (X, y) evaluated at Q (m, d).

    ``np.interp`` in d = 1, ``LinearNDInterpolator`` on the Delaunay triangulation otherwise.
    Outside the convex hull of X the value of the nearest sample is used (``np.interp`` does
    the same in d = 1), so a design that leaves the boundary uncovered pays for it.
    """
    if X.shape[1] == 1:
        order = np.argsort(X[:, 0], kind="stable")
        return np.interp(Q[:, 0], X[order, 0], y[order])
    out = LinearNDInterpolator(Delaunay(X), y)(Q)
    bad = ~np.isfinite(out)
    if bad.any():
        out[bad] = NearestNDInterpolator(X, y)(Q[bad])
    return np.asarray(out, dtype=np.float64)


def neural_interpolant(
    X: np.ndarray, y: np.ndarray, Q: np.ndarray, *, width: int, steps: int, lr: float, seed: int
) -> np.ndarray:
    """Fit a 2-hidden-layer tanh MLP to (X, y) by full-batch Adam; predictions at Q (m,).

    Parameters
    ----------
    X : ndarray (n, d); y : ndarray (n,); Q : ndarray (m, d)
    width, steps, lr : int, int, float
        Hidden width, Adam steps, Adam learning rate.
    seed : int
        Seed of the initial weights.
    """
    import torch

    g = torch.Generator().manual_seed(seed)
    d = X.shape[1]

    def lin(i: int, o: int) -> list[Any]:
        w = torch.randn(i, o, generator=g, dtype=torch.float64) * math.sqrt(1.0 / i)
        return [w.requires_grad_(True), torch.zeros(o, dtype=torch.float64, requires_grad=True)]

    params = lin(d, width) + lin(width, width) + lin(width, 1)

    def f(Z: Any) -> Any:
        h = torch.tanh((Z - 0.5) * 2.0 @ params[0] + params[1])
        h = torch.tanh(h @ params[2] + params[3])
        return (h @ params[4] + params[5])[:, 0]

    Xt, yt = torch.tensor(X), torch.tensor(y)
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((f(Xt) - yt) ** 2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return f(torch.tensor(Q)).numpy().astype(np.float64)


def _rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(a**2)))


# ------------------------------------------------------------------------------- experiment
def _sweep(cfg: ApproximationConfig, seed: int, progress: Callable[[], None]) -> list[dict]:
    grids = dict(cfg.grid)
    rows = []
    for d, n in cfg.sizes:
        Q = grid_points(d, grids[d])
        gQ = target(Q)
        for name in DESIGNS:
            for r in range(cfg.reps):
                rng = common.rng_for(seed, NAME, d, n, name, r)
                X = design(name, n, d, rng, cfg.pool_factor)
                y = target(X)
                row: dict[str, Any] = {
                    "d": d,
                    "n": n,
                    "design": name,
                    "rep": r,
                    "h_min": common.euclidean_h_min(X),
                    "largest_simplex_diameter": largest_simplex_diameter(X),
                    "largest_simplex_diameter_all": largest_simplex_diameter(X, domain_only=False),
                    "fill_distance": float(cKDTree(X).query(Q)[0].max()),
                    "pl_l2_error": _rms(piecewise_linear(X, y, Q) - gQ),
                    "nn_l2_error": None,
                }
                if r < cfg.nn_reps:
                    pred = neural_interpolant(
                        X, y, Q, width=cfg.nn_width, steps=cfg.nn_steps, lr=cfg.nn_lr,
                        seed=int(rng.integers(0, 2**62)),
                    )  # fmt: skip
                    row["nn_l2_error"] = _rms(pred - gQ)
                rows.append(row)
                progress()
    return rows


def _normalised(rows: list[dict], key: str) -> np.ndarray:
    """``key`` divided by its median over the rows of the same (d, n): compares at fixed n."""
    out = np.empty(len(rows))
    for i, r in enumerate(rows):
        same = [
            s[key] for s in rows if s["d"] == r["d"] and s["n"] == r["n"] and s[key] is not None
        ]
        out[i] = r[key] / float(np.median(same))
    return out


def _checks(cfg: ApproximationConfig, rows: list[dict]) -> tuple[list[Check], dict]:
    checks: list[Check] = []
    fits: dict[str, Any] = {}
    dims = sorted({d for d, _ in cfg.sizes})
    for d in dims:
        rr = [r for r in rows if r["d"] == d]
        diam = np.array([r["largest_simplex_diameter"] for r in rr])
        err = np.array([r["pl_l2_error"] for r in rr])
        what = "largest gap" if d == 1 else "largest Delaunay simplex diameter"
        checks.append(
            common.spearman_check(
                f"d={d}: the piecewise-linear error grows with the {what}",
                diam,
                err,
                sign=+1,
                x_name=what,
                y_name="L2 error",
            )
        )
        checks.append(
            common.spearman_check(
                f"d={d}: at fixed n, the piecewise-linear error falls as h_min grows",
                _normalised(rr, "h_min"),
                _normalised(rr, "pl_l2_error"),
                sign=-1,
                x_name="h_min / median at (d, n)",
                y_name="L2 error / median at (d, n)",
            )
        )
        fits[f"d={d}"] = {
            "pl_error_vs_diameter_loglog": common.fit_line(np.log(diam), np.log(err)).to_dict(),
        }
    for key, label in (("pl_l2_error", "piecewise-linear"), ("nn_l2_error", "neural-network")):
        pairs = [
            (m[key], r[key])
            for m in rows
            if m["design"] == "maxmin" and m[key] is not None
            for r in rows
            if r["design"] == "random" and (r["d"], r["n"], r["rep"]) == (m["d"], m["n"], m["rep"])
        ]
        mm, rnd = np.array(pairs).T
        checks.append(
            common.paired_check(
                f"max-min samples give a smaller {label} error than random samples of the same size",
                mm,
                rnd,
                larger_is_better=False,
                what=f"{label} L2 error, all d and n",
            )
        )
    summary: dict[str, Any] = {}
    for d, n in cfg.sizes:
        for name in DESIGNS:
            rr = [r for r in rows if (r["d"], r["n"], r["design"]) == (d, n, name)]
            nn = [r["nn_l2_error"] for r in rr if r["nn_l2_error"] is not None]
            summary[f"d={d},n={n},{name}"] = {
                "median_h_min": float(np.median([r["h_min"] for r in rr])),
                "median_largest_simplex_diameter": float(
                    np.median([r["largest_simplex_diameter"] for r in rr])
                ),
                "median_pl_l2_error": float(np.median([r["pl_l2_error"] for r in rr])),
                "median_nn_l2_error": float(np.median(nn)) if nn else None,
            }
    return checks, {"fits": fits, "medians": summary}


def _figure(
    cfg: ApproximationConfig, rows: list[dict], checks: list[Check], path: Path, seed: int
) -> None:
    dims = sorted({d for d, _ in cfg.sizes})
    fig = common.new_figure(len(dims), 3, width=4.0, height=3.4)
    ax = np.array(fig.axes).reshape(3, len(dims))
    marker = {"maxmin": "o", "random": "^", "clustered": "x"}
    color = {"maxmin": "C0", "random": "C1", "clustered": "C3"}
    for j, d in enumerate(dims):
        rr = [r for r in rows if r["d"] == d]
        for name in DESIGNS:
            sel = [r for r in rr if r["design"] == name]
            for row, x_key in ((0, "largest_simplex_diameter"), (1, "h_min")):
                ax[row, j].scatter(
                    [r[x_key] for r in sel],
                    [r["pl_l2_error"] for r in sel],
                    marker=marker[name],
                    color=color[name],
                    s=14,
                    label=name,
                )
            nn = [r for r in sel if r["nn_l2_error"] is not None]
            ax[0, j].scatter(
                [r["largest_simplex_diameter"] for r in nn],
                [r["nn_l2_error"] for r in nn],
                marker="o",
                facecolors="none",
                edgecolors=color[name],
                s=30,
                label=f"{name} (NN)" if j == 0 else None,
            )
        ax[0, j].set(
            xscale="log",
            yscale="log",
            xlabel="largest gap" if d == 1 else "largest Delaunay simplex diameter (in-domain)",
            ylabel="L2 error (filled: PL, open: NN)",
            title=f"d = {d}",
        )
        ax[1, j].set(
            xscale="log",
            yscale="log",
            xlabel="h_min",
            ylabel="piecewise-linear L2 error",
            title=f"d = {d}, n in {sorted({r['n'] for r in rr})}",
        )
        ax[0, j].legend(fontsize=6)
    # Bottom row: one sample of each design in d = 2 (or the first d >= 2).
    d2 = next((d for d in dims if d == 2), None)
    axes = ax[2]
    if d2 is not None:
        n2 = max(n for d, n in cfg.sizes if d == d2)
        for j, name in enumerate(DESIGNS[: len(dims)]):
            X = design(name, n2, 2, common.rng_for(seed, NAME, "figure", name), cfg.pool_factor)
            tri = Delaunay(X)
            axes[j].triplot(X[:, 0], X[:, 1], tri.simplices, lw=0.5, color="0.6")
            axes[j].scatter(X[:, 0], X[:, 1], s=8, color=color[name])
            axes[j].set(
                aspect="equal",
                xlim=(-0.02, 1.02),
                ylim=(-0.02, 1.02),
                title=f"{name}, n={n2}: h_min={common.euclidean_h_min(X):.3f}, "
                f"max diam={largest_simplex_diameter(X):.2f}",
            )
            axes[j].title.set_fontsize(8)
    for a in axes[len(DESIGNS) if d2 is not None else 0 :]:
        a.set_axis_off()
    fig.suptitle(f"Theorem 3 (approximation): {common.verdict_title(checks)}")
    common.save_figure(fig, path)


def run_approximation(
    output_dir: Path, *, quick: bool = False, seed: int = 0, quiet: bool = False
) -> TheoryResult:
    """Run the approximation experiment and draw ``approximation.png`` into ``output_dir``.

    ``quick`` takes the small sweep (seconds); ``seed`` (samples, network weights) and
    ``quiet`` are those of `unisel.theory.run`, which writes the JSON.
    """
    cfg = QUICK if quick else FULL
    total = len(cfg.sizes) * len(DESIGNS) * cfg.reps
    (rows,) = common.measure(NAME, total, quiet, partial(_sweep, cfg, seed))
    checks, extra = _checks(cfg, rows)
    settings = common.run_settings(cfg, quick=quick, seed=seed, designs=list(DESIGNS))
    return common.with_figure(
        TheoryResult(NAME, CLAIM, checks, settings, {**extra, "samples": rows}),
        output_dir,
        lambda path: _figure(cfg, rows, checks, path, seed),
    )
