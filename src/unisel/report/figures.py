"""The report's figures (matplotlib ``Figure`` objects, no pyplot and no backend switch), each
returning the numbers it drew.

Every ``plot_*`` function writes one PNG and returns a JSON-ready dict of what is on it, so
``report.json`` holds the drawn data and tests can check the figures by content.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from unisel.io import atomic_output
from unisel.report.summary import format_number

FULL_COLOR = "#7f7f7f"
# tab10 without its grey, which marks the full set.
SET_COLORS = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
]
# Above this many elements (rows * dims) PCA is computed from the covariance matrix accumulated
# over row blocks (exact, memory O(d^2)), so million-record sets never sit in memory as float64;
# below it scikit-learn's exact full-SVD PCA is used.
PCA_INCREMENTAL_ABOVE = 20_000_000
PCA_BLOCK_ROWS = 50_000
AXIS_LIM = (-0.02, 1.02)
DPI = 110
# Identical PNG bytes for identical inputs: no software/version stamp in the file.
_PNG_META: dict[str, Any] = {"Software": None}


@dataclass
class Panel:
    """Points of one set on the PCA plane.

    Attributes
    ----------
    name : str
    color : str
    coords : ndarray of shape (size, 2)
        Scaled PCA coordinates of every record of the set, in [0, 1].
    shown : ndarray of shape (n_shown,), int64
        Rows of ``coords`` drawn in the scatter (all of them, or a random sample).
    rows : ndarray of shape (size,), int64
        Row of the full set behind each row of ``coords``.
    """

    name: str
    color: str
    coords: np.ndarray
    shown: np.ndarray
    rows: np.ndarray

    @property
    def size(self) -> int:
        return int(self.coords.shape[0])


def set_colors(names: Sequence[str], full_name: str) -> dict[str, str]:
    """A fixed colour per set: grey for the full set, then the tab10 cycle in order."""
    out: dict[str, str] = {}
    i = 0
    for name in names:
        if name == full_name:
            out[name] = FULL_COLOR
        else:
            out[name] = SET_COLORS[i % len(SET_COLORS)]
            i += 1
    return out


def pca_coordinates(X: np.ndarray, *, seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """Project the full set on its first two principal components, min-max scaled to [0, 1].

    The paper's recipe: PCA fitted on the full set; each subset uses the rows of this
    projection, so every panel shares the full set's scale.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Full-set embeddings (a memory map is fine: large sets are read in row blocks).
    seed : int
        Seed of the randomised parts of the PCA solver.

    Returns
    -------
    coords : ndarray of shape (n, 2), float64, every value in [0, 1]
    info : dict
        ``explained_variance_ratio`` (2,), ``min`` and ``max`` (2,) of the raw projection,
        and ``solver``.
    """
    from sklearn.decomposition import PCA

    n, d = X.shape
    n_comp = min(2, n, d)
    raw = np.zeros((n, 2), dtype=np.float64)
    if n * d > PCA_INCREMENTAL_ABOVE:
        mean, components, evr_k = _blocked_pca(X, n_comp)
        for lo in range(0, n, PCA_BLOCK_ROWS):
            block = np.asarray(X[lo : lo + PCA_BLOCK_ROWS], dtype=np.float64)
            raw[lo : lo + block.shape[0], :n_comp] = (block - mean) @ components.T
        solver = "blocked-covariance"
    else:
        pca = PCA(n_components=n_comp, svd_solver="full", random_state=seed)
        raw[:, :n_comp] = pca.fit_transform(np.asarray(X, dtype=np.float64))
        evr_k = pca.explained_variance_ratio_
        solver = "full"
    lo_, hi_ = raw.min(axis=0), raw.max(axis=0)
    span = np.where(hi_ > lo_, hi_ - lo_, 1.0)
    coords = np.clip((raw - lo_) / span, 0.0, 1.0)
    evr = np.zeros(2)
    evr[:n_comp] = evr_k
    info = {
        "explained_variance_ratio": [float(v) for v in evr],
        "min": [float(v) for v in lo_],
        "max": [float(v) for v in hi_],
        "solver": solver,
    }
    return coords, info


def _blocked_pca(X: np.ndarray, n_comp: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact PCA from the covariance matrix, accumulated over row blocks (memory O(d^2)).

    Returns the mean (d,), the top ``n_comp`` components (n_comp, d), signed like scikit-learn
    (largest-magnitude loading positive), and their explained variance ratios (n_comp,).
    """
    n, d = X.shape
    total = np.zeros(d)
    for lo in range(0, n, PCA_BLOCK_ROWS):
        total += np.asarray(X[lo : lo + PCA_BLOCK_ROWS], dtype=np.float64).sum(axis=0)
    mean = total / n
    cov = np.zeros((d, d))
    for lo in range(0, n, PCA_BLOCK_ROWS):
        block = np.asarray(X[lo : lo + PCA_BLOCK_ROWS], dtype=np.float64) - mean
        cov += block.T @ block
    cov /= max(n - 1, 1)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1][:n_comp]
    components = vecs[:, order].T
    signs = np.sign(components[np.arange(n_comp), np.argmax(np.abs(components), axis=1)])
    components *= np.where(signs == 0, 1.0, signs)[:, None]
    trace = float(np.clip(vals, 0, None).sum())
    evr = np.clip(vals[order], 0, None) / trace if trace > 0 else np.zeros(n_comp)
    return mean, components, evr


def sample_rows(size: int, sample_size: int, rng: np.random.Generator) -> np.ndarray:
    """All of ``range(size)``, or a sorted uniform sample of ``sample_size`` rows of it."""
    if size <= sample_size:
        return np.arange(size, dtype=np.int64)
    return np.sort(rng.choice(size, size=sample_size, replace=False)).astype(np.int64)


def _grid(n_panels: int, max_cols: int = 4) -> tuple[int, int]:
    cols = min(max_cols, n_panels)
    rows = -(-n_panels // cols)
    return rows, cols


def _save(fig: Any, path: Path) -> None:
    # "tight" keeps panel titles inside the image whatever the panel count and aspect.
    with atomic_output(path) as tmp:
        fig.savefig(
            tmp, format="png", dpi=DPI, metadata=_PNG_META, bbox_inches="tight", pad_inches=0.12
        )


def plot_pca(panels: Sequence[Panel], path: Path, *, sample_size: int) -> dict[str, Any]:
    """One scatter panel per set on identical [0, 1] axes.

    Returns the drawn sample of each panel (``x``, ``y`` rounded to 5 decimals, and ``rows``,
    the full-set row of each point) and the shared axis limits.
    """
    rows, cols = _grid(len(panels))
    fig = Figure(figsize=(3.3 * cols, 3.9 * rows), layout="compressed")

    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
    out = []
    for ax, panel in zip(axes.flat, panels, strict=False):
        pts = panel.coords[panel.shown]
        n_shown = int(pts.shape[0])
        # Fewer points get bigger, more opaque markers so every panel reads at a glance.
        s = float(np.clip(3000.0 / max(n_shown, 1), 1.5, 12.0))
        alpha = float(np.clip(2500.0 / max(n_shown, 1), 0.35, 0.9))
        ax.scatter(
            pts[:, 0], pts[:, 1], s=s, c=panel.color, alpha=alpha, linewidths=0, rasterized=True
        )
        title = f"{panel.name}  (n = {panel.size:,})"
        if n_shown < panel.size:
            title += f"\n{n_shown:,} shown"
        ax.set_title(title, fontsize=10)
        ax.set_xlim(*AXIS_LIM)
        ax.set_ylim(*AXIS_LIM)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=8)
        out.append(
            {
                "name": panel.name,
                "size": panel.size,
                "n_shown": n_shown,
                "xlim": [float(v) for v in ax.get_xlim()],
                "ylim": [float(v) for v in ax.get_ylim()],
                "rows": panel.rows[panel.shown].tolist(),
                "x": np.round(pts[:, 0], 5).tolist(),
                "y": np.round(pts[:, 1], 5).tolist(),
            }
        )
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.supxlabel("PC 1 (scaled to [0, 1] on the full set)", fontsize=9)
    fig.supylabel("PC 2", fontsize=9)
    if any(p["n_shown"] < p["size"] for p in out):
        fig.suptitle(f"random sample of at most {sample_size:,} points per panel", fontsize=9)
    _save(fig, path)
    return {"file": path.name, "xlim": list(AXIS_LIM), "ylim": list(AXIS_LIM), "panels": out}


def plot_density(panels: Sequence[Panel], path: Path, *, gridsize: int = 35) -> dict[str, Any]:
    """Hexbin of every point of each set; colour is the share of the set in the cell.

    One logarithmic colour scale for all panels, so an evenly spread set shows as an even
    colour and a clumped one as a few hot cells.
    """
    rows, cols = _grid(len(panels))
    fig = Figure(figsize=(3.3 * cols, 3.9 * rows), layout="compressed")

    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
    shares = []
    hexbins = []
    for ax, panel in zip(axes.flat, panels, strict=False):
        w = np.full(panel.size, 1.0 / panel.size)
        hb = ax.hexbin(
            panel.coords[:, 0],
            panel.coords[:, 1],
            C=w,
            reduce_C_function=np.sum,
            gridsize=gridsize,
            extent=(0, 1, 0, 1),
            mincnt=0,
            cmap="viridis",
            linewidths=0.1,
        )
        vals = hb.get_array()
        shares.append(np.asarray(vals))
        hexbins.append(hb)
        ax.set_title(f"{panel.name}  (all {panel.size:,})", fontsize=10)
        ax.set_xlim(*AXIS_LIM)
        ax.set_ylim(*AXIS_LIM)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=8)
    positive = np.concatenate([s[s > 0] for s in shares]) if shares else np.array([1.0])
    norm = LogNorm(vmin=float(positive.min()), vmax=float(positive.max()))
    for hb in hexbins:
        hb.set_norm(norm)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    cbar = fig.colorbar(hexbins[-1], ax=axes.ravel().tolist(), shrink=0.8)
    cbar.set_label("share of the set in the cell", fontsize=9)
    _save(fig, path)
    return {
        "file": path.name,
        "gridsize": gridsize,
        "xlim": list(AXIS_LIM),
        "ylim": list(AXIS_LIM),
        "panels": [
            {
                "name": p.name,
                "size": p.size,
                "occupied_cells": int((s > 0).sum()),
                "max_share": float(s.max()) if s.size else 0.0,
                "share_sum": float(s.sum()),
            }
            for p, s in zip(panels, shares, strict=True)
        ],
    }


def plot_nn_histogram(
    nn: dict[str, np.ndarray],
    colors: dict[str, str],
    path: Path,
    *,
    bins: int = 60,
    tail_quantile: float = 0.98,
) -> dict[str, Any]:
    """Histogram of each set's nearest-neighbour cosine distances on one shared axis.

    Each curve is a density (area 1) so sets of different size compare. The axis ends a little
    past the largest ``tail_quantile`` quantile of the sets, so a few isolated records (zero
    vectors sit at distance 1 from everything) do not squash the bulk; distances beyond it are
    counted in the last bin and reported as ``overflow``. Counts go to the JSON.
    """
    values = [v for v in nn.values() if v.size]
    top = max(float(v.max()) for v in values) if values else 1.0
    q = max(float(np.quantile(v, tail_quantile)) for v in values) if values else top
    hi = min(top, 1.05 * q) if q > 0 else top
    edges = np.linspace(0.0, hi if hi > 0 else 1.0, bins + 1)
    fig = Figure(figsize=(9.5, 3.5), layout="constrained")

    ax = fig.subplots()
    out = []
    total_overflow = 0
    for name, d in nn.items():
        overflow = int((d > edges[-1]).sum())
        total_overflow += overflow
        counts, _ = np.histogram(np.minimum(d, edges[-1]), bins=edges)
        if d.size:
            dens = counts / (d.size * np.diff(edges))
            ax.stairs(dens, edges, color=colors[name], linewidth=1.6, label=f"{name} ({d.size:,})")
        out.append(
            {
                "name": name,
                "n": int(d.size),
                "counts": counts.astype(int).tolist(),
                "overflow": overflow,
            }
        )
    xlabel = "cosine distance to the nearest other record of the same set"
    if total_overflow:
        xlabel += f"  (last bin also holds {total_overflow:,} larger ones, up to {top:.3g})"
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.set_xlim(edges[0], edges[-1])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, frameon=False)
    _save(fig, path)
    return {
        "file": path.name,
        "bin_edges": [float(e) for e in edges],
        "max_distance": top,
        "overflow_total": total_overflow,
        "sets": out,
    }


def plot_coverage(
    curves: dict[str, np.ndarray],
    reference_h_min: dict[str, float],
    colors: dict[str, str],
    path: Path,
    *,
    max_points: int = 2000,
) -> dict[str, Any]:
    """Distance at which each max-min step's record was chosen, against the number selected.

    ``curves`` maps a set name to its manifest distances (``inf`` first, ``nan`` for an initial
    selection, both skipped). ``reference_h_min`` draws other sets' h_min as dashed lines. Long
    curves are thinned to ``max_points`` evenly spaced steps (the curve is non-increasing, so
    the drawing is unchanged); the drawn points go to the JSON.
    """
    fig = Figure(figsize=(9.5, 3.5), layout="constrained")

    ax = fig.subplots()
    out = []
    for name, dist in curves.items():
        steps = np.arange(1, dist.size + 1)
        ok = np.isfinite(dist)
        steps, dist_ok = steps[ok], dist[ok]
        if steps.size > max_points:
            keep = np.unique(np.linspace(0, steps.size - 1, max_points).round().astype(int))
            steps, dist_ok = steps[keep], dist_ok[keep]
        ax.plot(
            steps, dist_ok, color=colors[name], linewidth=1.8, label=f"{name}: distance when chosen"
        )
        out.append(
            {
                "name": name,
                "k": int(dist.size),
                "final": float(dist_ok[-1]) if dist_ok.size else None,
                "steps": steps.tolist(),
                "distances": [round(float(v), 6) for v in dist_ok],
            }
        )
    refs = []
    for name, h in reference_h_min.items():
        if np.isfinite(h):
            ax.axhline(h, color=colors[name], linestyle="--", linewidth=1.2, label=f"{name}: h_min")
            refs.append({"name": name, "h_min_cosine": float(h)})
    ax.set_xscale("log")
    ax.set_xlabel("number of records selected (log scale)")
    ax.set_ylabel("cosine distance")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, frameon=False)
    _save(fig, path)
    return {"file": path.name, "sets": out, "references": refs}


def plot_bars(
    names: Sequence[str],
    h_min: Sequence[float],
    cover: Sequence[float],
    colors: dict[str, str],
    path: Path,
) -> dict[str, Any]:
    """Side-by-side bars: h_min (larger is more uniform) and covering radius (smaller covers better)."""
    fig = Figure(figsize=(9.5, 3.3), layout="constrained")

    (a1, a2) = fig.subplots(1, 2)
    pos = np.arange(len(names))
    col = [colors[n] for n in names]
    for ax, vals, title in (
        (a1, h_min, "h_min (cosine): larger is more uniform"),
        (a2, cover, "covering radius (cosine): smaller covers better"),
    ):
        v = np.array([x if np.isfinite(x) else 0.0 for x in vals], dtype=float)
        ax.bar(pos, v, color=col)
        # Labels above each bar, zero-height bars included (bar_label puts those below the axis).
        for x, height, raw in zip(pos, v, vals, strict=True):
            ax.annotate(
                format_number(float(raw)),
                (x, height),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8,
            )
        ax.set_xticks(pos, list(names), fontsize=9, rotation=20 if len(names) > 4 else 0)
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0, max(float(v.max()) * 1.18, 1e-9))
        ax.grid(axis="y", alpha=0.3)
    _save(fig, path)
    return {
        "file": path.name,
        "names": list(names),
        "h_min_cosine": [float(x) if np.isfinite(x) else None for x in h_min],
        "covering_radius": [float(x) if np.isfinite(x) else None for x in cover],
    }


def plot_lengths(
    lengths: dict[str, np.ndarray],
    colors: dict[str, str],
    path: Path,
    *,
    unit: str = "words",
    bins: int = 40,
) -> dict[str, Any]:
    """Histogram of each set's record lengths on one shared, logarithmic axis.

    The share of the set's records per bin (integer edges, log-spaced), so sets of different
    size compare; a first bin ``[0, 1)`` holds empty records. Counts go to the JSON.
    """
    values = [v for v in lengths.values() if v.size]
    top = max(float(v.max()) for v in values) if values else 1.0
    # integer edges: counts are integers, so no bin between two of them stays empty
    edges = np.unique(
        np.concatenate([[0.0], np.round(np.geomspace(1.0, max(2.0, top + 1.0), bins))])
    )
    fig = Figure(figsize=(9.5, 3.5), layout="constrained")

    ax = fig.subplots()
    out = []
    for name, v in lengths.items():
        counts, _ = np.histogram(v, bins=edges)
        if v.size:
            share = counts / v.size
            med = float(np.median(v))
            ax.stairs(
                share, edges, color=colors[name], linewidth=1.6, label=f"{name} (median {med:.0f})"
            )
        out.append({"name": name, "n": int(v.size), "counts": counts.astype(int).tolist()})
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel(f"{unit} per record (logarithmic bins)")
    ax.set_ylabel("share of the set's records")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, frameon=False)
    _save(fig, path)
    return {"file": path.name, "unit": unit, "bin_edges": [float(e) for e in edges], "sets": out}
