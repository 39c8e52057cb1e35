"""Atomic output (write to a temporary path, rename on success), file and text hashing."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from unisel.errors import ParameterError

_CHUNK = 1 << 20


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file's bytes, as 64 hex digits.

    Parameters
    ----------
    path : path-like
        A regular file; read in 1 MiB chunks, so any size works.

    Returns
    -------
    str
        Lower-case hexadecimal digest.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def texts_sha256(texts: Sequence[str]) -> str:
    """The sha256 (64 hex digits) of a sequence of texts, in order.

    The count and each text are length-prefixed, so ``["ab", "c"]`` and ``["a", "bc"]`` differ.
    The content hash of in-memory inputs and the embedding cache's key both use it.
    """
    digest = hashlib.sha256()
    digest.update(len(texts).to_bytes(8, "little"))
    for text in texts:
        raw = text.encode("utf-8", "surrogatepass")
        digest.update(len(raw).to_bytes(8, "little"))
        digest.update(raw)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], *, replace_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s content to; rename it onto ``path`` on success.

    The temporary path lies in a fresh hidden folder beside ``path`` (same file system, so the
    rename is atomic for files), has the same name as ``path`` and does not exist yet: the caller
    creates a file or a folder there. If the block raises (KeyboardInterrupt included), the
    temporary path is removed and ``path`` is left as it was. Missing parent folders are created,
    and removed again on failure.

    Parameters
    ----------
    path : path-like
        The final output path (a file or a folder).
    replace_dir : bool
        Allow replacing an existing non-empty folder at ``path`` (off by default, so that a
        mistyped output path can never delete a folder of the user's).

    Yields
    ------
    Path
        Where to write.
    """
    final = Path(path).absolute()
    if final.is_dir() and not final.is_symlink() and any(final.iterdir()) and not replace_dir:
        raise ParameterError(f"output {path} is an existing folder; choose another path")
    created: list[Path] = []
    parent = final.parent
    while not parent.exists():
        created.append(parent)
        parent = parent.parent
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        tmp = staging / final.name
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to {tmp}")
        if final.is_dir() and not final.is_symlink():
            # A folder cannot be replaced in one rename: move the old one aside first.
            old = staging / (final.name + ".old")
            final.rename(old)
            tmp.rename(final)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in created:  # innermost first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    shutil.rmtree(staging, ignore_errors=True)
