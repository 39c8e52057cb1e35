"""``unisel distributed embed|select|metrics``: the Dask scale-out."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from unisel.cli._args import Handler, add_cluster, add_quiet, add_schema, add_size

if TYPE_CHECKING:
    from distributed import Client


def _add_dask(p: argparse.ArgumentParser) -> None:
    """The cluster, partitioning and recovery options every ``distributed`` action takes."""
    add_cluster(p)
    p.add_argument(
        "--partitions",
        type=int,
        metavar="P",
        help="number of partitions (default: per input size / per worker)",
    )
    p.add_argument(
        "--retries", type=int, default=2, help="worker losses to recover from (default 2)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    add_quiet(p)


def _add_distributed(sub: argparse._SubParsersAction) -> Handler | None:
    parser = sub.add_parser(
        "distributed",
        help="embed, select and measure on a Dask cluster (--scheduler ADDRESS or --workers N)",
        description="Scale-out on Dask. Without --scheduler or --workers everything runs in this process.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    emb = actions.add_parser("embed", help="embed an input in partitions into a shard store")
    emb.add_argument("input", help=".jsonl, .json, .parquet or a save_to_disk folder")
    emb.add_argument("-o", "--output", required=True, help="shard store folder to create")
    emb.add_argument(
        "--embedder", default="word2vec", help="embedder spec, e.g. tfidf-svd:384, word2vec, minilm"
    )
    add_schema(emb)
    emb.add_argument("--fit-on", choices=("sample", "all"), default="sample")
    emb.add_argument("--fit-sample", type=int, default=100_000)
    emb.add_argument("--seed", type=int, default=0)
    _add_dask(emb)

    sel = actions.add_parser("select", help="greedy max-min over partitions (exact or two-round)")
    sel.add_argument("embeddings", help="shard store folder or .npy file")
    add_size(sel)
    sel.add_argument(
        "-o", "--output", required=True, help="selection JSON to write (indices, distances)"
    )
    sel.add_argument("--mode", choices=("exact", "two-round"), default="exact")
    sel.add_argument(
        "--start",
        type=int,
        default=None,
        help="row of the first record (default: drawn with --seed, as unisel select draws it)",
    )
    sel.add_argument("--seed", type=int, default=0, help="draws the first record (default 0)")
    sel.add_argument("--checkpoint", help="exact mode: checkpoint JSON (resumed when it exists)")
    sel.add_argument(
        "--metrics", action="store_true", help="also compute h_min and covering radius"
    )
    _add_dask(sel)

    met = actions.add_parser(
        "metrics", help="h_min and covering radius of a selection, over partitions"
    )
    met.add_argument("embeddings", help="shard store folder or .npy file")
    met.add_argument("--selection", required=True, help="selection JSON from 'distributed select'")
    met.add_argument("--metric", choices=("cosine", "euclidean"), default="cosine")
    _add_dask(met)
    return _run_distributed


def _run_distributed(args: argparse.Namespace) -> int:
    from unisel import distributed as dist

    action = {
        "embed": _run_distributed_embed,
        "select": _run_distributed_select,
        "metrics": _run_distributed_metrics,
    }[args.action]
    with dist.dask_client(scheduler=args.scheduler, workers=args.workers, quiet=True) as client:
        return action(args, client)


def _run_distributed_embed(args: argparse.Namespace, client: Client | None) -> int:
    from unisel import distributed as dist
    from unisel.options import ReadOptions

    store = dist.embed_partitions(
        args.input,
        args.output,
        embedder=args.embedder,
        client=client,
        n_partitions=args.partitions,
        read=ReadOptions(schema=args.schema, text_field=args.text_field),
        fit=dist.FitOptions(on=args.fit_on, sample=args.fit_sample, seed=args.seed),
        retries=args.retries,
        overwrite=args.overwrite,
        quiet=args.quiet,
    )
    print(f"{store.path}: {store.shape[0]} x {store.shape[1]} in {store.n_shards} shards")
    return 0


def _run_distributed_select(args: argparse.Namespace, client: Client | None) -> int:
    import json

    import numpy as np

    from unisel import distributed as dist
    from unisel.select.base import resolve_k

    X = dist.load_embeddings(args.embeddings)
    n = int(X.shape[0])
    k = resolve_k(n, args.k, args.fraction)
    # The start rule of `unisel select` (`MaxMinSelector`): the seed draws the first record.
    start = (
        args.start if args.start is not None else int(np.random.default_rng(args.seed).integers(n))
    )
    # exact mode takes its recoveries with the rest of its round settings
    recovery: dict[str, Any] = (
        {"options": dist.ExactOptions(retries=args.retries)}
        if args.mode == "exact"
        else {"retries": args.retries}
    )
    sel = dist.run_selection(
        X,
        k,
        args.output,
        mode=args.mode,
        checkpoint=args.checkpoint,
        overwrite=args.overwrite,
        client=client,
        start=start,
        n_partitions=args.partitions,
        quiet=args.quiet,
        **recovery,
    )
    out = {
        "output": args.output,
        "mode": sel.mode,
        "k": sel.indices.size,
        "rounds": sel.rounds,
        "recoveries": sel.recoveries,
        "resumed_from": sel.resumed_from,
        "seconds": round(sel.seconds, 3),
    }
    if args.metrics:
        out["h_min"] = dist.h_min(X, indices=sel.indices, client=client)
        out["covering_radius"] = dist.covering_radius(X, sel.indices, client=client)
    print(json.dumps(out))
    return 0


def _run_distributed_metrics(args: argparse.Namespace, client: Client | None) -> int:
    import json

    from unisel import distributed as dist

    X = dist.load_embeddings(args.embeddings)
    indices, _ = dist.read_selection(args.selection)
    kw = {"client": client, "metric": args.metric, "n_partitions": args.partitions}
    print(
        json.dumps(
            {
                "k": int(indices.size),
                "metric": args.metric,
                "h_min": dist.h_min(X, indices=indices, **kw),
                "covering_radius": dist.covering_radius(X, indices, **kw),
            }
        )
    )
    return 0
