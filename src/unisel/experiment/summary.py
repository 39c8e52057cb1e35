"""The experiment's numbers: curves, time to threshold, held-out and lm-eval tables, summary.

`summarize` reads the finished runs of an experiment folder and writes ``curves.csv``,
``heldout_curves.csv``, ``time_to_threshold.csv``, ``heldout_time_to_threshold.csv``,
``heldout.csv``, ``lm_eval.csv`` (with scores) and ``summary.json``, each through
`unisel.io.atomic_output`.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unisel.experiment.config import ExperimentConfig
from unisel.experiment.curves import (
    NOT_REACHED,
    ema,
    moving_average,
    pick_thresholds,
    smooth,
    time_to_threshold,
)
from unisel.io.atomic import atomic_output, atomic_write_text
from unisel.tokens import length_summary

_CURVE_COLUMNS = ["arm", "seed", "step", "seconds", "loss", "ce", "accuracy", "tokens"]
_HELD_CURVE_COLUMNS = ["arm", "seed", "step", "seconds", "tokens_seen", "loss", "ce", "accuracy"]
_TTT_COLUMNS = ["arm", "seed", "threshold", "step", "seconds", "tokens_seen"]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Write a CSV file with a header row, atomically."""
    with atomic_output(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def mean_std(values: Sequence[float | None]) -> tuple[float, float]:
    """Mean and sample std of the finite values (NaN when none; the std needs two)."""
    v = [x for x in values if x is not None and math.isfinite(x)]
    if not v:
        return float("nan"), float("nan")
    return float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else float("nan")


def spread(values: Sequence[float | None]) -> dict[str, float]:
    """Mean, sample std, min and max over seeds (NaN when no finite value; std needs two)."""
    v = [float(x) for x in values if x is not None and math.isfinite(x)]
    if not v:
        nan = float("nan")
        return {"mean": nan, "std": nan, "min": nan, "max": nan, "n": 0}
    return {
        "mean": float(np.mean(v)),
        "std": float(np.std(v, ddof=1)) if len(v) > 1 else float("nan"),
        "min": float(min(v)),
        "max": float(max(v)),
        "n": len(v),
    }


def _heldout_points(run: Path, tokens_seen: np.ndarray) -> dict[str, np.ndarray]:
    """The run's held-out evaluations (``eval.jsonl``) with the training tokens seen at each."""
    from unisel.train.trainer import EVAL_FILE, read_log

    rows = read_log(run / EVAL_FILE)
    steps = np.array([r["step"] for r in rows], dtype=np.int64)
    seen = np.array(
        [int(tokens_seen[s - 1]) if 0 < s <= tokens_seen.size else 0 for s in steps],
        dtype=np.int64,
    )
    return {
        "step": steps,
        "seconds": np.array([r["seconds"] for r in rows], dtype=np.float64),
        "tokens_seen": seen,
        "loss": np.array([r["loss"] for r in rows], dtype=np.float64),
        "ce": np.array([r.get("ce", math.nan) for r in rows], dtype=np.float64),
        "accuracy": np.array([r.get("accuracy", math.nan) for r in rows], dtype=np.float64),
    }


def _crossings(
    curves: list[dict[str, Any]],
    arms: list[str],
    thresholds: list[float],
    values: Callable[[dict[str, Any]], tuple[Any, Any, Any, Any]],
) -> tuple[list[list[Any]], dict[str, dict[str, Any]]]:
    """Per run and threshold the first crossing, and per arm its spread over seeds.

    ``values(curve)`` gives ``(steps, seconds, tokens_seen, loss)`` arrays of one run.
    """
    rows: list[list[Any]] = []
    out: dict[str, dict[str, Any]] = {a: {} for a in arms}
    for t in thresholds:
        for a in arms:
            hits = []
            for c in [c for c in curves if c["arm"] == a]:
                steps, secs, toks, loss = values(c)
                cr = time_to_threshold(steps, secs, loss, t, tokens=toks)
                hits.append(cr)
                rows.append(
                    [
                        a,
                        c["seed"],
                        t,
                        cr.step if cr else NOT_REACHED,
                        round(cr.seconds, 3) if cr else NOT_REACHED,
                        cr.tokens if cr else NOT_REACHED,
                    ]
                )
            reached = [h for h in hits if h is not None]
            out[a][f"{t:g}"] = {
                "reached": len(reached),
                "runs": len(hits),
                "seconds_mean": float(np.mean([h.seconds for h in reached])) if reached else None,
                "step_mean": float(np.mean([h.step for h in reached])) if reached else None,
                "seconds": spread([h.seconds for h in reached]),
                "tokens": spread([float(h.tokens or 0) for h in reached]),
                "step": spread([float(h.step) for h in reached]),
            }
    return rows, out


def load_curves(
    config: ExperimentConfig, out: Path, runs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The training and held-out curves of every finished run; writes the two curve CSVs.

    Returns
    -------
    list of dict
        One per finished run: the run's entry plus ``step``, ``seconds``, ``tokens_seen``,
        ``loss`` and ``smoothed`` arrays (one value per logged step), ``heldout`` (arrays per
        evaluation) and ``log`` (the log rows).
    """
    from unisel.train.trainer import RESULT_FILE, read_log

    w = config.smoothing_window
    curves: list[dict[str, Any]] = []
    curve_rows: list[list[Any]] = []
    held_rows: list[list[Any]] = []
    for r in runs:
        log = read_log(Path(r["run"]) / "log.jsonl")
        if not log or not (Path(r["run"]) / RESULT_FILE).is_file():
            continue
        loss = np.array([x["loss"] for x in log], dtype=np.float64)
        seen = np.cumsum([int(x["tokens"]) for x in log]).astype(np.int64)
        held = _heldout_points(Path(r["run"]), seen)
        curves.append(
            {
                **r,
                "step": np.array([x["step"] for x in log]),
                "seconds": np.array([x["seconds"] for x in log], dtype=np.float64),
                "tokens_seen": seen,
                "loss": loss,
                "smoothed": smooth(loss, w, config.smoothing),
                "heldout": held,
                "log": log,
            }
        )
        for x, a, b, s_ in zip(log, moving_average(loss, w), ema(loss, w), seen, strict=True):
            fields = [x.get(c) for c in _CURVE_COLUMNS[2:]]
            curve_rows.append([r["arm"], r["seed"], *fields, int(s_), a, b])
        for i in range(held["step"].size):
            held_rows.append(
                [r["arm"], r["seed"], int(held["step"][i]), float(held["seconds"][i])]
                + [int(held["tokens_seen"][i])]
                + [float(held[c][i]) for c in ("loss", "ce", "accuracy")]
            )
    write_csv(
        out / "curves.csv",
        [*_CURVE_COLUMNS, "tokens_seen", f"loss_ma{w}", f"loss_ema{w}"],
        curve_rows,
    )
    write_csv(out / "heldout_curves.csv", _HELD_CURVE_COLUMNS, held_rows)
    return curves


def _thresholds(
    config: ExperimentConfig, out: Path, curves: list[dict[str, Any]]
) -> dict[str, Any]:
    """Training-loss and held-out thresholds (given or picked) and their crossings per arm.

    Writes ``time_to_threshold.csv`` and ``heldout_time_to_threshold.csv``.
    """
    arms = list(config.arms)
    final = {
        a: mean_std([float(c["smoothed"][-1]) for c in curves if c["arm"] == a])[0] for a in arms
    }
    thresholds = list(config.thresholds) if config.thresholds else pick_thresholds(final)
    ttt_rows, ttt = _crossings(
        curves,
        arms,
        thresholds,
        lambda c: (c["step"], c["seconds"], c["tokens_seen"], c["smoothed"]),
    )
    write_csv(out / "time_to_threshold.csv", _TTT_COLUMNS, ttt_rows)
    # held-out thresholds: read on the evaluations themselves (no smoothing)
    final_held = {
        a: mean_std(
            [
                float(c["heldout"]["loss"][-1])
                for c in curves
                if c["arm"] == a and c["heldout"]["loss"].size
            ]
        )[0]
        for a in arms
    }
    held_thresholds = (
        list(config.heldout_thresholds)
        if config.heldout_thresholds
        else pick_thresholds(final_held, digits=4)
    )
    httt_rows, httt = _crossings(
        curves,
        arms,
        held_thresholds,
        lambda c: (
            c["heldout"]["step"],
            c["heldout"]["seconds"],
            c["heldout"]["tokens_seen"],
            c["heldout"]["loss"],
        ),
    )
    write_csv(out / "heldout_time_to_threshold.csv", _TTT_COLUMNS, httt_rows)
    return {
        "thresholds": thresholds,
        "thresholds_picked": config.thresholds is None,
        "heldout_thresholds": held_thresholds,
        "heldout_thresholds_picked": config.heldout_thresholds is None,
        "ttt": ttt,
        "httt": httt,
    }


def _arm_summary(
    mine: list[dict[str, Any]], results: list[dict[str, Any]], subsets: list[dict[str, Any]]
) -> dict[str, Any]:
    """One arm's entry of ``summary.json`` (without its time-to-threshold cells).

    ``mine`` are the arm's curves, ``results`` their ``result.json`` and ``subsets`` the
    arm's subsets in ``selection.json``.
    """
    lengths = [c for s_ in subsets for c in s_.get("token_counts", [])]
    heldout = [r.get("heldout") or {} for r in results]
    heldout_loss = [float(h.get("loss", math.nan)) for h in heldout]
    sub = subsets[0]
    return {
        "runs": len(mine),
        "size": sub["size"],
        "size_spread": spread([float(s_["size"]) for s_ in subsets]),
        "subset_tokens": spread([float(s_.get("tokens", math.nan)) for s_ in subsets]),
        "lengths": length_summary(np.asarray(lengths)),
        # each arm in its own embedding (its preset's pooling); none for the full-pool arm
        "h_min_cosine": sub.get("h_min_cosine"),
        "covering_radius_cosine": sub.get("covering_radius_cosine"),
        "steps": int(mine[0]["step"][-1]) if mine else 0,
        "steps_spread": spread([float(c["step"][-1]) for c in mine]),
        "tokens_seen": spread([float(r.get("tokens", math.nan)) for r in results]),
        "train_seconds": mean_std([float(c["seconds"][-1]) for c in mine]),
        "final_smoothed_loss": mean_std([float(c["smoothed"][-1]) for c in mine]),
        "heldout_loss": mean_std(heldout_loss),
        "heldout_loss_spread": spread(heldout_loss),
        "heldout_ce": mean_std([float(h.get("ce", math.nan)) for h in heldout]),
        "heldout_accuracy": mean_std([float(h.get("accuracy", math.nan)) for h in heldout]),
        "heldout_evaluations": spread([float(c["heldout"]["step"].size) for c in mine]),
    }


def summarize(
    config: ExperimentConfig,
    out: Path,
    runs: list[dict[str, Any]],
    info: Mapping[str, Any],
    subsets: Mapping[str, list[dict[str, Any]]],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Tables and ``summary.json`` from the finished runs in ``out``.

    Parameters
    ----------
    config : ExperimentConfig
    out : Path
        The experiment folder.
    runs : list of dict
        One per (arm, seed): ``arm``, ``seed``, ``run`` (folder); unfinished runs are skipped.
    info : mapping
        The content of ``selection.json``.
    subsets : mapping
        Per arm, its entries of ``info["arms"]`` (one per selection seed).

    Returns
    -------
    summary : dict
        What ``summary.json`` holds.
    curves : list of dict
        `load_curves`' result, for the figures.
    """
    from unisel.evaluate import load_eval
    from unisel.train.trainer import RESULT_FILE

    w = config.smoothing_window
    curves = load_curves(config, out, runs)
    thresholds = _thresholds(config, out, curves)
    held_rows, evals_rows = [], []
    per_arm: dict[str, dict[str, Any]] = {}
    eval_vals: dict[str, dict[str, list[float]]] = {}
    for a in config.arms:
        mine = [c for c in curves if c["arm"] == a]
        results = [json.loads((Path(c["run"]) / RESULT_FILE).read_text()) for c in mine]
        for c, res in zip(mine, results, strict=True):
            ho = res.get("heldout") or {}
            held_rows.append(
                [a, c["seed"]]
                + [ho.get(key) for key in ("loss", "ce", "accuracy", "tokens")]
                + [res.get("tokens")]
            )
            ev = load_eval(c["run"])
            if ev is not None:
                for task, (metric, value) in ev.headline.items():
                    evals_rows.append([a, c["seed"], task, metric, value])
                    eval_vals.setdefault(f"{task} ({metric})", {}).setdefault(a, []).append(value)
        per_arm[a] = {
            **_arm_summary(mine, results, subsets[a]),
            "time_to_threshold": thresholds["ttt"][a],
            "heldout_time_to_threshold": thresholds["httt"][a],
        }
    write_csv(
        out / "heldout.csv",
        ["arm", "seed", "loss", "ce", "accuracy", "tokens", "tokens_seen"],
        held_rows,
    )
    if evals_rows:
        write_csv(out / "lm_eval.csv", ["arm", "seed", "task", "metric", "value"], evals_rows)

    summary = {
        "data": config.data,
        "model": config.model,
        "objective": config.train.get("objective", "ce"),
        "n_records": info["n_records"],
        "holdout": len(info["holdout"]),
        "pool_size": info["pool_size"],
        "k": info["k"],
        "budget": info.get("budget", "records"),
        "token_budget": info.get("token_budget"),
        "pool_lengths": info.get("pool_tokens"),
        "embedder": info["embedder"],
        "smoothing": {"method": config.smoothing, "window": w, "ema_alpha": 2.0 / (w + 1)},
        **{key: value for key, value in thresholds.items() if key not in ("ttt", "httt")},
        "arms": per_arm,
        "lm_eval": {g: {a: mean_std(v) for a, v in d.items()} for g, d in eval_vals.items()},
    }
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2, default=_json_default))
    return summary, curves


def _json_default(o: Any) -> Any:
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o).__name__)
