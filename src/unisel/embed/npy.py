"""``npy:FILE``: precomputed embeddings, one row per record, read from a ``.npy`` file.

The file is opened memory-mapped and checked (2-D, one row per record, real numbers, finite)
before use; it is never modified. It is its own cache: nothing is copied into the cache folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unisel.embed.base import EMBEDDERS, Embedder
from unisel.errors import InputError, ParameterError

_CHECK_ROWS = 65_536  # rows checked for NaN/inf at a time, so a large file is never read whole


@EMBEDDERS.register("npy")
class NpyEmbedder(Embedder):
    """Vectors read from a ``.npy`` file instead of computed.

    Parameters
    ----------
    path : str
        The ``.npy`` file (the part after ``npy:`` in the spec): shape (n_records, dim), any
        real dtype (converted to float32 in memory unless it already is float32).
    """

    spec_argument = "path"

    def __init__(self, *, path: str) -> None:
        if not path:
            raise ParameterError("npy: no file given; use npy:FILE")
        self.path = str(path)

    def precomputed_path(self) -> Path:
        return Path(self.path).expanduser().resolve()

    def config(self) -> dict[str, Any]:
        return {"path": str(self.precomputed_path())}

    def embed(self, texts: Sequence[str], *, progress: bool = True) -> np.ndarray:
        """Open the file and check it against the records.

        Parameters
        ----------
        texts : sequence of str, length n
            Only their number is used.
        progress : bool
            Unused.

        Returns
        -------
        ndarray of shape (n, dim), float32: a read-only memory map of the file when it is
        float32 already, otherwise an in-memory float32 copy.

        Raises
        ------
        InputError
            The file is missing or unreadable, not 2-D, has a row count other than ``n``, is
            not real-valued, or holds NaN or infinity (the first bad row is named).
        """
        return load_vectors(self.path, len(texts))


#: The first bytes of every ``.npy`` file (numpy's format, any version).
NPY_MAGIC = b"\x93NUMPY"


def is_npy_file(path: str | Path) -> bool:
    """Whether ``path`` starts like a ``.npy`` file.

    ``numpy.load(allow_pickle=False)`` calls anything else "pickled (object) data", which
    misleads for a text or JSON file given by mistake.

    Raises
    ------
    OSError
        The file cannot be opened.
    """
    with open(path, "rb") as fh:
        return fh.read(len(NPY_MAGIC)) == NPY_MAGIC


def load_vectors(path: str, n: int) -> np.ndarray:
    """Open ``path`` memory-mapped and check that it holds ``n`` finite rows.

    Parameters
    ----------
    path : str
        A ``.npy`` file; named as given in every error message.
    n : int
        Number of records the rows must match.

    Returns
    -------
    ndarray of shape (n, dim), float32.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise InputError(f"{path}: no such file")
    try:
        if not is_npy_file(file):
            raise InputError(
                f"{path}: not a .npy file (npy:FILE takes an array saved with numpy.save)"
            )
        vectors = np.load(file, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot read it as a .npy array ({reason})") from None
    if vectors.ndim != 2:
        raise InputError(
            f"{path}: expected a 2-D array (records x dimensions), got shape {vectors.shape}"
        )
    if vectors.shape[0] != n:
        raise InputError(f"{path} has {vectors.shape[0]} rows but the data has {n} records")
    if vectors.shape[1] == 0:
        raise InputError(f"{path}: the vectors have 0 dimensions")
    if not (np.issubdtype(vectors.dtype, np.floating) or np.issubdtype(vectors.dtype, np.integer)):
        raise InputError(f"{path}: dtype {vectors.dtype} is not a real number type")
    if vectors.dtype != np.float32:
        # A float64 value beyond float32's range becomes inf here and is reported below.
        with np.errstate(over="ignore"):
            vectors = np.asarray(vectors, dtype=np.float32)
    for start in range(0, n, _CHECK_ROWS):
        block = np.asarray(vectors[start : start + _CHECK_ROWS])
        finite = np.isfinite(block).all(axis=1)
        if not finite.all():
            row = start + int(np.argmin(finite))
            raise InputError(f"{path}: row {row} (counting from 0) has a NaN or infinite value")
    return vectors
