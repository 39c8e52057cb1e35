"""The paper's selector: greedy max-min (farthest-point) on cosine or Euclidean distance."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unisel.errors import ParameterError
from unisel.select import engine
from unisel.select.base import SELECTORS, Selector

if TYPE_CHECKING:
    from unisel.tokens import TokenBudget


@SELECTORS.register("maxmin")
class MaxMinSelector(Selector):
    r"""Greedy max-min selection (k-center greedy, farthest-point sampling).

    Starting from one record, repeatedly add the record whose minimum cosine distance to the
    records chosen so far is largest:

    .. math:: s_{t} = \arg\max_{i \notin S_{t-1}} \min_{j \in S_{t-1}} \left(1 - \frac{x_i^\top x_j}{\|x_i\|\|x_j\|}\right)

    With ``metric="euclidean"`` the distance is :math:`\lVert x_i - x_j\rVert` on the rows as
    given (the theory's metric; no normalisation). Ties go to the lowest index; distances are
    compared in float64 (see :mod:`unisel.select.engine.reference`). The result is a 2-approximation of the optimal
    covering radius (Gonzalez, 1985) and maximises the subset's minimum pairwise distance
    greedily.

    Parameters
    ----------
    n_samples : int
        Total number of records to select (including ``initial``).
    random_state : int or None
        Draws the first record when ``start`` is None.
    start : int or None
        Index of the first record.
    initial : sequence of int or None
        An existing selection to extend; the greedy continues from it.
    device : {"cpu", "cuda", "auto"}
        Where the engine runs.
    loop : {None, "cpu", "device"}
        Where the greedy steps run: the compiled CPU loop or the torch loop on ``device``
        (:mod:`unisel.select.engine._torch_loop`; "device" with ``device="cpu"`` runs it on
        CPU torch; cosine only). None: the device loop on CUDA devices for cosine, the CPU
        loop otherwise. The selection is the same either way.
    checkpoint : path or None
        File to save the selection state to periodically, and to resume from (it records the
        metric and refuses to resume under another one).
    metric : {"cosine", "euclidean"}
        Distance of the greedy: cosine (default) or Euclidean on the unnormalised rows.

    length_buckets : int or None
        Max-min inside each of this many length buckets (quantiles of ``lengths``), the
        buckets interleaved in proportion to their size in the pool, so that the selection
        keeps the pool's length distribution (see :mod:`unisel.select.buckets`). Not with
        ``start``, ``initial`` or ``checkpoint``; ``distances`` are then each record's
        distance within its bucket (non-increasing per bucket, not overall).
    lengths : ndarray of shape (n,) or None
        Length (token count) of every record, for ``length_buckets``; under a token budget the
        budget's counts are used.

    With a token budget the greedy order is kept and the selection is its longest prefix
    within the budget: the engine stops soon after the first record that would cross it
    (that record is not selected).
    """

    def __init__(
        self,
        n_samples: int,
        *,
        random_state: int | None = 0,
        start: int | None = None,
        initial: Sequence[int] | None = None,
        device: str = "cpu",
        loop: str | None = None,
        checkpoint: str | Path | None = None,
        metric: str = "cosine",
        length_buckets: int | None = None,
        lengths: np.ndarray | None = None,
        quiet: bool = True,
    ) -> None:
        super().__init__(n_samples, random_state=random_state)
        self.length_buckets = length_buckets
        self.lengths = None if lengths is None else np.asarray(lengths)
        self.metric = engine.check_metric(metric)
        self.start = start
        self.initial = None if initial is None else [int(i) for i in initial]
        self.device = device
        self.loop = loop
        self.checkpoint = checkpoint
        self.quiet = quiet
        self.start_: int | None = None

    def get_params(self) -> dict[str, Any]:
        params = super().get_params()
        params.update(
            start=self.start_ if self.start_ is not None else self.start,
            device=self.device,
            metric=self.metric,
        )
        if self.loop is not None:
            params["loop"] = self.loop
        if self.initial is not None:
            params["extends"] = len(self.initial)
        if self.length_buckets is not None:
            params["length_buckets"] = int(self.length_buckets)
        return params

    def _fit(
        self, X: np.ndarray, budget: TokenBudget | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        if self.length_buckets is not None:
            return self._fit_buckets(X, budget)
        n = X.shape[0]
        if self.initial:
            bad = [i for i in self.initial if not 0 <= i < n]
            if bad:
                raise ParameterError(
                    f"the selection to extend has index {bad[0]} outside 0..{n - 1}"
                )
            if len(set(self.initial)) != len(self.initial):
                raise ParameterError("the selection to extend has repeated indices")
            if budget is not None:
                used = int(budget.counts[self.initial].sum())
                if used > budget.budget:
                    raise ParameterError(
                        f"the selection to extend already holds {used} tokens, more than "
                        f"the budget of {budget.budget}"
                    )
            elif len(self.initial) >= self.n_samples:
                raise ParameterError(
                    f"the selection to extend already has {len(self.initial)} records; "
                    f"nothing to add for a total of {self.n_samples}"
                )
            start = self.initial[0]
        elif self.start is not None:
            if not 0 <= self.start < n:
                raise ParameterError(f"start index {self.start} is outside 0..{n - 1}")
            start = int(self.start)
        else:
            start = int(np.random.default_rng(self.random_state).integers(n))
        self.start_ = start
        ranking, gains = engine.maxmin(
            X,
            self.n_samples,
            start=start,
            initial=self.initial,
            device=self.device,
            loop=self.loop,
            checkpoint=self.checkpoint,
            metric=self.metric,
            weights=None if budget is None else budget.counts,
            budget=None if budget is None else budget.budget,
            quiet=self.quiet,
        )
        if budget is not None and ranking.size == 0:
            raise ParameterError(
                f"token budget {budget.budget} is smaller than the first selected record "
                f"(record {start}, {int(budget.counts[start])} tokens)"
            )
        return ranking, gains

    def _fit_budget(
        self, X: np.ndarray, budget: TokenBudget
    ) -> tuple[np.ndarray, np.ndarray | None]:
        return self._fit(X, budget)

    def _fit_buckets(
        self, X: np.ndarray, budget: TokenBudget | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Max-min per length bucket, interleaved in proportion to the buckets' sizes."""
        from unisel.select.buckets import bucket_ids, proportional_labels

        n = X.shape[0]
        if self.initial or self.start is not None or self.checkpoint is not None:
            raise ParameterError(
                "length_buckets cannot be combined with start, initial or checkpoint"
            )
        lengths = budget.counts if budget is not None else self.lengths
        if lengths is None:
            raise ParameterError(
                "length_buckets needs the length of every record (token_counts; "
                "--tokenizer or --tokens on the command line)"
            )
        if np.shape(lengths) != (n,):
            raise ParameterError(f"{np.size(lengths)} lengths for {n} records; give one per record")
        ids = bucket_ids(lengths, int(self.length_buckets or 1))
        labels = proportional_labels(np.bincount(ids), self.n_samples)
        rng = np.random.default_rng(self.random_state)
        order = np.empty(labels.size, dtype=np.int64)
        dist = np.empty(labels.size, dtype=np.float64)
        for b in range(int(ids.max()) + 1):
            rows = np.flatnonzero(ids == b)
            start = int(rng.integers(rows.size))  # drawn for every bucket: stable seeds
            slots = labels == b
            k_b = int(slots.sum())
            if k_b == 0:
                continue
            idx, d = engine.maxmin(
                X[rows], k_b, start=start, device=self.device, metric=self.metric, quiet=self.quiet
            )
            order[slots], dist[slots] = rows[idx], d
        if budget is not None:
            m = budget.prefix_length(order)
            order, dist = order[:m], dist[:m]
        self.start_ = int(order[0])
        return order, dist
