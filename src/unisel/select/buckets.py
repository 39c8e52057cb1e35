"""Length buckets for max-min: keep the pool's length distribution in the selection.

Max-min on text embeddings can shift what it selects towards short (or long) records. With
``length_buckets=B`` the records are split into B buckets by length (quantiles of the token
counts; equal counts share a bucket), max-min runs inside each bucket, and the buckets'
greedy sequences are interleaved so that *every prefix* holds each bucket in proportion to its
size in the pool: at position t the next record comes from the bucket furthest behind its
share, i.e. with the largest ``(t + 1) * n_b / n - taken_b`` (ties to the lower bucket; a
full bucket is skipped). So a selection of k records has ``k * n_b / n`` records of bucket b
within one record (tested), and a token budget (the longest prefix within the budget) keeps the
same proportions.
"""

from __future__ import annotations

import numpy as np

from unisel.errors import ParameterError


def bucket_ids(lengths: np.ndarray, n_buckets: int) -> np.ndarray:
    """Bucket of each record, 0 (shortest) .. at most ``n_buckets - 1``, shape (n,).

    Edges are the ``i / n_buckets`` quantiles of ``lengths``; a record whose length equals an
    edge goes to the bucket above it, so equal lengths always share a bucket (there can be
    fewer non-empty buckets than asked for). Bucket ids are renumbered to be consecutive.
    """
    if isinstance(n_buckets, bool) or not isinstance(n_buckets, (int, np.integer)):
        raise ParameterError(f"length_buckets must be an integer, got {n_buckets!r}")
    if n_buckets < 1:
        raise ParameterError(f"length_buckets must be at least 1, got {n_buckets}")
    lengths = np.asarray(lengths)
    edges = np.quantile(lengths, np.arange(1, n_buckets) / n_buckets)
    raw = np.searchsorted(edges, lengths, side="right")
    _, ids = np.unique(raw, return_inverse=True)
    return ids.astype(np.int64).reshape(-1)


def proportional_labels(sizes: np.ndarray, length: int) -> np.ndarray:
    """Bucket of each of the first ``length`` positions of the interleaved order, shape (length,).

    ``sizes[b]`` is bucket b's number of records; see the module docstring for the rule.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    n = int(sizes.sum())
    if not 0 <= length <= n:
        raise ParameterError(f"cannot place {length} records in buckets of {n}")
    taken = np.zeros_like(sizes)
    out = np.empty(length, dtype=np.int64)
    for t in range(length):
        # integer form of (t + 1) * n_b / n - taken_b, full buckets excluded
        deficit = (t + 1) * sizes - taken * n
        deficit[taken >= sizes] = np.iinfo(np.int64).min
        b = int(np.argmax(deficit))
        out[t] = b
        taken[b] += 1
    return out
