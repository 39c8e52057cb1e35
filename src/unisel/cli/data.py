"""``unisel select``, ``unisel metrics`` and ``unisel report``: the data subcommands."""

from __future__ import annotations

import argparse

from unisel.cli._args import (
    Handler,
    add_choice,
    add_cluster,
    add_common_input,
    add_quiet,
    add_seed,
    add_size,
    bounded_int,
    embed_options,
    read_options,
    select_options,
)


# ---------------------------------------------------------------- select (issue 2)
def _add_select(sub: argparse._SubParsersAction) -> Handler:
    from unisel.options import DEFAULT_PRESET, PRESETS, SELECTOR_NAMES

    p = sub.add_parser("select", help="select the most uniformly spread subset of a data set")
    add_common_input(p)
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="subset file (same format as the input); the manifest goes beside it",
    )
    add_size(
        p,
        "number of records to select (to add, with --extend)",
        "fraction of the records to select, in (0, 1]",
        required=False,  # or --tokens: exactly one of the three, checked by select_file
    )
    p.add_argument(
        "--tokens",
        type=int,
        metavar="N",
        help="select records until their tokens reach N (instead of -k/--fraction); the record "
        "that would cross N is left out",
    )
    p.add_argument(
        "--tokenizer",
        metavar="NAME",
        help="what counts a record's tokens: smollm2-135m, a tokenizer folder or hub name "
        "(default: whitespace-separated words); recorded in the manifest",
    )
    p.add_argument(
        "--length-buckets",
        type=int,
        metavar="B",
        help="maxmin inside B length buckets (quantiles of the --tokenizer counts), interleaved "
        "in proportion to their sizes, so the subset keeps the input's length distribution",
    )
    add_choice(p, "--method", SELECTOR_NAMES, "maxmin", "selector (default maxmin)")
    p.add_argument(
        "--embedder",
        help="word2vec (default; with --extend, the manifest's), tfidf, wordllama, minilm, "
        "hf:PATH or npy:FILE",
    )
    p.add_argument(
        "--start",
        type=int,
        metavar="RECORD",
        help="record number in the input (0-based, skipped records counted, as the manifest's "
        "indices) of the first maxmin record (default: drawn with --seed)",
    )
    add_choice(
        p, "--order", ["input", "selection"], "input", "record order in the output (default input)"
    )
    add_choice(p, "--device", ["cpu", "cuda", "auto"], "cpu", "where the maxmin engine runs")
    add_choice(
        p,
        "--metric",
        ["cosine", "euclidean"],
        "cosine",
        "maxmin distance: cosine (default) or euclidean on the unnormalised embeddings",
    )
    p.add_argument(
        "--checkpoint", help="save maxmin state to this file periodically and resume from it"
    )
    p.add_argument(
        "--extend",
        metavar="MANIFEST",
        help="continue this maxmin selection by -k/--fraction more records",
    )
    p.add_argument(
        "--report",
        metavar="DIR",
        help="also write a uniformity report against random of the same size",
    )
    p.add_argument(
        "--preset",
        choices=list(PRESETS),
        default=DEFAULT_PRESET,
        help="default: word2vec with SIF pooling, records of fewer than 4 words or with an "
        "empty embedding set aside, the 10%% most isolated records not max-min candidates, 4 "
        "length buckets (docs/quality.md); paper: the paper's recipe as published (mean "
        "pooling, every record a candidate, one greedy)",
    )
    p.add_argument(
        "--outliers",
        type=float,
        metavar="F",
        help="fraction of the records left out of the max-min candidates as isolated (the "
        "largest distance to their 10th neighbour); default: the preset's",
    )
    p.add_argument(
        "--min-words",
        type=int,
        metavar="N",
        help="records of fewer words are set aside (not max-min candidates); default: the preset's",
    )
    p.add_argument(
        "--select-opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting of the selector (repeatable; JSON values), checked against it, e.g. "
        "outlier_neighbors=20",
    )
    add_cluster(
        p,
        "run maxmin on this running Dask scheduler",
        "run maxmin on a local Dask cluster of N worker processes",
    )
    add_choice(
        p, "--mode", ["exact", "two-round"], "exact", "distributed maxmin mode (default exact)"
    )
    return _run_select


def _run_select(args: argparse.Namespace) -> int:
    from unisel.flows import select_file
    from unisel.options import OutputOptions

    if args.report:  # before any work, as select_file checks its own outputs
        from unisel.report.build import check_report_folder

        check_report_folder(args.report)
    result = select_file(
        args.input,
        read=read_options(args),
        embed=embed_options(args),
        select=select_options(args),
        output=OutputOptions(path=args.output, order=args.order),
        quiet=args.quiet,
    )
    m = result.manifest
    h = m.h_min
    n_records = m.input_info.n_records
    print(
        f"selected {m.k:,} of {n_records:,} records with {m.selector_info.method} "
        f"({m.embedder_info.method}) -> {result.output}"
    )
    if m.tokens is not None:
        of = f" of a budget of {m.tokens['budget']:,}" if m.tokens["budget"] else ""
        print(f"tokens ({m.tokens['tokenizer']}): {m.tokens['total']:,}{of}")
    if h["cosine"] is None or h["euclidean"] is None:
        print("h_min of the subset: undefined (fewer than 2 records)")
    else:
        print(f"h_min of the subset: cosine {h['cosine']:.6g}, Euclidean {h['euclidean']:.6g}")
    aside = result.selection.params.get("set_aside", 0)
    isolated = result.selection.params.get("isolated", 0)
    if aside or isolated:
        print(
            f"candidates: {n_records - aside - isolated:,} of "
            f"{n_records:,} records ({aside:,} set aside: too few words or an empty "
            f"embedding; {isolated:,} isolated) [--preset {args.preset}]"
        )
    print(f"manifest: {result.manifest_path}")
    if not args.quiet:
        print(f"time: {result.timings.summary()}")
    if args.report:
        from unisel.report import report_selection

        page = report_selection(result.manifest_path, args.report, quiet=args.quiet)
        print(f"report: {page}")
    return 0


# ---------------------------------------------------------------- metrics (issue 2)
def _add_metrics(sub: argparse._SubParsersAction) -> Handler:
    from unisel.options import APPROXIMATE_METHODS, DEFAULT_EXACT_LIMIT, DEFAULT_SAMPLE_SIZE

    p = sub.add_parser(
        "metrics", help="uniformity metrics of a data set and its subsets, side by side"
    )
    add_common_input(p)
    p.add_argument(
        "--subset",
        action="append",
        default=[],
        metavar="SUBSET_OR_MANIFEST",
        help="a subset file or its manifest (repeatable)",
    )
    p.add_argument(
        "--embedder",
        help="embedder spec (default: the subsets' manifest's cached embeddings, else word2vec)",
    )
    p.add_argument(
        "--near-threshold",
        type=float,
        default=0.01,
        help="cosine distance counted as a near duplicate (default 0.01)",
    )
    p.add_argument(
        "--exact-limit",
        type=_exact_limit,
        default=DEFAULT_EXACT_LIMIT,
        metavar="N",
        help="sets above N rows get estimated nearest-neighbour numbers, marked in the table "
        f"('none': always exact; default {DEFAULT_EXACT_LIMIT:,})",
    )
    add_choice(
        p,
        "--approximate",
        APPROXIMATE_METHODS,
        "sample",
        "estimate above --exact-limit: exact distances of a random sample of rows, or "
        "HNSW with its measured recall (default sample)",
    )
    p.add_argument(
        "--sample-size",
        type=_positive,
        default=DEFAULT_SAMPLE_SIZE,
        metavar="N",
        help=f"rows of the sample / HNSW recall queries (default {DEFAULT_SAMPLE_SIZE:,}; "
        "seed: --seed)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return _run_metrics


def _positive(text: str) -> int:
    """A positive integer option."""
    return bounded_int(text, 1, "an integer", "must be positive")


def _exact_limit(text: str) -> int | None:
    """``--exact-limit``: an integer of at least 2, or 'none'."""
    if text.strip().lower() == "none":
        return None
    return bounded_int(text, 2, "an integer or 'none'", "must be at least 2 (or 'none')")


def _run_metrics(args: argparse.Namespace) -> int:
    import json

    from unisel.flows import metrics_file
    from unisel.options import MetricsOptions

    report = metrics_file(
        args.input,
        subsets=args.subset,
        read=read_options(args),
        embed=embed_options(args),
        metrics=MetricsOptions(
            near_duplicate_threshold=args.near_threshold,
            exact_limit=args.exact_limit,
            approximate=args.approximate,
            sample_size=args.sample_size,
            seed=args.seed,
        ),
        quiet=args.quiet,
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.to_table())
        if not args.quiet:
            timings = ", ".join(f"{k} {v:.1f}s" for k, v in report.extra["timings"].items())
            print(f"\ntime: {timings}")
    return 0


# ---------------------------------------------------------------- report (issue 4)
def _add_report(sub: argparse._SubParsersAction) -> Handler | None:
    p = sub.add_parser(
        "report",
        help="one-page HTML report comparing subsets (PCA panels, histograms, metrics)",
        description="Write a self-contained HTML report (index.html, PNG figures, report.json) "
        "comparing subsets of one data set, from the manifests `unisel select` wrote; the "
        "embeddings come from the cache the manifests name.",
    )
    p.add_argument(
        "full",
        nargs="?",
        default=None,
        metavar="FULL",
        help="the full data set (checked against the manifests; default: theirs)",
    )
    p.add_argument(
        "--subset",
        "-s",
        action="append",
        required=True,
        metavar="PATH",
        help="a subset file or its .manifest.json (repeat for each subset)",
    )
    p.add_argument(
        "--name",
        action="append",
        default=None,
        metavar="NAME",
        help="label of each --subset, in order (default: its selector)",
    )
    p.add_argument("--output", "-o", required=True, metavar="DIR", help="report folder to write")
    p.add_argument(
        "--embeddings",
        default=None,
        metavar="NPY",
        help="full-set embeddings (.npy) instead of the manifests' cache",
    )
    p.add_argument(
        "--sample-size",
        type=_positive,
        default=20_000,
        metavar="N",
        help="most points per scatter panel (metrics use all; default 20000)",
    )
    p.add_argument(
        "--lengths",
        default="auto",
        metavar="HOW",
        help="record lengths per set: auto (the manifests' tokenizer, else words; skipped when "
        "the records cannot be read), words, none, or a tokenizer name (default auto)",
    )
    add_seed(p, "seed of the scatter samples (default 0)")
    add_quiet(p, "no progress bar")
    return _run_report


def _run_report(args: argparse.Namespace) -> int:
    import json

    from unisel.report import write_report

    index = write_report(
        args.full,
        args.subset,
        args.output,
        names=args.name,
        embeddings=args.embeddings,
        sample_size=args.sample_size,
        seed=args.seed,
        lengths=None if args.lengths == "none" else args.lengths,
        quiet=args.quiet,
    )
    summary = json.loads((index.parent / "report.json").read_text(encoding="utf-8"))["summary"]
    if not args.quiet:
        print(summary["text"])
    print(index)
    return 0
