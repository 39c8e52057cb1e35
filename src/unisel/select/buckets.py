"""Length buckets for max-min: keep the pool's length distribution in the selection.

Max-min on text embeddings can shift what it selects towards short (or long) records. With
``length_buckets=B`` the records are split into B buckets by length (quantiles of the token
counts; equal counts share a bucket), max-min runs inside each bucket, and the buckets'
greedy sequences are interleaved so that *every prefix* holds each bucket in proportion to its
size in the pool: after t positions, ``|taken_b - t * n_b / n| <= 1`` for every bucket b.

The interleaving is an earliest-deadline-first schedule. Bucket b's j-th record may take
position t once ``t * n_b / n >= j - 1`` (so it never runs more than one record ahead) and must
have taken one by position ``floor(j * n / n_b) + 1`` (so it never falls more than one behind);
at each position the open bucket with the earliest deadline goes next (ties to the lower
bucket). A sequence within ``1 - 1 / (2B - 2)`` of every share exists (Tijdeman's chairman
assignment theorem), so these unit jobs are feasible, and earliest-deadline-first meets every
deadline of a feasible set of unit jobs with integer release times. (Taking the bucket furthest
behind its share instead can fall 1.03 records behind, with shares 1, 1, 1, 14, 14.) So a
selection of k records has ``k * n_b / n`` records of bucket b within one record (tested), and
a token budget (the longest prefix within the budget) keeps the same proportions.
"""

from __future__ import annotations

import numpy as np

from unisel.errors import ParameterError


def check_length_buckets(n_buckets: object) -> int:
    """``length_buckets`` as an int of at least 2; a one-line ParameterError otherwise.

    One bucket is refused rather than taken as plain maxmin: it would still need every
    record's length and refuse a start, an extension or a checkpoint, so it is not the same.
    """
    if isinstance(n_buckets, bool) or not isinstance(n_buckets, (int, np.integer)):
        raise ParameterError(f"length_buckets must be an integer, got {n_buckets!r}")
    if n_buckets < 2:
        raise ParameterError(
            f"length_buckets must be at least 2, got {n_buckets} (without buckets, leave "
            "--length-buckets out)"
        )
    return int(n_buckets)


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
    never = np.iinfo(np.int64).max
    for t in range(1, length + 1):
        # the next record of each bucket: released once t n_b >= (j - 1) n, due by
        # floor(j n / n_b) + 1 (integer forms of the module docstring's rule)
        j = taken + 1
        released = (taken < sizes) & (t * sizes >= (j - 1) * n)
        due = np.where(released, (j * n) // np.maximum(sizes, 1), never)
        b = int(np.argmin(due))
        out[t - 1] = b
        taken[b] += 1
    return out
