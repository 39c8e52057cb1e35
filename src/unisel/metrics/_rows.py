"""Rows of a user array as the nearest-neighbour searches read them.

Shared by :mod:`unisel.metrics.neighbors` (the plain kernels, the dispatch) and
:mod:`unisel.metrics._pruned` (the cluster-pruned search), so that neither imports the other
for it: the neighbours module calls the pruned search, never the other way round.
"""

from __future__ import annotations

import numpy as np

from unisel.errors import ParameterError


class _Rows:
    """Rows of a user array prepared on demand (no full float64 copy): float64 unit rows for
    cosine (as `cosine_normalize`), float64 raw rows for Euclidean, and their float32 rounding.
    """

    def __init__(self, X: np.ndarray, metric: str) -> None:
        self.X = np.asarray(X)
        if self.X.ndim != 2:
            raise ParameterError(f"embeddings must be a 2-D array, got shape {self.X.shape}")
        self.metric = metric
        self.shape = self.X.shape
        n = self.X.shape[0]
        self.nrm = np.ones(n)
        self.sq = np.empty(n)
        step = 8192
        for lo in range(0, n, step):
            block = np.asarray(self.X[lo : lo + step], dtype=np.float64)
            if metric == "cosine":
                norms = np.linalg.norm(block, axis=1)
                norms[norms == 0] = 1.0
                self.nrm[lo : lo + step] = norms
                block = block / norms[:, None]
            self.sq[lo : lo + step] = np.einsum("ij,ij->i", block, block)

    def f64(self, rows: np.ndarray | slice) -> np.ndarray:
        block = np.asarray(self.X[rows], dtype=np.float64)
        if self.metric == "cosine":
            block = block / self.nrm[rows][:, None]
        return block

    def f32(self, rows: np.ndarray | slice) -> np.ndarray:
        return self.f64(rows).astype(np.float32)
