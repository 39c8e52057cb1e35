"""The paper's selector: greedy max-min (farthest-point) on cosine or Euclidean distance."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unisel.errors import ParameterError
from unisel.options import DEFAULT_OUTLIER_NEIGHBORS, DEFAULT_OUTLIER_SAMPLE_SIZE
from unisel.select import engine
from unisel.select.base import SELECTORS, Selector, int_list

if TYPE_CHECKING:
    from unisel.select.admission import Admission
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
        keeps the pool's length distribution (see :mod:`unisel.select.buckets`); a bucket's
        greedy continues from the picks of the shorter buckets. Not with ``start``,
        ``initial`` or ``checkpoint``; ``distances`` are then each record's distance to the
        records of its own and the shorter buckets chosen before it (non-increasing per
        bucket, not overall).
    lengths : ndarray of shape (n,) or None
        Length (token count) of every record, for ``length_buckets``; under a token budget the
        budget's counts are used.
    outliers : float
        Fraction in [0, 1) of the records left out of the candidates as isolated noise: those
        with the largest distance to their ``outlier_neighbors``-th nearest neighbour
        (:mod:`unisel.select.admission`). 0 (default here): every record is a candidate, the
        paper's greedy.
    outlier_neighbors : int
        ``m`` of that isolation score.
    outlier_sample_size : int
        The isolation score is measured against all records up to this many, else against a
        seeded random sample of this many.
    set_aside : sequence of int or None
        Records that are never candidates (what the embedding cannot see: zero vectors,
        near-empty texts), chosen by the caller.

    The greedy is exact over the admitted records (identical to `maxmin_reference` on them).
    When ``n_samples`` exceeds the admitted records, the greedy goes on over all records after
    them, so every ``n_samples`` up to n is possible.

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
        outliers: float = 0.0,
        outlier_neighbors: int = DEFAULT_OUTLIER_NEIGHBORS,
        outlier_sample_size: int = DEFAULT_OUTLIER_SAMPLE_SIZE,
        set_aside: Sequence[int] | None = None,
        quiet: bool = True,
    ) -> None:
        super().__init__(n_samples, random_state=random_state)
        self.outliers = float(outliers)
        self.outlier_neighbors = int(outlier_neighbors)
        self.outlier_sample_size = int(outlier_sample_size)
        self.set_aside = int_list(set_aside)
        self.admission_: Admission | None = None
        self.length_buckets = length_buckets
        self.lengths = None if lengths is None else np.asarray(lengths)
        self.metric = engine.check_metric(metric)
        self.start = start
        self.initial = int_list(initial)
        self.device = device
        self.loop = loop
        self.checkpoint = checkpoint
        self.quiet = quiet
        self.start_: int | None = None

    def manifest_params(self) -> dict[str, Any]:
        params = super().manifest_params()
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
        if self.admission_ is not None:
            params.update(self.admission_.params)
        elif self.outliers > 0 or self.set_aside:
            params.update(outliers=self.outliers, outlier_neighbors=self.outlier_neighbors)
        return params

    def _admit(self, X: np.ndarray) -> Admission | None:
        """The candidates (None: every record, the paper's greedy)."""
        if self.outliers <= 0 and not self.set_aside:
            return None
        from unisel.select.admission import admit  # numba: only when a call needs it

        self.admission_ = admit(
            X,
            outliers=self.outliers,
            n_neighbors=self.outlier_neighbors,
            set_aside=None if not self.set_aside else np.asarray(self.set_aside),
            metric=self.metric,
            sample_size=self.outlier_sample_size,
            random_state=self.random_state,
        )
        return self.admission_

    def _fit(
        self, X: np.ndarray, budget: TokenBudget | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        admission = self._admit(X)
        if self.length_buckets is not None:
            return self._fit_buckets(X, budget, admission)
        n = X.shape[0]
        initial = self._check_initial(n, budget)
        if self.start is not None and not 0 <= self.start < n:
            raise ParameterError(f"start index {self.start} is outside 0..{n - 1}")
        rows = self._candidate_rows(n, admission, initial)
        if initial:
            start = initial[0]
        elif self.start is not None:
            start = int(self.start)
        else:  # with every record a candidate, rows[i] == i: the paper's draw
            start = int(rows[np.random.default_rng(self.random_state).integers(rows.size)])
        self.start_ = start
        whole = rows.size == n  # no copy and no renumbering when every record is a candidate
        local = np.arange(n) if whole else np.full(n, -1, dtype=np.int64)
        local[rows] = np.arange(rows.size)
        k_first = min(self.n_samples, int(rows.size))
        found, gains = engine.maxmin(
            X if whole else X[rows],
            k_first,
            start=int(local[start]),
            initial=None if not initial else local[initial].tolist(),
            device=self.device,
            loop=self.loop,
            checkpoint=self.checkpoint,
            metric=self.metric,
            weights=None if budget is None else budget.counts[rows],
            budget=None if budget is None else budget.budget,
            quiet=self.quiet,
        )
        ranking = rows[found]
        if budget is not None and ranking.size == 0:
            raise ParameterError(
                f"token budget {budget.budget} is smaller than the first selected record "
                f"(record {start}, {int(budget.counts[start])} tokens)"
            )
        if ranking.size == self.n_samples or ranking.size < k_first:
            return ranking, gains  # done, or the token budget stopped it
        # more than the candidates: the greedy goes on over every record after them
        more, more_gains = engine.maxmin(
            X,
            self.n_samples,
            initial=ranking.tolist(),
            device=self.device,
            metric=self.metric,
            weights=None if budget is None else budget.counts,
            budget=None if budget is None else budget.budget,
            quiet=self.quiet,
        )
        return more, np.concatenate([gains, more_gains[ranking.size :]])

    def _check_initial(self, n: int, budget: TokenBudget | None) -> list[int]:
        """The selection to extend, checked against n records and the budget."""
        initial = self.initial or []
        bad = [i for i in initial if not 0 <= i < n]
        if bad:
            raise ParameterError(f"the selection to extend has index {bad[0]} outside 0..{n - 1}")
        if len(set(initial)) != len(initial):
            raise ParameterError("the selection to extend has repeated indices")
        if initial and budget is not None:
            used = int(budget.counts[initial].sum())
            if used > budget.budget:
                raise ParameterError(
                    f"the selection to extend already holds {used} tokens, more than "
                    f"the budget of {budget.budget}"
                )
        elif initial and len(initial) >= self.n_samples:
            raise ParameterError(
                f"the selection to extend already has {len(initial)} records; "
                f"nothing to add for a total of {self.n_samples}"
            )
        return initial

    def _candidate_rows(
        self, n: int, admission: Admission | None, initial: list[int]
    ) -> np.ndarray:
        """The rows the greedy runs over first: every record, or the admitted ones plus the
        records the caller names (the start, an earlier selection)."""
        if admission is None:
            return np.arange(n, dtype=np.int64)
        named = [*initial, *([] if self.start is None or initial else [int(self.start)])]
        rows = np.union1d(admission.rows, np.asarray(named, dtype=np.int64))
        if rows.size == 0:
            raise ParameterError(
                f"no record is a max-min candidate: all {n} are set aside or isolated"
            )
        return rows

    def _fit_budget(
        self, X: np.ndarray, budget: TokenBudget
    ) -> tuple[np.ndarray, np.ndarray | None]:
        return self._fit(X, budget)

    def _fit_buckets(
        self, X: np.ndarray, budget: TokenBudget | None, admission: Admission | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Max-min per length bucket, interleaved in proportion to the buckets' sizes.

        Bucket by bucket (shortest first), each bucket's greedy continues from the records the
        earlier buckets chose, so every pick is the bucket's record farthest from all records
        chosen before it in that bucket order (the subset's h_min is that of one greedy, not
        of B independent ones)."""
        from unisel.select.buckets import bucket_ids, check_length_buckets, proportional_labels

        n_buckets = check_length_buckets(self.length_buckets)
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
        ids = bucket_ids(lengths, n_buckets)
        k_buckets = self.n_samples
        if admission is not None:  # buckets of the candidates only
            ids = np.where(admission.admitted, ids, -1)
            # more than the candidates: the rest come after them, by the plain greedy
            k_buckets = min(self.n_samples, int(admission.admitted.sum()))
        labels = proportional_labels(np.bincount(ids[ids >= 0]), k_buckets)
        rng = np.random.default_rng(self.random_state)
        order = np.empty(labels.size, dtype=np.int64)
        dist = np.empty(labels.size, dtype=np.float64)
        chosen = np.empty(0, dtype=np.int64)  # the earlier buckets' picks
        for b in range(int(ids.max()) + 1):
            rows = np.flatnonzero(ids == b)
            if rows.size == 0:  # a bucket of set-aside or isolated records only
                continue
            start = int(rng.integers(rows.size))  # drawn for every bucket: stable seeds
            slots = labels == b
            k_b = int(slots.sum())
            if k_b == 0:
                continue
            # The bucket's greedy continues from every record the earlier buckets chose, so
            # a record is spread away from all of them, not only from its own length class.
            pool = np.concatenate([chosen, rows])
            idx, d = engine.maxmin(
                X[pool],
                chosen.size + k_b,
                start=start,
                initial=None if chosen.size == 0 else list(range(chosen.size)),
                device=self.device,
                metric=self.metric,
                quiet=self.quiet,
            )
            picks = pool[idx[chosen.size :]]
            order[slots], dist[slots] = picks, d[chosen.size :]
            chosen = np.concatenate([chosen, picks])
        if k_buckets < self.n_samples:
            more, more_dist = engine.maxmin(
                X,
                self.n_samples,
                initial=order.tolist(),
                device=self.device,
                metric=self.metric,
                quiet=self.quiet,
            )
            order, dist = more, np.concatenate([dist, more_dist[k_buckets:]])
        if budget is not None:
            m = budget.prefix_length(order)
            order, dist = order[:m], dist[:m]
        self.start_ = int(order[0])
        return order, dist
