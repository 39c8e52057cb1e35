"""Benchmark of the Dask layer: embedding throughput, exact and two-round selection, quality.

Full size (the figures for docs/distributed.md; needs ~4 GB RAM for the float32 data plus
float64 partition states, several minutes):

    PYTHONPATH=src python benchmarks/bench_dask.py --n 1000000 --d 384 --k 1000 --workers 1,2

Small smoke run:

    PYTHONPATH=src python benchmarks/bench_dask.py --n 20000 --d 64 --k 100 --embed-n 2000

Data: a seeded mixture of Gaussians (``--clusters`` centres) in ``d`` dimensions, written as a
shard store that the workers read themselves. Embedding: tf-idf + SVD (``tfidf-svd``) fitted
once on a sample and broadcast, on synthetic Zipf-distributed text. Prints a table and writes
JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from unisel.distributed import (
    ExactOptions,
    FitOptions,
    covering_radius,
    dask_client,
    embed_partitions,
    h_min,
    open_sharded,
    select_exact,
    select_two_round,
    tfidf_svd,
)
from unisel.distributed.shards import write_index, write_shard
from unisel.select.engine.reference import cosine_normalize


def make_store(path: Path, n: int, d: int, clusters: int, parts: int, seed: int) -> None:
    """A mixture of Gaussians written shard by shard (never the whole array in memory twice)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d)).astype(np.float32)
    tmp = path.parent / (path.name + ".partial")
    tmp.mkdir(parents=True, exist_ok=True)
    files = []
    edges = np.linspace(0, n, parts + 1).astype(int)
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        r = np.random.default_rng([seed, i])
        X = centres[r.integers(0, clusters, hi - lo)] + 0.5 * r.standard_normal(
            (hi - lo, d)
        ).astype(np.float32)
        files.append(write_shard(tmp, i, X.astype(np.float32)))
    write_index(tmp, files, dim=d, dtype="float32", meta={"synthetic": True, "seed": seed})
    tmp.rename(path)


def make_texts(path: Path, n: int, seed: int, vocab: int = 20000, length: int = 60) -> None:
    """Synthetic records: Zipf-distributed words from a fixed vocabulary, one JSON line each."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(vocab)])
    with path.open("w") as fh:
        for lo in range(0, n, 10000):
            m = min(n, lo + 10000) - lo
            ids = np.minimum(rng.zipf(1.3, size=(m, length)) - 1, vocab - 1)
            for row in words[ids]:
                fh.write(json.dumps({"text": " ".join(row)}) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="records of the synthetic set")
    ap.add_argument("--d", type=int, default=384, help="dimension")
    ap.add_argument("--k", type=int, default=1000, help="rows to select")
    ap.add_argument("--clusters", type=int, default=64)
    ap.add_argument("--partitions", type=int, default=8, help="shards / partitions")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument(
        "--embed-n", type=int, default=200_000, help="records for the embedding run (0: skip)"
    )
    ap.add_argument(
        "--embed-dim", type=int, default=None, help="tf-idf SVD dimension (default --d)"
    )
    ap.add_argument(
        "--candidates", type=int, default=32, help="exact mode: candidates per partition"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", help="where to write the data (default: a temporary folder)")
    ap.add_argument(
        "--single", action="store_true", help="also time the single-machine engine (loads all rows)"
    )
    ap.add_argument("--out", default="bench_dask.json")
    args = ap.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_dask_"))
    store = work / f"synthetic_{args.n}x{args.d}"
    if not store.exists():
        make_store(store, args.n, args.d, args.clusters, args.partitions, args.seed)
    texts = work / f"texts_{args.embed_n}.jsonl"
    if args.embed_n and not texts.exists():
        make_texts(texts, args.embed_n, args.seed)

    runs = []
    single = None
    if args.single:
        from unisel.select.engine import maxmin

        t = time.perf_counter()
        maxmin(np.asarray(open_sharded(store)), args.k)
        single = time.perf_counter() - t
    picks: dict[str, np.ndarray] = {}
    for w in workers:
        with dask_client(workers=w, timeout=120) as client:
            row: dict[str, object] = {"workers": w}
            client.run(__import__, "sklearn.decomposition")  # imports are not part of the timing
            if args.embed_n:
                out = work / f"emb_w{w}"
                t = time.perf_counter()
                embed_partitions(
                    texts,
                    out,
                    embedder=tfidf_svd(args.embed_dim or args.d, seed=args.seed),
                    client=client,
                    n_partitions=args.partitions,
                    fit=FitOptions(sample=min(args.embed_n, 20000), seed=args.seed),
                    overwrite=True,
                    quiet=True,
                )
                row["embed_s"] = time.perf_counter() - t
                row["embed_rec_per_s"] = args.embed_n / row["embed_s"]
            t = time.perf_counter()
            ex = select_exact(
                store,
                args.k,
                client=client,
                options=ExactOptions(candidates=args.candidates, timeout=3600),
            )
            row.update(
                exact_s=time.perf_counter() - t,
                exact_rounds=ex.rounds,
                exact_rows_per_round=args.k / max(1, ex.rounds),
            )
            t = time.perf_counter()
            tr = select_two_round(store, args.k, client=client, timeout=3600)
            row.update(two_round_s=time.perf_counter() - t, union_size=tr.extra["union_size"])
            picks["exact"], picks["two-round"] = ex.indices, tr.indices
            runs.append(row)
            print(f"workers={w}: {row}", flush=True)

    # quality on the last cluster size: ratios two-round / exact
    with dask_client(workers=workers[-1], timeout=120) as client:
        quality = {}
        X = open_sharded(store)
        for name, idx in picks.items():
            sub = X[idx]
            quality[name] = {
                "cover_cosine": covering_radius(store, idx, client=client),
                "h_min_cosine": h_min(sub),
                "h_min_chordal": h_min(cosine_normalize(sub), metric="euclidean"),
            }
        quality["ratio"] = {
            m: quality["two-round"][m] / quality["exact"][m] for m in quality["exact"]
        }

    result = {
        "n": args.n,
        "d": args.d,
        "k": args.k,
        "partitions": args.partitions,
        "embed_n": args.embed_n,
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
        },
        "runs": runs,
        "single_machine_exact_s": single,
        "quality": quality,
    }
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"\nn={args.n} d={args.d} k={args.k} partitions={args.partitions}")
    print(
        f"{'workers':>7} {'embed rec/s':>12} {'exact s':>9} {'rounds':>7} {'rows/round':>10} {'two-round s':>12}"
    )
    for r in runs:
        print(
            f"{r['workers']:>7} {r.get('embed_rec_per_s', float('nan')):>12.0f} {r['exact_s']:>9.2f} "
            f"{r['exact_rounds']:>7} {r['exact_rows_per_round']:>10.1f} {r['two_round_s']:>12.2f}"
        )
    if single is not None:
        print(f"single-machine engine (one process): {single:.2f} s")
    print(
        "quality two-round / exact: "
        + ", ".join(f"{m} {v:.3f}" for m, v in quality["ratio"].items())
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
