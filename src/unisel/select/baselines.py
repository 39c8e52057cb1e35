"""The baselines the paper compares against, and a common one it does not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from unisel.select import engine
from unisel.select.base import SELECTORS, Selector

if TYPE_CHECKING:
    from unisel.tokens import TokenBudget


@SELECTORS.register("random")
class RandomSelector(Selector):
    """A uniformly random subset without replacement (``numpy.random.default_rng(random_state)``).

    With k records: ``rng.choice(n, size=k, replace=False)``. With a token budget: the longest
    prefix of ``rng.permutation(n)`` within the budget (records drawn one by one until the next
    would cross it), so the same seed can give another subset than with k.
    """

    def _fit(self, X: np.ndarray) -> tuple[np.ndarray, None]:
        rng = np.random.default_rng(self.random_state)
        return rng.choice(X.shape[0], size=self.n_samples, replace=False), None

    def _fit_budget(self, X: np.ndarray, budget: TokenBudget) -> tuple[np.ndarray, None]:
        order = np.random.default_rng(self.random_state).permutation(X.shape[0])
        return order[: budget.prefix_length(order)], None


@SELECTORS.register("first")
class FirstSelector(Selector):
    """The first k records: the paper's WizardLM baseline (the head of a shuffled file)."""

    def _fit(self, X: np.ndarray) -> tuple[np.ndarray, None]:
        return np.arange(self.n_samples, dtype=np.int64), None


@SELECTORS.register("clustered")
class ClusteredSelector(Selector):
    """The paper's TeaMs-RL baseline: half clustered, half random.

    The clustered half is the ``ceil(k / 2)`` records nearest (cosine) to an anchor record
    drawn at random, the anchor included, which keeps their pairwise distances small (they lie
    in one ball around the anchor). The other half is drawn uniformly from the remaining records.
    The ranking lists the clustered half first, nearest to the anchor first.

    With a token budget B the halves are halves of the tokens: the records nearest the anchor
    while they fit in ``B // 2`` tokens, then the other records in the order of
    ``rng.permutation`` (same generator, after the anchor), and the selection is the longest
    prefix of that order within B.
    """

    def _nearest_first(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        anchor = int(rng.integers(X.shape[0]))
        U = engine.cosine_normalize(X)
        dist = 1.0 - U @ U[anchor]
        dist[anchor] = -np.inf  # the anchor first, even next to exact duplicates
        return np.argsort(dist, kind="stable")

    def _fit(self, X: np.ndarray) -> tuple[np.ndarray, None]:
        rng = np.random.default_rng(self.random_state)
        n, k = X.shape[0], self.n_samples
        n_clustered = (k + 1) // 2
        clustered = self._nearest_first(X, rng)[:n_clustered]
        rest = np.setdiff1d(np.arange(n), clustered, assume_unique=True)
        random_half = rng.choice(rest, size=k - n_clustered, replace=False)
        return np.concatenate([clustered, random_half]), None

    def _fit_budget(self, X: np.ndarray, budget: TokenBudget) -> tuple[np.ndarray, None]:
        rng = np.random.default_rng(self.random_state)
        near = self._nearest_first(X, rng)
        total = np.cumsum(budget.counts[near])
        m = max(1, int(np.searchsorted(total, budget.budget // 2, side="right")))
        rest = np.setdiff1d(np.arange(X.shape[0]), near[:m], assume_unique=True)
        order = np.concatenate([near[:m], rest[rng.permutation(rest.size)]])
        return order[: budget.prefix_length(order)], None


@SELECTORS.register("kmeans")
class KMeansSelector(Selector):
    """The record nearest each of k k-means centroids (on unit-normalised embeddings).

    Centroids come from scikit-learn's ``MiniBatchKMeans`` (``KMeans`` for n <= 20,000).
    When two centroids share a nearest record, the later centroid takes its nearest record not
    yet taken, so the result has k distinct records. Ranking follows the centroid order.

    Parameters
    ----------
    max_iter : int
        Iterations of Lloyd's algorithm (k-means) or mini-batch passes.
    """

    def __init__(self, n_samples: int, *, random_state: int | None = 0, max_iter: int = 50) -> None:
        super().__init__(n_samples, random_state=random_state)
        self.max_iter = max_iter

    def manifest_params(self) -> dict[str, Any]:
        return {**super().manifest_params(), "max_iter": self.max_iter}

    def _fit(self, X: np.ndarray) -> tuple[np.ndarray, None]:
        from sklearn.cluster import KMeans, MiniBatchKMeans
        from sklearn.metrics import pairwise_distances_argmin

        U = engine.cosine_normalize(X, dtype=np.float32)
        n, k = U.shape[0], self.n_samples
        if n <= 20_000:
            model = KMeans(k, n_init=1, max_iter=self.max_iter, random_state=self.random_state)
        else:
            model = MiniBatchKMeans(
                k, n_init=1, max_iter=self.max_iter, random_state=self.random_state, batch_size=4096
            )
        centroids = model.fit(U).cluster_centers_
        nearest = pairwise_distances_argmin(centroids, U)
        taken = np.zeros(n, dtype=bool)
        chosen = np.empty(k, dtype=np.int64)
        for c, i in enumerate(nearest):
            if taken[i]:
                d = np.linalg.norm(U - centroids[c], axis=1)
                d[taken] = np.inf
                i = int(np.argmin(d))
            taken[i] = True
            chosen[c] = i
        return chosen, None
