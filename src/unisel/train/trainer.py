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
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unisel._progress import progress_bar
from unisel.errors import ParameterError
from unisel.io.atomic import atomic_output, atomic_write_text
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
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))


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
    atomic_write_text(saved, json.dumps(cfg.to_dict(), indent=2))
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


@dataclass
class _Run:
    """What a training run holds between its steps (built by `_setup`).

    ``per_proc`` examples per process and step (``batch_size * grad_accum``), ``global_batch``
    over all processes; ``total`` steps; the example stream ends at position ``stream_end``.
    ``start``, ``seconds`` and ``tokens_total`` come from the checkpoint the run resumes.
    """

    cfg: TrainConfig
    out: Path
    accelerator: Any
    tokenizer: Any
    model: Any
    optimizer: Any
    examples: list[Any]
    eval_examples: list[Any] | None
    n_skipped: int
    lr: float
    per_proc: int
    global_batch: int
    total: int
    stream_end: int
    start: int = 0
    seconds: float = 0.0
    tokens_total: int = 0
    last_loss: float = math.nan

    @property
    def n(self) -> int:
        return len(self.examples)

    @property
    def pad_id(self) -> Any:
        return self.tokenizer.pad_token_id

    @property
    def main(self) -> bool:
        return bool(self.accelerator.is_main_process)


@contextlib.contextmanager
def _shared_output(accelerator: Any, path: Path) -> Iterator[Path]:
    """`atomic_output` for a folder that every process writes into.

    The main process stages the folder and renames it onto ``path`` when the block ends; the
    other processes write into the main process's staging folder (its name is broadcast), so
    the files of all processes land in one folder and appear together.
    """
    from accelerate.utils import broadcast_object_list

    if accelerator.is_main_process:
        with atomic_output(path, replace_dir=True) as tmp:
            broadcast_object_list([str(tmp)])
            yield tmp
    else:
        yield Path(broadcast_object_list([None])[0])


def _setup(cfg: TrainConfig, out: Path) -> _Run:
    """Accelerator, tokenizer, examples, model and optimiser; the state of a checkpoint."""
    import transformers
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from unisel.train.models import load_model, load_tokenizer
    from unisel.train.objectives import get_objective

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
    run = _Run(
        cfg=cfg,
        out=out,
        accelerator=accelerator,
        tokenizer=tokenizer,
        model=model,
        optimizer=optimizer,
        examples=examples,
        eval_examples=eval_examples,
        n_skipped=n_skipped,
        lr=lr,
        per_proc=per_proc,
        global_batch=global_batch,
        total=total,
        # epochs: the stream stops after round(epochs * n) examples (a smaller last step)
        stream_end=total * global_batch if cfg.max_steps else max(1, round(cfg.epochs * n)),
    )
    ckpt = out / CHECKPOINT_DIR
    if (ckpt / STATE_FILE).is_file():
        accelerator.load_state(str(ckpt))
        state = json.loads((ckpt / STATE_FILE).read_text())
        run.start, run.seconds, run.tokens_total = state["step"], state["seconds"], state["tokens"]
    if run.main:
        _truncate_log(out / LOG_FILE, run.start)
        _truncate_log(out / EVAL_FILE, run.start)
    return run


def _save_checkpoint(run: _Run, step: int) -> None:
    """Save the resumable state of every process as ``checkpoint/`` (replaced atomically)."""
    acc = run.accelerator
    acc.wait_for_everyone()
    with _shared_output(acc, run.out / CHECKPOINT_DIR) as tmp:
        acc.save_state(str(tmp), safe_serialization=True)
        if run.main:
            state = {"step": step, "seconds": run.seconds, "tokens": run.tokens_total}
            (tmp / STATE_FILE).write_text(json.dumps(state))
        acc.wait_for_everyone()  # every process has written its part before the rename
    acc.wait_for_everyone()


def _held_out(run: _Run, step: int) -> dict[str, float] | None:
    """Evaluate on the held-out examples and log the result (None without held-out data)."""
    if not run.eval_examples:
        return None
    cfg = run.cfg
    res = evaluate_loss(
        run.model,
        run.eval_examples,
        objective=cfg.objective,
        l2_reduction=cfg.l2_reduction,
        batch_size=cfg.eval_batch_size or cfg.batch_size,
        pad_id=run.pad_id,
        accelerator=run.accelerator,
    )
    if run.main:
        _append(run.out / EVAL_FILE, {"step": step, "seconds": run.seconds, **res})
    return res


def _micro_batches(run: _Run, step: int) -> tuple[list[dict[str, Any]], float]:
    """This process's micro-batches of ``step`` and their weight (0: nothing left to train)."""
    from unisel.train.data import collate

    cfg = run.cfg
    pos = step * run.global_batch + run.accelerator.process_index * run.per_proc
    idx = stream_indices(run.n, cfg.seed, pos, max(pos, min(pos + run.per_proc, run.stream_end)))
    # A process with nothing left in the last step still runs one example, weighted 0, so
    # that every process takes part in the gradient synchronisation.
    weight = 1.0 if idx.size else 0.0
    if not idx.size:
        idx = np.zeros(1, dtype=np.int64)
    micro = [
        collate([run.examples[i] for i in idx[lo : lo + cfg.batch_size]], run.pad_id)
        for lo in range(0, idx.size, cfg.batch_size)
    ]
    return micro, weight


def _step(run: _Run, step: int) -> dict[str, Any]:
    """One optimiser step (token-weighted over its micro-batches); returns its log row."""
    import torch

    from unisel.train.objectives import token_stats

    cfg, acc, model = run.cfg, run.accelerator, run.model
    micro, weight = _micro_batches(run, step)
    local_tokens = int(weight) * sum(int((m["labels"][:, 1:] != -100).sum()) for m in micro)
    step_tokens = int(acc.reduce(torch.tensor(local_tokens, device=acc.device), reduction="sum"))
    step_lr = lr_at(step, run.lr, cfg.warmup_steps)
    for group in run.optimizer.param_groups:
        group["lr"] = step_lr

    t0 = time.perf_counter()
    sums = torch.zeros(3, dtype=torch.float64, device=acc.device)
    for j, mb in enumerate(micro):
        mb = {k: v.to(acc.device) for k, v in mb.items()}
        # Gradients sync across processes on the last micro-batch only.
        sync = contextlib.nullcontext() if j == len(micro) - 1 else acc.no_sync(model)
        with sync:
            with acc.autocast():
                logits = model(
                    input_ids=mb["input_ids"], attention_mask=mb["attention_mask"]
                ).logits
            st = token_stats(logits, mb["labels"], cfg.objective, l2_reduction=cfg.l2_reduction)
            # DDP averages gradients over processes; scale back to a sum over the step's tokens.
            loss = st.loss_sum * (weight * acc.num_processes / step_tokens)
            acc.backward(loss)
        sums += weight * torch.tensor(
            [float(st.loss_sum.detach()), st.ce_sum, st.n_correct],
            dtype=torch.float64,
            device=acc.device,
        )
        del logits, loss, st
    if cfg.max_grad_norm:
        acc.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
    run.optimizer.step()
    run.optimizer.zero_grad(set_to_none=True)
    run.seconds += time.perf_counter() - t0

    sums = acc.reduce(sums, reduction="sum")
    run.tokens_total += step_tokens
    run.last_loss = float(sums[0]) / step_tokens
    return {
        "step": step + 1,
        "loss": run.last_loss,
        "ce": float(sums[1]) / step_tokens,
        "accuracy": float(sums[2]) / step_tokens,
        "tokens": step_tokens,
        "lr": step_lr,
        "seconds": round(run.seconds, 4),
        "epoch": round(min((step + 1) * run.global_batch, run.stream_end) / run.n, 4),
    }


def _save_model(run: _Run) -> str:
    """Save the model (LoRA merged) and tokenizer as ``model/`` (replaced atomically)."""
    acc = run.accelerator
    unwrapped = acc.unwrap_model(run.model)
    if run.cfg.lora:
        unwrapped = unwrapped.merge_and_unload()
    with _shared_output(acc, run.out / MODEL_DIR) as tmp:
        unwrapped.save_pretrained(tmp, is_main_process=run.main, save_function=acc.save)
        if run.main:
            run.tokenizer.save_pretrained(tmp)
    return str(run.out / MODEL_DIR)


def _finish(run: _Run) -> TrainResult:
    """Final held-out evaluation, model, checkpoint, ``result.json`` (which marks the run done)."""
    cfg, out = run.cfg, run.out
    final_eval = _held_out(run, run.total)
    model_path = _save_model(run) if cfg.save_model else None
    if cfg.keep_checkpoint:
        _save_checkpoint(run, run.total)
    elif run.main:
        shutil.rmtree(out / CHECKPOINT_DIR, ignore_errors=True)
    result = TrainResult(
        output=str(out),
        steps=run.total,
        seconds=run.seconds,
        tokens=run.tokens_total,
        n_examples=run.n,
        n_skipped=run.n_skipped,
        final_loss=run.last_loss if run.start < run.total else _last_logged_loss(out / LOG_FILE),
        heldout=final_eval,
        model_path=model_path,
        resumed_from=run.start,
    )
    if run.main:
        atomic_write_text(out / RESULT_FILE, json.dumps(result.to_dict(), indent=2))
    run.accelerator.wait_for_everyone()
    return result


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
    run = _setup(config, out)
    cfg = run.cfg
    bar = progress_bar(
        total=run.total,
        initial=run.start,
        desc=f"train {out.name}",
        quiet=cfg.quiet or not run.main,
        unit="step",
    )
    for step in range(run.start, run.total):
        row = _step(run, step)
        if run.main:
            _append(out / LOG_FILE, row)
        bar.update(1)
        bar.set_postfix(loss=f"{run.last_loss:.4f}")
        if not math.isfinite(run.last_loss):
            bar.close()
            raise ParameterError(
                f"the {cfg.objective} loss diverged at step {step + 1} (lr={run.lr:g}); "
                "lower the learning rate"
            )
        if on_step is not None:
            on_step(row)
        done = step + 1 == run.total
        if cfg.eval_every and (step + 1) % cfg.eval_every == 0 and not done:
            _held_out(run, step + 1)
        if cfg.save_every and (step + 1) % cfg.save_every == 0 and not done:
            _save_checkpoint(run, step + 1)
    bar.close()
    return _finish(run)


def _last_logged_loss(path: Path) -> float:
    rows = read_log(path)
    return float(rows[-1]["loss"]) if rows else float("nan")
