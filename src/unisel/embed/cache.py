"""The on-disk embedding cache: one ``<key>.npy`` + ``<key>.json`` pair per (texts, settings).

The key is the sha256 of the texts' content, the embedder name, its :meth:`Embedder.config` and
:data:`FORMAT_VERSION`, so any change to the data or to a setting that affects the vectors gives
a new file, and an unchanged rerun finds the old one. Files are written to a temporary name in
the cache folder and renamed, so an interrupted run never leaves a half-written entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from unisel.io import atomic_output
from unisel.io.atomic import texts_sha256

FORMAT_VERSION = 2
"""Bumped whenever the meaning of cached vectors changes (tokenizer, pooling, file layout)."""


def default_cache_dir() -> Path:
    """The cache folder used when none is given.

    ``$UNISEL_CACHE_DIR/embeddings`` when ``UNISEL_CACHE_DIR`` is set (it is unisel's cache
    root), else ``~/.cache/unisel/embeddings``.
    """
    root = os.environ.get("UNISEL_CACHE_DIR")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "unisel"
    return base / "embeddings"


def texts_digest(texts: Sequence[str]) -> str:
    """sha256 (hex) of the record texts, in order (`unisel.io.atomic.texts_sha256`).

    Each text is length-prefixed so that ``["ab", "c"]`` and ``["a", "bc"]`` differ.
    """
    return texts_sha256(texts)


def cache_key(texts_sha256: str, name: str, config: dict[str, Any]) -> str:
    """The cache key (sha256 hex) of texts with this digest embedded by ``name`` with ``config``."""
    payload = json.dumps(
        {
            "texts": texts_sha256,
            "embedder": name,
            "config": config,
            "format_version": FORMAT_VERSION,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def load_cached(cache_path: str | os.PathLike[str]) -> np.ndarray:
    """Open cached vectors read-only, memory-mapped.

    Parameters
    ----------
    cache_path : path
        A ``.npy`` file written by the cache (``Embeddings.cache_path``) or any 2-D ``.npy``.

    Returns
    -------
    ndarray of shape (n, dim), a read-only ``numpy.memmap``.
    """
    return np.load(Path(cache_path), mmap_mode="r", allow_pickle=False)


def read_entry(cache_path: str | os.PathLike[str]) -> np.ndarray | None:
    """Open cached vectors like `load_cached`, or None when the file is missing or unreadable.

    Every reader of the cache goes through here, so that a damaged entry (truncated by a full
    disk or a cut copy) is a miss, not a traceback: the entry is removed (its ``.json`` and
    ``.npy``), one warning line says so, and the caller embeds again. A file that is not a
    cache entry (e.g. an ``npy:`` input a manifest names) is reported but never removed.

    Parameters
    ----------
    cache_path : path
        A cache entry's ``.npy`` (``<64 hex digits>.npy`` beside its ``.json``), or any
        ``.npy``.

    Returns
    -------
    ndarray of shape (n, dim), a read-only ``numpy.memmap``, or None.
    """
    path = Path(cache_path)
    try:
        vectors = load_cached(path)
        if vectors.ndim != 2:
            raise ValueError(f"a {vectors.ndim}-D array, not 2-D")
    except FileNotFoundError:
        return None
    except PermissionError as exc:
        warnings.warn(f"{path}: cannot read the embeddings ({exc}); embedding again", stacklevel=2)
        return None
    except (OSError, ValueError, EOFError) as exc:
        meta = path.with_suffix(".json")
        if re.fullmatch(r"[0-9a-f]{64}", path.stem) and meta.is_file():
            for file in (meta, path):  # the .json first: without it the entry does not count
                with contextlib.suppress(OSError):
                    file.unlink(missing_ok=True)
            warnings.warn(
                f"embedding cache entry {path} is unreadable ({exc}); removed it, embedding again",
                stacklevel=2,
            )
        else:
            warnings.warn(f"{path}: unreadable embeddings ({exc}); embedding again", stacklevel=2)
        return None
    return vectors


def lookup(cache_dir: Path, key: str, n: int) -> np.ndarray | None:
    """The cached vectors under ``key`` if a complete, readable entry with ``n`` rows exists
    (a damaged one is removed, see `read_entry`)."""
    npy, meta = cache_dir / f"{key}.npy", cache_dir / f"{key}.json"
    if not (npy.is_file() and meta.is_file()):
        return None
    vectors = read_entry(npy)
    if vectors is None or vectors.shape[0] != n or vectors.dtype != np.float32:
        return None
    return vectors


def store(
    cache_dir: Path, key: str, vectors: np.ndarray, *, method: str, params: dict[str, Any]
) -> Path:
    """Write ``vectors`` (shape (n, dim), float32) and their metadata atomically; return the .npy path."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    npy, meta = cache_dir / f"{key}.npy", cache_dir / f"{key}.json"
    with atomic_output(npy) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    info = {
        "method": method,
        "params": params,
        "n": int(vectors.shape[0]),
        "dim": int(vectors.shape[1]),
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    # The .json goes last: an entry counts only when both files are there.
    with atomic_output(meta) as tmp:
        tmp.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return npy
