"""Uniformity metrics of a full set and its subsets (stage 4 of the pipeline).

All distances are cosine (``1 - cos``) unless the name says Euclidean. For each set:

- ``h_min``: the minimum distance between two distinct records (0 with duplicates);
- nearest-neighbour distances within the set (mean, median);
- covering radius (fill distance) of the set over the full set: the largest distance from a
  record of the full set to its nearest record of the subset (0 for the full set itself);
- exact duplicates (rows equal to an earlier row) and near duplicates (rows whose nearest
  other row is within ``near_duplicate_threshold``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from unisel.metrics.neighbors import covering_radius, nearest_neighbor_distances

NEAR_DUPLICATE_THRESHOLD = 0.01


@dataclass
class SetMetrics:
    """Uniformity numbers of one set (full set or subset); distances are cosine unless noted."""

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
    """Metrics of a full set and its subsets, side by side."""

    sets: list[SetMetrics]
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD
    n_full: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    #: Cosine distance from each record of each set to its nearest other record, shape (size,)
    #: (empty for a set of one record); kept for plots, not part of `to_dict`.
    nn_distances: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN, for sets of one record, becomes None)."""
        out = asdict(self)
        del out["nn_distances"]
        for row in out["sets"]:
            for key, value in row.items():
                if isinstance(value, float) and not np.isfinite(value):
                    row[key] = None
        return out

    def __getitem__(self, name: str) -> SetMetrics:
        for row in self.sets:
            if row.name == name:
                return row
        raise KeyError(name)

    def to_table(self) -> str:
        """A plain-text table, one column per set."""
        rows = [
            ("size", lambda m: f"{m.size:,}"),
            ("h_min (cosine)", lambda m: _fmt(m.h_min_cosine)),
            ("h_min (Euclidean)", lambda m: _fmt(m.h_min_euclidean)),
            ("NN distance, mean", lambda m: _fmt(m.nn_mean)),
            ("NN distance, median", lambda m: _fmt(m.nn_median)),
            ("covering radius", lambda m: _fmt(m.covering_radius)),
            ("exact duplicates", lambda m: f"{m.n_exact_duplicates:,}"),
            (
                f"near duplicates (<= {self.near_duplicate_threshold:g})",
                lambda m: f"{m.n_near_duplicates:,}",
            ),
        ]
        header = ["metric", *[m.name for m in self.sets]]
        body = [[label, *[fmt(m) for m in self.sets]] for label, fmt in rows]
        widths = [max(len(r[c]) for r in [header, *body]) for c in range(len(header))]
        lines = [
            "  ".join(
                cell.ljust(w) if c == 0 else cell.rjust(w)
                for c, (cell, w) in enumerate(zip(r, widths, strict=True))
            )
            for r in [header, *body]
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


def _fmt(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.4g}"


def count_exact_duplicates(X: np.ndarray) -> int:
    """Rows of ``X`` (n, d) equal, bit for bit, to an earlier row."""
    if X.shape[0] < 2:
        return 0
    rows = np.ascontiguousarray(X).view(np.dtype((np.void, X.dtype.itemsize * X.shape[1])))
    return int(X.shape[0] - np.unique(rows).shape[0])


def set_metrics(
    name: str,
    X_set: np.ndarray,
    X_full: np.ndarray | None = None,
    *,
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD,
) -> SetMetrics:
    """Metrics of one set.

    Parameters
    ----------
    name : str
    X_set : ndarray of shape (k, d)
        The set's embeddings.
    X_full : ndarray of shape (n, d) or None
        The full set, for the covering radius; None when ``X_set`` is the full set (radius 0).
    near_duplicate_threshold : float
        Cosine distance at or below which a record counts as a near duplicate of its neighbour.
    """
    return _set_metrics(name, X_set, X_full, near_duplicate_threshold)[0]


def _set_metrics(
    name: str, X_set: np.ndarray, X_full: np.ndarray | None, near_duplicate_threshold: float
) -> tuple[SetMetrics, np.ndarray]:
    """`set_metrics` and the set's nearest-neighbour cosine distances, shape (k,)."""
    k = X_set.shape[0]
    nn_cos = np.empty(0)
    if k >= 2:
        nn_cos = nearest_neighbor_distances(X_set, metric="cosine")
        nn_euc = nearest_neighbor_distances(X_set, metric="euclidean")
        h_cos, h_euc = float(nn_cos.min()), float(nn_euc.min())
        nn_mean, nn_median = float(nn_cos.mean()), float(np.median(nn_cos))
        n_near = int((nn_cos <= near_duplicate_threshold).sum())
    else:
        h_cos = h_euc = nn_mean = nn_median = float("nan")
        n_near = 0
    radius = 0.0 if X_full is None else covering_radius(X_full, X_set, metric="cosine")
    metrics = SetMetrics(
        name=name,
        size=int(k),
        h_min_cosine=h_cos,
        h_min_euclidean=h_euc,
        nn_mean=nn_mean,
        nn_median=nn_median,
        covering_radius=radius,
        n_exact_duplicates=count_exact_duplicates(np.asarray(X_set)),
        n_near_duplicates=n_near,
    )
    return metrics, nn_cos


def uniformity_report(
    X_full: np.ndarray,
    subsets: Mapping[str, np.ndarray],
    *,
    full_name: str = "full",
    include_full: bool = True,
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD,
) -> UniformityReport:
    """Metrics of the full set and each subset.

    Parameters
    ----------
    X_full : ndarray of shape (n, d)
        Embeddings of the full set.
    subsets : mapping of name -> ndarray of shape (k,), int
        Row indices of each subset into ``X_full``.
    full_name : str
        Column name of the full set.
    include_full : bool
        Also report the full set (its covering radius is 0).
    near_duplicate_threshold : float
        Cosine distance at or below which a record counts as a near duplicate.

    Returns
    -------
    UniformityReport
    """
    members: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    if include_full:
        members[full_name] = (X_full, None)
    for name, idx in subsets.items():
        rows = np.sort(np.asarray(idx, dtype=np.int64))
        members[name] = (np.asarray(X_full[rows]), X_full)
    sets, nn = [], {}
    for name, (X_set, reference) in members.items():
        metrics, nn[name] = _set_metrics(name, X_set, reference, near_duplicate_threshold)
        sets.append(metrics)
    return UniformityReport(
        sets=sets,
        near_duplicate_threshold=near_duplicate_threshold,
        n_full=int(X_full.shape[0]),
        nn_distances=nn,
    )


__all__ = [
    "NEAR_DUPLICATE_THRESHOLD",
    "SetMetrics",
    "UniformityReport",
    "count_exact_duplicates",
    "set_metrics",
    "uniformity_report",
]
