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
This module prepares the data and runs the trainings; `unisel.experiment.summary` computes the
tables and ``summary.json``, `unisel.experiment.figures` draws the PNGs and
`unisel.experiment.page` renders ``index.html`` (jinja2, ``templates/page.html``).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unisel.errors import ParameterError
from unisel.experiment.config import FULL, ExperimentConfig
from unisel.io.atomic import atomic_output, atomic_write_text
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
    with atomic_output(path) as tmp, tmp.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


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
            # The embed options name a cache folder, so the embeddings are in the cache.
            X = np.load(str(manifest.embedder_info.cache_path), mmap_mode="r")
            info_arm.update(
                manifest=str(path) + ".manifest.json",
                preset=manifest.selector_info.params.get("preset"),
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
    atomic_write_text(sel_path, json.dumps(info, indent=1, allow_nan=False, default=float))
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
    atomic_write_text(state, json.dumps({"fingerprint": fp}))
    atomic_write_text(out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))


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


def build_report(
    config: ExperimentConfig, out: Path, runs: list[dict[str, Any]], info: dict[str, Any]
) -> ExperimentResult:
    """Curves, tables, figures, summary and page from the finished runs in ``out``.

    ``runs`` are `ExperimentResult.runs` (unfinished runs are left out), ``info`` the content
    of ``selection.json``: the numbers come from `unisel.experiment.summary.summarize`, the
    figures and ``index.html`` from `unisel.experiment.page`.
    """
    from unisel.experiment.page import draw_figures, write_page
    from unisel.experiment.summary import summarize

    subsets = {a: [info["arms"][name] for name in _subset_names(config, a)] for a in config.arms}
    summary, curves = summarize(config, out, runs, info, subsets)
    lengths = {
        a: np.asarray([c for sub in subs for c in sub.get("token_counts", [])])
        for a, subs in subsets.items()
    }
    pool = np.asarray(info.get("pool_token_counts", []))
    figures = draw_figures(config, out, curves, summary, lengths, pool)
    page_path = write_page(config, out, summary, figures)
    return ExperimentResult(
        str(out),
        runs,
        summary["thresholds"],
        summary["thresholds_picked"],
        summary,
        str(page_path),
    )
