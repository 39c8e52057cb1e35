"""Supervised fine-tuning of a causal LM on a data file or a subset (``unisel train``).

Public API
----------
- :class:`TrainConfig`, :class:`TrainResult`, :func:`train`
- :func:`evaluate_loss`: held-out objective / cross-entropy / accuracy of a model on examples.
- :func:`read_log`: the per-step log of a run.
- :func:`resolve_model`, :func:`load_model`, :func:`load_tokenizer`: ``smollm2-135m``,
  ``tiny-llama``, local folders, hub names.
- :data:`OBJECTIVES`: ``ce`` (AdamW) and ``l2`` (plain SGD on logit-vs-one-hot squared error).

The names are imported on first use (PEP 562), so ``import unisel.train.config`` (what the command
line needs for ``--help``) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from unisel.train.config import TrainConfig
    from unisel.train.models import (
        builtin_model_names,
        load_model,
        load_tokenizer,
        resolve_model,
    )
    from unisel.train.objectives import OBJECTIVES
    from unisel.train.trainer import TrainResult, evaluate_loss, read_log, train

_HOME = {
    "OBJECTIVES": "unisel.train.objectives",
    "TrainConfig": "unisel.train.config",
    "TrainResult": "unisel.train.trainer",
    "builtin_model_names": "unisel.train.models",
    "evaluate_loss": "unisel.train.trainer",
    "load_model": "unisel.train.models",
    "load_tokenizer": "unisel.train.models",
    "read_log": "unisel.train.trainer",
    "resolve_model": "unisel.train.models",
    "train": "unisel.train.trainer",
}

__all__ = [
    "OBJECTIVES",
    "TrainConfig",
    "TrainResult",
    "builtin_model_names",
    "evaluate_loss",
    "load_model",
    "load_tokenizer",
    "read_log",
    "resolve_model",
    "train",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'unisel.train' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
