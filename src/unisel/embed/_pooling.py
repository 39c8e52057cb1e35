"""Pooling of table rows per record, vectorised (a sparse count matrix times the table): the
plain mean, or smooth-inverse-frequency weights (Arora, Liang and Ma, ICLR 2017) with the first
principal component removed."""

from __future__ import annotations

import numpy as np

_BLOCK_TOKENS = 1 << 20
"""Tokens pooled per sparse product: bounds the temporaries (about 12 bytes a token)."""


def mean_pool(
    ids: np.ndarray, indptr: np.ndarray, table: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """The mean of ``table[ids[indptr[i]:indptr[i + 1]]]`` for every record ``i``.

    With ``weights`` (one per table row), each token's row is scaled by its weight before the
    mean (the sum divided by the record's token count, as SIF defines it).

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
    weights : ndarray of shape (vocab,), optional

    Returns
    -------
    ndarray of shape (n, dim), float32; the zero vector for a record with no token.
    """
    from scipy import sparse

    ids = np.asarray(ids)
    indptr = np.asarray(indptr, dtype=np.int64)
    n, vocab = indptr.size - 1, table.shape[0]
    table64 = np.asarray(table, dtype=np.float64)
    if weights is not None:
        table64 = table64 * np.asarray(weights, dtype=np.float64)[:, None]
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


def sif_weights(counts: np.ndarray, a: float = 1e-3) -> np.ndarray:
    """Smooth inverse frequency ``a / (a + p(w))`` of each word, ``p`` its corpus frequency.

    Parameters
    ----------
    counts : ndarray of shape (vocab,)
        How often each word occurs in the corpus.
    a : float
        The smoothing constant (Arora et al. use 1e-3 to 1e-4): frequent words weigh little.

    Returns
    -------
    ndarray of shape (vocab,), float64, in (0, 1].
    """
    counts = np.asarray(counts, dtype=np.float64)
    return a / (a + counts / max(counts.sum(), 1.0))


def first_component(vectors: np.ndarray) -> np.ndarray:
    """The first (uncentred) principal direction of the rows of ``vectors`` (n, d), unit, (d,).

    The top eigenvector of the float64 Gram matrix ``V^T V`` (d x d), so it is deterministic and
    exact up to LAPACK's rounding; its sign is fixed (largest entry positive), though removing it
    does not depend on the sign.
    """
    V = np.asarray(vectors, dtype=np.float64)
    gram = V.T @ V
    _, vecs = np.linalg.eigh(gram)
    u = vecs[:, -1]
    return u if u[np.argmax(np.abs(u))] >= 0 else -u


def remove_component(vectors: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``V - (V u) u^T``: the rows of ``vectors`` (n, d) without their part along unit ``u``.

    Returns float32 rows; zero rows stay zero.
    """
    V = np.asarray(vectors, dtype=np.float64)
    return (V - np.outer(V @ u, u)).astype(np.float32)
