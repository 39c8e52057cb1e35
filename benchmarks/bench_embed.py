"""Benchmark the embedders on a real corpus: texts/s, and how uniform a selection each one gives.

For every embedder cell (default: the ShareGPT dump, ``example:sharegpt``, ~17.5k
conversations) the script

1. embeds the texts in a fresh subprocess (nothing imported or cached by another cell; the
   embedding cache is off) and reports wall seconds, CPU seconds (all threads; steadier than
   wall time on a shared machine), texts/s and the peak resident set size;
2. in that embedding, selects ``--fraction`` of the records (default 50%) with maxmin and with
   random (``--random-seeds`` draws), and reports each subset's ``h_min`` (smallest cosine
   distance between two of its records: higher = no near duplicates kept) and covering radius
   (largest cosine distance from a record of the full set to the subset: lower = nothing left
   far from the subset), both from :func:`unisel.metrics.set_metrics`;
3. on the records every cell embedded (the MiniLM sample), cross-evaluates: the maxmin subset
   chosen in embedding A, measured in embedding B, against random, so that a fast embedder's
   selection can be judged in a semantic space such as MiniLM's.

Cells:

- ``word2vec-iterable``: the word2vec code path before ``training="file"`` (its vectors are the
  bytes of commit d7e67cc and earlier): the "before" of the word2vec speed-up;
- ``word2vec``: the default, ``training="file"`` (one tokenization pass, gensim corpus_file);
- ``word2vec-2workers``: the same with two gensim threads (not reproducible run to run);
- ``tfidf``, ``wordllama``: the defaults;
- ``minilm``: on a random sample of ``--minilm-sample`` records (it runs at about 17 texts/s
  on 2 cores; the whole dump would take a quarter of an hour).

A cell whose embedder is not installed is skipped with a note. Examples::

    python benchmarks/bench_embed.py --quick
    python benchmarks/bench_embed.py --json docs/bench/embed_sharegpt.json
    python benchmarks/bench_embed.py --cells word2vec-iterable,word2vec --input data.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"
if str(SRC) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(SRC))

#: cell name -> (embedder spec, settings, runs on the MiniLM sample only, note)
CELLS: dict[str, tuple[str, dict[str, Any], bool, str]] = {
    "word2vec-iterable": (
        "word2vec",
        {"training": "iterable"},
        False,
        "before: the earlier code path",
    ),
    "word2vec": ("word2vec", {}, False, "training=file (default)"),
    "word2vec-2workers": ("word2vec", {"workers": 2}, False, "not reproducible"),
    "tfidf": ("tfidf", {}, False, ""),
    "wordllama": ("wordllama", {}, False, ""),
    "minilm": ("minilm", {}, True, "on the sample"),
}
NEEDS = {"wordllama": "tokenizers", "minilm": "sentence_transformers"}


def _peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_cell(spec: str, params: dict, texts_path: str, rows: list[int] | None, out: str) -> dict:
    """Embed in this (fresh) process; save the vectors to ``out``; return the timings."""
    from unisel.embed import embed_texts

    texts = json.loads(Path(texts_path).read_text(encoding="utf-8"))
    if rows is not None:
        texts = [texts[i] for i in rows]
    base_mb = _peak_rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    emb = embed_texts(texts, spec, cache_dir=False, seed=0, quiet=True, **params)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    np.save(out, np.asarray(emb.vectors, dtype=np.float32))
    return {
        "n": len(texts),
        "dim": emb.dim,
        "seconds": wall,
        "cpu_seconds": cpu,
        "texts_per_s": len(texts) / wall if wall > 0 else None,
        "peak_rss_mb_above_start": _peak_rss_mb() - base_mb,
        "params": emb.params,
    }


def _spawn(spec: str, params: dict, texts_path: Path, rows: list[int] | None, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--cell", json.dumps([spec, params, str(texts_path), rows])]
    cmd += ["--cell-out", str(out)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"error": tail}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _available(cell: str) -> tuple[bool, str]:
    import importlib.util

    module = NEEDS.get(cell)
    if module and importlib.util.find_spec(module) is None:
        return False, f"{cell} skipped: Python package {module!r} not installed"
    return True, ""


def uniformity(X: np.ndarray, k: int, seed: int, random_seeds: int) -> dict[str, Any]:
    """maxmin vs random subsets of size ``k`` in ``X``: h_min and covering radius (cosine)."""
    from unisel.metrics import set_metrics
    from unisel.select import select

    picked = select(X, k, "maxmin", random_state=seed).indices
    mm = set_metrics("maxmin", X[np.sort(picked)], X)
    rnd = [
        set_metrics("random", X[np.sort(select(X, k, "random", random_state=seed + r).indices)], X)
        for r in range(random_seeds)
    ]
    return {
        "k": k,
        "maxmin_indices": picked,
        "maxmin": {"h_min": mm.h_min_cosine, "covering_radius": mm.covering_radius},
        "random": {
            "h_min": [m.h_min_cosine for m in rnd],
            "covering_radius": [m.covering_radius for m in rnd],
        },
    }


def cross_evaluation(
    embeddings: dict[str, np.ndarray], k: int, seed: int, random_seeds: int
) -> dict[str, Any]:
    """The maxmin subset chosen in each embedding, measured in every embedding (same records)."""
    from unisel.metrics import set_metrics
    from unisel.select import select

    chosen = {
        name: np.sort(select(X, k, "maxmin", random_state=seed).indices)
        for name, X in embeddings.items()
    }
    n = next(iter(embeddings.values())).shape[0]
    for r in range(random_seeds):
        chosen[f"random#{r}"] = np.sort(
            select(np.zeros((n, 1)), k, "random", random_state=seed + r).indices
        )
    table: dict[str, dict[str, dict[str, float]]] = {}
    for sel_name, idx in chosen.items():
        table[sel_name] = {}
        for eval_name, X in embeddings.items():
            m = set_metrics(sel_name, X[idx], X)
            table[sel_name][eval_name] = {
                "h_min": m.h_min_cosine,
                "covering_radius": m.covering_radius,
            }
    return {"n": n, "k": k, "table": table}


def _fmt(x: float | None, digits: int = 4) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _print_speed_table(cells: dict[str, dict]) -> None:
    print(
        f"\n{'cell':<20}{'n':>7}{'dim':>5}{'wall s':>9}{'cpu s':>9}{'texts/s':>9}"
        f"{'h_min mm':>10}{'h_min rnd':>10}{'cover mm':>10}{'cover rnd':>10}{'RSS MB':>8}"
    )
    for name, c in cells.items():
        if "error" in c:
            print(f"{name:<20}error: {c['error']}")
            continue
        u = c["uniformity"]
        print(
            f"{name:<20}{c['n']:>7}{c['dim']:>5}{c['seconds']:>9.1f}{c['cpu_seconds']:>9.1f}"
            f"{c['texts_per_s']:>9.1f}{_fmt(u['maxmin']['h_min']):>10}"
            f"{_fmt(float(np.median(u['random']['h_min']))):>10}"
            f"{_fmt(u['maxmin']['covering_radius']):>10}"
            f"{_fmt(float(np.median(u['random']['covering_radius']))):>10}"
            f"{c['peak_rss_mb_above_start']:>8.0f}"
        )
    print(
        "(h_min/cover: cosine, maxmin vs the median of the random draws, in that cell's embedding)"
    )


def _print_cross_table(cross: dict[str, Any]) -> None:
    names = list(next(iter(cross["table"].values())))
    for metric in ("covering_radius", "h_min"):
        print(
            f"\n{metric} of the subset (rows: chosen in; columns: measured in), "
            f"n={cross['n']} k={cross['k']}"
        )
        print(f"{'':<20}" + "".join(f"{n[:12]:>13}" for n in names))
        for sel_name, row in cross["table"].items():
            print(f"{sel_name:<20}" + "".join(f"{_fmt(row[n][metric]):>13}" for n in names))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", default="example:sharegpt", help="any input unisel reads")
    ap.add_argument("--limit", type=int, help="use only the first N records")
    ap.add_argument("--cells", default=",".join(CELLS), help="comma-separated cell names")
    ap.add_argument("--minilm-sample", type=int, default=1000, help="records MiniLM embeds")
    ap.add_argument("--fraction", type=float, default=0.5, help="subset size as a fraction")
    ap.add_argument("--random-seeds", type=int, default=3, help="random subsets per embedding")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="a tiny slice: a smoke test")
    ap.add_argument("--json", help="write all results here (e.g. docs/bench/embed_sharegpt.json)")
    ap.add_argument("--cell", help=argparse.SUPPRESS)
    ap.add_argument("--cell-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.cell:
        spec, params, texts_path, rows = json.loads(args.cell)
        print(json.dumps(run_cell(spec, params, texts_path, rows, args.cell_out)))
        return 0
    if args.quick:
        args.limit = min(args.limit or 300, 300)
        args.minilm_sample = min(args.minilm_sample, 40)
        args.random_seeds = 1

    from unisel.io import read_records

    texts = read_records(args.input, quiet=True).texts
    if args.limit:
        texts = texts[: args.limit]
    n = len(texts)
    m = min(args.minilm_sample, n)
    sample = np.sort(np.random.default_rng(args.seed).choice(n, size=m, replace=False))
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    unknown = sorted(set(cells) - set(CELLS))
    if unknown:
        ap.error(f"unknown cell {unknown[0]!r}; known: {', '.join(CELLS)}")
    notes = []
    for cell in list(cells):
        ok, note = _available(cell)
        if not ok:
            cells.remove(cell)
            notes.append(note)

    tmp = Path(tempfile.mkdtemp(prefix="bench_embed_"))
    texts_path = tmp / "texts.json"
    texts_path.write_text(json.dumps(texts), encoding="utf-8")
    print(f"{args.input}: {n} records, {sum(map(len, texts)):,} characters; sample of {m}")
    results: dict[str, dict] = {}
    on_sample: dict[str, np.ndarray] = {}
    for cell in cells:
        spec, params, sample_only, note = CELLS[cell]
        rows = sample.tolist() if sample_only else None
        out = tmp / f"{cell}.npy"
        print(f"embedding: {cell} ...", flush=True)
        res = _spawn(spec, params, texts_path, rows, out)
        res.update(cell=cell, spec=spec, settings=params, note=note)
        results[cell] = res
        if "error" in res:
            continue
        X = np.load(out)
        k = max(2, int(round(args.fraction * X.shape[0])))
        u = uniformity(X, k, args.seed, args.random_seeds)
        u.pop("maxmin_indices")
        res["uniformity"] = u
        on_sample[cell] = X if sample_only else X[sample]
    _print_speed_table(results)
    before, after = results.get("word2vec-iterable", {}), results.get("word2vec", {})
    if "seconds" in before and "seconds" in after:
        print(
            f"word2vec training=file vs iterable: {before['seconds'] / after['seconds']:.2f}x "
            f"wall, {before['cpu_seconds'] / after['cpu_seconds']:.2f}x CPU"
        )
    cross = None
    if len(on_sample) >= 2:
        k = max(2, int(round(args.fraction * m)))
        cross = cross_evaluation(on_sample, k, args.seed, args.random_seeds)
        _print_cross_table(cross)
    for note in notes:
        print("note:", note)
    if args.json:
        meta = {
            "input": args.input,
            "n": n,
            "minilm_sample": m,
            "fraction": args.fraction,
            "random_seeds": args.random_seeds,
            "seed": args.seed,
            "quick": args.quick,
            "machine": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "commit": _commit(),
            "notes": notes,
        }
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps({"meta": meta, "cells": results, "cross": cross}, indent=1, default=float)
        )
        print(f"wrote {path}")
    return 1 if any("error" in r for r in results.values()) else 0


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(SRC.parent), "rev-parse", "HEAD"], capture_output=True, text=True
        )
    except OSError:
        return None
    return out.stdout.strip() or None


if __name__ == "__main__":
    sys.exit(main())
