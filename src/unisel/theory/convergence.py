"""Corollary 3: a small h_min slows gradient descent.

The claim
---------
For a network with an analytic activation, residual connections and a normalisation, the
per-step decrease of the squared loss under full-batch gradient descent is governed by the
lower frame bound of the per-sample output gradients, i.e. the smallest eigenvalue of the Gram
matrix ``K_ij = <grad_theta f(x_i), grad_theta f(x_j)>``. When two inputs approach each other,
their gradients approach each other and that eigenvalue goes to 0 (like gap^2 for a smooth
network), so training slows down.

The experiment
--------------
A residual network ``x -> W_in x -> [h + W2 GELU(W1 LayerNorm(h))] x B -> LayerNorm -> w_out``
in float64 on CPU, squared loss ``0.5 * mean (f(x_i) - y_i)^2`` with labels drawn i.i.d.
N(0, 1) (labels are not a function of position, as for text records whose answers differ),
plain full-batch GD with a fixed step ``n / lambda_max(K)`` at initialisation.

1. *Gap sweep.* n well-spread points (Euclidean max-min from a uniform pool in [-1, 1]^d); the
   closest pair is moved towards each other by a factor (1 down to ~1e-2) with everything else
   (other points, labels, initial weights, step) fixed. Measured: lambda_min(K) at init and
   along training, and the GD steps to reach the loss threshold (capped; "not reached" is
   recorded as such and ranked above every reached count).
2. *Subsets.* From one biased pool (a mixture of narrow Gaussians), a max-min subset and a
   random subset of the same size are trained from the same initial weights and step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from unisel.theory import common
from unisel.theory.common import Check, TheoryResult

NAME = "convergence"
CLAIM = (
    "Corollary 3: GD on the squared loss slows down as two inputs approach "
    "(the Gram matrix of per-sample output gradients loses its lower frame bound)"
)


@dataclass(frozen=True)
class ConvergenceConfig:
    """Sizes of the convergence experiment.

    Attributes
    ----------
    n_points : int
        Training points per configuration.
    dim : int
        Input dimension.
    width, blocks : int
        Hidden width and number of residual blocks.
    gap_factors : tuple of float
        The closest pair's distance is multiplied by each factor (1 = untouched).
    collision_levels : int
        The rate lambda_min ~ h_min^2 is fitted on this many smallest gap factors.
    seeds : int
        Independent repetitions of the gap sweep (points, labels, weights).
    max_steps : int
        GD step cap.
    loss_threshold : float
        Target value of ``0.5 * mean squared error``.
    track_points : int
        How many times lambda_min is recorded along each training run.
    pool_size, pool_clusters, pool_sigma : int, int, float
        The biased pool of the subset comparison.
    subset_pairs : int
        Paired (max-min, random) comparisons, one pool each.
    """

    n_points: int = 10
    dim: int = 2
    width: int = 32
    blocks: int = 2
    gap_factors: tuple[float, ...] = (1.0, 0.5, 0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.0025, 0.001)
    collision_levels: int = 4
    seeds: int = 6
    max_steps: int = 4000
    loss_threshold: float = 1e-3
    track_points: int = 20
    pool_size: int = 300
    pool_clusters: int = 3
    pool_sigma: float = 0.15
    subset_pairs: int = 10


QUICK = ConvergenceConfig(
    n_points=8,
    gap_factors=(1.0, 0.3, 0.1, 0.03, 0.01, 0.003),
    collision_levels=3,
    seeds=3,
    max_steps=1500,
    track_points=10,
    pool_size=200,
    subset_pairs=6,
)
FULL = ConvergenceConfig()


# ------------------------------------------------------------------------------- network
Params = dict[str, Any]  # name -> torch.Tensor


def init_residual_net(dim: int, width: int, blocks: int, generator: Any) -> Params:
    """Initial weights of the residual GELU/LayerNorm network, float64.

    Linear weights are N(0, 1/fan_in), biases 0, LayerNorm gains 1 and shifts 0.

    Parameters
    ----------
    dim, width, blocks : int
        Input dimension, hidden width, number of residual blocks.
    generator : torch.Generator
        Source of the weights (derived from the run's seed).
    """
    import torch

    def lin(i: int, o: int) -> Any:
        return torch.randn(i, o, generator=generator, dtype=torch.float64) / math.sqrt(i)

    def zeros(k: int) -> Any:
        return torch.zeros(k, dtype=torch.float64)

    P: Params = {"w_in": lin(dim, width), "b_in": zeros(width)}
    for b in range(blocks):
        P[f"ln{b}_g"] = torch.ones(width, dtype=torch.float64)
        P[f"ln{b}_b"] = zeros(width)
        P[f"w1_{b}"], P[f"b1_{b}"] = lin(width, width), zeros(width)
        P[f"w2_{b}"], P[f"b2_{b}"] = lin(width, width), zeros(width)
    P["lno_g"] = torch.ones(width, dtype=torch.float64)
    P["lno_b"] = zeros(width)
    P["w_out"], P["b_out"] = lin(width, 1), zeros(1)
    return P


def residual_net(P: Params, X: Any) -> Any:
    """Network output, shape (n,), for inputs ``X`` of shape (n, dim)."""
    import torch.nn.functional as F

    h = X @ P["w_in"] + P["b_in"]
    width = h.shape[-1]
    b = 0
    while f"w1_{b}" in P:
        z = F.layer_norm(h, (width,), P[f"ln{b}_g"], P[f"ln{b}_b"])
        h = h + F.gelu(z @ P[f"w1_{b}"] + P[f"b1_{b}"]) @ P[f"w2_{b}"] + P[f"b2_{b}"]
        b += 1
    z = F.layer_norm(h, (width,), P["lno_g"], P["lno_b"])
    return (z @ P["w_out"] + P["b_out"])[:, 0]


def output_gram(P: Params, X: Any) -> Any:
    """Gram matrix of per-sample output gradients, ``J J^T`` with J of shape (n, #params).

    Per-sample gradients come from ``torch.func.vmap(torch.func.grad(...))``; float64.

    Returns
    -------
    torch.Tensor of shape (n, n)
    """
    import torch
    from torch.func import grad, vmap

    P = {k: v.detach() for k, v in P.items()}

    def one(params: Params, x: Any) -> Any:
        return residual_net(params, x[None])[0]

    G = vmap(grad(one), in_dims=(None, 0))(P, X)
    J = torch.cat([g.reshape(X.shape[0], -1) for g in G.values()], dim=1)
    return J @ J.T


def gram_eigs(P: Params, X: Any) -> tuple[float, float]:
    """(smallest, largest) eigenvalue of `output_gram`."""
    import torch

    ev = torch.linalg.eigvalsh(output_gram(P, X))
    return float(ev[0]), float(ev[-1])


@dataclass(frozen=True)
class GDTrace:
    """One gradient-descent run.

    Attributes
    ----------
    steps : int or None
        Steps taken when the loss first reached the threshold; None when not reached.
    final_loss : float
    track_steps, track_loss, track_lambda_min : list
        Loss and lambda_min(K) at evenly spaced steps (step 0 included).
    """

    steps: int | None
    final_loss: float
    track_steps: list[int]
    track_loss: list[float]
    track_lambda_min: list[float]

    @property
    def lambda_min_along(self) -> float:
        """Smallest lambda_min(K) seen along the run."""
        return float(min(self.track_lambda_min))


def gradient_descent(
    P0: Params,
    X: Any,
    y: Any,
    *,
    lr: float,
    max_steps: int,
    threshold: float,
    track_points: int,
) -> GDTrace:
    """Full-batch GD with a fixed step on ``0.5 * mean (f(X) - y)^2`` until ``threshold``.

    Parameters
    ----------
    P0 : dict of tensors
        Initial weights (not modified).
    X : tensor of shape (n, dim); y : tensor of shape (n,)
    lr : float
        The fixed step.
    max_steps : int
        Cap; the run stops earlier when the loss reaches ``threshold``.
    track_points : int
        lambda_min(K) is recorded every ``max_steps // track_points`` steps until stopping.
    """
    import torch

    P = {k: v.clone().requires_grad_(True) for k, v in P0.items()}
    every = max(1, max_steps // track_points)
    t_steps: list[int] = []
    t_loss: list[float] = []
    t_lam: list[float] = []
    steps: int | None = None
    loss_value = float("nan")
    for t in range(max_steps + 1):
        loss = 0.5 * ((residual_net(P, X) - y) ** 2).mean()
        loss_value = float(loss.detach())
        done = loss_value <= threshold
        if t % every == 0 or done or t == max_steps:
            t_steps.append(t)
            t_loss.append(loss_value)
            t_lam.append(gram_eigs(P, X)[0])
        if done:
            steps = t
            break
        if t == max_steps:
            break
        grads = torch.autograd.grad(loss, list(P.values()))
        with torch.no_grad():
            for p, g in zip(P.values(), grads, strict=True):
                p -= lr * g
    return GDTrace(steps, loss_value, t_steps, t_loss, t_lam)


# ------------------------------------------------------------------------------- experiment
def _torch_generator(rng: np.random.Generator) -> Any:
    import torch

    return torch.Generator().manual_seed(int(rng.integers(0, 2**62)))


def _steps_for_rank(steps: int | None, cap: int) -> int:
    """Steps as a number for rank statistics: "not reached" ranks above every reached count."""
    return cap + 1 if steps is None else steps


def _descend(cfg: ConvergenceConfig, P0: Params, X: Any, y: Any, lr: float) -> GDTrace:
    """`gradient_descent` from ``P0`` with the step limit, threshold and tracking of ``cfg``."""
    return gradient_descent(
        P0,
        X,
        y,
        lr=lr,
        max_steps=cfg.max_steps,
        threshold=cfg.loss_threshold,
        track_points=cfg.track_points,
    )


def _gap_sweep(cfg: ConvergenceConfig, seed: int, progress: Callable[[], None]) -> list[dict]:
    import torch

    rows: list[dict] = []
    for s in range(cfg.seeds):
        rng = common.rng_for(seed, NAME, "sweep", s)
        pool = rng.uniform(-1.0, 1.0, size=(2000, cfg.dim))
        base = pool[common.euclidean_maxmin(pool, cfg.n_points, start=int(rng.integers(2000)))]
        y = torch.tensor(rng.standard_normal(cfg.n_points))
        P0 = init_residual_net(cfg.dim, cfg.width, cfg.blocks, _torch_generator(rng))
        lam_max0 = gram_eigs(P0, torch.tensor(base))[1]
        lr = cfg.n_points / lam_max0
        D = ((base[:, None, :] - base[None, :, :]) ** 2).sum(-1)
        np.fill_diagonal(D, np.inf)
        i, j = (int(v) for v in np.unravel_index(np.argmin(D), D.shape))
        for factor in cfg.gap_factors:
            X = base.copy()
            X[j] = X[i] + (X[j] - X[i]) * factor
            Xt = torch.tensor(X)
            lam_min, lam_max = gram_eigs(P0, Xt)
            tr = _descend(cfg, P0, Xt, y, lr)
            rows.append(
                {
                    "seed_index": s,
                    "gap_factor": factor,
                    "gap": float(np.linalg.norm(X[j] - X[i])),
                    "h_min": common.euclidean_h_min(X),
                    "lr": lr,
                    "lambda_min_init": lam_min,
                    "lambda_max_init": lam_max,
                    "lambda_min_along": tr.lambda_min_along,
                    "reached": tr.steps is not None,
                    "steps_to_threshold": tr.steps,
                    "final_loss": tr.final_loss,
                    "track_steps": tr.track_steps,
                    "track_loss": tr.track_loss,
                    "track_lambda_min": tr.track_lambda_min,
                }
            )
            progress()
    return rows


def _subset_pairs(cfg: ConvergenceConfig, seed: int, progress: Callable[[], None]) -> list[dict]:
    import torch

    rows: list[dict] = []
    k = cfg.n_points
    for s in range(cfg.subset_pairs):
        rng = common.rng_for(seed, NAME, "subsets", s)
        centres = rng.uniform(-1.0, 1.0, size=(cfg.pool_clusters, cfg.dim))
        which = rng.integers(cfg.pool_clusters, size=cfg.pool_size)
        pool = centres[which] + cfg.pool_sigma * rng.standard_normal((cfg.pool_size, cfg.dim))
        labels = rng.standard_normal(cfg.pool_size)
        designs = {
            "maxmin": common.euclidean_maxmin(pool, k, start=int(rng.integers(cfg.pool_size))),
            "random": rng.choice(cfg.pool_size, size=k, replace=False),
        }
        P0 = init_residual_net(cfg.dim, cfg.width, cfg.blocks, _torch_generator(rng))
        eigs = {m: gram_eigs(P0, torch.tensor(pool[idx])) for m, idx in designs.items()}
        # One step for both designs: the largest one the n / lambda_max rule allows for both.
        lr = k / max(e[1] for e in eigs.values())
        row: dict[str, Any] = {"pair_index": s, "lr": lr}
        for m, idx in designs.items():
            Xt, yt = torch.tensor(pool[idx]), torch.tensor(labels[idx])
            tr = _descend(cfg, P0, Xt, yt, lr)
            row[m] = {
                "indices": idx,
                "h_min": common.euclidean_h_min(pool[idx]),
                "lambda_min_init": eigs[m][0],
                "reached": tr.steps is not None,
                "steps_to_threshold": tr.steps,
                "final_loss": tr.final_loss,
            }
            progress()
        rows.append(row)
    return rows


def _checks(cfg: ConvergenceConfig, sweep: list[dict], pairs: list[dict]) -> list[Check]:
    cap = cfg.max_steps
    h = np.array([r["h_min"] for r in sweep])
    lam0 = np.array([r["lambda_min_init"] for r in sweep])
    lam_along = np.array([r["lambda_min_along"] for r in sweep])
    steps = np.array([_steps_for_rank(r["steps_to_threshold"], cap) for r in sweep])
    checks = [
        common.spearman_check(
            "the smallest Gram eigenvalue at initialisation shrinks as h_min shrinks",
            h,
            lam0,
            sign=+1,
            x_name="h_min",
            y_name="lambda_min at init",
        ),
        common.spearman_check(
            "the smallest Gram eigenvalue stays small along training when h_min is small",
            h,
            lam_along,
            sign=+1,
            x_name="h_min",
            y_name="min lambda_min along training",
        ),
        common.spearman_check(
            "GD steps to the loss threshold decrease as h_min grows (not reached = above cap)",
            h,
            steps,
            sign=-1,
            x_name="h_min",
            y_name="steps to threshold",
        ),
    ]
    # Collision regime: the moved pair is far inside every other gap, so lambda_min is its
    # own. Fitted within each seed (per-seed means removed), since the constant depends on
    # the configuration and the weights.
    levels = sorted(cfg.gap_factors)[: cfg.collision_levels]
    coll = np.array([r["gap_factor"] in levels for r in sweep])
    seeds = np.array([r["seed_index"] for r in sweep])
    lx, ly = np.log(h), np.log(np.maximum(lam0, np.finfo(float).tiny))
    for s in np.unique(seeds):
        m = coll & (seeds == s)
        lx[m] -= lx[m].mean()
        ly[m] -= ly[m].mean()
    if len(levels) >= 2:
        fit = common.fit_line(lx[coll], ly[coll])
        checks.append(
            common.slope_check(
                "lambda_min at init vanishes like h_min^2 as the pair collides",
                fit,
                target=2.0,
                tolerance=0.5,
                what=f"log lambda_min vs log h_min within seed (gap factors {levels})",
            )
        )

    def col(m: str, key: str) -> np.ndarray:
        return np.array([p[m][key] for p in pairs], dtype=np.float64)

    def steps_col(m: str) -> np.ndarray:
        return np.array([_steps_for_rank(p[m]["steps_to_threshold"], cap) for p in pairs])

    checks += [
        common.paired_check(
            prediction,
            col("maxmin", key),
            col("random", key),
            larger_is_better=True,
            what=what,
        )
        for prediction, key, what in (
            (
                "a max-min subset of a biased pool has a larger h_min than a random one",
                "h_min",
                "h_min",
            ),
            (
                "a max-min subset has a larger smallest Gram eigenvalue at init than a random one",
                "lambda_min_init",
                "lambda_min",
            ),
        )
    ]
    checks += [
        common.paired_check(
            "a max-min subset reaches the loss threshold in fewer GD steps than a random one",
            steps_col("maxmin").astype(np.float64),
            steps_col("random").astype(np.float64),
            larger_is_better=False,
            what="steps, not reached = above cap",
        ),
    ]
    return checks


def _figure(
    cfg: ConvergenceConfig, sweep: list[dict], pairs: list[dict], checks: list[Check], path: Path
) -> None:
    fig = common.new_figure(2, 2)
    ax = fig.axes
    factors = list(cfg.gap_factors)

    def by_factor(key: str) -> np.ndarray:
        return np.array([[r[key] for r in sweep if r["gap_factor"] == f] for f in factors])

    H = by_factor("h_min")
    L0 = by_factor("lambda_min_init")
    hx = np.median(H, axis=1)
    a = ax[0]
    a.fill_between(hx, L0.min(1), L0.max(1), alpha=0.25, label="min-max over seeds")
    a.plot(hx, np.median(L0, 1), "o-", label="median")
    a.set(xscale="log", yscale="log", xlabel="h_min", ylabel="lambda_min(K) at init")
    a.set_title("smallest Gram eigenvalue vs h_min")
    a.legend(fontsize=8)

    a = ax[1]
    cap = cfg.max_steps
    for r in sweep:
        reached = r["steps_to_threshold"] is not None
        a.scatter(
            r["h_min"],
            r["steps_to_threshold"] if reached else cap,
            marker="o" if reached else "^",
            facecolors="C0" if reached else "none",
            edgecolors="C0" if reached else "C3",
            s=22,
        )
    S = np.array(
        [
            [_steps_for_rank(r["steps_to_threshold"], cap) for r in sweep if r["gap_factor"] == f]
            for f in factors
        ],
        dtype=np.float64,
    )
    a.plot(hx, np.median(np.minimum(S, cap), 1), "-", color="C0", alpha=0.6)
    a.axhline(cap, color="C3", ls=":", lw=1)
    a.set(xscale="log", xlabel="h_min", ylabel="GD steps to loss threshold")
    a.set_title(f"steps to loss {cfg.loss_threshold:g} (red: not reached in {cap})", fontsize=9)

    a = ax[2]
    first = [r for r in sweep if r["seed_index"] == 0]
    for c, r in enumerate(first):
        a.plot(
            r["track_steps"],
            r["track_lambda_min"],
            "-",
            color=f"C{c % 10}",
            label=f"h_min={r['h_min']:.3g}",
        )
    a.set(yscale="log", xlabel="GD step", ylabel="lambda_min(K)")
    a.set_title("lambda_min along training (seed 0)")
    a.legend(fontsize=7)

    a = ax[3]
    ms = np.array([_steps_for_rank(p["maxmin"]["steps_to_threshold"], cap) for p in pairs])
    rs = np.array([_steps_for_rank(p["random"]["steps_to_threshold"], cap) for p in pairs])
    x = np.arange(len(pairs))
    a.bar(x - 0.2, np.minimum(ms, cap), 0.4, label="max-min subset")
    a.bar(x + 0.2, np.minimum(rs, cap), 0.4, label="random subset")
    a.axhline(cap, color="C3", ls=":", lw=1)
    a.set(xlabel="pool (seed)", ylabel="GD steps to threshold (cap = not reached)")
    a.set_title("same biased pool, same init and step")
    a.legend(fontsize=8)
    fig.suptitle(f"Corollary 3 (convergence): {common.verdict_title(checks)}")
    common.save_figure(fig, path)


def run_convergence(
    output_dir: Path, *, quick: bool = False, seed: int = 0, quiet: bool = False
) -> TheoryResult:
    """Run the convergence experiment and draw ``convergence.png`` into ``output_dir``.

    ``quick`` takes the small sweep (a few seconds to tens of seconds on 2 cores); ``seed``
    (points, labels, initial weights, subsets) and ``quiet`` are those of `unisel.theory.run`,
    which writes the JSON.
    """
    cfg = QUICK if quick else FULL
    total = cfg.seeds * len(cfg.gap_factors) + 2 * cfg.subset_pairs
    sweep, pairs = common.measure(
        NAME, total, quiet, partial(_gap_sweep, cfg, seed), partial(_subset_pairs, cfg, seed)
    )
    checks = _checks(cfg, sweep, pairs)
    settings = common.run_settings(cfg, quick=quick, seed=seed)
    return common.with_figure(
        TheoryResult(NAME, CLAIM, checks, settings, {"gap_sweep": sweep, "subsets": pairs}),
        output_dir,
        lambda path: _figure(cfg, sweep, pairs, checks, path),
    )
