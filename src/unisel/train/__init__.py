"""Supervised fine-tuning of a causal LM on a data file or a subset (``unisel train``).

Public API
----------
- :class:`TrainConfig`, :class:`TrainResult`, :func:`train`
- :func:`evaluate_loss`: held-out objective / cross-entropy / accuracy of a model on examples.
- :func:`read_log`: the per-step log of a run.
- :func:`resolve_model`, :func:`load_model`, :func:`load_tokenizer`: ``smollm2-135m``,
  ``tiny-llama``, local folders, hub names.
- :data:`OBJECTIVES`: ``ce`` (AdamW) and ``l2`` (plain SGD on logit-vs-one-hot squared error).
"""

from unisel.train.models import builtin_model_names, load_model, load_tokenizer, resolve_model
from unisel.train.objectives import OBJECTIVES
from unisel.train.trainer import TrainConfig, TrainResult, evaluate_loss, read_log, train

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
