"""The experiment's page (``index.html``), rendered with jinja2 like the report's page.

One self-contained file: the figures (:mod:`unisel.experiment.figures`, also kept as PNGs in
``figures/``) are inlined as base64 data URIs, so the page can be mailed or archived alone.
The prose and layout live in ``templates/page.html``; this module draws the figures, formats the
table cells and renders the template.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unisel.experiment import figures as figs
from unisel.experiment.config import ExperimentConfig
from unisel.experiment.curves import NOT_REACHED
from unisel.io.atomic import atomic_write_text

TEMPLATES = Path(__file__).parent / "templates"
TITLE = "unisel experiment: uniform vs baseline subsets"

CSS = """
body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#f3f3f3} td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}
pre{background:#f7f7f7;padding:.8em;overflow:auto;font-size:.85em}
.note{color:#555;font-size:.92em}
"""

Spread = Mapping[str, float]


# ----------------------------------------------------------------------------- cell formats
def fmt_range(sp: Spread, scale: float = 1.0, digits: int = 3, unit: str = "") -> str:
    """``mean [min–max]`` of a spread (``mean`` alone for one value, "–" for none)."""
    if not sp or not sp.get("n"):
        return "–"
    m, lo, hi = sp["mean"] / scale, sp["min"] / scale, sp["max"] / scale
    text = f"{m:.{digits}g}{unit}"
    if sp["n"] > 1:
        text += f" [{lo:.{digits}g}–{hi:.{digits}g}]"
    return text


def fmt_ttt(cell: Mapping[str, Any], tokens: bool = False) -> str:
    """One time-to-threshold cell: minutes (and tokens, step), runs reaching it if not all."""
    if cell["reached"] == 0:
        return NOT_REACHED
    text = f"{cell['seconds_mean'] / 60:.2f} min (step {cell['step_mean']:.0f})"
    if tokens and "tokens" in cell:
        text = (
            f"{fmt_range(cell['seconds'], 60.0, 3, ' min')}, "
            f"{fmt_range(cell['tokens'], 1e3, 3, 'k tok')}, "
            f"step {fmt_range(cell['step'], 1.0, 3)}"
        )
    if cell["reached"] < cell["runs"]:
        text += f", {cell['reached']}/{cell['runs']} runs"
    return text


def fmt_ms(ms: Sequence[float], digits: int = 4) -> str:
    """``mean ± std`` of a ``(mean, std)`` pair ("–" for a non-finite mean)."""
    m, s = ms
    if not math.isfinite(m):
        return "–"
    return f"{m:.{digits}g}" + (f" ± {s:.2g}" if math.isfinite(s) else "")


def fmt_spread(sp: Spread, digits: int = 4) -> str:
    """``mean ± std [min–max]`` of a spread."""
    if not sp or not sp.get("n"):
        return "–"
    text = f"{sp['mean']:.{digits}g}"
    if sp["n"] > 1:
        text += f" ± {sp['std']:.2g} [{sp['min']:.{digits}g}–{sp['max']:.{digits}g}]"
    return text


def _cell(v: Any) -> Any:
    """A table cell: floats with 4 significant digits, an en dash for non-finite ones."""
    from markupsafe import Markup

    if isinstance(v, float):
        return Markup("&ndash;") if not math.isfinite(v) else f"{v:.4g}"
    return v


def _data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(png).read_bytes()).decode("ascii")


# ----------------------------------------------------------------------------- figures
def draw_figures(
    config: ExperimentConfig,
    out: Path,
    curves: list[dict[str, Any]],
    summary: Mapping[str, Any],
    lengths: Mapping[str, np.ndarray],
    pool: np.ndarray,
) -> dict[str, Path]:
    """Write the page's PNGs into ``out/figures``.

    Parameters
    ----------
    config : ExperimentConfig
    out : Path
        The experiment folder.
    curves : list of dict
        One per finished run (see `unisel.experiment.summary.build_report`).
    summary : mapping
        The content of ``summary.json``.
    lengths : mapping
        Per arm, the training tokens of every record of its subsets, shape (records,).
    pool : ndarray of shape (pool_size,)
        The training tokens of every record of the pool.

    Returns
    -------
    dict
        Figure name (``step``, ``minutes``, ``tokens``, ``heldout_curves``, ``heldout``,
        ``lengths`` and, with scores, ``lm_eval``) -> PNG path.
    """
    folder = out / "figures"
    arms = list(config.arms)
    per_arm = summary["arms"]
    drawn: dict[str, Path] = {}
    for x, name in (("step", "steps"), ("minutes", "time"), ("tokens", "tokens")):
        drawn[x] = figs.plot_curves(
            curves,
            arms,
            x=x,
            window=config.smoothing_window,
            smoothing=config.smoothing,
            thresholds=summary["thresholds"],
            path=folder / f"loss_vs_{name}.png",
        )
    drawn["heldout_curves"] = figs.plot_heldout_curves(
        curves, arms, thresholds=summary["heldout_thresholds"], path=folder / "heldout_curves.png"
    )
    held = {
        "held-out loss": {a: tuple(per_arm[a]["heldout_loss"]) for a in arms if per_arm[a]["runs"]},
    }
    drawn["heldout"] = figs.plot_bars(
        held,
        arms,
        title="held-out loss (mean ± std over seeds)",
        ylabel="loss",
        path=folder / "heldout.png",
    )
    drawn["lengths"] = figs.plot_lengths(
        dict(lengths), arms, pool=np.asarray(pool), path=folder / "lengths.png"
    )
    if summary["lm_eval"]:
        drawn["lm_eval"] = figs.plot_bars(
            {g: dict(d) for g, d in summary["lm_eval"].items()},
            arms,
            title="lm-eval scores (mean ± std over seeds)",
            ylabel="score",
            path=folder / "lm_eval.png",
        )
    return drawn


# ----------------------------------------------------------------------------- page
def _tables(config: ExperimentConfig, summary: Mapping[str, Any]) -> dict[str, Any]:
    """The page's table rows, every cell formatted."""
    arms = list(config.arms)
    eval_bars = summary["lm_eval"]
    per_arm = summary["arms"]
    thr, hthr = summary["thresholds"], summary["heldout_thresholds"]
    arms_rows = []
    for a in arms:
        p = per_arm[a]
        arms_rows.append(
            [
                figs.arm_label(a),
                fmt_range(p["size_spread"], 1.0, 4),
                fmt_range(p["tokens_seen"], 1.0, 6),
                "-" if p["h_min_cosine"] is None else p["h_min_cosine"],
                "-" if p["covering_radius_cosine"] is None else p["covering_radius_cosine"],
                fmt_range(p["steps_spread"], 1.0, 4),
                fmt_ms((p["train_seconds"][0] / 60, p["train_seconds"][1] / 60), 3),
                fmt_ms(p["final_smoothed_loss"]),
                fmt_spread(p["heldout_loss_spread"]),
                fmt_ms(p["heldout_ce"]),
                fmt_ms(p["heldout_accuracy"], 3),
            ]
        )
    pool_sum = summary.get("pool_lengths") or {}
    length_rows = [
        [label, ls["n"], ls["total"], ls["mean"], ls["q10"], ls["median"], ls["q90"], ls["max"]]
        for label, ls in [("pool", pool_sum)]
        + [(figs.arm_label(a), per_arm[a]["lengths"]) for a in arms]
        if ls and ls.get("n")
    ]
    return {
        "arms_header": [
            "arm",
            "records",
            "tokens trained on",
            "h_min (cos)",
            "covering radius (cos)",
            "steps",
            "train min",
            "final smoothed loss",
            "held-out loss",
            "held-out CE",
            "held-out acc.",
        ],
        "arms_rows": arms_rows,
        "threshold_header": [f"loss ≤ {t:g}" for t in thr],
        "threshold_rows": [
            [figs.arm_label(a)]
            + [fmt_ttt(per_arm[a]["time_to_threshold"][f"{t:g}"], tokens=True) for t in thr]
            for a in arms
        ],
        "heldout_threshold_header": [f"held-out ≤ {t:g}" for t in hthr],
        "heldout_threshold_rows": [
            [figs.arm_label(a), fmt_range(per_arm[a]["heldout_evaluations"], 1.0, 3)]
            + [
                fmt_ttt(per_arm[a]["heldout_time_to_threshold"][f"{t:g}"], tokens=True)
                for t in hthr
            ]
            for a in arms
        ],
        "length_rows": length_rows,
        "arm_labels": [figs.arm_label(a) for a in arms],
        "eval_rows": [
            [g] + [fmt_ms(eval_bars[g].get(a, (math.nan, math.nan)), 3) for a in arms]
            for g in eval_bars
        ],
    }


def render_page(
    config: ExperimentConfig,
    summary: Mapping[str, Any],
    figures: Mapping[str, Path],
) -> str:
    """The experiment page as one HTML document.

    Parameters
    ----------
    config : ExperimentConfig
    summary : mapping
        The content of ``summary.json`` (its ``lm_eval`` scores, when any, get a section).
    figures : mapping
        `draw_figures`' result: figure name -> PNG path (inlined as data URIs).

    Returns
    -------
    str
        The complete HTML document.
    """
    import yaml
    from jinja2 import StrictUndefined

    from unisel._templates import environment

    env = environment(TEMPLATES, undefined=StrictUndefined)
    env.filters["cell"] = _cell
    env.filters["fmt"] = format
    env.filters["data_uri"] = _data_uri
    w = config.smoothing_window
    return env.get_template("page.html").render(
        title=TITLE,
        css=CSS,
        config=config,
        config_yaml=yaml.safe_dump(config.to_dict(), sort_keys=False),
        summary=summary,
        window=w,
        alpha=2 / (w + 1),
        smooth_name="moving average" if config.smoothing == "ma" else "EMA",
        figures=figures,
        **_tables(config, summary),
    )


def write_page(
    config: ExperimentConfig, out: Path, summary: Mapping[str, Any], figures: Mapping[str, Path]
) -> Path:
    """Write `render_page`'s document to ``out/index.html`` (atomically); returns its path."""
    return atomic_write_text(out / "index.html", render_page(config, summary, figures))
