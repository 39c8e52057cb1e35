"""Benchmark exact greedy max-min: unisel's engine against the loops people use instead.

Each cell (data set x k x method) runs in a fresh subprocess that loads the embeddings from a
``.npy`` file, records its resident set size after loading, runs the method
and reports seconds and the peak RSS above that baseline (so BLAS/numba temporaries count,
the embeddings do not). Methods:

- ``plain``: the plain numpy loop, ``min_dist = min(min_dist, 1 - U @ U[i])`` in float64 (the
  reference loop as people write it; the ratio column is against this, in the same run);
- ``reference``: :func:`unisel.select.engine.maxmin_reference`, the oracle (canonical keys);
- ``engine``: :func:`unisel.select.engine.maxmin` (the cluster-pruned phase is on from
  8,192 rows); the cell also reports the share of the plain loop's n*k distances it computed;
- ``lazy``: the same engine with ``prune=False`` (the lazy upper-bound loop alone);
- ``numpy32``: the active-learning / DeepCore k-center greedy style, float32 matrix-vector;
- ``sklearn``: ``sklearn.metrics.pairwise_distances`` against the newest centre per step;
- ``fpsample``: ``fpsample.fps_sampling`` (Euclidean FPS on the unit rows = cosine order);
- ``submodlib``: DisparityMin, only if ``import submodlib`` works (it did not pip-install
  when this script was written; the column is then skipped with a note).

The engine cells run ``--repeat`` times (default 3), each in a fresh process, and report the
median seconds and peak; the machines are shared and a single run can be off by a third.
Slow methods run only a prefix of steps (``--budget`` seconds) and the full time is
extrapolated linearly (every step of a plain loop costs the same O(n d)); such cells are
marked ``*``. The exactness check compares every method's sequence (its measured prefix) with
the engine's and prints the first differing step; ``reference`` and ``engine`` must agree.

Examples::

    python benchmarks/bench_maxmin.py --quick
    python benchmarks/bench_maxmin.py --sizes 20000,100000,1000000 --json bench.json
    python benchmarks/bench_maxmin.py --embeddings minilm.npy --fractions 0.1,0.5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

METHODS = ["plain", "reference", "engine", "lazy", "numpy32", "sklearn", "fpsample", "submodlib"]
EXACT = {"plain", "reference", "engine", "lazy"}
REPEATED = {"engine", "lazy"}  # fast cells: timed --repeat times, median reported


def gaussian_mixture(n: int, d: int, components: int = 100, seed: int = 0) -> np.ndarray:
    """n points of a mixture of ``components`` isotropic Gaussians in R^d, float32."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(components, d)).astype(np.float32)
    out = np.empty((n, d), dtype=np.float32)
    for lo in range(0, n, 65536):
        hi = min(n, lo + 65536)
        lab = rng.integers(components, size=hi - lo)
        out[lo:hi] = centres[lab] + 0.7 * rng.normal(size=(hi - lo, d)).astype(np.float32)
    return out


def _current_rss_mb() -> float:
    """Resident set size of this process now, in MB (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return 0.0


class PeakSampler:
    """Samples the RSS every few milliseconds in a thread; ``peak_above(base)`` after stop().

    ``ru_maxrss`` cannot be reset and already holds the load of the embeddings, so a peak
    above the post-load baseline has to be sampled.
    """

    def __init__(self, interval: float = 0.002) -> None:
        self.interval, self.peak, self._stop = interval, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _current_rss_mb())
            time.sleep(self.interval)

    def reset(self) -> float:
        """Start the peak afresh from the RSS now; returns that RSS (the new baseline)."""
        now = _current_rss_mb()
        self.peak = now
        return now

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _current_rss_mb())


def _loop(U: np.ndarray, k: int, steps: int, pairwise: bool = False) -> list[int]:
    """Plain greedy loop over unit rows ``U`` for ``steps`` picks (of a run of k)."""
    from sklearn.metrics import pairwise_distances

    n = U.shape[0]
    min_dist = np.full(n, np.inf, dtype=U.dtype)
    chosen = [0]
    for _ in range(1, min(k, steps)):
        i = chosen[-1]
        if pairwise:
            d = pairwise_distances(U, U[i : i + 1], metric="cosine").ravel()
        else:
            d = 1.0 - U @ U[i]
        np.minimum(min_dist, d, out=min_dist)
        min_dist[chosen] = -np.inf
        chosen.append(int(np.argmax(min_dist)))
    return chosen


def run_cell(path: str, method: str, k: int, budget: float) -> dict:
    """Run one method in this process; returns seconds, peak MB, steps measured, sequence."""
    X = np.load(path)
    base = _current_rss_mb()
    sampler = PeakSampler().__enter__()
    n = X.shape[0]
    steps = k
    work = None
    t0 = time.perf_counter()
    if method in ("plain", "numpy32", "sklearn"):
        dtype = np.float64 if method == "plain" else np.float32
        U = X.astype(np.float64)
        U /= np.where((nr := np.linalg.norm(U, axis=1, keepdims=True)) == 0, 1, nr)
        U = U.astype(dtype)
        _loop(U, k, 3, pairwise=method == "sklearn")  # imports and first-call costs
        t0 = time.perf_counter()
        probe = _loop(U, k, 20, pairwise=method == "sklearn")
        per_step = (time.perf_counter() - t0) / max(1, len(probe))
        steps = k if per_step * k <= budget else max(2, int(budget / per_step))
        base = sampler.reset()  # imports, compilation and copies above are not counted
        t0 = time.perf_counter()
        seq = _loop(U, k, steps, pairwise=method == "sklearn")
    elif method == "reference":
        from unisel.select.engine import maxmin_reference

        maxmin_reference(X[:50], min(5, k))  # compile outside the timing
        t0 = time.perf_counter()
        # the oracle cannot stop early: time a prefix run and scale
        probe = maxmin_reference(X, min(k, 20))[0]
        per_step = (time.perf_counter() - t0) / max(1, len(probe))
        steps = k if per_step * k <= budget else max(2, int(budget / per_step))
        base = sampler.reset()  # imports, compilation and copies above are not counted
        t0 = time.perf_counter()
        seq = maxmin_reference(X, steps)[0].tolist()
    elif method in ("engine", "lazy"):
        from unisel.select.engine import fast, maxmin

        prune = None if method == "engine" else False
        maxmin(X[:50], min(5, k), prune=prune)  # compile (numba cache) outside the timing
        if prune is None:
            maxmin(X[:3000], 20, prune=True)
        base = sampler.reset()  # imports, compilation and copies above are not counted
        t0 = time.perf_counter()
        seq = maxmin(X, k, prune=prune)[0].tolist()
        lazy, pruned = fast.LAST_STATS, fast.LAST_PRUNE_STATS
        dots = lazy[1] + lazy[4] + (pruned[2] if pruned else 0)
        work = dots / (n * k)
    elif method == "fpsample":
        import fpsample

        U = X.astype(np.float64)
        U /= np.where((nr := np.linalg.norm(U, axis=1, keepdims=True)) == 0, 1, nr)
        U = U.astype(np.float32)
        t0 = time.perf_counter()
        probe = fpsample.fps_sampling(U, min(k, 20), start_idx=0)
        per_step = (time.perf_counter() - t0) / max(1, len(probe))
        steps = k if per_step * k <= budget else max(2, int(budget / per_step))
        base = sampler.reset()  # imports, compilation and copies above are not counted
        t0 = time.perf_counter()
        seq = [int(i) for i in fpsample.fps_sampling(U, steps, start_idx=0)]
    elif method == "submodlib":
        import submodlib  # noqa: F401  (skipped by the parent when not importable)

        raise RuntimeError("submodlib cell not implemented for this environment")
    else:
        raise ValueError(method)
    seconds = time.perf_counter() - t0
    sampler.__exit__()
    measured = len(seq)
    full = seconds * (k - 1) / max(1, measured - 1) if measured < k else seconds
    return {
        "method": method,
        "n": n,
        "k": k,
        "seconds": full,
        "extrapolated": measured < k,
        "steps_measured": measured,
        "peak_mb": max(0.0, sampler.peak - base),
        "distance_share": work,
        "sequence": seq,
    }


def _child(path: str, method: str, k: int, budget: float) -> dict:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, __file__, "--cell", json.dumps([path, method, k, budget])]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return {"method": method, "k": k, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _repeated(path: str, method: str, k: int, budget: float, repeat: int) -> dict:
    """``repeat`` fresh-process runs of a cell that is timed in full; the cell reports the
    median seconds and peak, and every run's seconds under ``runs``."""
    cells = [_child(path, method, k, budget) for _ in range(max(1, repeat))]
    ok = [c for c in cells if "error" not in c]
    if len(ok) < len(cells) or ok[0]["extrapolated"]:
        return cells[0]
    cell = dict(ok[0])
    cell["runs"] = [c["seconds"] for c in ok]
    cell["seconds"] = float(np.median(cell["runs"]))
    cell["peak_mb"] = float(np.median([c["peak_mb"] for c in ok]))
    if any(c["sequence"] != cell["sequence"] for c in ok):
        cell["error"] = ["runs returned different sequences"]
    return cell


def _available(method: str) -> tuple[bool, str]:
    mod = {"fpsample": "fpsample", "submodlib": "submodlib", "sklearn": "sklearn"}.get(method)
    if mod is None:
        return True, ""
    try:
        __import__(mod)
    except ImportError:
        return False, f"{method}: not installed (pip install {mod} failed or was not tried)"
    return True, ""


def first_difference(a: list[int], b: list[int]) -> int | None:
    """First step where two sequences differ over their common prefix, else None."""
    for t, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return t
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="20000,100000,1000000", help="comma-separated n")
    ap.add_argument("--fractions", default="0.1,0.5", help="k as fractions of n")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--embeddings", help=".npy of real embeddings (benchmarked as one data set)")
    ap.add_argument("--budget", type=float, default=120.0, help="seconds per slow cell")
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="fresh-process runs of the engine cells (median reported; the machine is shared)",
    )
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of the script")
    ap.add_argument("--json", help="write all results here")
    ap.add_argument("--cell", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.cell:
        path, method, k, budget = json.loads(args.cell)
        print(json.dumps(run_cell(path, method, int(k), float(budget))))
        return 0

    if args.quick:
        args.sizes, args.dim, args.budget = "2000", 32, 5.0
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    notes = []
    for m in list(methods):
        ok, note = _available(m)
        if not ok:
            methods.remove(m)
            notes.append(note)
    fractions = [float(f) for f in args.fractions.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench_maxmin_"))
    datasets = []
    for n in [int(s) for s in args.sizes.split(",") if s and int(s) > 0]:
        path = tmp / f"gm_{n}_{args.dim}.npy"
        np.save(path, gaussian_mixture(n, args.dim))
        datasets.append((f"gaussian-mixture n={n} d={args.dim}", str(path), n))
    if args.embeddings:
        E = np.load(args.embeddings, mmap_mode="r")
        datasets.append(
            (
                f"{Path(args.embeddings).name} n={E.shape[0]} d={E.shape[1]}",
                args.embeddings,
                E.shape[0],
            )
        )

    results = []
    for name, path, n in datasets:
        for frac in fractions:
            k = max(2, int(round(frac * n)))
            cells = {
                m: _repeated(path, m, k, args.budget, args.repeat if m in REPEATED else 1)
                for m in methods
            }
            ref_seq = cells.get("engine", {}).get("sequence")
            plain_s = cells.get("plain", {}).get("seconds")
            for c in cells.values():
                c["dataset"] = name
                if "error" in c:
                    continue
                c["ratio_vs_plain"] = (plain_s / c["seconds"]) if plain_s else None
                c["first_difference_vs_engine"] = (
                    first_difference(c["sequence"], ref_seq) if ref_seq else None
                )
            results.append({"dataset": name, "n": n, "k": k, "cells": cells})
            _print_table(name, n, k, cells)
    for note in notes:
        print("note:", note)
    bad = [
        (r["dataset"], r["k"], m)
        for r in results
        for m, c in r["cells"].items()
        if m in EXACT and c.get("first_difference_vs_engine") is not None
    ]
    for ds, k, m in bad:
        print(f"EXACTNESS: {m} differs from the engine on {ds} k={k}")
    if args.json:
        meta = {
            "machine": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "notes": notes,
        }
        for r in results:
            for c in r["cells"].values():
                c.pop("sequence", None)
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    return 1 if bad else 0


def _print_table(name: str, n: int, k: int, cells: dict) -> None:
    print(f"\n{name}  k={k}")
    print(
        f"{'method':<11}{'seconds':>12}{'peak MB':>10}{'x plain':>9}{'dists':>8}  exact vs engine"
    )
    for m, c in cells.items():
        if "error" in c:
            print(f"{m:<11}{'error':>12}  {c['error']}")
            continue
        star = "*" if c["extrapolated"] else " "
        ratio = f"{c['ratio_vs_plain']:.1f}" if c.get("ratio_vs_plain") else "-"
        diff = c.get("first_difference_vs_engine")
        exact = "identical" if diff is None else f"differs at step {diff}"
        if c["extrapolated"]:
            exact += f" (first {c['steps_measured']} steps)"
        share = f"{100 * c['distance_share']:.1f}%" if c.get("distance_share") else "-"
        runs = ""
        if len(c.get("runs", [])) > 1:
            runs = "  runs " + ", ".join(f"{r:.2f}" for r in c["runs"])
        print(
            f"{m:<11}{c['seconds']:>11.2f}{star}{c['peak_mb']:>10.0f}{ratio:>9}{share:>8}  {exact}"
            + runs
        )
    print("* extrapolated from a measured prefix of steps; dists = share of the n*k distances;")
    print("  repeated cells: median of fresh-process runs (each run listed)")


if __name__ == "__main__":
    raise SystemExit(main())
