"""Uniformity metrics of subsets of an embedded data set.

TEMPORARY SHIM (report branch, issue 4): a minimal ``uniformity_report`` with the agreed
signature so the report can be built and tested before the metrics package lands. The lead
replaces this whole file with the real implementation on merge; nothing but the names
``uniformity_report``, ``UniformityReport`` and ``SetMetrics`` is relied on by the report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from unisel.metrics.neighbors import covering_radius, h_min, nearest_neighbor_distances

# Cosine nearest-neighbour distance below which two records count as near duplicates.
NEAR_DUPLICATE_COSINE = 1e-3


@dataclass
class SetMetrics:
    """Uniformity numbers of one set (cosine distances unless the name says Euclidean)."""

    name: str
    size: int
    h_min_cosine: float
    h_min_euclidean: float
    nn_mean: float
    nn_median: float
    covering_radius: float
    n_exact_duplicates: int
    n_near_duplicates: int


@dataclass
class UniformityReport:
    """Metrics of the full set and each subset, full set first."""

    sets: list[SetMetrics]

    def to_dict(self) -> dict[str, list[dict[str, object]]]:
        return {"sets": [asdict(s) for s in self.sets]}

    def to_table(self) -> str:
        cols = list(asdict(self.sets[0]).keys()) if self.sets else []
        lines = ["\t".join(cols)]
        lines += ["\t".join(str(v) for v in asdict(s).values()) for s in self.sets]
        return "\n".join(lines)


def _set_metrics(name: str, X_full: np.ndarray, idx: np.ndarray) -> SetMetrics:
    Xs = np.asarray(X_full[idx])
    n = Xs.shape[0]
    if n >= 2:
        nn = nearest_neighbor_distances(Xs)
        nn_mean, nn_median = float(nn.mean()), float(np.median(nn))
        n_near = int((nn < NEAR_DUPLICATE_COSINE).sum())
        h_cos = float(nn.min())
    else:
        nn_mean = nn_median = h_cos = float("nan")
        n_near = 0
    n_exact = n - int(np.unique(Xs, axis=0).shape[0]) if n else 0
    return SetMetrics(
        name=name,
        size=n,
        h_min_cosine=h_cos,
        h_min_euclidean=h_min(Xs, metric="euclidean"),
        nn_mean=nn_mean,
        nn_median=nn_median,
        covering_radius=covering_radius(X_full, Xs) if n else float("nan"),
        n_exact_duplicates=n_exact,
        n_near_duplicates=n_near,
    )


def uniformity_report(
    X_full: np.ndarray, subsets: dict[str, np.ndarray], *, full_name: str = "full"
) -> UniformityReport:
    """Metrics of ``X_full`` (n, d) and of each subset (row indices into it), full set first."""
    n = X_full.shape[0]
    sets = [_set_metrics(full_name, X_full, np.arange(n))]
    sets += [_set_metrics(name, X_full, np.asarray(idx)) for name, idx in subsets.items()]
    return UniformityReport(sets=sets)
