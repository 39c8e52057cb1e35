"""``unisel train``, ``unisel experiment`` and ``unisel evaluate``: the training lab."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from unisel.cli._args import Handler, add_choice, add_command, add_config_options, add_quiet

if TYPE_CHECKING:
    from unisel.train.config import TrainConfig


#: Subcommand -> (help in the command list, description atop its --help).
_ABOUT = {
    "train": (
        "fine-tune a causal LM on a data file or subset (SFT, response-only loss)",
        "Supervised fine-tuning with the Alpaca template or the model's chat template; "
        "loss on response tokens only. Rerunning the same command resumes an interrupted run. "
        "Runs on CPU as is; use `accelerate launch -m unisel train ...` for GPUs, mixed precision, "
        "DeepSpeed or FSDP.",
    ),
    "experiment": (
        "uniform vs baseline subsets: select, fine-tune, compare (curves, time to threshold)",
        "Run the comparison described by CONFIG.yaml (see docs/experiment.md). "
        "Rerunning the same command resumes an interrupted experiment.",
    ),
    "evaluate": (
        "benchmark a trained run with lm-evaluation-harness",
        "Tasks are lm-eval names (need the hub) or local task YAML files (offline); "
        "append :SHOTS for few-shot, e.g. arc_challenge:25,truthfulqa_mc1.",
    ),
}


# ---------------------------------------------------------------- train (issue 5)
def _add_train(sub: argparse._SubParsersAction) -> Handler | None:
    from unisel.train.config import TrainConfig

    d = TrainConfig(data="", output="")
    p = add_command(sub, "train", *_ABOUT["train"])
    _add_train_data(p, d)
    _add_train_optimiser(p, d)
    _add_train_lora(p, d)
    _add_train_saving(p, d)
    add_quiet(p, "no progress bar")
    return _run_train


def _add_train_data(p: argparse.ArgumentParser, d: TrainConfig) -> None:
    """What ``train`` trains: model, data, run folder, sequence length."""
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
    add_choice(
        p,
        "--objective",
        ["ce", "l2"],
        d.objective,
        "ce: cross-entropy + AdamW; l2: logit-vs-one-hot MSE + plain SGD (default: %(default)s)",
    )
    add_choice(
        p,
        "--l2-reduction",
        ["mean", "sum"],
        d.l2_reduction,
        "L2 scaling over the vocabulary (default: %(default)s)",
    )
    add_config_options(p, d, [("--max-length", int, "tokens per sequence (default: %(default)s)")])


def _add_train_optimiser(p: argparse.ArgumentParser, d: TrainConfig) -> None:
    """Batching, learning rate, schedule, clipping, seed."""
    add_config_options(
        p,
        d,
        [
            ("--batch-size", int, "sequences per micro-batch per process (default: %(default)s)"),
            ("--grad-accum", int, "micro-batches per step (default: %(default)s)"),
            ("--lr", float, "learning rate (default: 2e-5 for ce, 1e-4 for l2)"),
            ("--warmup-steps", int, "linear warm-up steps, then constant (default: %(default)s)"),
            ("--epochs", float, "passes over the data (default: %(default)s)"),
            ("--max-steps", int, "optimiser steps (overrides --epochs)"),
            ("--seed", int, "seed (default: %(default)s)"),
            ("--max-grad-norm", float, "gradient clipping, 0 = off (default: %(default)s)"),
            ("--weight-decay", float, None),
        ],
    )


def _add_train_lora(p: argparse.ArgumentParser, d: TrainConfig) -> None:
    """LoRA, gradient checkpointing and mixed precision."""
    p.add_argument(
        "--lora", action="store_true", help="train a LoRA adapter (peft) instead of all weights"
    )
    add_config_options(
        p,
        d,
        [
            ("--lora-r", int, None),
            ("--lora-alpha", int, None),
            ("--lora-dropout", float, None),
            ("--lora-target", None, "module names, comma-separated, or all-linear"),
        ],
    )
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument(
        "--mixed-precision",
        choices=["no", "fp16", "bf16"],
        default=None,
        help="default: accelerate's config",
    )


def _add_train_saving(p: argparse.ArgumentParser, d: TrainConfig) -> None:
    """Checkpoints, the saved model and held-out evaluation."""
    add_config_options(
        p, d, [("--save-every", int, "steps between checkpoints, 0 = none (default: %(default)s)")]
    )
    p.add_argument("--keep-checkpoint", action="store_true", help="keep checkpoint/ after the run")
    p.add_argument(
        "--no-save-model", dest="save_model", action="store_false", help="do not write model/"
    )
    add_config_options(
        p,
        d,
        [
            ("--eval-data", None, "held-out data: loss, ce and accuracy in eval.jsonl"),
            ("--eval-every", int, "steps between held-out evaluations, 0 = end only"),
            ("--eval-batch-size", int, None),
        ],
    )


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
    p = add_command(sub, "experiment", *_ABOUT["experiment"])
    p.add_argument("config", help="experiment YAML")
    p.add_argument("-o", "--output", required=True, help="experiment folder")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="only rebuild tables, figures and index.html from the finished runs",
    )
    add_quiet(p)
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
    p = add_command(sub, "evaluate", *_ABOUT["evaluate"])
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
