"""Supervised fine-tuning of a causal LM: config, loop, checkpoints, log.

Why a plain torch loop driven by accelerate rather than ``transformers.Trainer``: the L2 objective
with plain SGD, cross-entropy and accuracy logged beside every objective, the token-weighted
gradient accumulation, the wall-clock column that excludes checkpoint and evaluation time, and a
resume that replays the exact same batches are each a few lines here and each an override or
callback fight with Trainer. ``accelerate`` still does everything device-related: placement,
mixed precision (fp16/bf16), DDP, DeepSpeed and FSDP all come from ``accelerate config`` /
``accelerate launch`` with no change to this code.

Run folder
----------
``train_config.json`` the :class:`TrainConfig` (a rerun with another config is refused).
``log.jsonl``      one line per optimiser step: ``step``, ``loss`` (the objective), ``ce``,
                   ``accuracy`` (next-token, on response tokens), ``tokens`` (response tokens in
                   the step, all processes), ``lr``, ``seconds`` (cumulative training wall-clock,
                   excluding checkpointing and held-out evaluation), ``epoch`` (fractional).
``eval.jsonl``     held-out ``loss``/``ce``/``accuracy`` every ``eval_every`` steps and at the end.
``checkpoint/``    the latest resumable state (model, optimiser, RNG, step); removed at the end
                   unless ``keep_checkpoint``.
``model/``         the trained model (LoRA merged) and tokenizer, when ``save_model``.
``result.json``    the :class:`TrainResult`; its presence marks the run complete.

Data order: example ``i`` of the step stream is ``perm_e[i mod n]`` with ``e = i // n`` and
``perm_e`` a permutation drawn from ``(seed, e)``; step ``s`` takes stream positions
``[s G, (s + 1) G)`` with ``G = batch_size * grad_accum * processes``. So a resumed run sees the
same batches as an uninterrupted one. With ``epochs`` (no ``max_steps``) the stream ends after
``round(epochs * n)`` examples, so the last step may be smaller than ``G``: one epoch trains on
every example exactly once (the tokens trained on are the data's response tokens).

Gradient accumulation is token-weighted: every micro-batch loss is a sum over its response tokens
divided by the response tokens of the whole optimiser step (all processes), so accumulation of
``A`` micro-batches of ``B`` is the same step as one batch of ``A B``.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unisel._progress import progress_bar
from unisel.errors import ParameterError
from unisel.train.config import TrainConfig

CONFIG_FILE = "train_config.json"
LOG_FILE = "log.jsonl"
EVAL_FILE = "eval.jsonl"
RESULT_FILE = "result.json"
CHECKPOINT_DIR = "checkpoint"
MODEL_DIR = "model"
STATE_FILE = "trainer_state.json"

# Fields that may change between an interrupted run and its resumption.
_RESUME_FREE = {"quiet", "output"}


@dataclass
class TrainResult:
    """What a finished run reports (also written to ``RUN/result.json``).

    Attributes
    ----------
    output : str
        The run folder.
    steps : int
        Optimiser steps taken.
    seconds : float
        Training wall-clock (the ``seconds`` of the last log line).
    tokens : int
        Response tokens trained on.
    n_examples, n_skipped : int
        Sequences trained on, and rows dropped for lack of a response token.
    final_loss : float
        Objective of the last step.
    heldout : dict or None
        Final held-out ``loss``, ``ce``, ``accuracy``, ``tokens``.
    model_path : str or None
        ``RUN/model`` when saved.
    resumed_from : int
        Step the run resumed from (0: fresh).
    """

    output: str
    steps: int
    seconds: float
    tokens: int
    n_examples: int
    n_skipped: int
    final_loss: float
    heldout: dict[str, float] | None = None
    model_path: str | None = None
    resumed_from: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def lr_at(step: int, lr: float, warmup: int) -> float:
    """Constant schedule with linear warm-up, as ``get_constant_schedule_with_warmup``."""
    if warmup > 0 and step < warmup:
        return lr * step / warmup
    return lr


def stream_indices(n: int, seed: int, start: int, stop: int) -> np.ndarray:
    """Example indices at stream positions ``start..stop-1`` (epoch-wise permutations)."""
    out = np.empty(max(0, stop - start), dtype=np.int64)
    perms: dict[int, np.ndarray] = {}
    for j, pos in enumerate(range(start, stop)):
        epoch = pos // n
        if epoch not in perms:
            perms[epoch] = np.random.default_rng([seed, epoch]).permutation(n)
        out[j] = perms[epoch][pos % n]
    return out


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """Lines of a ``log.jsonl`` (or ``eval.jsonl``) as dicts; empty when missing."""
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _truncate_log(path: Path, last_step: int) -> None:
    """Keep the log lines up to ``last_step`` (a resumed run rewrites the rest)."""
    rows = [r for r in read_log(path) if r["step"] <= last_step]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp.replace(path)


def _append(path: Path, row: dict[str, Any]) -> None:
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


def _prepare_output(cfg: TrainConfig) -> tuple[Path, TrainResult | None]:
    out = Path(cfg.output)
    saved = out / CONFIG_FILE
    mine = {k: v for k, v in cfg.to_dict().items() if k not in _RESUME_FREE}
    if saved.is_file():
        theirs = {k: v for k, v in json.loads(saved.read_text()).items() if k not in _RESUME_FREE}
        if theirs != mine:
            diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            raise ParameterError(
                f"{out}: holds a run with other settings ({', '.join(diff)}); use another output folder"
            )
        done = out / RESULT_FILE
        if done.is_file():
            return out, TrainResult(**json.loads(done.read_text()))
        return out, None
    if out.exists() and any(out.iterdir()):
        raise ParameterError(f"{out}: exists and is not a unisel training run; use an empty folder")
    out.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(cfg.to_dict(), indent=2))
    return out, None


def _load_examples(source: str, cfg: TrainConfig, tokenizer: Any) -> tuple[list[Any], int]:
    from unisel.train.data import load_rows, tokenize_rows

    data = load_rows(source, schema=cfg.schema, text_field=cfg.text_field)
    rows = data.rows[: cfg.limit] if cfg.limit else data.rows
    examples, skipped = tokenize_rows(
        rows, data.schema, tokenizer, max_length=cfg.max_length, text_field=data.text_field
    )
    if not examples:
        raise ParameterError(
            f"{source}: no record has a response token within max_length={cfg.max_length}"
        )
    return examples, len(skipped)


def _wrap_lora(model: Any, cfg: TrainConfig) -> Any:
    from peft import LoraConfig, get_peft_model

    target: str | list[str] = cfg.lora_target
    if target != "all-linear":
        target = [t.strip() for t in cfg.lora_target.split(",") if t.strip()]
    lcfg = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=target,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lcfg)


def evaluate_loss(
    model: Any,
    examples: list[Any],
    *,
    objective: str,
    l2_reduction: str = "mean",
    batch_size: int = 8,
    pad_id: int = 0,
    accelerator: Any = None,
) -> dict[str, float]:
    """Mean objective, cross-entropy and next-token accuracy over the response tokens.

    Parameters
    ----------
    model : causal LM (any ``forward(input_ids, attention_mask) -> .logits``)
    examples : list of Example
    objective : {"ce", "l2"}

    Returns
    -------
    dict with ``loss``, ``ce``, ``accuracy`` (means per response token) and ``tokens``.
    """
    import torch

    from unisel.train.data import collate
    from unisel.train.objectives import token_stats

    rank, world = (accelerator.process_index, accelerator.num_processes) if accelerator else (0, 1)
    device = accelerator.device if accelerator else next(model.parameters()).device
    sums = torch.zeros(4, dtype=torch.float64, device=device)
    was_training = model.training
    model.eval()
    mine = examples[rank::world]
    with torch.no_grad():
        for lo in range(0, len(mine), batch_size):
            batch = {
                k: v.to(device) for k, v in collate(mine[lo : lo + batch_size], pad_id).items()
            }
            ctx = accelerator.autocast() if accelerator else contextlib.nullcontext()
            with ctx:
                logits = model(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                ).logits
            st = token_stats(logits, batch["labels"], objective, l2_reduction=l2_reduction)
            sums += torch.tensor(
                [float(st.loss_sum), st.ce_sum, st.n_correct, st.n_tokens],
                dtype=torch.float64,
                device=device,
            )
    if accelerator is not None:
        sums = accelerator.reduce(sums, reduction="sum")
    model.train(was_training)
    n = max(float(sums[3]), 1.0)
    return {
        "loss": float(sums[0]) / n,
        "ce": float(sums[1]) / n,
        "accuracy": float(sums[2]) / n,
        "tokens": int(sums[3]),
    }


def train(
    config: TrainConfig,
    *,
    on_step: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Fine-tune ``config.model`` on ``config.data``; resumes an interrupted run in ``config.output``.

    Parameters
    ----------
    config : TrainConfig
    on_step : callable, optional
        Called with each log row after it is written (progress hooks; raising stops the run,
        which the next call resumes from the last checkpoint).

    Returns
    -------
    TrainResult
    """
    config.check()
    out, finished = _prepare_output(config)
    if finished is not None:
        return finished

    import torch
    import transformers
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from unisel.train.data import collate
    from unisel.train.models import load_model, load_tokenizer
    from unisel.train.objectives import get_objective, token_stats

    cfg = config
    if cfg.quiet:
        transformers.logging.disable_progress_bar()
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision)
    set_seed(cfg.seed)
    tokenizer = load_tokenizer(cfg.model)
    examples, n_skipped = _load_examples(cfg.data, cfg, tokenizer)
    eval_examples = _load_examples(cfg.eval_data, cfg, tokenizer)[0] if cfg.eval_data else None

    model = load_model(cfg.model)
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.config.use_cache = False
    if cfg.lora:
        model = _wrap_lora(model, cfg)
    lr = cfg.resolved_lr()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = get_objective(cfg.objective).make_optimizer(params, lr, cfg)
    model, optimizer = accelerator.prepare(model, optimizer)
    model.train()

    n = len(examples)
    per_proc = cfg.batch_size * cfg.grad_accum
    global_batch = per_proc * accelerator.num_processes
    total = cfg.max_steps or max(1, math.ceil(cfg.epochs * n / global_batch))
    # epochs: the stream stops after round(epochs * n) examples (a smaller last step)
    stream_end = total * global_batch if cfg.max_steps else max(1, round(cfg.epochs * n))
    pad_id = tokenizer.pad_token_id

    log_path, eval_path, ckpt = out / LOG_FILE, out / EVAL_FILE, out / CHECKPOINT_DIR
    start, seconds, tokens_total = 0, 0.0, 0
    if (ckpt / STATE_FILE).is_file():
        accelerator.load_state(str(ckpt))
        state = json.loads((ckpt / STATE_FILE).read_text())
        start, seconds, tokens_total = state["step"], state["seconds"], state["tokens"]
    if accelerator.is_main_process:
        _truncate_log(log_path, start)
        _truncate_log(eval_path, start)

    def save_checkpoint(step: int) -> None:
        tmp = out / (CHECKPOINT_DIR + ".tmp")
        if accelerator.is_main_process and tmp.exists():
            shutil.rmtree(tmp)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(tmp), safe_serialization=True)
        if accelerator.is_main_process:
            state = {"step": step, "seconds": seconds, "tokens": tokens_total}
            (tmp / STATE_FILE).write_text(json.dumps(state))
            old = out / (CHECKPOINT_DIR + ".old")
            if ckpt.exists():
                ckpt.rename(old)
            tmp.rename(ckpt)
            shutil.rmtree(old, ignore_errors=True)
        accelerator.wait_for_everyone()

    def held_out(step: int) -> dict[str, float] | None:
        if not eval_examples:
            return None
        res = evaluate_loss(
            model,
            eval_examples,
            objective=cfg.objective,
            l2_reduction=cfg.l2_reduction,
            batch_size=cfg.eval_batch_size or cfg.batch_size,
            pad_id=pad_id,
            accelerator=accelerator,
        )
        if accelerator.is_main_process:
            _append(eval_path, {"step": step, "seconds": seconds, **res})
        return res

    bar = progress_bar(
        total=total,
        initial=start,
        desc=f"train {out.name}",
        quiet=cfg.quiet or not accelerator.is_main_process,
        unit="step",
    )
    rank = accelerator.process_index
    last_loss = float("nan")
    for step in range(start, total):
        pos = step * global_batch + rank * per_proc
        idx = stream_indices(n, cfg.seed, pos, max(pos, min(pos + per_proc, stream_end)))
        # A process with nothing left in the last step still runs one example, weighted 0, so
        # that every process takes part in the gradient synchronisation.
        weight = 1.0 if idx.size else 0.0
        if not idx.size:
            idx = np.zeros(1, dtype=np.int64)
        micro = [
            collate([examples[i] for i in idx[lo : lo + cfg.batch_size]], pad_id)
            for lo in range(0, idx.size, cfg.batch_size)
        ]
        local_tokens = int(weight) * sum(int((m["labels"][:, 1:] != -100).sum()) for m in micro)
        step_tokens = int(
            accelerator.reduce(
                torch.tensor(local_tokens, device=accelerator.device), reduction="sum"
            )
        )
        step_lr = lr_at(step, lr, cfg.warmup_steps)
        for group in optimizer.param_groups:
            group["lr"] = step_lr

        t0 = time.perf_counter()
        sums = torch.zeros(3, dtype=torch.float64, device=accelerator.device)
        for j, mb in enumerate(micro):
            mb = {k: v.to(accelerator.device) for k, v in mb.items()}
            # Gradients sync across processes on the last micro-batch only.
            sync = contextlib.nullcontext() if j == len(micro) - 1 else accelerator.no_sync(model)
            with sync:
                with accelerator.autocast():
                    logits = model(
                        input_ids=mb["input_ids"], attention_mask=mb["attention_mask"]
                    ).logits
                st = token_stats(logits, mb["labels"], cfg.objective, l2_reduction=cfg.l2_reduction)
                # DDP averages gradients over processes; scale back to a sum over the step's tokens.
                loss = st.loss_sum * (weight * accelerator.num_processes / step_tokens)
                accelerator.backward(loss)
            sums += weight * torch.tensor(
                [float(st.loss_sum.detach()), st.ce_sum, st.n_correct],
                dtype=torch.float64,
                device=accelerator.device,
            )
            del logits, loss, st
        if cfg.max_grad_norm:
            accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        seconds += time.perf_counter() - t0

        sums = accelerator.reduce(sums, reduction="sum")
        tokens_total += step_tokens
        last_loss = float(sums[0]) / step_tokens
        row = {
            "step": step + 1,
            "loss": last_loss,
            "ce": float(sums[1]) / step_tokens,
            "accuracy": float(sums[2]) / step_tokens,
            "tokens": step_tokens,
            "lr": step_lr,
            "seconds": round(seconds, 4),
            "epoch": round(min((step + 1) * global_batch, stream_end) / n, 4),
        }
        if accelerator.is_main_process:
            _append(log_path, row)
        bar.update(1)
        bar.set_postfix(loss=f"{last_loss:.4f}")
        if not math.isfinite(last_loss):
            bar.close()
            raise ParameterError(
                f"the {cfg.objective} loss diverged at step {step + 1} (lr={lr:g}); lower the learning rate"
            )
        if on_step is not None:
            on_step(row)
        done = step + 1 == total
        if cfg.eval_every and (step + 1) % cfg.eval_every == 0 and not done:
            held_out(step + 1)
        if cfg.save_every and (step + 1) % cfg.save_every == 0 and not done:
            save_checkpoint(step + 1)
    bar.close()

    final_eval = held_out(total)
    model_path = None
    if cfg.save_model:
        model_path = str(out / MODEL_DIR)
        unwrapped = accelerator.unwrap_model(model)
        if cfg.lora:
            unwrapped = unwrapped.merge_and_unload()
        tmp = out / (MODEL_DIR + ".tmp")
        unwrapped.save_pretrained(
            tmp, is_main_process=accelerator.is_main_process, save_function=accelerator.save
        )
        if accelerator.is_main_process:
            tokenizer.save_pretrained(tmp)
            if Path(model_path).exists():
                shutil.rmtree(model_path)
            tmp.rename(model_path)
    if cfg.keep_checkpoint:
        save_checkpoint(total)
    elif accelerator.is_main_process:
        shutil.rmtree(ckpt, ignore_errors=True)

    result = TrainResult(
        output=str(out),
        steps=total,
        seconds=seconds,
        tokens=tokens_total,
        n_examples=n,
        n_skipped=n_skipped,
        final_loss=last_loss if start < total else _last_logged_loss(log_path),
        heldout=final_eval,
        model_path=model_path,
        resumed_from=start,
    )
    if accelerator.is_main_process:
        tmp_result = out / (RESULT_FILE + ".tmp")
        tmp_result.write_text(json.dumps(result.to_dict(), indent=2))
        tmp_result.replace(out / RESULT_FILE)
    accelerator.wait_for_everyone()
    return result


def _last_logged_loss(path: Path) -> float:
    rows = read_log(path)
    return float(rows[-1]["loss"]) if rows else float("nan")
