"""``unisel train``, ``unisel experiment`` and ``unisel evaluate``: the training lab."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from unisel.cli._args import Handler, add_quiet

if TYPE_CHECKING:
    from unisel.train.config import TrainConfig


# ---------------------------------------------------------------- train (issue 5)
def _add_train(sub: argparse._SubParsersAction) -> Handler | None:
    from unisel.train.config import TrainConfig

    d = TrainConfig(data="", output="")
    p = sub.add_parser(
        "train",
        help="fine-tune a causal LM on a data file or subset (SFT, response-only loss)",
        description="Supervised fine-tuning with the Alpaca template or the model's chat template; "
        "loss on response tokens only. Rerunning the same command resumes an interrupted run. "
        "Runs on CPU as is; use `accelerate launch -m unisel train ...` for GPUs, mixed precision, "
        "DeepSpeed or FSDP.",
    )
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


def _add_train_optimiser(p: argparse.ArgumentParser, d: TrainConfig) -> None:
    """Batching, learning rate, schedule, clipping, seed."""
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


def _add_train_lora(p: argparse.ArgumentParser, d: TrainConfig) -> None:
    """LoRA, gradient checkpointing and mixed precision."""
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


def _add_train_saving(p: argparse.ArgumentParser, d: TrainConfig) -> None:
    """Checkpoints, the saved model and held-out evaluation."""
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
