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
from unisel.tokens import length_summary


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


def _per_seed(cfg: ExperimentConfig, arm: str) -> bool:
    """Whether ``arm`` has one subset per training seed (else one, with ``selection_seed``)."""
    if arm == FULL:
        return cfg.by_tokens  # the full-pool sample is drawn anew with every training seed
    return cfg.reselect_per_seed


def _arm_keys(cfg: ExperimentConfig) -> list[tuple[str, int]]:
    """(arm, selection seed) pairs that need a subset."""
    return [
        (a, s) for a in cfg.arms for s in (cfg.seeds if _per_seed(cfg, a) else [cfg.selection_seed])
    ]


def _selection_seed(cfg: ExperimentConfig, arm: str, train_seed: int) -> int:
    return train_seed if _per_seed(cfg, arm) else cfg.selection_seed


def _subset_name(cfg: ExperimentConfig, arm: str, seed: int) -> str:
    return f"{arm}-s{seed}" if _per_seed(cfg, arm) else arm


def _subset_names(cfg: ExperimentConfig, arm: str) -> list[str]:
    return [_subset_name(cfg, a, s) for a, s in _arm_keys(cfg) if a == arm]


FULL_STREAM = 0x46554C4C  # "FULL": the full-pool sample's random stream, beside the seed


def _full_pool_sample(counts: np.ndarray, budget: int, seed: int) -> np.ndarray:
    """The full-pool arm under a token budget: pool rows in a permutation drawn from
    ``default_rng([seed, FULL_STREAM])``, cut at the budget. Its own stream: ``default_rng(s)``
    and ``default_rng([s, 0])`` are the same generator, so the random selector's and the
    trainer's streams would make ``full`` repeat ``random`` for equal seeds."""
    from unisel.tokens import TokenBudget

    order = np.random.default_rng([seed, FULL_STREAM]).permutation(counts.size)
    return order[: TokenBudget(budget, counts).prefix_length(order)]


def _training_token_counts(
    cfg: ExperimentConfig, rows: list[dict[str, Any]], schema: str, text_field: str | None
) -> np.ndarray:
    """Tokens each row would train on (the run's template, tokenizer and max_length)."""
    from unisel.train.data import target_counts
    from unisel.train.models import load_tokenizer

    tcfg = cfg.train_config("x", "y", 0)
    return target_counts(
        rows, schema, load_tokenizer(cfg.model), max_length=tcfg.max_length, text_field=text_field
    )


def _prepare_data(cfg: ExperimentConfig, out: Path, quiet: bool) -> dict[str, Any]:
    """Held-out split, the training pool, one subset per arm; cached in ``selection.json``.

    The pool is written to ``data/pool.jsonl``; every selected arm is the selection flow of
    ``unisel select`` on that file (`unisel.flows.select_records` with the arm's
    `SelectOptions`), written with its manifest (``data/<arm>.jsonl`` and
    ``data/<arm>.jsonl.manifest.json``). With a record budget the arm is byte for byte what
    ``unisel select data/pool.jsonl -k K --seed S`` (plus the arm's options) writes; with a
    token budget the counts are the training tokens of each record (the run's template,
    tokenizer and truncation), which the command line does not have.
    """
    sel_path = out / "selection.json"
    if sel_path.is_file():
        return dict(json.loads(sel_path.read_text()))

    from unisel.flows.outputs import write_selection
    from unisel.flows.select import select_records
    from unisel.io import read_records
    from unisel.metrics.neighbors import covering_radius
    from unisel.options import EmbedOptions, OutputOptions
    from unisel.select.base import resolve_k
    from unisel.tokens import TokenCounts
    from unisel.train.data import raw_rows

    t0 = time.perf_counter()
    records = read_records(cfg.data, schema=cfg.schema, text_field=cfg.text_field, quiet=quiet)
    rows = raw_rows(records)
    if cfg.limit:
        rows = rows[: cfg.limit]
    n = len(rows)
    h = _holdout_size(n, cfg.holdout)
    rng = np.random.default_rng(cfg.holdout_seed)
    held = np.sort(rng.choice(n, size=h, replace=False))
    pool = np.setdiff1d(np.arange(n), held)
    data_dir = out / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    _write_jsonl(data_dir / "holdout.jsonl", [rows[i] for i in held])
    _write_jsonl(data_dir / "pool.jsonl", [rows[i] for i in pool])
    pool_records = read_records(
        data_dir / "pool.jsonl", schema=records.schema, text_field=records.text_field, quiet=True
    )
    if len(pool_records) != pool.size:
        raise ParameterError(f"{cfg.data}: the training pool lost records when read back")
    counts = _training_token_counts(
        cfg, [rows[i] for i in pool], records.schema, records.text_field
    )
    if cfg.by_tokens:
        k = 0
    else:
        k = (
            resolve_k(len(pool), cfg.k, cfg.fraction)
            if any(a != FULL for a in cfg.arms)
            else len(pool)
        )
    embed = EmbedOptions(cfg.embedder, dict(cfg.embedder_params), cache_dir=out / "cache")
    arms: dict[str, Any] = {}
    embedders: dict[str, Any] = {}
    for arm, seed in _arm_keys(cfg):
        name = _subset_name(cfg, arm, seed)
        if name in arms:
            continue
        ts = time.perf_counter()
        path = data_dir / f"{name}.jsonl"
        manifest = None
        if arm == FULL:
            local = (
                _full_pool_sample(counts, cfg.token_budget or 0, seed)
                if cfg.by_tokens
                else np.arange(len(pool))
            )
            _write_jsonl(path, [rows[i] for i in pool[local]])
        else:
            size = {"tokens": cfg.token_budget} if cfg.by_tokens else {"k": k}
            options = cfg.select_options(arm, seed=seed, **size)
            selection, manifest = select_records(
                pool_records,
                embed,
                options,
                output=OutputOptions(path=path.resolve()),
                token_counts=TokenCounts(counts, "training tokens") if cfg.by_tokens else None,
                quiet=True,
            )
            write_selection(pool_records, selection, manifest, path, quiet=True)
            local = np.asarray(selection.indices, dtype=np.int64)
            embedders[name] = manifest.embedder
        sel_seconds = time.perf_counter() - ts
        chosen = pool[local]
        info_arm = {
            "arm": arm,
            "selection_seed": seed,
            "size": int(local.size),
            "indices": [int(i) for i in chosen],
            "tokens": int(counts[local].sum()),
            "token_counts": [int(c) for c in counts[local]],
            "select_seconds": sel_seconds,
            "data": str(path),
        }
        if manifest is not None:
            X = np.load(manifest.embedder["cache_path"], mmap_mode="r")
            info_arm.update(
                manifest=str(path) + ".manifest.json",
                preset=manifest.selector["params"].get("preset"),
                h_min_cosine=manifest.h_min.get("cosine"),
                covering_radius_cosine=covering_radius(X, X[np.sort(local)])
                if local.size < len(pool)
                else 0.0,
            )
        arms[name] = info_arm
    info = {
        "n_records": n,
        "schema": records.schema,
        "holdout": [int(i) for i in held],
        "pool_size": int(pool.size),
        "k": int(k),
        "budget": cfg.budget,
        "token_budget": cfg.token_budget,
        "pool_tokens": length_summary(counts),
        "pool_token_counts": [int(c) for c in counts],
        "embedder": next(iter(embedders.values()), {"method": cfg.embedder}),
        "embedders": embedders,
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
            name = _subset_name(config, arm, _selection_seed(config, arm, seed))
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


def _spread(values: list[float]) -> dict[str, float]:
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
                "seconds": _spread([h.seconds for h in reached]),
                "tokens": _spread([float(h.tokens or 0) for h in reached]),
                "step": _spread([float(h.step) for h in reached]),
            }
    return rows, out


def build_report(
    config: ExperimentConfig, out: Path, runs: list[dict[str, Any]], info: dict[str, Any]
) -> ExperimentResult:
    """Curves, tables, figures, summary and page from the finished runs in ``out``."""
    from unisel.evaluate import load_eval
    from unisel.train.trainer import RESULT_FILE, read_log

    w = config.smoothing_window
    curves: list[dict[str, Any]] = []
    curve_rows: list[list[Any]] = []
    held_curve_rows: list[list[Any]] = []
    for r in runs:
        log = read_log(Path(r["run"]) / "log.jsonl")
        if not log or not (Path(r["run"]) / RESULT_FILE).is_file():
            continue
        steps = np.array([x["step"] for x in log])
        secs = np.array([x["seconds"] for x in log], dtype=np.float64)
        loss = np.array([x["loss"] for x in log], dtype=np.float64)
        seen = np.cumsum([int(x["tokens"]) for x in log]).astype(np.int64)
        ma, ex = moving_average(loss, w), ema(loss, w)
        held = _heldout_points(Path(r["run"]), seen)
        curves.append(
            {
                **r,
                "step": steps,
                "seconds": secs,
                "tokens_seen": seen,
                "loss": loss,
                "smoothed": smooth(loss, w, config.smoothing),
                "heldout": held,
                "log": log,
            }
        )
        for x, a, b, s_ in zip(log, ma, ex, seen, strict=True):
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
                    int(s_),
                    a,
                    b,
                ]
            )
        for i in range(held["step"].size):
            held_curve_rows.append(
                [
                    r["arm"],
                    r["seed"],
                    int(held["step"][i]),
                    float(held["seconds"][i]),
                    int(held["tokens_seen"][i]),
                    float(held["loss"][i]),
                    float(held["ce"][i]),
                    float(held["accuracy"][i]),
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
            "tokens_seen",
            f"loss_ma{w}",
            f"loss_ema{w}",
        ],
        curve_rows,
    )
    _write_csv(
        out / "heldout_curves.csv",
        ["arm", "seed", "step", "seconds", "tokens_seen", "loss", "ce", "accuracy"],
        held_curve_rows,
    )

    arms = list(config.arms)
    final = {
        a: _mean_std([float(c["smoothed"][-1]) for c in curves if c["arm"] == a])[0] for a in arms
    }
    picked = config.thresholds is None
    thresholds = list(config.thresholds) if config.thresholds else pick_thresholds(final)
    ttt_rows, ttt = _crossings(
        curves,
        arms,
        thresholds,
        lambda c: (c["step"], c["seconds"], c["tokens_seen"], c["smoothed"]),
    )
    _write_csv(
        out / "time_to_threshold.csv",
        ["arm", "seed", "threshold", "step", "seconds", "tokens_seen"],
        ttt_rows,
    )
    # held-out thresholds: read on the evaluations themselves (no smoothing)
    final_held = {
        a: _mean_std(
            [
                float(c["heldout"]["loss"][-1])
                for c in curves
                if c["arm"] == a and c["heldout"]["loss"].size
            ]
        )[0]
        for a in arms
    }
    held_picked = config.heldout_thresholds is None
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
    _write_csv(
        out / "heldout_time_to_threshold.csv",
        ["arm", "seed", "threshold", "step", "seconds", "tokens_seen"],
        httt_rows,
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
                [
                    a,
                    c["seed"],
                    ho.get("loss"),
                    ho.get("ce"),
                    ho.get("accuracy"),
                    ho.get("tokens"),
                    res.get("tokens"),
                ]
            )
            ev = load_eval(c["run"])
            if ev is not None:
                for task, (metric, value) in ev.headline.items():
                    evals_rows.append([a, c["seed"], task, metric, value])
                    eval_vals.setdefault(f"{task} ({metric})", {}).setdefault(a, []).append(value)
        subs = [info["arms"][name] for name in _subset_names(config, a)]
        sub = subs[0]
        lengths = [c for s_ in subs for c in s_.get("token_counts", [])]
        heldout_loss = [float((r.get("heldout") or {}).get("loss", math.nan)) for r in results]
        per_arm[a] = {
            "runs": len(mine),
            "size": sub["size"],
            "size_spread": _spread([float(s_["size"]) for s_ in subs]),
            "subset_tokens": _spread([float(s_.get("tokens", math.nan)) for s_ in subs]),
            "lengths": length_summary(np.asarray(lengths)),
            # each arm in its own embedding (its preset's pooling); none for the full-pool arm
            "h_min_cosine": sub.get("h_min_cosine"),
            "covering_radius_cosine": sub.get("covering_radius_cosine"),
            "steps": int(mine[0]["step"][-1]) if mine else 0,
            "steps_spread": _spread([float(c["step"][-1]) for c in mine]),
            "tokens_seen": _spread([float(r.get("tokens", math.nan)) for r in results]),
            "train_seconds": _mean_std([float(c["seconds"][-1]) for c in mine]),
            "final_smoothed_loss": _mean_std([float(c["smoothed"][-1]) for c in mine]),
            "heldout_loss": _mean_std(heldout_loss),
            "heldout_loss_spread": _spread(heldout_loss),
            "heldout_ce": _mean_std(
                [float((r.get("heldout") or {}).get("ce", math.nan)) for r in results]
            ),
            "heldout_accuracy": _mean_std(
                [float((r.get("heldout") or {}).get("accuracy", math.nan)) for r in results]
            ),
            "heldout_evaluations": _spread([float(c["heldout"]["step"].size) for c in mine]),
            "time_to_threshold": ttt[a],
            "heldout_time_to_threshold": httt[a],
        }
    _write_csv(
        out / "heldout.csv",
        ["arm", "seed", "loss", "ce", "accuracy", "tokens", "tokens_seen"],
        held_rows,
    )
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
        "budget": info.get("budget", "records"),
        "token_budget": info.get("token_budget"),
        "pool_lengths": info.get("pool_tokens"),
        "embedder": info["embedder"],
        "smoothing": {"method": config.smoothing, "window": w, "ema_alpha": 2.0 / (w + 1)},
        "thresholds": thresholds,
        "thresholds_picked": picked,
        "heldout_thresholds": held_thresholds,
        "heldout_thresholds_picked": held_picked,
        "arms": per_arm,
        "lm_eval": {g: {a: _mean_std(v) for a, v in d.items()} for g, d in eval_vals.items()},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_default))

    page_path = _write_html(config, out, curves, summary, eval_vals, info)
    return ExperimentResult(str(out), runs, thresholds, picked, summary, str(page_path))


def _json_default(o: Any) -> Any:
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o).__name__)


def _fmt_range(sp: dict[str, float], scale: float = 1.0, digits: int = 3, unit: str = "") -> str:
    """``mean [min–max]`` of a spread (``mean`` alone for one value)."""
    if not sp or not sp.get("n"):
        return "–"
    m, lo, hi = sp["mean"] / scale, sp["min"] / scale, sp["max"] / scale
    text = f"{m:.{digits}g}{unit}"
    if sp["n"] > 1:
        text += f" [{lo:.{digits}g}–{hi:.{digits}g}]"
    return text


def _fmt_ttt(cell: dict[str, Any], tokens: bool = False) -> str:
    if cell["reached"] == 0:
        return NOT_REACHED
    text = f"{cell['seconds_mean'] / 60:.2f} min (step {cell['step_mean']:.0f})"
    if tokens and "tokens" in cell:
        text = (
            f"{_fmt_range(cell['seconds'], 60.0, 3, ' min')}, "
            f"{_fmt_range(cell['tokens'], 1e3, 3, 'k tok')}, "
            f"step {_fmt_range(cell['step'], 1.0, 3)}"
        )
    if cell["reached"] < cell["runs"]:
        text += f", {cell['reached']}/{cell['runs']} runs"
    return text


def _fmt_ms(ms: tuple[float, float], digits: int = 4) -> str:
    m, s = ms
    if not math.isfinite(m):
        return "–"
    return f"{m:.{digits}g}" + (f" ± {s:.2g}" if math.isfinite(s) else "")


def _fmt_spread(sp: dict[str, float], digits: int = 4) -> str:
    """``mean ± std [min–max]``."""
    if not sp or not sp.get("n"):
        return "–"
    text = f"{sp['mean']:.{digits}g}"
    if sp["n"] > 1:
        text += f" ± {sp['std']:.2g} [{sp['min']:.{digits}g}–{sp['max']:.{digits}g}]"
    return text


def _write_html(
    config: ExperimentConfig,
    out: Path,
    curves: list[dict[str, Any]],
    summary: dict[str, Any],
    eval_vals: dict[str, dict[str, list[float]]],
    info: dict[str, Any],
) -> Path:
    import yaml

    from unisel.experiment import page

    figs = out / "figures"
    arms = list(config.arms)
    w, sm = config.smoothing_window, config.smoothing
    thr = summary["thresholds"]
    hthr = summary["heldout_thresholds"]
    fig = {}
    for x, name in (("step", "steps"), ("minutes", "time"), ("tokens", "tokens")):
        fig[x] = page.plot_curves(
            curves,
            arms,
            x=x,
            window=w,
            smoothing=sm,
            thresholds=thr,
            path=figs / f"loss_vs_{name}.png",
        )
    f_held_curves = page.plot_heldout_curves(
        curves, arms, thresholds=hthr, path=figs / "heldout_curves.png"
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
    lengths = {
        a: np.asarray(
            [
                c
                for name in _subset_names(config, a)
                for c in info["arms"][name].get("token_counts", [])
            ]
        )
        for a in arms
    }
    pool_counts = np.asarray(info.get("pool_token_counts", []))
    f_len = page.plot_lengths(lengths, arms, pool=pool_counts, path=figs / "lengths.png")
    sections = []
    smooth_name = "moving average" if sm == "ma" else "EMA"
    if summary.get("budget") == "tokens":
        size_text = (
            f"every arm is selected to a budget of {summary['token_budget']:,} training tokens "
            "(the longest prefix of its selector's order within the budget; <code>full</code> is "
            "a random pool sample to the budget, drawn with each training seed) and trains "
            f"{config.train.get('epochs', 1.0):g} pass(es) over it"
        )
    else:
        size_text = f"selected arms have k = {summary['k']}"
    intro = (
        f"<p>Data: <code>{config.data}</code>, {summary['n_records']} records; "
        f"{summary['holdout']} held out, {summary['pool_size']} in the training pool; "
        f"{size_text}. Model <code>{config.model}</code>, objective "
        f"<code>{summary['objective']}</code>, seeds {config.seeds}. Embedder "
        f"<code>{summary['embedder']['method']}</code> (dim {summary['embedder']['dim']}).</p>"
        f"<p class='note'>Smoothing: moving average over the last {w} steps and EMA with span {w} "
        f"(alpha = {2 / (w + 1):.3g}, bias-corrected); thresholds are read on the {smooth_name}. "
        f"Wall-clock is training time only (no checkpointing or held-out evaluation). Tokens are "
        f"training tokens (response tokens the loss is taken on, after truncation at max_length). "
        f"Spread: mean ± sample std [min–max] over seeds.</p>"
    )
    sections.append(("Set-up", intro))
    header = [
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
    ]
    rows = []
    for a in arms:
        p = per_arm[a]
        rows.append(
            [
                page.arm_label(a),
                _fmt_range(p["size_spread"], 1.0, 4),
                _fmt_range(p["tokens_seen"], 1.0, 6),
                "-" if p["h_min_cosine"] is None else p["h_min_cosine"],
                "-" if p["covering_radius_cosine"] is None else p["covering_radius_cosine"],
                _fmt_range(p["steps_spread"], 1.0, 4),
                _fmt_ms((p["train_seconds"][0] / 60, p["train_seconds"][1] / 60), 3),
                _fmt_ms(tuple(p["final_smoothed_loss"])),
                _fmt_spread(p["heldout_loss_spread"]),
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
        [page.arm_label(a)]
        + [_fmt_ttt(per_arm[a]["time_to_threshold"][f"{t:g}"], tokens=True) for t in thr]
        for a in arms
    ]
    sections.append(
        (
            "Time to threshold (training loss)",
            f"<p class='note'>First step at which the smoothed training loss is at or below the threshold: "
            f"minutes, training tokens seen and step, mean [min–max] over the runs that reach it. "
            f"Thresholds {how}. Each arm's training loss is on its own data.</p>"
            + page.html_table(["arm"] + [f"loss ≤ {t:g}" for t in thr], t_rows),
        )
    )
    hhow = (
        "picked from the runs (highest final held-out loss of the arms, and the midpoint to the lowest)"
        if summary["heldout_thresholds_picked"]
        else "given in the config"
    )
    h_rows = [
        [page.arm_label(a), _fmt_range(per_arm[a]["heldout_evaluations"], 1.0, 3)]
        + [_fmt_ttt(per_arm[a]["heldout_time_to_threshold"][f"{t:g}"], tokens=True) for t in hthr]
        for a in arms
    ]
    sections.append(
        (
            "Time to threshold (held-out loss)",
            "<p class='note'>First held-out evaluation (every <code>train.eval_every</code> steps "
            "and at the end; the same held-out records for every arm) at which the held-out loss "
            f"is at or below the threshold, unsmoothed. Thresholds {hhow}.</p>"
            + page.html_table(
                ["arm", "evaluations per run"] + [f"held-out ≤ {t:g}" for t in hthr], h_rows
            ),
        )
    )
    sections.append(("Loss against steps", page.figure_html(fig["step"], "loss against steps")))
    sections.append(
        ("Loss against wall-clock", page.figure_html(fig["minutes"], "loss against time"))
    )
    sections.append(
        ("Loss against training tokens", page.figure_html(fig["tokens"], "loss against tokens"))
    )
    sections.append(
        (
            "Held-out loss during training",
            page.figure_html(f_held_curves, "held-out loss against tokens and time"),
        )
    )
    sections.append(("Held-out loss", page.figure_html(f_held, "held-out loss")))
    l_rows = []
    pool_sum = summary.get("pool_lengths") or {}
    for label, ls in [("pool", pool_sum)] + [
        (page.arm_label(a), per_arm[a]["lengths"]) for a in arms
    ]:
        if not ls or not ls.get("n"):
            continue
        l_rows.append(
            [label, ls["n"], ls["total"], ls["mean"], ls["q10"], ls["median"], ls["q90"], ls["max"]]
        )
    sections.append(
        (
            "Length of the records (training tokens per record)",
            "<p class='note'>Response tokens per record as training sees them (0: dropped, no "
            "response token within max_length). A selection that shifts this distribution "
            "changes what each step trains on.</p>"
            + page.html_table(
                ["", "records", "tokens", "mean", "10%", "median", "90%", "max"], l_rows
            )
            + page.figure_html(f_len, "length distribution"),
        )
    )
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
