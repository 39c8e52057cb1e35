"""Run the paper's comparison: select subsets, train one run per arm and seed, report.

Experiment folder
-----------------
``config.yaml``             the resolved configuration; ``state.json`` its fingerprint.
``data/holdout.jsonl``      held-out records (no arm selects from or trains on them).
``data/<arm>.jsonl``        each arm's training records (``data/full.jsonl``: the whole pool).
``selection.json``          per arm: indices into the data set, size, h_min and covering radius
                            (cosine, in the experiment's embedding of the pool).
``runs/<arm>-s<seed>/``     one training run each (``unisel train`` folders; ``result.json``
                            marks a finished run, ``checkpoint/`` lets an unfinished one resume).
``curves.csv``              every logged step of every run: raw, moving-average and EMA loss.
``time_to_threshold.csv``   per run and threshold: first step / seconds the smoothed loss
                            reaches it, or "not reached".
``heldout.csv``             per run: final held-out loss, cross-entropy, accuracy.
``lm_eval.csv``             per run and task: the headline score (when ``eval_tasks`` is set).
``summary.json``            all of the above per arm (means and std over seeds).
``figures/*.png``, ``index.html``   the figures and the page.

Every stage skips what is already done, so rerunning an interrupted experiment resumes it.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unisel.errors import ParameterError
from unisel.experiment.config import FULL, ExperimentConfig
from unisel.experiment.curves import (
    NOT_REACHED,
    ema,
    moving_average,
    pick_thresholds,
    smooth,
    time_to_threshold,
)


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` produced.

    Attributes
    ----------
    output : str
    runs : list of dict
        One per (arm, seed): ``arm``, ``seed``, ``run`` (folder), ``trained`` (in this call).
    thresholds : list of float
    thresholds_picked : bool
        True when picked from the curves.
    summary : dict
        The content of ``summary.json``.
    page : str
        ``index.html``.
    """

    output: str
    runs: list[dict[str, Any]]
    thresholds: list[float]
    thresholds_picked: bool
    summary: dict[str, Any] = field(default_factory=dict)
    page: str = ""


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    tmp.replace(path)


def _holdout_size(n: int, holdout: float) -> int:
    h = int(holdout) if holdout >= 1 else int(round(holdout * n))
    if not 1 <= h < n:
        raise ParameterError(f"holdout={holdout} leaves no training or no held-out record (n={n})")
    return h


def _arm_keys(cfg: ExperimentConfig) -> list[tuple[str, int]]:
    """(arm, selection seed) pairs that need a subset."""
    seeds = cfg.seeds if cfg.reselect_per_seed else [cfg.selection_seed]
    return [(a, s) for a in cfg.arms for s in seeds]


def _subset_name(cfg: ExperimentConfig, arm: str, seed: int) -> str:
    return f"{arm}-s{seed}" if cfg.reselect_per_seed and arm != FULL else arm


def _prepare_data(cfg: ExperimentConfig, out: Path, quiet: bool) -> dict[str, Any]:
    """Held-out split, embeddings, one subset per arm; cached in ``selection.json``."""
    sel_path = out / "selection.json"
    if sel_path.is_file():
        return dict(json.loads(sel_path.read_text()))

    from unisel.embed import embed_texts
    from unisel.io import read_records
    from unisel.metrics.neighbors import covering_radius, h_min
    from unisel.select import select
    from unisel.select.base import resolve_k
    from unisel.train.data import raw_rows

    t0 = time.perf_counter()
    records = read_records(cfg.data, schema=cfg.schema, text_field=cfg.text_field, quiet=quiet)
    rows = raw_rows(records)
    texts = list(records.texts)
    if cfg.limit:
        rows, texts = rows[: cfg.limit], texts[: cfg.limit]
    n = len(rows)
    h = _holdout_size(n, cfg.holdout)
    rng = np.random.default_rng(cfg.holdout_seed)
    held = np.sort(rng.choice(n, size=h, replace=False))
    pool = np.setdiff1d(np.arange(n), held)
    data_dir = out / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    _write_jsonl(data_dir / "holdout.jsonl", [rows[i] for i in held])

    emb = embed_texts(
        [texts[i] for i in pool],
        cfg.embedder,
        cache_dir=out / "cache",
        seed=cfg.selection_seed,
        quiet=quiet,
        **cfg.embedder_params,
    )
    X = np.asarray(emb.vectors)
    k = resolve_k(len(pool), cfg.k, cfg.fraction) if any(a != FULL for a in cfg.arms) else len(pool)
    arms: dict[str, Any] = {}
    for arm, seed in _arm_keys(cfg):
        name = _subset_name(cfg, arm, seed)
        if name in arms:
            continue
        ts = time.perf_counter()
        if arm == FULL:
            local = np.arange(len(pool))
        else:
            params = dict(cfg.selector_params.get(arm, {}))
            local = np.asarray(
                select(X, k, arm, random_state=seed, **params).indices, dtype=np.int64
            )
        sel_seconds = time.perf_counter() - ts
        chosen = pool[local]
        _write_jsonl(data_dir / f"{name}.jsonl", [rows[i] for i in chosen])
        arms[name] = {
            "arm": arm,
            "selection_seed": seed,
            "size": int(local.size),
            "indices": [int(i) for i in chosen],
            "h_min_cosine": h_min(X[local]),
            "covering_radius_cosine": covering_radius(X, X[local]) if arm != FULL else 0.0,
            "select_seconds": sel_seconds,
            "data": str(data_dir / f"{name}.jsonl"),
        }
    info = {
        "n_records": n,
        "schema": records.schema,
        "holdout": [int(i) for i in held],
        "pool_size": int(pool.size),
        "k": int(k),
        "embedder": {"method": emb.method, "params": emb.params, "dim": int(X.shape[1])},
        "arms": arms,
        "seconds": time.perf_counter() - t0,
    }
    tmp = sel_path.with_name(sel_path.name + ".tmp")
    tmp.write_text(json.dumps(info, indent=1, allow_nan=False, default=float))
    tmp.replace(sel_path)
    return info


def _check_state(cfg: ExperimentConfig, out: Path) -> None:
    import yaml

    state = out / "state.json"
    fp = cfg.fingerprint()
    if state.is_file():
        old = json.loads(state.read_text()).get("fingerprint")
        if old != fp:
            raise ParameterError(
                f"{out}: holds an experiment with other settings; use another output folder"
            )
    elif out.exists() and any(out.iterdir()):
        raise ParameterError(f"{out}: exists and is not a unisel experiment; use an empty folder")
    out.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"fingerprint": fp}))
    (out / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))


def run_experiment(
    config: ExperimentConfig,
    output: str | Path,
    *,
    quiet: bool = False,
    report_only: bool = False,
    on_run: Callable[[dict[str, Any]], None] | None = None,
) -> ExperimentResult:
    """Select, train, evaluate and report; resumes whatever an earlier call left unfinished.

    Parameters
    ----------
    config : ExperimentConfig
    output : path
        Experiment folder (see the module docstring for its content).
    quiet : bool
        No progress bars.
    report_only : bool
        Only rebuild the tables, figures and page from the runs that finished.
    on_run : callable, optional
        Called with each run's entry after it finishes (progress hooks).

    Returns
    -------
    ExperimentResult
    """
    from unisel.train.trainer import RESULT_FILE, train

    config.check()
    out = Path(output)
    _check_state(config, out)
    info = (
        _prepare_data(config, out, quiet)
        if not report_only
        else json.loads((out / "selection.json").read_text())
    )

    runs: list[dict[str, Any]] = []
    for seed in config.seeds:
        for arm in config.arms:
            name = _subset_name(
                config, arm, seed if config.reselect_per_seed else config.selection_seed
            )
            run_dir = out / "runs" / f"{arm}-s{seed}"
            entry = {
                "arm": arm,
                "seed": seed,
                "subset": name,
                "run": str(run_dir),
                "trained": False,
            }
            runs.append(entry)
            if report_only:
                continue
            if not (run_dir / RESULT_FILE).is_file():
                tcfg = config.train_config(
                    info["arms"][name]["data"],
                    str(run_dir),
                    seed,
                    eval_data=str(out / "data" / "holdout.jsonl"),
                    save_model=bool(config.eval_tasks),
                    quiet=quiet,
                    schema=info["schema"],
                )
                train(tcfg)
                entry["trained"] = True
            if config.eval_tasks:
                _evaluate_run(config, run_dir, quiet)
            if on_run is not None:
                on_run(entry)
    return build_report(config, out, runs, info)


def _evaluate_run(config: ExperimentConfig, run_dir: Path, quiet: bool) -> None:
    from unisel.evaluate import EVAL_FILE, evaluate

    if not (run_dir / EVAL_FILE).is_file():
        evaluate(
            str(run_dir),
            list(config.eval_tasks or []),
            output=run_dir / EVAL_FILE,
            batch_size=config.eval_batch_size,
            limit=config.eval_limit,
            quiet=quiet,
        )
    if not config.keep_models:
        shutil.rmtree(run_dir / "model", ignore_errors=True)


def _mean_std(values: list[float]) -> tuple[float, float]:
    v = [x for x in values if x is not None and math.isfinite(x)]
    if not v:
        return float("nan"), float("nan")
    return float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else float("nan")


def build_report(
    config: ExperimentConfig, out: Path, runs: list[dict[str, Any]], info: dict[str, Any]
) -> ExperimentResult:
    """Curves, tables, figures, summary and page from the finished runs in ``out``."""
    from unisel.evaluate import load_eval
    from unisel.train.trainer import RESULT_FILE, read_log

    w = config.smoothing_window
    curves: list[dict[str, Any]] = []
    curve_rows: list[list[Any]] = []
    for r in runs:
        log = read_log(Path(r["run"]) / "log.jsonl")
        if not log or not (Path(r["run"]) / RESULT_FILE).is_file():
            continue
        steps = np.array([x["step"] for x in log])
        secs = np.array([x["seconds"] for x in log], dtype=np.float64)
        loss = np.array([x["loss"] for x in log], dtype=np.float64)
        ma, ex = moving_average(loss, w), ema(loss, w)
        curves.append(
            {
                **r,
                "step": steps,
                "seconds": secs,
                "loss": loss,
                "smoothed": smooth(loss, w, config.smoothing),
                "log": log,
            }
        )
        for x, a, b in zip(log, ma, ex, strict=True):
            curve_rows.append(
                [
                    r["arm"],
                    r["seed"],
                    x["step"],
                    x["seconds"],
                    x["loss"],
                    x.get("ce"),
                    x.get("accuracy"),
                    x["tokens"],
                    a,
                    b,
                ]
            )
    _write_csv(
        out / "curves.csv",
        [
            "arm",
            "seed",
            "step",
            "seconds",
            "loss",
            "ce",
            "accuracy",
            "tokens",
            f"loss_ma{w}",
            f"loss_ema{w}",
        ],
        curve_rows,
    )

    arms = list(config.arms)
    final = {
        a: _mean_std([float(c["smoothed"][-1]) for c in curves if c["arm"] == a])[0] for a in arms
    }
    picked = config.thresholds is None
    thresholds = list(config.thresholds) if config.thresholds else pick_thresholds(final)

    ttt_rows: list[list[Any]] = []
    ttt: dict[str, dict[str, Any]] = {a: {} for a in arms}
    for t in thresholds:
        for a in arms:
            hits = []
            for c in [c for c in curves if c["arm"] == a]:
                cr = time_to_threshold(c["step"], c["seconds"], c["smoothed"], t)
                hits.append(cr)
                ttt_rows.append(
                    [
                        a,
                        c["seed"],
                        t,
                        cr.step if cr else NOT_REACHED,
                        round(cr.seconds, 3) if cr else NOT_REACHED,
                    ]
                )
            reached = [h for h in hits if h is not None]
            ttt[a][f"{t:g}"] = {
                "reached": len(reached),
                "runs": len(hits),
                "seconds_mean": float(np.mean([h.seconds for h in reached])) if reached else None,
                "step_mean": float(np.mean([h.step for h in reached])) if reached else None,
            }
    _write_csv(
        out / "time_to_threshold.csv", ["arm", "seed", "threshold", "step", "seconds"], ttt_rows
    )

    held_rows, evals_rows = [], []
    per_arm: dict[str, dict[str, Any]] = {}
    eval_vals: dict[str, dict[str, list[float]]] = {}
    for a in arms:
        mine = [c for c in curves if c["arm"] == a]
        results = [json.loads((Path(c["run"]) / RESULT_FILE).read_text()) for c in mine]
        for c, res in zip(mine, results, strict=True):
            ho = res.get("heldout") or {}
            held_rows.append(
                [a, c["seed"], ho.get("loss"), ho.get("ce"), ho.get("accuracy"), ho.get("tokens")]
            )
            ev = load_eval(c["run"])
            if ev is not None:
                for task, (metric, value) in ev.headline.items():
                    evals_rows.append([a, c["seed"], task, metric, value])
                    eval_vals.setdefault(f"{task} ({metric})", {}).setdefault(a, []).append(value)
        sub = info["arms"][
            _subset_name(
                config,
                a,
                config.selection_seed if not config.reselect_per_seed else config.seeds[0],
            )
        ]
        per_arm[a] = {
            "runs": len(mine),
            "size": sub["size"],
            "h_min_cosine": sub["h_min_cosine"],
            "covering_radius_cosine": sub["covering_radius_cosine"],
            "steps": int(mine[0]["step"][-1]) if mine else 0,
            "train_seconds": _mean_std([float(c["seconds"][-1]) for c in mine]),
            "final_smoothed_loss": _mean_std([float(c["smoothed"][-1]) for c in mine]),
            "heldout_loss": _mean_std(
                [float((r.get("heldout") or {}).get("loss", math.nan)) for r in results]
            ),
            "heldout_ce": _mean_std(
                [float((r.get("heldout") or {}).get("ce", math.nan)) for r in results]
            ),
            "heldout_accuracy": _mean_std(
                [float((r.get("heldout") or {}).get("accuracy", math.nan)) for r in results]
            ),
            "time_to_threshold": ttt[a],
        }
    _write_csv(out / "heldout.csv", ["arm", "seed", "loss", "ce", "accuracy", "tokens"], held_rows)
    if evals_rows:
        _write_csv(out / "lm_eval.csv", ["arm", "seed", "task", "metric", "value"], evals_rows)

    summary = {
        "data": config.data,
        "model": config.model,
        "objective": config.train.get("objective", "ce"),
        "n_records": info["n_records"],
        "holdout": len(info["holdout"]),
        "pool_size": info["pool_size"],
        "k": info["k"],
        "embedder": info["embedder"],
        "smoothing": {"method": config.smoothing, "window": w, "ema_alpha": 2.0 / (w + 1)},
        "thresholds": thresholds,
        "thresholds_picked": picked,
        "arms": per_arm,
        "lm_eval": {g: {a: _mean_std(v) for a, v in d.items()} for g, d in eval_vals.items()},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_default))

    page_path = _write_html(config, out, curves, summary, eval_vals)
    return ExperimentResult(str(out), runs, thresholds, picked, summary, str(page_path))


def _json_default(o: Any) -> Any:
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o).__name__)


def _fmt_ttt(cell: dict[str, Any]) -> str:
    if cell["reached"] == 0:
        return NOT_REACHED
    text = f"{cell['seconds_mean'] / 60:.2f} min (step {cell['step_mean']:.0f})"
    if cell["reached"] < cell["runs"]:
        text += f", {cell['reached']}/{cell['runs']} runs"
    return text


def _fmt_ms(ms: tuple[float, float], digits: int = 4) -> str:
    m, s = ms
    if not math.isfinite(m):
        return "–"
    return f"{m:.{digits}g}" + (f" ± {s:.2g}" if math.isfinite(s) else "")


def _write_html(
    config: ExperimentConfig,
    out: Path,
    curves: list[dict[str, Any]],
    summary: dict[str, Any],
    eval_vals: dict[str, dict[str, list[float]]],
) -> Path:
    import yaml

    from unisel.experiment import page

    figs = out / "figures"
    arms = list(config.arms)
    w, sm = config.smoothing_window, config.smoothing
    thr = summary["thresholds"]
    f_steps = page.plot_curves(
        curves,
        arms,
        x="step",
        window=w,
        smoothing=sm,
        thresholds=thr,
        path=figs / "loss_vs_steps.png",
    )
    f_time = page.plot_curves(
        curves,
        arms,
        x="minutes",
        window=w,
        smoothing=sm,
        thresholds=thr,
        path=figs / "loss_vs_time.png",
    )
    per_arm = summary["arms"]
    held = {
        "held-out loss": {a: tuple(per_arm[a]["heldout_loss"]) for a in arms if per_arm[a]["runs"]},
    }
    f_held = page.plot_bars(
        held,
        arms,
        title="held-out loss (mean ± std over seeds)",
        ylabel="loss",
        path=figs / "heldout.png",
    )
    sections = []
    smooth_name = "moving average" if sm == "ma" else "EMA"
    intro = (
        f"<p>Data: <code>{config.data}</code>, {summary['n_records']} records; "
        f"{summary['holdout']} held out, {summary['pool_size']} in the training pool; "
        f"selected arms have k = {summary['k']}. Model <code>{config.model}</code>, objective "
        f"<code>{summary['objective']}</code>, seeds {config.seeds}. Embedder "
        f"<code>{summary['embedder']['method']}</code> (dim {summary['embedder']['dim']}).</p>"
        f"<p class='note'>Smoothing: moving average over the last {w} steps and EMA with span {w} "
        f"(alpha = {2 / (w + 1):.3g}, bias-corrected); thresholds are read on the {smooth_name}. "
        f"Wall-clock is training time only (no checkpointing or held-out evaluation).</p>"
    )
    sections.append(("Set-up", intro))
    header = [
        "arm",
        "size",
        "h_min (cos)",
        "covering radius (cos)",
        "steps",
        "train min",
        "final smoothed loss",
        "held-out loss",
        "held-out CE",
        "held-out acc.",
    ]
    rows = []
    for a in arms:
        p = per_arm[a]
        rows.append(
            [
                page.arm_label(a),
                p["size"],
                p["h_min_cosine"],
                p["covering_radius_cosine"],
                p["steps"],
                _fmt_ms((p["train_seconds"][0] / 60, p["train_seconds"][1] / 60), 3),
                _fmt_ms(tuple(p["final_smoothed_loss"])),
                _fmt_ms(tuple(p["heldout_loss"])),
                _fmt_ms(tuple(p["heldout_ce"])),
                _fmt_ms(tuple(p["heldout_accuracy"]), 3),
            ]
        )
    sections.append(("Arms: selection metrics and training numbers", page.html_table(header, rows)))
    how = (
        "picked from the curves (highest final smoothed loss of the arms, and the midpoint to the lowest)"
        if summary["thresholds_picked"]
        else "given in the config"
    )
    t_rows = [
        [page.arm_label(a)] + [_fmt_ttt(per_arm[a]["time_to_threshold"][f"{t:g}"]) for t in thr]
        for a in arms
    ]
    sections.append(
        (
            "Time to threshold",
            f"<p class='note'>First step at which the smoothed training loss is at or below the threshold; "
            f"mean over the runs that reach it. Thresholds {how}.</p>"
            + page.html_table(["arm"] + [f"loss ≤ {t:g}" for t in thr], t_rows),
        )
    )
    sections.append(("Loss against steps", page.figure_html(f_steps, "loss against steps")))
    sections.append(("Loss against wall-clock", page.figure_html(f_time, "loss against time")))
    sections.append(("Held-out loss", page.figure_html(f_held, "held-out loss")))
    if eval_vals:
        bars = {g: {a: _mean_std(v) for a, v in d.items()} for g, d in eval_vals.items()}
        f_eval = page.plot_bars(
            bars,
            arms,
            title="lm-eval scores (mean ± std over seeds)",
            ylabel="score",
            path=figs / "lm_eval.png",
        )
        e_rows = [
            [g] + [_fmt_ms(bars[g].get(a, (math.nan, math.nan)), 3) for a in arms] for g in bars
        ]
        sections.append(
            (
                "Benchmarks (lm-evaluation-harness)",
                page.figure_html(f_eval, "lm-eval")
                + page.html_table(["task (metric)"] + [page.arm_label(a) for a in arms], e_rows),
            )
        )
    sections.append(
        ("Configuration", f"<pre>{yaml.safe_dump(config.to_dict(), sort_keys=False)}</pre>")
    )
    return page.write_page(
        out / "index.html", "unisel experiment: uniform vs baseline subsets", sections
    )
