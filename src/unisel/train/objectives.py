"""Training objectives and the optimiser each is paired with.

``ce``  cross-entropy of the next token, AdamW (betas 0.9/0.999, eps 1e-8, no weight decay by
        default): the practical regime.
``l2``  squared error between the raw logits ``z`` (shape (V,)) and the one-hot next token
        ``e_y``, plain SGD without momentum: the regime the theory speaks of.

Reduction and scaling of ``l2`` (``l2_reduction``)
-------------------------------------------------
``"mean"`` (default)
    ``mean over response tokens of (1/V) * sum_v (z_v - e_y,v)^2``, i.e. ``torch.nn.MSELoss()``
    on the (tokens x vocabulary) matrix, the plain reading of "mean squared error between the
    logits and the one-hot targets". Its gradient on a logit is ``2 (z_v - e_y,v) / (N V)``:
    small, so the loss mostly falls by shrinking all logits of a pretrained model towards zero
    (its logits start far from 0 and 1). Learning rates around 1e-4 suit SmolLM2; 1e-3 already
    wrecks it.
``"sum"``
    ``mean over tokens of sum_v (z_v - e_y,v)^2``: V times larger, same direction. A small model
    tends to collapse to all-zero logits under it.

Either way the per-token value is computed without building the one-hot matrix:
``sum_v (z_v - e_y,v)^2 = sum_v z_v^2 - 2 z_y + 1``. Cross-entropy and next-token accuracy are
computed beside every objective so runs stay comparable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from unisel.errors import ParameterError
from unisel.train.data import IGNORE


@dataclass
class TokenStats:
    """Sums over the response tokens of one micro-batch (divide by ``n_tokens`` for means).

    ``loss_sum`` carries the gradient; the others are detached floats.
    """

    loss_sum: torch.Tensor
    ce_sum: float
    n_correct: int
    n_tokens: int


def shifted_targets(
    logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits at the response positions and their next-token targets.

    Parameters
    ----------
    logits : Tensor of shape (B, T, V)
    labels : Tensor of shape (B, T), ``-100`` where no loss is taken

    Returns
    -------
    z : Tensor of shape (N, V), float32
        Logits that predict a response token (position t predicts ``labels[t + 1]``).
    y : Tensor of shape (N,), int64
    """
    z = logits[:, :-1, :]
    y = labels[:, 1:]
    keep = y != IGNORE
    return z[keep].float(), y[keep]


def l2_token_losses(z: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Per-token squared error between logits and one-hot targets, shape (N,).

    ``reduction="mean"`` divides the sum over the vocabulary by V; ``"sum"`` does not.
    """
    per = (z * z).sum(dim=-1) - 2.0 * z.gather(1, y[:, None]).squeeze(1) + 1.0
    if reduction == "mean":
        return per / z.shape[-1]
    if reduction == "sum":
        return per
    raise ParameterError(f"l2_reduction must be 'mean' or 'sum', got {reduction!r}")


def token_stats(
    logits: torch.Tensor, labels: torch.Tensor, objective: str, *, l2_reduction: str = "mean"
) -> TokenStats:
    """Objective, cross-entropy and accuracy sums over the response tokens of a batch."""
    z, y = shifted_targets(logits, labels)
    ce = F.cross_entropy(z, y, reduction="sum")
    if objective == "ce":
        loss = ce
    elif objective == "l2":
        loss = l2_token_losses(z, y, l2_reduction).sum()
    else:
        raise ParameterError(f"unknown objective {objective!r}; known: {', '.join(OBJECTIVES)}")
    with torch.no_grad():
        correct = int((z.argmax(dim=-1) == y).sum())
    return TokenStats(loss, float(ce.detach()), correct, int(y.numel()))


def _adamw(params: Any, lr: float, cfg: Any) -> torch.optim.Optimizer:
    return torch.optim.AdamW(
        params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=cfg.weight_decay
    )


def _sgd(params: Any, lr: float, cfg: Any) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, momentum=0.0, weight_decay=cfg.weight_decay)


@dataclass(frozen=True)
class Objective:
    """An objective name, its optimiser and its default learning rate."""

    name: str
    make_optimizer: Any
    default_lr: float


OBJECTIVES: dict[str, Objective] = {
    "ce": Objective("ce", _adamw, 2e-5),
    "l2": Objective("l2", _sgd, 1e-4),
}


def get_objective(name: str) -> Objective:
    """The objective registered under ``name``."""
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise ParameterError(
            f"unknown objective {name!r}; known: {', '.join(OBJECTIVES)}"
        ) from None
