"""The canonical float64 dot product: one fixed summation order, independent of BLAS.

BLAS ``dgemv`` rounds the dot product of a row with a vector differently depending on the
row's position in the matrix (OpenBLAS treats rows in groups of four and a tail, and splits
rows between threads), so two identical rows can get keys that differ in the last bit. The
canonical key therefore uses this summation order, which depends only on ``d``:

.. math::

    a_l = \\sum_{i \\equiv l \\ (\\mathrm{mod}\\ 8)} x_i y_i \\quad (\\text{sequentially in } i),
    \\qquad x \\cdot y = ((a_0 + a_1) + (a_2 + a_3)) + ((a_4 + a_5) + (a_6 + a_7)).

Numba compiles it without ``fastmath`` so LLVM may neither reassociate nor contract into FMA;
every engine that needs a float64 key calls these kernels, so keys agree bit for bit.

The Euclidean key (``metric="euclidean"``) is the squared distance summed in the same lanes
and tree, :math:`a_l = \\sum_{i \\equiv l} (x_i - y_i)^2`, each difference formed in float64
from the raw values (:func:`canonical_sqdist`).
"""

from __future__ import annotations

import numpy as np

from unisel.select.engine._jit import njit


@njit(nogil=True)
def canonical_dot(a: np.ndarray, b: np.ndarray) -> float:
    """Canonical float64 dot product of two 1-D float64 arrays of equal length."""
    d = a.shape[0]
    acc = np.zeros(8)
    m = d - d % 8
    for i in range(0, m, 8):
        for lane in range(8):
            acc[lane] += a[i + lane] * b[i + lane]
    for i in range(m, d):
        acc[i - m] += a[i] * b[i]
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))


@njit(nogil=True)
def canonical_dot_rows(X: np.ndarray, j: int, nj: float, s: int, ns: float) -> float:
    """Canonical dot of rows ``X[j] / nj`` and ``X[s] / ns`` normalised on the fly.

    The division is done per element in float64 exactly as :func:`cosine_normalize` does it,
    so the result equals ``canonical_dot(U[j], U[s])`` bit for bit.
    """
    d = X.shape[1]
    acc = np.zeros(8)
    m = d - d % 8
    for i in range(0, m, 8):
        for lane in range(8):
            acc[lane] += (np.float64(X[j, i + lane]) / nj) * (np.float64(X[s, i + lane]) / ns)
    for i in range(m, d):
        acc[i - m] += (np.float64(X[j, i]) / nj) * (np.float64(X[s, i]) / ns)
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))


@njit(nogil=True)
def canonical_dots(U: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``canonical_dot(U[j], v)`` for every row j of ``U`` (shape (n, d)), shape (n,)."""
    n = U.shape[0]
    out = np.empty(n)
    for j in range(n):
        out[j] = canonical_dot(U[j], v)
    return out


@njit(nogil=True)
def canonical_sqdist(a: np.ndarray, b: np.ndarray) -> float:
    """Canonical float64 squared Euclidean distance of two 1-D float64 arrays of equal length.

    ``sum_i (a_i - b_i)^2`` with the lanes and the final tree of :func:`canonical_dot`; every
    difference is formed in float64 first, so identical rows give exactly 0.
    """
    d = a.shape[0]
    acc = np.zeros(8)
    m = d - d % 8
    for i in range(0, m, 8):
        for lane in range(8):
            diff = a[i + lane] - b[i + lane]
            acc[lane] += diff * diff
    for i in range(m, d):
        diff = a[i] - b[i]
        acc[i - m] += diff * diff
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))


@njit(nogil=True)
def canonical_sqdist_rows(X: np.ndarray, j: int, s: int) -> float:
    """``canonical_sqdist(float64(X[j]), float64(X[s]))`` read straight from ``X`` (any float
    dtype), bit for bit."""
    d = X.shape[1]
    acc = np.zeros(8)
    m = d - d % 8
    for i in range(0, m, 8):
        for lane in range(8):
            diff = np.float64(X[j, i + lane]) - np.float64(X[s, i + lane])
            acc[lane] += diff * diff
    for i in range(m, d):
        diff = np.float64(X[j, i]) - np.float64(X[s, i])
        acc[i - m] += diff * diff
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))


@njit(nogil=True)
def canonical_sqdists(X: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``canonical_sqdist(X[j], v)`` for every row j of ``X`` (float64, shape (n, d)), (n,)."""
    n = X.shape[0]
    out = np.empty(n)
    for j in range(n):
        out[j] = canonical_sqdist(X[j], v)
    return out
