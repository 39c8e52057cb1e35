"""Figures and a self-contained HTML page for an experiment.

The page embeds its figures (PNG, base64) so ``index.html`` can be mailed or archived alone; the
PNGs are also written to ``figures/``. This is a small stand-alone builder; once
``unisel.report``'s page machinery is merged, :func:`write_page` should render through it.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unisel.experiment.config import ARM_LABELS

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"]


def arm_label(arm: str) -> str:
    return ARM_LABELS.get(arm, arm)


def arm_colors(arms: Sequence[str]) -> dict[str, str]:
    return {a: _COLORS[i % len(_COLORS)] for i, a in enumerate(arms)}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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
    plt = _plt()
    colors = arm_colors(arms)
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
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
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


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
    plt = _plt()
    colors = arm_colors(arms)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), dpi=110, sharey=True)
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
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


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
    plt = _plt()
    colors = arm_colors(arms)
    fig, ax = plt.subplots(figsize=(7.5, 4.0), dpi=110)
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
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


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
    plt = _plt()
    colors = arm_colors(arms)
    groups = list(values)
    fig, ax = plt.subplots(
        figsize=(max(4.0, 1.6 * len(groups) * max(1, len(arms)) / 2 + 2), 4.0), dpi=110
    )
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
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def html_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An escaped HTML table; floats shown with 4 significant digits."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "&ndash;" if not math.isfinite(v) else f"{v:.4g}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#f3f3f3} td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}
pre{background:#f7f7f7;padding:.8em;overflow:auto;font-size:.85em}
.note{color:#555;font-size:.92em}
"""


def write_page(path: Path, title: str, sections: Sequence[tuple[str, str]]) -> Path:
    """Write a single-file HTML page.

    ``sections`` are ``(heading, html_body)`` pairs; use :func:`figure_html` and
    :func:`html_table` to build bodies.
    """
    parts = [f"<h2>{html.escape(h)}</h2>\n{body}" for h, body in sections]
    doc = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>" + "\n".join(parts) + "</body></html>"
    )
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(doc, encoding="utf-8")
    tmp.replace(path)
    return path


def figure_html(png: Path, alt: str) -> str:
    """An ``<img>`` with the PNG inlined as a data URI."""
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"
