"""Mean pooling of table rows per record, vectorised (a sparse count matrix times the table)."""

from __future__ import annotations

import numpy as np

_BLOCK_TOKENS = 1 << 20
"""Tokens pooled per sparse product: bounds the temporaries (about 12 bytes a token)."""


def mean_pool(ids: np.ndarray, indptr: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The mean of ``table[ids[indptr[i]:indptr[i + 1]]]`` for every record ``i``.

    Sums are accumulated in float64 (a record of a million tokens loses nothing to float32
    rounding) and cast to float32 at the end. The order of the additions is fixed by the input,
    so the result is the same bytes on every run.

    Parameters
    ----------
    ids : ndarray of shape (n_tokens,), integer
        Row of ``table`` for each token, records one after the other; all in
        ``[0, table.shape[0])``.
    indptr : ndarray of shape (n + 1,), integer
        Record ``i``'s tokens are ``ids[indptr[i]:indptr[i + 1]]``; ``indptr[0] == 0``,
        non-decreasing, ``indptr[-1] == n_tokens``.
    table : ndarray of shape (vocab, dim)

    Returns
    -------
    ndarray of shape (n, dim), float32; the zero vector for a record with no token.
    """
    from scipy import sparse

    ids = np.asarray(ids)
    indptr = np.asarray(indptr, dtype=np.int64)
    n, vocab = indptr.size - 1, table.shape[0]
    table64 = np.asarray(table, dtype=np.float64)
    out = np.zeros((n, table.shape[1]), dtype=np.float32)
    lo = 0
    while lo < n:
        # Whole records per block, at least one, about _BLOCK_TOKENS tokens.
        hi = int(np.searchsorted(indptr, indptr[lo] + _BLOCK_TOKENS, side="right")) - 1
        hi = min(n, max(hi, lo + 1))
        start, stop = int(indptr[lo]), int(indptr[hi])
        counts = sparse.csr_matrix(
            (np.ones(stop - start), ids[start:stop], indptr[lo : hi + 1] - start),
            shape=(hi - lo, vocab),
        )
        sums = np.asarray(counts @ table64)  # repeated ids in a record add up
        lengths = np.diff(indptr[lo : hi + 1])
        out[lo:hi] = sums / np.maximum(lengths, 1)[:, None]
        lo = hi
    return out
