"""The settings of a training run (`TrainConfig`), importable without torch.

The command line reads its defaults from here to build ``unisel train --help``, so this module
imports nothing beyond the standard library; the checks that need the objectives import them
when called.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from unisel.errors import ParameterError


@dataclass
class TrainConfig:
    """Everything that defines a fine-tuning run.

    Parameters
    ----------
    data : str
        Data file (JSON, JSONL, Parquet, CSV), data set folder, or subset manifest.
    output : str
        Run folder (created; a rerun with the same config resumes or returns the finished run).
    model : str
        ``smollm2-135m``, ``tiny-llama``, a local folder or a hub name.
    schema, text_field : str or None
        Passed to :func:`unisel.io.read_records` (auto-detected when None).
    limit : int or None
        Train on the first ``limit`` records only.
    objective : {"ce", "l2"}
        Cross-entropy with AdamW, or logit-vs-one-hot squared error with plain SGD.
    l2_reduction : {"mean", "sum"}
        Scaling of the L2 loss over the vocabulary (see :mod:`unisel.train.objectives`).
    max_length : int
        Tokens per sequence; longer ones are truncated (the tail is cut).
    batch_size : int
        Sequences per micro-batch per process.
    grad_accum : int
        Micro-batches per optimiser step.
    lr : float or None
        Peak learning rate (None: 2e-5 for ``ce``, 1e-4 for ``l2``).
    warmup_steps : int
        Linear warm-up from 0 (``transformers``' constant-with-warm-up schedule: step s < W uses
        ``lr * s / W``), then constant.
    epochs : float
        Passes over the data; ignored when ``max_steps`` is given.
    max_steps : int or None
        Optimiser steps to run.
    seed : int
        Seeds data order, LoRA initialisation and every other random choice.
    max_grad_norm : float or None
        Gradient-norm clipping (None or 0: off).
    weight_decay : float
    lora : bool
        Train a LoRA adapter (peft) instead of all weights.
    lora_r, lora_alpha, lora_dropout, lora_target : LoRA settings (``lora_target`` is a
        comma-separated list of module names or ``all-linear``).
    gradient_checkpointing : bool
    mixed_precision : {"no", "fp16", "bf16"} or None
        None takes accelerate's configuration.
    save_every : int
        Steps between checkpoints (0: only the final state).
    keep_checkpoint : bool
        Keep ``checkpoint/`` after the run ends.
    save_model : bool
        Write the trained model to ``model/``.
    eval_data : str or None
        Held-out data (same schema rules as ``data``).
    eval_every : int
        Steps between held-out evaluations (0: only at the end).
    eval_batch_size : int or None
        Defaults to ``batch_size``.
    quiet : bool
        No progress bar.
    """

    data: str
    output: str
    model: str = "smollm2-135m"
    schema: str | None = None
    text_field: str | None = None
    limit: int | None = None
    objective: str = "ce"
    l2_reduction: str = "mean"
    max_length: int = 512
    batch_size: int = 8
    grad_accum: int = 1
    lr: float | None = None
    warmup_steps: int = 2
    epochs: float = 1.0
    max_steps: int | None = None
    seed: int = 0
    max_grad_norm: float | None = 1.0
    weight_decay: float = 0.0
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target: str = "all-linear"
    gradient_checkpointing: bool = False
    mixed_precision: str | None = None
    save_every: int = 100
    keep_checkpoint: bool = False
    save_model: bool = True
    eval_data: str | None = None
    eval_every: int = 0
    eval_batch_size: int | None = None
    quiet: bool = False

    def resolved_lr(self) -> float:
        from unisel.train.objectives import get_objective

        return float(self.lr) if self.lr is not None else get_objective(self.objective).default_lr

    def check(self) -> None:
        """Raise ParameterError on values out of range."""
        from unisel.train.objectives import get_objective

        get_objective(self.objective)
        positive = {
            "max_length": self.max_length,
            "batch_size": self.batch_size,
            "grad_accum": self.grad_accum,
        }
        for name, value in positive.items():
            if value < 1:
                raise ParameterError(f"{name} must be at least 1, got {value}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ParameterError(f"max_steps must be at least 1, got {self.max_steps}")
        if self.max_steps is None and not self.epochs > 0:
            raise ParameterError(f"epochs must be positive, got {self.epochs}")
        if self.resolved_lr() <= 0:
            raise ParameterError(f"lr must be positive, got {self.lr}")
        for name in ("warmup_steps", "save_every", "eval_every"):
            if getattr(self, name) < 0:
                raise ParameterError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.l2_reduction not in ("mean", "sum"):
            raise ParameterError(f"l2_reduction must be 'mean' or 'sum', got {self.l2_reduction!r}")
        if self.mixed_precision not in (None, "no", "fp16", "bf16"):
            raise ParameterError(
                f"mixed_precision must be no, fp16 or bf16, got {self.mixed_precision!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ParameterError(f"unknown training setting {unknown[0]!r}")
        return cls(**data)
