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

The float32 screens of the engines are decided against these keys: :func:`tolerance` and
:func:`euclidean_tolerance` bound how far a float32 distance may lie from its key (derived in
:mod:`unisel.select.engine.fast`, "Exactness" and "Euclidean metric").
"""

from __future__ import annotations

import numpy as np

from unisel.select.engine._jit import njit


def tolerance(d: int) -> float:
    """The float32-vs-float64 screening tolerance :math:`\\tau` for dimension ``d``."""
    return 1.001 * (d + 6) * 2.0**-24 + 1e-12


def euclidean_tolerance(d: int) -> tuple[float, float]:
    """``(absolute, relative)`` parts of the Euclidean screening tolerance for dimension ``d``:
    :math:`\\tau_{js} = \\text{absolute} + \\text{relative} \\cdot (A_j + A_s)`, with
    :math:`A` the shifted squared norms (:mod:`unisel.select.engine.fast`)."""
    return 4.0 * (d + 1) * 2.0**-149, 1.01 * (d + 4) * 2.0**-24


@njit(nogil=True, inline="always")
def _tree(acc: np.ndarray) -> float:
    """The eight lane sums added in the canonical tree order."""
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))


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
    return _tree(acc)


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
    return _tree(acc)


def canonical_dots(U: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``canonical_dot(U[j], v)`` for every row j of ``U`` (shape (n, d)), shape (n,)."""
    return _each_row(U, v, False)


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
    return _tree(acc)


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
    return _tree(acc)


def canonical_sqdists(X: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``canonical_sqdist(X[j], v)`` for every row j of ``X`` (float64, shape (n, d)), (n,)."""
    return _each_row(X, v, True)


@njit(nogil=True)
def _each_row(U: np.ndarray, v: np.ndarray, euclid: bool) -> np.ndarray:
    """:func:`canonical_sqdists` (``euclid``) or :func:`canonical_dots`: one kernel, whose
    flag comes from Python as a plain bool (a constant passed inside numba would compile a
    specialisation per value)."""
    n = U.shape[0]
    out = np.empty(n)
    for j in range(n):
        out[j] = canonical_sqdist(U[j], v) if euclid else canonical_dot(U[j], v)
    return out
