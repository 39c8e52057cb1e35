"""The experiment's figures: loss curves, held-out curves, length histograms, bars.

Every function draws on a pyplot-free ``matplotlib.figure.Figure`` (rendered by Agg when saved),
so importing or calling it never changes the importer's matplotlib backend or pyplot state, and
writes one PNG through `unisel.io.atomic_output`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unisel.experiment.config import ARM_LABELS
from unisel.io.atomic import atomic_output

_DPI = 110
_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"]


def arm_label(arm: str) -> str:
    return ARM_LABELS.get(arm, arm)


def arm_colors(arms: Sequence[str]) -> dict[str, str]:
    return {a: _COLORS[i % len(_COLORS)] for i, a in enumerate(arms)}


def _figure(width: float, height: float) -> Any:
    """A matplotlib Figure outside pyplot: no global figure registry, no backend switch."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=_DPI)


def _save(fig: Any, path: Path) -> Path:
    """Write ``fig`` as PNG (Agg) through `atomic_output`; returns ``path``."""
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def plot_curves(
    curves: list[dict[str, Any]],
    arms: Sequence[str],
    *,
    x: str,
    window: int,
    smoothing: str,
    thresholds: Sequence[float],
    path: Path,
    ylabel: str = "training loss",
) -> Path:
    """Raw (faint) and smoothed (solid) loss of every run, coloured by arm.

    ``curves`` items have ``arm``, ``seed``, ``step``, ``seconds``, ``tokens_seen``, ``loss``
    and ``smoothed`` arrays; ``x`` is ``"step"``, ``"minutes"`` or ``"tokens"`` (training
    tokens seen).
    """
    colors = arm_colors(arms)
    fig = _figure(7.5, 4.5)
    ax = fig.subplots()
    seen: set[str] = set()
    for c in curves:
        xs = _xs(c, x)
        col = colors[c["arm"]]
        ax.plot(xs, c["loss"], color=col, alpha=0.2, linewidth=0.8)
        label = None if c["arm"] in seen else arm_label(c["arm"])
        seen.add(c["arm"])
        ax.plot(xs, c["smoothed"], color=col, linewidth=1.8, label=label)
    for t in thresholds:
        ax.axhline(t, color="grey", linestyle="--", linewidth=0.8)
        ax.annotate(
            f"{t:g}", xy=(1.0, t), xycoords=("axes fraction", "data"), fontsize=8, color="grey"
        )
    name = "moving average" if smoothing == "ma" else "EMA"
    ax.set_xlabel(_XLABELS[x])
    ax.set_ylabel(ylabel)
    ax.set_title(f"{ylabel}: raw (faint) and {name}, window {window}")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


_XLABELS = {
    "step": "optimiser step",
    "minutes": "training wall-clock (minutes)",
    "tokens": "training tokens seen",
}


def _xs(c: dict[str, Any], x: str) -> np.ndarray:
    if x == "step":
        return np.asarray(c["step"])
    if x == "minutes":
        return np.asarray(c["seconds"]) / 60.0
    return np.asarray(c["tokens_seen"])


def plot_heldout_curves(
    curves: list[dict[str, Any]],
    arms: Sequence[str],
    *,
    thresholds: Sequence[float],
    path: Path,
) -> Path:
    """Held-out loss at each evaluation of every run, against tokens seen and minutes.

    ``curves`` items have a ``heldout`` dict of arrays ``step``, ``seconds``, ``tokens_seen``
    and ``loss``; one line per run, coloured by arm.
    """
    colors = arm_colors(arms)
    fig = _figure(10, 4.2)
    axes = fig.subplots(1, 2, sharey=True)
    seen: set[str] = set()
    for c in curves:
        h = c["heldout"]
        if not h["loss"].size:
            continue
        label = None if c["arm"] in seen else arm_label(c["arm"])
        seen.add(c["arm"])
        col = colors[c["arm"]]
        axes[0].plot(h["tokens_seen"], h["loss"], marker="o", ms=3, color=col, label=label)
        axes[1].plot(h["seconds"] / 60.0, h["loss"], marker="o", ms=3, color=col)
    for ax, x in zip(axes, ("tokens", "minutes"), strict=True):
        for t in thresholds:
            ax.axhline(t, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xlabel(_XLABELS[x])
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("held-out loss")
    axes[0].set_title("held-out loss at each evaluation")
    if seen:
        axes[0].legend(fontsize=8)
    return _save(fig, path)


def plot_lengths(
    lengths: dict[str, np.ndarray],
    arms: Sequence[str],
    *,
    pool: np.ndarray | None = None,
    path: Path,
    xlabel: str = "training tokens per record",
) -> Path:
    """Step histograms (share of records per bin, log-spaced bins) of each arm's lengths.

    ``lengths[arm]`` is a (k,) array of counts; ``pool`` (grey, filled) the whole pool's.
    """
    colors = arm_colors(arms)
    fig = _figure(7.5, 4.0)
    ax = fig.subplots()
    everything = [np.asarray(v) for v in lengths.values() if len(v)]
    if pool is not None and len(pool):
        everything.append(np.asarray(pool))
    if everything:
        allv = np.concatenate(everything).astype(np.float64)
        hi = max(2.0, float(allv.max()) + 1)
        log_x = hi > 64  # short records: one bin per count reads better
        bins = (
            np.unique(np.concatenate([[0.0], np.round(np.geomspace(1.0, hi, 30))]))
            if log_x
            else np.arange(0.0, hi + 1.0) - 0.5
        )
        if pool is not None and len(pool):
            w = np.full(len(pool), 1.0 / len(pool))
            ax.hist(pool, bins=bins, weights=w, color="#bbbbbb", alpha=0.6, label="pool")
        for a in arms:
            v = np.asarray(lengths.get(a, []))
            if not v.size:
                continue
            w = np.full(v.size, 1.0 / v.size)
            ax.hist(
                v, bins=bins, weights=w, histtype="step", linewidth=1.6, color=colors[a],
                label=f"{arm_label(a)} (median {np.median(v):.0f})",
            )  # fmt: skip
        if log_x:
            ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of records")
    ax.set_title("length distribution per arm")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_bars(
    values: dict[str, dict[str, tuple[float, float]]],
    arms: Sequence[str],
    *,
    title: str,
    ylabel: str,
    path: Path,
) -> Path:
    """Grouped bars: one group per key of ``values`` (a task, or one metric), one bar per arm.

    ``values[group][arm] = (mean, std)``; the error bar is the std over seeds.
    """
    colors = arm_colors(arms)
    groups = list(values)
    fig = _figure(max(4.0, 1.6 * len(groups) * max(1, len(arms)) / 2 + 2), 4.0)
    ax = fig.subplots()
    width = 0.8 / max(1, len(arms))
    for j, arm in enumerate(arms):
        xs, ys, es = [], [], []
        for g_i, g in enumerate(groups):
            if arm in values[g]:
                m, s = values[g][arm]
                xs.append(g_i + (j - (len(arms) - 1) / 2) * width)
                ys.append(m)
                es.append(0.0 if not math.isfinite(s) else s)
        ax.bar(xs, ys, width=width, yerr=es, color=colors[arm], label=arm_label(arm), capsize=3)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)
