"""What the two greedy loops of :func:`~unisel.select.engine.fast.maxmin` share: the rows as
given, their norms, the selection prefix and the checkpoints.

The CPU loop (:mod:`unisel.select.engine.fast`) hands ``loop="device"`` runs to the device
loop (:mod:`unisel.select.engine._torch_loop`); both read their input and write their
checkpoints with these, so a run of either resumes the other's checkpoint, and the device
loop needs nothing of the module that calls it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unisel.errors import InputError, ParameterError

DEFAULT_BLOCK = 8192  # rows per block for norms and initial-centre products
CHECKPOINT_VERSION = 1


def as_rows(X: Any) -> np.ndarray:
    """``X`` as a C-contiguous float32/float64 ndarray without copying a memmap or a good array.

    A path to a ``.npy`` file is opened memory-mapped. Other dtypes are converted to float64.
    """
    if isinstance(X, (str, Path)):
        try:
            X = np.load(X, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise InputError(f"{X}: cannot read embeddings: {exc}") from exc
    if isinstance(X, np.memmap):
        X = X.view(np.ndarray)
    X = np.asarray(X)
    if X.ndim != 2:
        raise ParameterError(f"embeddings must be a 2-D array, got shape {X.shape}")
    if X.dtype not in (np.float32, np.float64):
        if not (np.issubdtype(X.dtype, np.number) and not np.iscomplexobj(X)):
            raise ParameterError(f"embeddings must be real numbers, got dtype {X.dtype}")
        X = X.astype(np.float64)
    if not X.flags.c_contiguous:
        X = np.ascontiguousarray(X)
    return X


def row_norms(X: np.ndarray, block_size: int = DEFAULT_BLOCK) -> np.ndarray:
    """Float64 row norms exactly as :func:`cosine_normalize` computes them (0 becomes 1).

    Read in blocks of at most ``block_size`` rows and 4 MB of float64 copy (small blocks reuse
    the same memory; fresh large temporaries cost page faults); raises InputError naming the
    first non-finite row.
    """
    n, d = X.shape
    step = max(1, min(block_size, (4 << 20) // (8 * max(1, d))))
    nrm = np.empty(n, dtype=np.float64)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        block = np.asarray(X[lo:hi], dtype=np.float64)
        nrm[lo:hi] = np.linalg.norm(block, axis=1)
        if not np.isfinite(nrm[lo:hi]).all():
            bad = lo + int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
            raise InputError(f"embeddings row {bad} has a NaN or infinite value")
    nrm[nrm == 0] = 1.0
    return nrm


def evenly_spaced(n: int, m: int) -> np.ndarray:
    """``min(n, m)`` evenly spaced indices of ``n`` rows from the first to the last, int64,
    increasing: the engine's deterministic samples."""
    return np.unique(np.linspace(0, n - 1, num=min(n, m)).astype(np.int64))


def unit32_rows(X: np.ndarray, nrm: np.ndarray, rows: np.ndarray | slice) -> np.ndarray:
    """Canonical unit rows rounded to float32, shape (len(rows), d)."""
    block = np.asarray(X[rows], dtype=np.float64)
    return (block / nrm[rows][:, None]).astype(np.float32)


def fingerprint(X: np.ndarray, nrm: np.ndarray) -> str:
    """SHA-256 over the shape, dtype, every row norm and up to 64 sampled raw rows."""
    h = hashlib.sha256()
    h.update(repr((X.shape, str(X.dtype))).encode())
    h.update(np.ascontiguousarray(nrm).tobytes())
    sample = evenly_spaced(X.shape[0], 64)
    h.update(np.ascontiguousarray(X[sample]).tobytes())
    return h.hexdigest()


def check_prefix(n: int, k: int, start: int, initial: Sequence[int] | None) -> np.ndarray:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ParameterError(f"k must be an integer, got {k!r}")
    if not 1 <= k <= n:
        raise ParameterError(f"k must be between 1 and the number of records ({n}), got {k}")
    if initial is not None and len(initial):
        prefix = np.asarray([int(i) for i in initial], dtype=np.int64)
        bad = prefix[(prefix < 0) | (prefix >= n)]
        if bad.size:
            raise ParameterError(f"initial selection has index {bad[0]} outside 0..{n - 1}")
        if np.unique(prefix).size != prefix.size:
            raise ParameterError("initial selection has repeated indices")
        if prefix.size > k:
            raise ParameterError(f"initial selection has {prefix.size} records, more than k={k}")
        return prefix
    if not 0 <= int(start) < n:
        raise ParameterError(f"start index {start} is outside 0..{n - 1}")
    return np.asarray([int(start)], dtype=np.int64)


class Checkpoint:
    """Atomic save/load of the engine state (``.npz``), validated against X and the prefix."""

    def __init__(
        self,
        path: str | Path,
        fp: str,
        shape: tuple[int, int],
        prefix: np.ndarray,
        metric: str = "cosine",
    ):
        self.path = Path(path)
        self.fp = fp
        self.shape = shape
        self.prefix = prefix
        self.metric = metric

    def save(self, t: int, indices: np.ndarray, distances: np.ndarray, md, stamp) -> None:
        # imported here: the install-time kernel build (unisel.warm) imports the engine in an
        # environment that has the engine's dependencies only, not those of unisel.io
        from unisel.io.atomic import atomic_output

        with atomic_output(self.path) as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                version=np.int64(CHECKPOINT_VERSION),
                fingerprint=np.str_(self.fp),
                shape=np.asarray(self.shape, dtype=np.int64),
                prefix=self.prefix,
                metric=np.str_(self.metric),
                t=np.int64(t),
                indices=indices[:t],
                distances=distances[:t],
                md=md,
                stamp=stamp,
            )

    def load(self) -> dict[str, np.ndarray] | None:
        if not self.path.exists():
            return None
        try:
            with open(self.path, "rb") as fh:
                zipped = fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
            if not zipped:  # numpy would call it "pickled (object) data"
                raise ParameterError(
                    f"{self.path}: not a checkpoint file (unisel's checkpoints are .npz "
                    "archives); give --checkpoint a new path or a checkpoint of this run"
                )
            with np.load(self.path, allow_pickle=False) as z:
                state = {key: z[key] for key in z.files}
        except (OSError, ValueError, KeyError) as exc:
            raise ParameterError(f"{self.path}: not a unisel max-min checkpoint ({exc})") from exc
        need = {"version", "fingerprint", "shape", "prefix", "t", "indices", "distances", "md"}
        if not need <= set(state) or int(state["version"]) != CHECKPOINT_VERSION:
            raise ParameterError(f"{self.path}: not a unisel max-min checkpoint (version/fields)")
        if tuple(int(v) for v in state["shape"]) != self.shape:
            raise ParameterError(
                f"{self.path}: checkpoint is for embeddings of shape "
                f"{tuple(int(v) for v in state['shape'])}, these are {self.shape}"
            )
        if str(state["fingerprint"]) != self.fp:
            raise ParameterError(f"{self.path}: checkpoint was made from different embeddings")
        # checkpoints written before the metric was recorded are cosine ones
        made_with = str(state["metric"]) if "metric" in state else "cosine"
        if made_with != self.metric:
            raise ParameterError(
                f"{self.path}: checkpoint was made with metric={made_with!r}, "
                f"this run uses metric={self.metric!r}"
            )
        if not np.array_equal(state["prefix"], self.prefix):
            raise ParameterError(
                f"{self.path}: checkpoint was made with a different start/initial selection"
            )
        return state


def restore_state(
    state: dict[str, np.ndarray], indices: np.ndarray, distances: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Copy a checkpoint's first ``state["t"]`` picks into ``indices`` and ``distances``
    (shape (k,), filled in place) and return its keys ``md`` (float64, shape (n,)) and their
    stamps ``stamp`` (int64, shape (n,)); shared by the CPU and the device loop."""
    t = int(state["t"])
    indices[:t] = state["indices"]
    distances[:t] = state["distances"]
    md = np.ascontiguousarray(state["md"], dtype=np.float64)
    stamp = np.ascontiguousarray(state["stamp"], dtype=np.int64)
    return md, stamp
