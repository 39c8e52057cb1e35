"""Uniformity metrics of a full set and its subsets (stage 4 of the pipeline).

All distances are cosine (``1 - cos``) unless the name says Euclidean. For each set:

- ``h_min``: the minimum distance between two distinct records (0 with duplicates);
- nearest-neighbour distances within the set (mean, median);
- covering radius (fill distance) of the set over the full set: the largest distance from a
  record of the full set to its nearest record of the subset (0 for the full set itself);
- identical embeddings (rows equal, bit for bit, to an earlier row: the extra copies), identical
  texts (records whose rendered text equals an earlier record's: the extra copies; only when the
  texts are given) and near duplicates (rows whose nearest other row is within
  ``near_duplicate_threshold``). Different texts can share an embedding (an embedder that
  ignores case, punctuation or what lies past its length limit), so the two counts differ.

Exact up to ``exact_limit`` rows, estimated (and said so) above
----------------------------------------------------------------
A set of at most ``exact_limit`` rows (default :data:`DEFAULT_EXACT_LIMIT`) gets exact
values: the cluster-pruned search of :mod:`unisel.metrics.neighbors` (same values as the
plain float64 computation; quadratic at worst, on rows spread evenly in many dimensions, as
real text embeddings are). A larger set's nearest-neighbour distribution is *estimated*,
and every number says how (``nn_method`` and the table's footnotes):

- ``approximate="sample"`` (default): the exact nearest-neighbour distances of
  ``sample_size`` random rows (``random_state``) against the whole set; mean, median and the
  near-duplicate share come from the sample (the count is the share times the set size);
- ``approximate="hnsw"``: every row's nearest neighbour from an HNSW graph
  (:mod:`unisel.metrics.approximate`, hnswlib or faiss), with its recall measured against exact
  search on ``sample_size`` random queries (``nn_recall``).

h_min is then the smallest distance found, an *upper bound* of the exact value
(``h_min_exact`` False), except when the set has identical embeddings (then 0, exact). The
covering radius and the duplicate counts stay exact at every size (the pruned search only
refines the rows that could be the farthest; rows and texts are hashed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from unisel.errors import ParameterError
from unisel.metrics.neighbors import (
    covering_radius,
    first_copies,
    h_min,
    nearest_neighbor_distances,
    sampled_nearest_distances,
)
from unisel.options import APPROXIMATE_METHODS, DEFAULT_EXACT_LIMIT, DEFAULT_SAMPLE_SIZE

NEAR_DUPLICATE_THRESHOLD = 0.01
#: HNSW graph of ``approximate="hnsw"``: lighter than `approximate_nearest`'s defaults (a 1M-row
#: graph builds in minutes on 2 cores); the recall it reaches is measured and reported.
HNSW_PARAMS = {"M": 16, "ef_construction": 100, "ef_search": 96}


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
    #: Extra copies of an embedding: rows equal, bit for bit, to an earlier row of the set.
    n_identical_embeddings: int
    n_near_duplicates: int
    #: Extra copies of a text: records whose rendered text equals an earlier record's; None
    #: when the texts were not given.
    n_identical_texts: int | None = None
    #: How the nearest-neighbour numbers were found: "exact", "sample" (exact for a random
    #: sample of rows) or "hnsw" (approximate search, recall in ``nn_recall``).
    nn_method: str = "exact"
    #: Rows of the sample ("sample") or queries the HNSW recall was measured on ("hnsw").
    nn_sample_size: int | None = None
    #: HNSW only: share of the measured queries whose distance equals the exact one.
    nn_recall: float | None = None
    #: False: h_min is the smallest distance found, an upper bound of the exact value.
    h_min_exact: bool = True

    @property
    def n_exact_duplicates(self) -> int:
        """The earlier name of `n_identical_embeddings`."""
        return self.n_identical_embeddings


@dataclass
class UniformityReport:
    """Metrics of a full set and its subsets, side by side."""

    sets: list[SetMetrics]
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD
    n_full: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    #: Cosine distance from each record of each set to its nearest other record, shape (size,)
    #: (empty for a set of one record; the sampled rows' or HNSW's distances for an estimated
    #: set, see ``SetMetrics.nn_method``); kept for plots, not part of `to_dict`.
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
        """A plain-text table, one column per set.

        Estimated numbers are marked next to the value (``~`` an estimate from a sample or
        HNSW, ``<=`` an upper bound) and explained in footnotes under the table.
        """

        def est(m: SetMetrics) -> str:
            return "" if m.nn_method == "exact" else "~"

        def bound(m: SetMetrics) -> str:
            return "" if m.h_min_exact else "<="

        rows = [
            ("size", lambda m: f"{m.size:,}"),
            ("NN distances", _method_cell),
            ("h_min (cosine)", lambda m: bound(m) + _fmt(m.h_min_cosine)),
            ("h_min (Euclidean)", lambda m: bound(m) + _fmt(m.h_min_euclidean)),
            ("NN distance, mean", lambda m: est(m) + _fmt(m.nn_mean)),
            ("NN distance, median", lambda m: est(m) + _fmt(m.nn_median)),
            ("covering radius", lambda m: _fmt(m.covering_radius)),
            ("identical text (extra copies)", _identical_texts_cell),
            ("identical embedding (extra copies)", lambda m: f"{m.n_identical_embeddings:,}"),
            (
                f"near duplicates (<= {self.near_duplicate_threshold:g})",
                lambda m: est(m) + f"{m.n_near_duplicates:,}",
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
        lines.extend(self.footnotes())
        return "\n".join(lines)

    def footnotes(self) -> list[str]:
        """One line per set whose nearest-neighbour numbers are estimated (empty if none)."""
        out = []
        for m in self.sets:
            if m.nn_method == "sample":
                out.append(
                    f"~ {m.name}: NN mean, median and near duplicates estimated from the exact "
                    f"nearest-neighbour distances of a random sample of {m.nn_sample_size:,} "
                    f"of {m.size:,} rows (seed {self.extra.get('random_state', 0)})"
                )
            elif m.nn_method == "hnsw":
                out.append(
                    f"~ {m.name}: NN distances from HNSW approximate search "
                    f"({', '.join(f'{k}={v}' for k, v in HNSW_PARAMS.items())}), recall "
                    f"{_fmt(m.nn_recall if m.nn_recall is not None else float('nan'))} "
                    f"measured against exact search on {m.nn_sample_size:,} random rows; "
                    "approximate distances are upper bounds"
                )
            if not m.h_min_exact:
                out.append(
                    f"<= {m.name}: h_min is the smallest distance found, an upper bound of the "
                    "exact value"
                )
        return out


def _fmt(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.4g}"


def _identical_texts_cell(m: SetMetrics) -> str:
    return "n/a" if m.n_identical_texts is None else f"{m.n_identical_texts:,}"


def _method_cell(m: SetMetrics) -> str:
    if m.nn_method == "sample":
        return f"sample {m.nn_sample_size:,}"
    if m.nn_method == "hnsw":
        recall = m.nn_recall if m.nn_recall is not None else float("nan")
        return f"HNSW recall {_fmt(recall)}"
    return "exact"


def count_exact_duplicates(X: np.ndarray) -> int:
    """Rows of ``X`` (n, d) equal, bit for bit, to an earlier row (identical embeddings).

    The extra copies: ``n`` minus the number of distinct rows, so three equal rows count 2.
    Found with `unisel.metrics.neighbors.first_copies` (a 64-bit row hash, then a byte-for-byte
    check of the rows whose hashes collide), so the memory beyond ``X`` is that of those rows.
    """
    X = np.asarray(X)
    n = X.shape[0]
    return int((first_copies(X) != np.arange(n)).sum()) if n > 1 else 0


def text_digests(texts: Sequence[str]) -> np.ndarray:
    """A 16-byte BLAKE2b digest of each text's UTF-8 bytes, for counting identical texts.

    Parameters
    ----------
    texts : sequence of str, length n

    Returns
    -------
    ndarray of shape (n,), dtype ``V16``
        Equal texts have equal digests; unequal ones collide with probability about
        ``n**2 / 2**129``, never in practice.
    """
    digests = b"".join(
        hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=16).digest() for t in texts
    )
    return np.frombuffer(digests, dtype="V16")


def count_identical_texts(texts: Sequence[str] | np.ndarray) -> int:
    """Records whose text equals an earlier record's (the extra copies).

    Parameters
    ----------
    texts : sequence of str, or ndarray of shape (n,) from `text_digests`

    Returns
    -------
    int
        ``n`` minus the number of distinct texts: 0 when every text is different; three
        records of one text count 2.
    """
    digests = _digests(texts)
    return int(digests.shape[0] - np.unique(digests).shape[0]) if digests.shape[0] else 0


def _digests(texts: Sequence[str] | np.ndarray) -> np.ndarray:
    if isinstance(texts, np.ndarray) and texts.dtype == np.dtype("V16"):
        return texts
    return text_digests(list(texts))


@dataclass(frozen=True)
class _Options:
    """The options of :func:`set_metrics` and :func:`uniformity_report` (described there),
    checked once by :func:`_checked`."""

    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD
    exact_limit: int | None = DEFAULT_EXACT_LIMIT
    approximate: str = "sample"
    sample_size: int = DEFAULT_SAMPLE_SIZE
    random_state: int = 0
    backend: str = "numpy"
    n_jobs: int | None = None
    quiet: bool = True


def _checked(opts: _Options) -> _Options:
    """``opts`` checked and normalised; one-line ParameterError for a bad one."""
    exact_limit, approximate, sample_size = opts.exact_limit, opts.approximate, opts.sample_size
    if exact_limit is not None and (
        isinstance(exact_limit, bool) or not isinstance(exact_limit, (int, np.integer))
    ):
        raise ParameterError(f"exact_limit must be an integer or None, got {exact_limit!r}")
    if exact_limit is not None and exact_limit < 2:
        raise ParameterError(
            f"exact_limit must be at least 2 (or None: always exact), got {exact_limit}"
        )
    if approximate not in APPROXIMATE_METHODS:
        raise ParameterError(
            f"approximate must be one of {', '.join(APPROXIMATE_METHODS)}, got {approximate!r}"
        )
    if isinstance(sample_size, bool) or not isinstance(sample_size, (int, np.integer)):
        raise ParameterError(f"sample_size must be an integer, got {sample_size!r}")
    if sample_size < 1:
        raise ParameterError(f"sample_size must be positive, got {sample_size}")
    if opts.n_jobs is not None and opts.n_jobs < 1:
        raise ParameterError(f"n_jobs must be positive (or None: all cores), got {opts.n_jobs}")
    return replace(
        opts,
        exact_limit=None if exact_limit is None else int(exact_limit),
        sample_size=int(sample_size),
        random_state=int(opts.random_state),
    )


def _hnsw_method() -> str:
    """hnswlib when it imports, else faiss' HNSW; one-line error without either."""
    for module in ("hnswlib", "faiss"):
        try:
            __import__(module)
        except ImportError:
            continue
        return module
    raise ParameterError("approximate='hnsw' needs hnswlib or faiss: pip install 'unisel[fast]'")


def set_metrics(
    name: str,
    X_set: np.ndarray,
    X_full: np.ndarray | None = None,
    *,
    texts: Sequence[str] | np.ndarray | None = None,
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD,
    exact_limit: int | None = DEFAULT_EXACT_LIMIT,
    approximate: str = "sample",
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    random_state: int = 0,
    backend: str = "numpy",
    n_jobs: int | None = None,
    quiet: bool = True,
) -> SetMetrics:
    """Metrics of one set.

    Parameters
    ----------
    name : str
    X_set : ndarray of shape (k, d)
        The set's embeddings.
    X_full : ndarray of shape (n, d) or None
        The full set, for the covering radius; None when ``X_set`` is the full set (radius 0).
    texts : sequence of k str, or ndarray of shape (k,) from `text_digests`, optional
        The set's rendered texts, for ``n_identical_texts`` (None without them).
    near_duplicate_threshold, exact_limit, approximate, sample_size, random_state, backend
        As in :func:`uniformity_report`.
    n_jobs, quiet
        As in :func:`uniformity_report`.
    """
    opts = _checked(
        _Options(
            near_duplicate_threshold,
            exact_limit,
            approximate,
            sample_size,
            random_state,
            backend,
            n_jobs,
            quiet,
        )
    )
    digests = None if texts is None else _checked_digests(texts, np.asarray(X_set).shape[0])
    return _set_metrics(name, X_set, X_full, opts, digests)[0]


def _checked_digests(texts: Sequence[str] | np.ndarray, n: int) -> np.ndarray:
    """The digests of ``texts``; ParameterError unless there is one text per row."""
    digests = _digests(texts)
    if digests.shape != (n,):
        raise ParameterError(f"texts must have one text per record ({n}), got {len(digests)}")
    return digests


def _set_metrics(
    name: str,
    X_set: np.ndarray,
    X_full: np.ndarray | None,
    opts: _Options = _Options(),
    digests: np.ndarray | None = None,
) -> tuple[SetMetrics, np.ndarray]:
    """`set_metrics` and the set's nearest-neighbour cosine distances (all rows, or the sample)."""
    near_duplicate_threshold = opts.near_duplicate_threshold
    X_set = np.asarray(X_set)
    k = X_set.shape[0]
    kw: dict[str, Any] = {"backend": opts.backend, "n_jobs": opts.n_jobs, "quiet": opts.quiet}
    n_dup = count_exact_duplicates(X_set)
    nn_cos = np.empty(0)
    method, n_sample, recall, h_exact = "exact", None, None, True
    if k < 2:
        h_cos = h_euc = nn_mean = nn_median = float("nan")
        n_near = 0
    elif opts.exact_limit is None or k <= opts.exact_limit:
        nn_cos = nearest_neighbor_distances(X_set, metric="cosine", **kw)
        h_cos = float(nn_cos.min())
        # a bitwise duplicate is Euclidean distance 0: nothing to search
        h_euc = 0.0 if n_dup else h_min(X_set, metric="euclidean", **kw)
        n_near = int((nn_cos <= near_duplicate_threshold).sum())
    else:
        rng = np.random.default_rng(opts.random_state)
        sample = np.sort(rng.choice(k, size=min(opts.sample_size, k), replace=False))
        if opts.approximate == "sample":
            nn_cos = sampled_nearest_distances(X_set, sample, metric="cosine", **kw)
            method, n_sample = "sample", int(sample.size)
        else:
            from unisel.metrics.approximate import approximate_nearest

            res = approximate_nearest(
                X_set,
                method=_hnsw_method(),
                sample_size=opts.sample_size,
                random_state=opts.random_state,
                M=HNSW_PARAMS["M"],
                ef_construction=HNSW_PARAMS["ef_construction"],
                ef_search=HNSW_PARAMS["ef_search"],
            )
            nn_cos, recall = res.distances, res.recall
            method, n_sample = "hnsw", res.sample_size
        share = float(np.mean(nn_cos <= near_duplicate_threshold))
        n_near = int(round(share * k))
        if n_dup:
            h_cos = h_euc = 0.0
        else:
            # a "sample" of every row is the exact search
            h_exact = method == "sample" and n_sample == k
            h_cos = float(nn_cos.min())
            h_euc = float(sampled_nearest_distances(X_set, sample, metric="euclidean", **kw).min())
    if k >= 2:
        nn_mean, nn_median = float(nn_cos.mean()), float(np.median(nn_cos))
    radius = 0.0 if X_full is None else covering_radius(X_full, X_set, metric="cosine", **kw)
    metrics = SetMetrics(
        name=name,
        size=int(k),
        h_min_cosine=h_cos,
        h_min_euclidean=h_euc,
        nn_mean=nn_mean,
        nn_median=nn_median,
        covering_radius=radius,
        n_identical_embeddings=n_dup,
        n_near_duplicates=n_near,
        n_identical_texts=None if digests is None else count_identical_texts(digests),
        nn_method=method,
        nn_sample_size=n_sample,
        nn_recall=recall,
        h_min_exact=h_exact,
    )
    return metrics, nn_cos


def uniformity_report(
    X_full: np.ndarray,
    subsets: Mapping[str, np.ndarray],
    *,
    texts: Sequence[str] | np.ndarray | None = None,
    full_name: str = "full",
    include_full: bool = True,
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD,
    exact_limit: int | None = DEFAULT_EXACT_LIMIT,
    approximate: str = "sample",
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    random_state: int = 0,
    backend: str = "numpy",
    n_jobs: int | None = None,
    quiet: bool = True,
) -> UniformityReport:
    """Metrics of the full set and each subset.

    Parameters
    ----------
    X_full : ndarray of shape (n, d)
        Embeddings of the full set.
    subsets : mapping of name -> ndarray of shape (k,), int
        Row indices of each subset into ``X_full``.
    texts : sequence of n str, or ndarray of shape (n,) from `text_digests`, optional
        The rendered text of each record of the full set, for each set's
        ``n_identical_texts`` (None, shown ``n/a``, without them).
    full_name : str
        Column name of the full set.
    include_full : bool
        Also report the full set (its covering radius is 0).
    near_duplicate_threshold : float
        Cosine distance at or below which a record counts as a near duplicate of its
        neighbour (default :data:`NEAR_DUPLICATE_THRESHOLD`). This and the keywords below
        are the options of :func:`set_metrics` too.
    exact_limit : int or None
        Largest set whose nearest-neighbour distribution is computed exactly (default
        :data:`DEFAULT_EXACT_LIMIT`); larger sets are estimated with ``approximate`` and
        marked as such. None: always exact (quadratic at worst).
    approximate : {"sample", "hnsw"}
        Estimate above ``exact_limit``: exact distances of a random sample of rows, or HNSW
        search with its recall measured (see the module docstring).
    sample_size : int
        Rows of the sample, or queries of the HNSW recall measurement.
    random_state : int
        Seed of the sample (and of the pruned search's clustering, which changes no value).
    backend : {"numpy", "faiss"}
        Block products of the exact search (same values).
    n_jobs : int, optional
        Threads of the exact search (default: all cores).
    quiet : bool
        No progress bars.

    Returns
    -------
    UniformityReport
        ``extra`` records ``exact_limit``, ``approximate``, ``sample_size``, ``random_state``.

    Raises
    ------
    ParameterError
        A bad option (one line naming it).
    """
    opts = _checked(
        _Options(
            near_duplicate_threshold,
            exact_limit,
            approximate,
            sample_size,
            random_state,
            backend,
            n_jobs,
            quiet,
        )
    )
    digests = None if texts is None else _checked_digests(texts, int(X_full.shape[0]))
    members: dict[str, tuple[np.ndarray, np.ndarray | None, np.ndarray | None]] = {}
    if include_full:
        members[full_name] = (X_full, None, digests)
    for name, idx in subsets.items():
        rows = np.sort(np.asarray(idx, dtype=np.int64))
        members[name] = (
            np.asarray(X_full[rows]),
            X_full,
            None if digests is None else digests[rows],
        )
    sets, nn = [], {}
    for name, (X_set, reference, set_digests) in members.items():
        metrics, nn[name] = _set_metrics(name, X_set, reference, opts, set_digests)
        sets.append(metrics)
    extra: dict[str, Any] = {
        "exact_limit": opts.exact_limit,
        "approximate": opts.approximate,
        "sample_size": opts.sample_size,
        "random_state": opts.random_state,
    }
    if any(m.nn_method == "hnsw" for m in sets):
        extra["hnsw"] = dict(HNSW_PARAMS)
    return UniformityReport(
        sets=sets,
        near_duplicate_threshold=opts.near_duplicate_threshold,
        n_full=int(X_full.shape[0]),
        extra=extra,
        nn_distances=nn,
    )


__all__ = [
    "APPROXIMATE_METHODS",
    "DEFAULT_EXACT_LIMIT",
    "DEFAULT_SAMPLE_SIZE",
    "NEAR_DUPLICATE_THRESHOLD",
    "SetMetrics",
    "UniformityReport",
    "count_exact_duplicates",
    "count_identical_texts",
    "set_metrics",
    "text_digests",
    "uniformity_report",
]
