"""The ``unisel`` command line: parse, call the Python API, print.

Each subcommand has one ``_add_<name>`` function that declares its arguments and one
``_run_<name>`` function that calls the API. Errors of the user's making (`UniselError`) are
printed as one line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence

from unisel.errors import UniselError

Handler = Callable[[argparse.Namespace], int]


# ---------------------------------------------------------------- select (issue 2)
def _add_common_input(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "input",
        help="data file (JSON, JSONL, Parquet, CSV), save_to_disk folder, hub name, or example:sharegpt",
    )
    p.add_argument(
        "--schema",
        choices=["alpaca", "sharegpt", "messages", "text"],
        help="record schema (default: detected)",
    )
    p.add_argument("--text-field", help="column holding the text (text schema)")
    p.add_argument(
        "--split",
        default="train",
        help="split of a hub data set or DatasetDict folder (default train)",
    )
    p.add_argument(
        "--skip-empty",
        action="store_true",
        default=None,
        help="leave out records with no text instead of failing",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    p.add_argument(
        "--cache-dir",
        help="embedding cache folder (default $UNISEL_CACHE_DIR or ~/.cache/unisel/embeddings)",
    )
    p.add_argument(
        "--no-cache", action="store_true", help="do not read or write the embedding cache"
    )
    p.add_argument(
        "--embed-opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="embedder setting, e.g. vector_size=200 (repeatable)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or stage timings")


def _parse_options(items: list[str]) -> dict[str, object]:
    import json

    from unisel.errors import ParameterError

    out: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ParameterError(f"--embed-opt expects KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def _cache_arg(args: argparse.Namespace) -> object:
    return False if args.no_cache else args.cache_dir


def _add_select(sub: argparse._SubParsersAction) -> Handler:
    from unisel.select import SELECTORS

    p = sub.add_parser("select", help="select the most uniformly spread subset of a data set")
    _add_common_input(p)
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="subset file (same format as the input); the manifest goes beside it",
    )
    size = p.add_mutually_exclusive_group(required=True)
    size.add_argument("-k", type=int, help="number of records to select (to add, with --extend)")
    size.add_argument("--fraction", type=float, help="fraction of the records to select, in (0, 1]")
    p.add_argument(
        "--method", default="maxmin", choices=SELECTORS.names(), help="selector (default maxmin)"
    )
    p.add_argument(
        "--embedder",
        default="word2vec",
        help="word2vec (default), tfidf, minilm, hf:PATH or npy:FILE",
    )
    p.add_argument(
        "--start", type=int, help="index of the first maxmin record (default: drawn with --seed)"
    )
    p.add_argument(
        "--order",
        choices=["input", "selection"],
        default="input",
        help="record order in the output (default input)",
    )
    p.add_argument(
        "--device",
        default="cpu",
        choices=["cpu", "cuda", "auto"],
        help="where the maxmin engine runs",
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
    cluster = p.add_mutually_exclusive_group()
    cluster.add_argument(
        "--scheduler", metavar="ADDRESS", help="run maxmin on this running Dask scheduler"
    )
    cluster.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run maxmin on a local Dask cluster of N worker processes",
    )
    p.add_argument(
        "--mode",
        choices=["exact", "two-round"],
        default="exact",
        help="distributed maxmin mode (default exact)",
    )
    return _run_select


def _run_select(args: argparse.Namespace) -> int:
    from unisel.pipeline import select_file

    result = select_file(
        args.input,
        output=args.output,
        k=args.k,
        fraction=args.fraction,
        method=args.method,
        embedder=args.embedder,
        seed=args.seed,
        start=args.start,
        schema=args.schema,
        text_field=args.text_field,
        split=args.split,
        skip_empty=args.skip_empty,
        cache_dir=_cache_arg(args),  # type: ignore[arg-type]
        order=args.order,
        device=args.device,
        checkpoint=args.checkpoint,
        extend=args.extend,
        embedder_params=_parse_options(args.embed_opt),
        scheduler=args.scheduler,
        workers=args.workers,
        mode=args.mode,
        quiet=args.quiet,
    )
    m = result.manifest
    h = m.h_min
    print(
        f"selected {m.k:,} of {m.input['n_records']:,} records with {m.selector['method']} "
        f"({m.embedder['method']}) -> {result.output}"
    )
    print(f"h_min of the subset: cosine {h['cosine']}, Euclidean {h['euclidean']}")
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
    p = sub.add_parser(
        "metrics", help="uniformity metrics of a data set and its subsets, side by side"
    )
    _add_common_input(p)
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
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return _run_metrics


def _run_metrics(args: argparse.Namespace) -> int:
    import json

    from unisel.pipeline import metrics_file

    report = metrics_file(
        args.input,
        subsets=args.subset,
        embedder=args.embedder,
        seed=args.seed,
        schema=args.schema,
        text_field=args.text_field,
        split=args.split,
        skip_empty=args.skip_empty,
        cache_dir=_cache_arg(args),  # type: ignore[arg-type]
        near_duplicate_threshold=args.near_threshold,
        embedder_params=_parse_options(args.embed_opt),
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
        type=int,
        default=20_000,
        metavar="N",
        help="most points per scatter panel (metrics use all; default 20000)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the scatter samples (default 0)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    def run(args: argparse.Namespace) -> int:
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
            quiet=args.quiet,
        )
        summary = json.loads((index.parent / "report.json").read_text(encoding="utf-8"))["summary"]
        if not args.quiet:
            print(summary["text"])
        print(index)
        return 0

    return run


# ---------------------------------------------------------------- train (issue 5)
def _add_train(sub: argparse._SubParsersAction) -> Handler | None:
    from unisel.train.trainer import TrainConfig

    d = TrainConfig(data="", output="")
    p = sub.add_parser(
        "train",
        help="fine-tune a causal LM on a data file or subset (SFT, response-only loss)",
        description="Supervised fine-tuning with the Alpaca template or the model's chat template; "
        "loss on response tokens only. Rerunning the same command resumes an interrupted run. "
        "Runs on CPU as is; use `accelerate launch -m unisel train ...` for GPUs, mixed precision, "
        "DeepSpeed or FSDP.",
    )
    p.add_argument(
        "data", help="data file (JSON/JSONL/Parquet/CSV), data set folder, or subset manifest"
    )
    p.add_argument(
        "--model",
        default=d.model,
        help="smollm2-135m, tiny-llama, a local folder or a hub name (default: %(default)s)",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="run folder (log.jsonl, checkpoint/, model/, result.json)",
    )
    p.add_argument(
        "--schema", default=None, help="alpaca, sharegpt, messages or text (default: detect)"
    )
    p.add_argument("--text-field", default=None, help="column of the text schema")
    p.add_argument("--limit", type=int, default=None, help="train on the first N records only")
    p.add_argument(
        "--objective",
        choices=["ce", "l2"],
        default=d.objective,
        help="ce: cross-entropy + AdamW; l2: logit-vs-one-hot MSE + plain SGD (default: %(default)s)",
    )
    p.add_argument(
        "--l2-reduction",
        choices=["mean", "sum"],
        default=d.l2_reduction,
        help="L2 scaling over the vocabulary (default: %(default)s)",
    )
    p.add_argument(
        "--max-length",
        type=int,
        default=d.max_length,
        help="tokens per sequence (default: %(default)s)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=d.batch_size,
        help="sequences per micro-batch per process (default: %(default)s)",
    )
    p.add_argument(
        "--grad-accum",
        type=int,
        default=d.grad_accum,
        help="micro-batches per step (default: %(default)s)",
    )
    p.add_argument(
        "--lr", type=float, default=None, help="learning rate (default: 2e-5 for ce, 1e-4 for l2)"
    )
    p.add_argument(
        "--warmup-steps",
        type=int,
        default=d.warmup_steps,
        help="linear warm-up steps, then constant (default: %(default)s)",
    )
    p.add_argument(
        "--epochs", type=float, default=d.epochs, help="passes over the data (default: %(default)s)"
    )
    p.add_argument(
        "--max-steps", type=int, default=None, help="optimiser steps (overrides --epochs)"
    )
    p.add_argument("--seed", type=int, default=d.seed, help="seed (default: %(default)s)")
    p.add_argument(
        "--max-grad-norm",
        type=float,
        default=d.max_grad_norm,
        help="gradient clipping, 0 = off (default: %(default)s)",
    )
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument(
        "--lora", action="store_true", help="train a LoRA adapter (peft) instead of all weights"
    )
    p.add_argument("--lora-r", type=int, default=d.lora_r)
    p.add_argument("--lora-alpha", type=int, default=d.lora_alpha)
    p.add_argument("--lora-dropout", type=float, default=d.lora_dropout)
    p.add_argument(
        "--lora-target", default=d.lora_target, help="module names, comma-separated, or all-linear"
    )
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument(
        "--mixed-precision",
        choices=["no", "fp16", "bf16"],
        default=None,
        help="default: accelerate's config",
    )
    p.add_argument(
        "--save-every",
        type=int,
        default=d.save_every,
        help="steps between checkpoints, 0 = none (default: %(default)s)",
    )
    p.add_argument("--keep-checkpoint", action="store_true", help="keep checkpoint/ after the run")
    p.add_argument(
        "--no-save-model", dest="save_model", action="store_false", help="do not write model/"
    )
    p.add_argument(
        "--eval-data", default=None, help="held-out data: loss, ce and accuracy in eval.jsonl"
    )
    p.add_argument(
        "--eval-every",
        type=int,
        default=d.eval_every,
        help="steps between held-out evaluations, 0 = end only",
    )
    p.add_argument("--eval-batch-size", type=int, default=None)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return _run_train


def _run_train(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from unisel.train import TrainConfig, train

    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    result = train(TrainConfig(**values))
    heldout = f", held-out loss {result.heldout['loss']:.4f}" if result.heldout else ""
    print(
        f"{result.output}: {result.steps} steps, {result.tokens} response tokens, "
        f"{result.seconds:.1f} s, final loss {result.final_loss:.4f}{heldout}"
    )
    return 0


# ---------------------------------------------------------------- experiment (issue 5)
def _add_experiment(sub: argparse._SubParsersAction) -> Handler | None:
    p = sub.add_parser(
        "experiment",
        help="uniform vs baseline subsets: select, fine-tune, compare (curves, time to threshold)",
        description="Run the comparison described by CONFIG.yaml (see docs/experiment.md). "
        "Rerunning the same command resumes an interrupted experiment.",
    )
    p.add_argument("config", help="experiment YAML")
    p.add_argument("-o", "--output", required=True, help="experiment folder")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="only rebuild tables, figures and index.html from the finished runs",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return _run_experiment


def _run_experiment(args: argparse.Namespace) -> int:
    from unisel.experiment import load_config, run_experiment

    res = run_experiment(
        load_config(args.config), args.output, quiet=args.quiet, report_only=args.report_only
    )
    print(f"{res.page}: {len(res.runs)} runs, thresholds {res.thresholds}")
    return 0


# ---------------------------------------------------------------- evaluate (issue 5)
def _add_evaluate(sub: argparse._SubParsersAction) -> Handler | None:
    p = sub.add_parser(
        "evaluate",
        help="benchmark a trained run with lm-evaluation-harness",
        description="Tasks are lm-eval names (need the hub) or local task YAML files (offline); "
        "append :SHOTS for few-shot, e.g. arc_challenge:25,truthfulqa_mc1.",
    )
    p.add_argument("model", help="training run folder, model folder, or model name")
    p.add_argument("--tasks", required=True, help="comma-separated task names or YAML paths")
    p.add_argument("-o", "--output", default=None, help="result JSON (default: RUN/lm_eval.json)")
    p.add_argument("--include-path", default=None, help="folder of extra lm-eval task YAMLs")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--limit", type=float, default=None, help="documents per task (quick checks)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:0 ... (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-q", "--quiet", action="store_true")
    return _run_evaluate


def _run_evaluate(args: argparse.Namespace) -> int:
    from unisel.evaluate import evaluate

    limit = args.limit
    if limit is not None and limit >= 1:
        limit = int(limit)
    res = evaluate(
        args.model,
        args.tasks,
        output=args.output,
        include_path=args.include_path,
        batch_size=args.batch_size,
        limit=limit,
        device=args.device,
        seed=args.seed,
        quiet=args.quiet,
    )
    for task, (metric, value) in res.headline.items():
        print(f"{task}\t{metric}\t{value:.4f}")
    return 0


# ---------------------------------------------------------------- theory (issue 6)
def _add_theory(sub: argparse._SubParsersAction) -> Handler | None:
    p = sub.add_parser(
        "theory",
        help="check the paper's three theoretical predictions on synthetic data",
        description=(
            "Run the uniformity (Theorem 1), convergence (Corollary 3) and approximation "
            "(Theorem 3) experiments; each writes NAME.json and NAME.png into -o DIR and "
            "prints each prediction with the statistic that decides whether the data agree."
        ),
    )
    p.add_argument(
        "experiment",
        nargs="?",
        default="all",
        choices=["uniformity", "convergence", "approximation", "all"],
        help="which experiment (default: all)",
    )
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    p.add_argument("--quick", action="store_true", help="small sweeps (about a minute for all)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    def handler(args: argparse.Namespace) -> int:
        from unisel.theory import run

        results = run(
            args.experiment, args.output, quick=args.quick, seed=args.seed, quiet=args.quiet
        )
        for res in results.values():
            print(res.summary())
            print(f"  -> {res.json_path}, {res.figure_path} ({res.extra['seconds']:.1f} s)")
        return 0

    return handler


# ---------------------------------------------------------------- distributed (issue 7)
def _add_distributed(sub: argparse._SubParsersAction) -> Handler | None:
    parser = sub.add_parser(
        "distributed",
        help="embed, select and measure on a Dask cluster (--scheduler ADDRESS or --workers N)",
        description="Scale-out on Dask. Without --scheduler or --workers everything runs in this process.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    def cluster_args(p: argparse.ArgumentParser) -> None:
        g = p.add_mutually_exclusive_group()
        g.add_argument(
            "--scheduler",
            metavar="ADDRESS",
            help="connect to a running Dask scheduler (tcp://host:8786)",
        )
        g.add_argument(
            "--workers", type=int, metavar="N", help="start a local cluster of N worker processes"
        )
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
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")

    emb = actions.add_parser("embed", help="embed an input in partitions into a shard store")
    emb.add_argument("input", help=".jsonl, .json, .parquet or a save_to_disk folder")
    emb.add_argument("-o", "--output", required=True, help="shard store folder to create")
    emb.add_argument(
        "--embedder", default="word2vec", help="embedder spec, e.g. tfidf-svd:384, word2vec, minilm"
    )
    emb.add_argument("--schema", choices=("alpaca", "sharegpt", "messages", "text"))
    emb.add_argument("--text-field")
    emb.add_argument("--fit-on", choices=("sample", "all"), default="sample")
    emb.add_argument("--fit-sample", type=int, default=100_000)
    emb.add_argument("--seed", type=int, default=0)
    cluster_args(emb)

    sel = actions.add_parser("select", help="greedy max-min over partitions (exact or two-round)")
    sel.add_argument("embeddings", help="shard store folder or .npy file")
    size = sel.add_mutually_exclusive_group(required=True)
    size.add_argument("-k", type=int)
    size.add_argument("--fraction", type=float)
    sel.add_argument(
        "-o", "--output", required=True, help="selection JSON to write (indices, distances)"
    )
    sel.add_argument("--mode", choices=("exact", "two-round"), default="exact")
    sel.add_argument("--start", type=int, default=0)
    sel.add_argument("--checkpoint", help="exact mode: checkpoint JSON (resumed when it exists)")
    sel.add_argument(
        "--metrics", action="store_true", help="also compute h_min and covering radius"
    )
    cluster_args(sel)

    met = actions.add_parser(
        "metrics", help="h_min and covering radius of a selection, over partitions"
    )
    met.add_argument("embeddings", help="shard store folder or .npy file")
    met.add_argument("--selection", required=True, help="selection JSON from 'distributed select'")
    met.add_argument("--metric", choices=("cosine", "euclidean"), default="cosine")
    cluster_args(met)
    return _run_distributed


def _run_distributed(args: argparse.Namespace) -> int:
    import json

    from unisel import distributed as dist
    from unisel.select.base import resolve_k

    with dist.dask_client(scheduler=args.scheduler, workers=args.workers, quiet=True) as client:
        if args.action == "embed":
            store = dist.embed_partitions(
                args.input,
                args.output,
                embedder=args.embedder,
                client=client,
                n_partitions=args.partitions,
                schema=args.schema,
                text_field=args.text_field,
                fit_on=args.fit_on,
                fit_sample=args.fit_sample,
                seed=args.seed,
                retries=args.retries,
                overwrite=args.overwrite,
                quiet=args.quiet,
            )
            print(f"{store.path}: {store.shape[0]} x {store.shape[1]} in {store.n_shards} shards")
            return 0
        X = dist.load_embeddings(args.embeddings)
        if args.action == "select":
            k = resolve_k(int(X.shape[0]), args.k, args.fraction)
            params = {
                "client": client,
                "start": args.start,
                "n_partitions": args.partitions,
                "retries": args.retries,
                "quiet": args.quiet,
            }
            sel = dist.run_selection(
                X,
                k,
                args.output,
                mode=args.mode,
                checkpoint=args.checkpoint,
                overwrite=args.overwrite,
                **params,
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


# ---------------------------------------------------------------- entry point
_SUBCOMMANDS = (
    _add_select,
    _add_metrics,
    _add_report,
    _add_train,
    _add_experiment,
    _add_evaluate,
    _add_theory,
    _add_distributed,
)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    """The argument parser and the handler of each subcommand."""
    from unisel import __version__

    parser = argparse.ArgumentParser(
        prog="unisel",
        description="Select the most uniformly spread subset of a fine-tuning data set.",
    )
    parser.add_argument("--version", action="version", version=f"unisel {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    handlers: dict[str, Handler] = {}
    for add in _SUBCOMMANDS:
        before = set(sub.choices)
        handler = add(sub)
        for name in set(sub.choices) - before:
            if handler is not None:
                handlers[name] = handler
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    # Warnings about the user's data (dropped or skipped records) as one line each.
    warnings.formatwarning = lambda message, category, *rest, **kw: (
        f"unisel {args.command}: warning: {message}\n"
    )
    try:
        return handlers[args.command](args)
    except UniselError as exc:
        print(f"unisel {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"unisel {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
