"""Benchmark the full-set uniformity metrics (``unisel metrics`` / ``uniformity_report``).

The full set's own nearest-neighbour pass (every row's nearest other row: h_min, NN mean and
median, near duplicates) is the quadratic part of the metrics. Each cell runs in a fresh
subprocess that loads the embeddings from a ``.npy`` file and reports wall seconds and the
peak resident memory above the post-load baseline (`bench_maxmin.PeakSampler`). Cells:

- ``plain``: the kernel the metrics used before the pruned search (``prune=False``: float32
  block products, float64 screen), cosine NN distances and Euclidean NN distances of every
  row, as ``uniformity_report`` computed them. Where that would take longer than
  ``--budget`` seconds, it runs on a random sample of query rows (against all rows; every
  query costs the same) and the time is extrapolated to all rows; marked ``*``;
- ``exact``: ``uniformity_report(X, {}, exact_limit=None)``: the cluster-pruned exact search
  (cosine each + Euclidean h_min); run up to ``--exact-max`` rows;
- ``default``: ``uniformity_report(X, {})`` as ``unisel metrics`` runs it: exact up to
  ``DEFAULT_EXACT_LIMIT`` rows, above that the exact NN distances of a random sample of
  ``DEFAULT_SAMPLE_SIZE`` rows (stated in the ``method`` column);
- ``hnsw`` (``--hnsw``): ``approximate="hnsw"`` above the limit, with its measured recall;
- ``subset``: ``uniformity_report(X, {"random": 10% of the rows}, include_full=False)``: the
  covering radius of a subset over the full set (pruned "max" search) and the subset's own NN;
- ``report``: ``uniformity_report(X, {two random 10% subsets})``: what ``unisel metrics`` does
  for a data set and two selections of it (the full set's NN pass, each subset's own NN and
  covering radius), end to end.

Cold and warm: every cell but ``plain`` is timed warm (after a small call that compiles the
numba screens or loads them from numba's cache) and cold (``--cold-repeat`` runs, default 1,
0 to skip): a fresh process whose ``NUMBA_CACHE_DIR`` is a new empty folder, timed from
``import unisel.metrics`` to the end of the call. It loads the kernels ``pip install``
compiled into the package (the kernel bundle, ``unisel.select.engine._jit``); the ``compile s``
column is the same run with the bundle switched off (``UNISEL_KERNEL_BUNDLE=off``), every
compilation included.

Exactness: the ``exact`` cell's NN distances of the plain cell's query rows must equal the
plain cell's (``max |diff|`` column; 0 expected, both decide in float64).

Data (``--datasets``): ``gaussian-mixture`` (100 components, noise 0.7, d = ``--dim``),
``wide-mixture`` (50 components, Dirichlet(0.5) weights, noise U(0.2, 1.0), centres N(0, I),
rows normalised, d = ``--dim``) at each ``--sizes``; ``--sharegpt word2vec`` adds the ShareGPT
dump's turns embedded with unisel's own word2vec (``embed_texts``, cached as ``.npy`` under
``--cache-dir``; 128,935 rows, d = 101) at each size up to its row count and in full.

Examples::

    python benchmarks/bench_metrics.py --quick
    python benchmarks/bench_metrics.py --sizes 20000,100000,1000000 --sharegpt word2vec \\
        --json docs/bench/metrics.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# this checkout's unisel (the children get it through PYTHONPATH) and bench_maxmin's helpers
sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "src"), str(Path(__file__).parent)]
from bench_maxmin import (  # noqa: E402
    SYNTHETIC,
    PeakSampler,
    sharegpt_embeddings,
)

CELLS = ["plain", "exact", "default", "hnsw", "subset", "report"]
COLD = {"exact", "default", "hnsw", "subset", "report"}  # cells with numba kernels
PLAIN_QUERIES = 2048  # query rows the plain cell measures before deciding to extrapolate


def _plain(X: np.ndarray, budget: float, seed: int) -> dict:
    """The pre-pruning kernel on every row, or on a sample of rows scaled to all rows."""
    from unisel.metrics.neighbors import _nearest32, _Rows, auto_block_size

    n = X.shape[0]
    rng = np.random.default_rng(seed)
    probe = np.sort(rng.choice(n, size=min(n, PLAIN_QUERIES), replace=False))
    rows = {m: _Rows(X, m) for m in ("cosine", "euclidean")}
    block = auto_block_size(n)
    t0 = time.perf_counter()
    out = {m: _nearest32(R, R, m, True, block, probe)[0] for m, R in rows.items()}
    seconds = (time.perf_counter() - t0) * n / probe.size
    measured = probe
    if seconds <= budget and probe.size < n:  # cheap enough: all rows, measured
        t0 = time.perf_counter()
        out = {m: _nearest32(R, R, m, True, block, np.arange(n))[0] for m, R in rows.items()}
        seconds, measured = time.perf_counter() - t0, np.arange(n)
    values = out["cosine"]
    return {
        "seconds": seconds,
        "extrapolated": measured.size < n,
        "query_rows": int(measured.size),
        "rows": measured.tolist() if measured.size < n else None,
        "nn_cosine": values.tolist(),
        "h_min_cosine": float(out["cosine"].min()),
        "h_min_euclidean": float(out["euclidean"].min()),
        "nn_mean": float(out["cosine"].mean()),
    }


def run_cell(
    path: str,
    cell: str,
    budget: float,
    seed: int,
    n_jobs: int | None,
    limit: int | None,
    cold: bool = False,
) -> dict:
    """One cell in this process: seconds, peak MB above the loaded embeddings, the numbers.

    ``cold``: no warm-up call, and the seconds start before ``import unisel.metrics`` (the
    parent gives the process an empty ``NUMBA_CACHE_DIR``).
    """
    X = np.load(path)
    n = X.shape[0]
    t_import = time.perf_counter()
    from unisel.metrics import uniformity_report

    if not cold:
        # compile the numba screen and import everything outside the timing
        uniformity_report(X[:3000], {}, exact_limit=None, n_jobs=n_jobs)
    sampler = PeakSampler().__enter__()
    base = sampler.reset()
    res: dict = {"cell": cell, "n": n, "cold": cold}
    if cell == "plain":
        res.update(_plain(X, budget, seed))
    else:
        kw: dict = {"n_jobs": n_jobs, "random_state": seed, "exact_limit": limit}
        subsets: dict = {}
        if cell == "exact":
            kw["exact_limit"] = None
        elif cell == "hnsw":
            kw["approximate"] = "hnsw"
        elif cell == "subset":
            rng = np.random.default_rng(seed)
            subsets = {"random": rng.choice(n, size=max(2, n // 10), replace=False)}
            kw["include_full"] = False
        elif cell == "report":
            rng = np.random.default_rng(seed)
            subsets = {
                name: rng.choice(n, size=max(2, n // 10), replace=False)
                for name in ("random-a", "random-b")
            }
        t0 = t_import if cold else time.perf_counter()
        rep = uniformity_report(X, subsets, **kw)
        res["seconds"] = time.perf_counter() - t0
        res["extrapolated"] = False
        m = rep.sets[0]
        res.update(
            method=m.nn_method
            + (f" {m.nn_sample_size:,}" if m.nn_method == "sample" else "")
            + (f" recall {m.nn_recall:.4f}" if m.nn_recall is not None else ""),
            h_min_cosine=m.h_min_cosine,
            h_min_exact=m.h_min_exact,
            h_min_euclidean=m.h_min_euclidean,
            nn_mean=m.nn_mean,
            covering_radius=m.covering_radius,
        )
        if cell == "exact":
            res["nn_cosine"] = rep.nn_distances[m.name].tolist()
    sampler.__exit__()
    res["peak_mb"] = max(0.0, sampler.peak - base)
    return res


def _child(
    path: str,
    cell: str,
    budget: float,
    seed: int,
    n_jobs: int | None,
    limit: int | None,
    cold: bool = False,
    bundle: bool = True,
) -> dict:
    """One cell in a fresh process; a ``cold`` one with a new, empty numba cache folder (and,
    without ``bundle``, the install's compiled kernels switched off)."""
    env = dict(os.environ)
    if not bundle:
        env["UNISEL_KERNEL_BUNDLE"] = "off"
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    arg = json.dumps([path, cell, budget, seed, n_jobs, limit, cold])
    with tempfile.TemporaryDirectory(prefix="bench_numba_cache_") as cache:
        if cold:
            env["NUMBA_CACHE_DIR"] = cache
        out = subprocess.run(
            [sys.executable, __file__, "--cell", arg], capture_output=True, text=True, env=env
        )
    if out.returncode != 0:
        return {"cell": cell, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _exactness(cells: dict) -> float | None:
    """Largest |exact - plain| over the plain cell's query rows (None: not both run)."""
    plain, exact = cells.get("plain"), cells.get("exact")
    if not plain or not exact or "error" in plain or "error" in exact:
        return None
    got = np.asarray(exact["nn_cosine"])
    if plain["rows"] is not None:
        got = got[np.asarray(plain["rows"])]
    return float(np.abs(got - np.asarray(plain["nn_cosine"])).max())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="20000,100000,1000000", help="comma-separated n")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--datasets", default=",".join(SYNTHETIC), help=", ".join(SYNTHETIC))
    ap.add_argument("--sharegpt", default="", help="embedders of the ShareGPT turns: word2vec")
    ap.add_argument("--sharegpt-limit", type=int, help="only the first N turns (smoke tests)")
    ap.add_argument(
        "--cache-dir",
        default=str(Path.home() / ".cache" / "unisel" / "bench"),
        help="where the ShareGPT embeddings are cached (.npy)",
    )
    ap.add_argument("--cells", default="plain,exact,default,subset,report", help=", ".join(CELLS))
    ap.add_argument("--hnsw", action="store_true", help="also the hnsw cell above the limit")
    ap.add_argument("--exact-max", type=int, default=200_000, help="largest n of the exact cell")
    ap.add_argument(
        "--exact-limit",
        type=int,
        default=None,
        help="exact_limit of the default / hnsw / subset cells (default: the library's)",
    )
    ap.add_argument("--budget", type=float, default=120.0, help="seconds of the plain cell")
    ap.add_argument("--n-jobs", type=int, default=None, help="threads (default: all cores)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--cold-repeat",
        type=int,
        default=1,
        help="cold runs of each cell but plain (fresh process, empty numba cache; median "
        "reported); 0 leaves the cold column out",
    )
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of the script")
    ap.add_argument("--json", help="write all results here")
    ap.add_argument("--cell", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.cell:
        path, cell, budget, seed, n_jobs, limit, cold = json.loads(args.cell)
        print(json.dumps(run_cell(path, cell, float(budget), int(seed), n_jobs, limit, cold)))
        return 0
    if args.quick:
        args.sizes, args.dim, args.budget = "3000,6000", 32, 0.5
        args.exact_limit = args.exact_limit or 4000
        if args.sharegpt and args.sharegpt_limit is None:
            args.sharegpt_limit = 3000

    from unisel.metrics import DEFAULT_EXACT_LIMIT

    limit = DEFAULT_EXACT_LIMIT if args.exact_limit is None else args.exact_limit

    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    if args.hnsw and "hnsw" not in cells:
        cells.append("hnsw")
    sizes = [int(s) for s in args.sizes.split(",") if s and int(s) > 0]
    tmp = Path(tempfile.mkdtemp(prefix="bench_metrics_"))
    datasets: list[tuple[str, str, int]] = []
    for name in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        for n in sizes:
            path = tmp / f"{name}_{n}_{args.dim}.npy"
            np.save(path, SYNTHETIC[name](n, args.dim))
            datasets.append((f"{name} n={n} d={args.dim}", str(path), n))
    for emb in [e.strip() for e in args.sharegpt.split(",") if e.strip()]:
        full = sharegpt_embeddings(emb, "turn", Path(args.cache_dir), args.sharegpt_limit)
        E = np.load(full, mmap_mode="r")
        rng = np.random.default_rng(args.seed)
        for n in [s for s in sizes if s < E.shape[0]] + [E.shape[0]]:
            path = tmp / f"sharegpt_{emb}_{n}.npy"
            rows = np.sort(rng.choice(E.shape[0], size=n, replace=False))
            np.save(path, np.asarray(E[rows]))
            label = "all" if n == E.shape[0] else "random"
            datasets.append((f"ShareGPT turns {emb} ({label}) n={n} d={E.shape[1]}", str(path), n))

    results = []
    for name, path, n in datasets:
        out = {}
        for c in cells:
            if c == "exact" and n > args.exact_max:
                continue
            if c == "hnsw" and n <= limit:
                continue
            out[c] = _child(path, c, args.budget, args.seed, args.n_jobs, limit)
            if c in COLD and args.cold_repeat > 0 and "error" not in out[c]:
                jit = [
                    _child(path, c, args.budget, args.seed, args.n_jobs, limit, True, False)
                    for _ in range(args.cold_repeat)
                ]
                jit_ok = [r["seconds"] for r in jit if "error" not in r]
                if jit_ok:
                    out[c]["compile_runs"] = jit_ok
                    out[c]["compile_seconds"] = float(np.median(jit_ok))
                runs = [
                    _child(path, c, args.budget, args.seed, args.n_jobs, limit, cold=True)
                    for _ in range(args.cold_repeat)
                ]
                ok = [r["seconds"] for r in runs if "error" not in r]
                if ok:
                    out[c]["cold_runs"] = ok
                    out[c]["cold_seconds"] = float(np.median(ok))
                else:
                    out[c]["cold_error"] = runs[0]["error"]
        diff = _exactness(out)
        plain_s = out.get("plain", {}).get("seconds")
        for c in out.values():
            c.pop("nn_cosine", None)
            c.pop("rows", None)
            if "seconds" in c and plain_s and c["cell"] != "plain":
                c["ratio_vs_plain"] = plain_s / c["seconds"]
        results.append({"dataset": name, "n": n, "cells": out, "max_abs_diff_vs_plain": diff})
        _print_table(name, out, diff)
    bad = [r["dataset"] for r in results if (r["max_abs_diff_vs_plain"] or 0.0) > 1e-12]
    for name in bad:
        print(f"EXACTNESS: the exact cell differs from the plain kernel on {name}")
    if args.json:
        meta = {
            "machine": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "n_jobs": args.n_jobs,
            "budget": args.budget,
            "exact_limit": limit,
        }
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    return 1 if bad else 0


def _print_table(name: str, cells: dict, diff: float | None) -> None:
    print(f"\n{name}")
    print(
        f"{'cell':<9}{'warm s':>11}{'cold s':>9}{'compile s':>10}{'peak MB':>9}{'x plain':>9}  "
        f"{'method':<22}"
        f"{'h_min cos':>11}{'NN mean':>9}{'cover':>8}"
    )
    for c, r in cells.items():
        if "error" in r:
            print(f"{c:<9}{'error':>11}  {r['error']}")
            continue
        star = "*" if r.get("extrapolated") else " "
        ratio = f"{r['ratio_vs_plain']:.1f}" if r.get("ratio_vs_plain") else "-"
        method = r.get("method", "exact (all rows)" if not r["extrapolated"] else "")
        if r.get("extrapolated"):
            method = f"{r['query_rows']:,} query rows"
        mark = "<=" if r.get("h_min_exact") is False or r.get("extrapolated") else ""
        hmin = f"{mark}{r['h_min_cosine']:.4g}"
        cover = f"{r['covering_radius']:.4g}" if "covering_radius" in r else "-"
        cold = f"{r['cold_seconds']:.2f}" if "cold_seconds" in r else "-"
        jit = f"{r['compile_seconds']:.2f}" if "compile_seconds" in r else "-"
        print(
            f"{c:<9}{r['seconds']:>10.2f}{star}{cold:>9}{jit:>10}{r['peak_mb']:>9.0f}{ratio:>9}  "
            f"{method:<22}{hmin:>11}{r['nn_mean']:>9.4g}{cover:>8}"
        )
    print(
        "* extrapolated from the query rows named (each costs the same; its h_min and NN mean "
        "are those rows'); <= an upper bound; warm: kernels compiled before the timing;\n"
        "  cold: a fresh process with an empty numba cache, from `import unisel.metrics` on,\n"
        "  kernels from the install's bundle; compile: the same without the bundle;\n"
        "  exact vs plain on the plain cell's rows: "
        f"max |diff| = {'-' if diff is None else f'{diff:.3g}'}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
