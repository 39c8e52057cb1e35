"""Sharded embeddings: one ``.npy`` file per partition plus a small ``index.json``.

Layout of a store folder::

    embeddings/
      index.json          {"format": "unisel-shards/1", "n", "dim", "dtype", "shards": [...], "meta"}
      part-00000.npy      rows 0 .. r0-1
      part-00001.npy      rows r0 .. r0+r1-1
      ...

``index.json`` lists the shards in row order with their row counts, so the global row index of
a record is its shard's offset plus its row in the shard. Every shard is a plain ``.npy`` file,
so the single-machine engine can memory-map them (`open_sharded`) or concatenate them
(`load_sharded`). A store is complete exactly when ``index.json`` exists: writers build the
folder under ``<name>.partial`` and rename it at the end.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unisel.distributed._atomic import atomic_save_npy, atomic_write_json
from unisel.errors import InputError, ParameterError
from unisel.io import atomic_output

INDEX_NAME = "index.json"
STORE_FORMAT = "unisel-shards/1"
PARTIAL_SUFFIX = ".partial"


def shard_name(i: int) -> str:
    """File name of shard ``i`` (``part-00007.npy``)."""
    return f"part-{i:05d}.npy"


@dataclass
class ShardInfo:
    """One shard: its file (relative to the store), its row count and its first global row."""

    file: str
    rows: int
    offset: int


@dataclass
class ShardIndex:
    """The content of ``index.json``."""

    n: int
    dim: int
    dtype: str
    shards: list[ShardInfo]
    meta: dict[str, Any] = field(default_factory=dict)
    format: str = STORE_FORMAT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_store(path: str | Path) -> bool:
    """Whether ``path`` is a complete shard store (a folder holding ``index.json``)."""
    return (Path(path) / INDEX_NAME).is_file()


def read_index(path: str | Path) -> ShardIndex:
    """Read and check the ``index.json`` of the store at ``path``.

    Raises
    ------
    InputError
        Missing or unreadable index, or shard row counts that do not add up.
    """
    index_path = Path(path) / INDEX_NAME
    try:
        data = json.loads(index_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: not a sharded embedding store (no {INDEX_NAME})") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{index_path}: unreadable shard index ({exc})") from None
    if data.get("format") != STORE_FORMAT:
        raise InputError(
            f"{index_path}: field 'format' is {data.get('format')!r}, expected {STORE_FORMAT!r}"
        )
    try:
        shards = [ShardInfo(**s) for s in data["shards"]]
        index = ShardIndex(
            n=int(data["n"]),
            dim=int(data["dim"]),
            dtype=str(data["dtype"]),
            shards=shards,
            meta=dict(data.get("meta", {})),
        )
    except (KeyError, TypeError) as exc:
        raise InputError(f"{index_path}: malformed shard index ({exc!r})") from None
    offset = 0
    for s in shards:
        if s.offset != offset:
            raise InputError(
                f"{index_path}: shard {s.file} starts at row {s.offset}, expected {offset}"
            )
        offset += s.rows
    if offset != index.n:
        raise InputError(f"{index_path}: shards hold {offset} rows, field 'n' says {index.n}")
    return index


def write_index(
    directory: str | Path,
    files_rows: Sequence[tuple[str, int]],
    *,
    dim: int,
    dtype: str,
    meta: dict[str, Any] | None = None,
) -> ShardIndex:
    """Write ``index.json`` for shards given in row order as ``(file, rows)`` pairs."""
    shards, offset = [], 0
    for name, rows in files_rows:
        shards.append(ShardInfo(file=name, rows=int(rows), offset=offset))
        offset += int(rows)
    index = ShardIndex(
        n=offset, dim=int(dim), dtype=str(dtype), shards=shards, meta=dict(meta or {})
    )
    atomic_write_json(Path(directory) / INDEX_NAME, index.to_dict())
    return index


def write_shard(directory: str | Path, i: int, array: np.ndarray) -> tuple[str, int]:
    """Save ``array`` (rows, dim) as shard ``i`` of the store being built in ``directory``."""
    name = shard_name(i)
    atomic_save_npy(Path(directory) / name, array)
    return name, int(array.shape[0])


def partial_dir(output: str | Path) -> Path:
    """The folder a store is built in before it is renamed onto ``output``."""
    output = Path(output)
    return output.parent / (output.name + PARTIAL_SUFFIX)


def finalize_store(output: str | Path, *, overwrite: bool = False) -> Path:
    """Rename the finished ``<output>.partial`` folder onto ``output``.

    Raises
    ------
    ParameterError
        ``output`` exists and ``overwrite`` is false.
    """
    output = Path(output)
    check_output_free(output, overwrite=overwrite)
    if output.is_symlink() or output.is_file():
        output.unlink()  # atomic_output replaces a folder, not a file by a folder
    # The old store stays readable until the rename, and comes back if the rename fails.
    with atomic_output(output, replace_dir=True) as tmp:
        partial_dir(output).rename(tmp)
    return output


def check_output_free(output: str | Path, *, overwrite: bool) -> None:
    """Fail early, before any work, when ``output`` exists and may not be replaced."""
    if Path(output).exists() and not overwrite:
        raise ParameterError(
            f"{output}: output exists; pass overwrite=True (--overwrite) to replace it"
        )


def save_sharded(
    X: np.ndarray,
    output: str | Path,
    *,
    n_shards: int | None = None,
    rows_per_shard: int | None = None,
    meta: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> ShardIndex:
    """Write the rows of ``X`` (n, d) as a shard store at ``output`` (atomically).

    Exactly one of ``n_shards`` (near-equal contiguous shards) and ``rows_per_shard``.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ParameterError(f"embeddings must be 2-D, got shape {X.shape}")
    if (n_shards is None) == (rows_per_shard is None):
        raise ParameterError("give exactly one of n_shards and rows_per_shard")
    bounds = (
        split_rows(X.shape[0], n_shards)
        if n_shards
        else [
            (lo, min(X.shape[0], lo + int(rows_per_shard or 1)))
            for lo in range(0, X.shape[0], int(rows_per_shard or 1))
        ]
    )
    check_output_free(output, overwrite=overwrite)
    tmp = partial_dir(output)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    files = [write_shard(tmp, i, X[lo:hi]) for i, (lo, hi) in enumerate(bounds)]
    index = write_index(tmp, files, dim=X.shape[1], dtype=str(X.dtype), meta=meta)
    finalize_store(output, overwrite=overwrite)
    return index


def split_rows(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ``(lo, hi)`` ranges covering ``range(n)``, sizes differing by at most 1.

    Empty ranges are dropped, so fewer than ``parts`` come back when ``n < parts``.
    """
    if parts < 1:
        raise ParameterError(f"number of partitions must be at least 1, got {parts}")
    edges = np.linspace(0, n, parts + 1).round().astype(np.int64)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


class ShardedArray:
    """Read-only, array-like view of a shard store, memory-mapping each shard.

    Supports ``shape``, ``dtype``, ``len()``, integer, slice and integer-array row indexing
    (returning ndarrays in the requested order) and ``np.asarray`` (concatenates every shard).

    Parameters
    ----------
    path : str or Path
        The store folder.
    mmap_mode : str or None
        Passed to ``np.load`` (``"r"`` memory-maps; ``None`` reads shards into memory).
    """

    def __init__(self, path: str | Path, *, mmap_mode: str | None = "r") -> None:
        self.path = Path(path)
        self.index = read_index(self.path)
        self.mmap_mode = mmap_mode
        self.offsets = np.array(
            [s.offset for s in self.index.shards] + [self.index.n], dtype=np.int64
        )
        self._cache: dict[int, np.ndarray] = {}

    @property
    def shape(self) -> tuple[int, int]:
        return (self.index.n, self.index.dim)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.index.dtype)

    @property
    def ndim(self) -> int:
        return 2

    @property
    def n_shards(self) -> int:
        return len(self.index.shards)

    def __len__(self) -> int:
        return self.index.n

    def shard(self, i: int) -> np.ndarray:
        """Shard ``i`` as an array of shape (rows_i, dim), memory-mapped when ``mmap_mode``."""
        if i not in self._cache:
            info = self.index.shards[i]
            path = self.path / info.file
            try:
                arr = np.load(path, mmap_mode=self.mmap_mode)  # type: ignore[arg-type]
            except (OSError, ValueError) as exc:
                raise InputError(f"{path}: unreadable shard ({exc})") from None
            if arr.ndim != 2 or arr.shape != (info.rows, self.index.dim):
                raise InputError(
                    f"{path}: shard has shape {arr.shape}, index says {(info.rows, self.index.dim)}"
                )
            self._cache[i] = arr
        return self._cache[i]

    def rows(self, lo: int, hi: int) -> np.ndarray:
        """Rows ``lo:hi`` (global) as one ndarray, reading only the shards they touch."""
        lo, hi = max(0, lo), min(self.index.n, hi)
        if hi <= lo:
            return np.empty((0, self.index.dim), dtype=self.dtype)
        first = int(np.searchsorted(self.offsets, lo, side="right") - 1)
        last = int(np.searchsorted(self.offsets, hi, side="left") - 1)
        pieces = []
        for i in range(first, last + 1):
            a = max(lo, int(self.offsets[i])) - int(self.offsets[i])
            b = min(hi, int(self.offsets[i + 1])) - int(self.offsets[i])
            pieces.append(np.asarray(self.shard(i)[a:b]))
        return pieces[0].copy() if len(pieces) == 1 else np.concatenate(pieces)

    def take(self, indices: np.ndarray) -> np.ndarray:
        """Rows at the global ``indices`` (any order, repeats allowed), shape (len, dim)."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.index.n):
            raise IndexError(f"row index out of range for {self.index.n} rows")
        out = np.empty((idx.size, self.index.dim), dtype=self.dtype)
        which = np.searchsorted(self.offsets, idx, side="right") - 1
        for i in np.unique(which):
            sel = which == i
            out[sel] = self.shard(int(i))[idx[sel] - self.offsets[i]]
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            k = int(key) + (self.index.n if key < 0 else 0)
            return self.take(np.array([k]))[0]
        if isinstance(key, slice):
            start, stop, step = key.indices(self.index.n)
            if step == 1:
                return self.rows(start, stop)
            return self.take(np.arange(start, stop, step))
        return self.take(np.asarray(key))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.rows(0, self.index.n)
        return out if dtype is None else out.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"ShardedArray({str(self.path)!r}, shape={self.shape}, dtype={self.dtype}, shards={self.n_shards})"


def open_sharded(path: str | Path, *, mmap_mode: str | None = "r") -> ShardedArray:
    """Open the shard store at ``path`` as a read-only array-like of shape (n, dim).

    Raises
    ------
    InputError
        ``path`` is not a complete store, or a shard disagrees with the index.
    """
    return ShardedArray(path, mmap_mode=mmap_mode)


def load_sharded(path: str | Path) -> np.ndarray:
    """Every shard of the store at ``path`` concatenated in row order, shape (n, dim)."""
    return np.asarray(open_sharded(path))


def load_embeddings(path: str | Path) -> np.ndarray | ShardedArray:
    """Embeddings from a shard store folder (memory-mapped view) or a ``.npy`` file (memory map).

    Raises
    ------
    InputError
        Neither a store nor a readable 2-D ``.npy`` file.
    """
    path = Path(path)
    if path.is_dir():
        return open_sharded(path)
    try:
        arr = np.load(path, mmap_mode="r")  # type: ignore[no-untyped-call]
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a shard store or a .npy file ({exc})") from None
    if not isinstance(arr, np.ndarray) or arr.ndim != 2:
        raise InputError(f"{path}: expected a 2-D array of embeddings")
    return arr
