"""Atomic output (write to a temporary path, rename on success), file and text hashing."""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import os
import re
import shutil
import socket
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from unisel.errors import ParameterError

_CHUNK = 1 << 20

#: Names of atomic_output's staging folders: ``.<name>.unisel-<pid>@<host>-<random>.tmp``.
STAGING_PATTERN = re.compile(r"\..+\.unisel-(?P<pid>\d+)@(?P<host>[A-Za-z0-9-]*)-[a-z0-9_]+\.tmp")


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


def content_sha256(path: str | os.PathLike[str]) -> tuple[str, int]:
    """The sha256 and byte size of a file, or of a folder's files.

    A folder's digest covers each file's path relative to the folder and its bytes, in sorted
    order, so the same tree gives the same digest wherever it lies. The ``cache-*.arrow`` files
    that ``datasets`` writes into the folder of a loaded data set (by ``map``, ``filter``) are
    left out: they are not the data set's content.

    Parameters
    ----------
    path : path-like
        A regular file or a folder (links are followed).

    Returns
    -------
    sha256 : str
        64 lower-case hex digits.
    size : int
        Bytes: the file's, or the sum over the folder's files.
    """
    root = Path(path)
    if not root.is_dir():
        return file_sha256(root), root.stat().st_size
    digest, size = hashlib.sha256(), 0
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and not fnmatch.fnmatch(p.name, "cache-*.arrow")
    )
    for file in files:
        name = file.relative_to(root).as_posix().encode("utf-8", "surrogateescape")
        digest.update(len(name).to_bytes(8, "little") + name)
        digest.update(bytes.fromhex(file_sha256(file)))
        size += file.stat().st_size
    return digest.hexdigest(), size


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())


def owner_tag() -> str:
    """``<pid>@<host>``: written into the names of temporary folders, so that a later run can
    tell the ones whose process is gone (see `remove_stale`)."""
    return f"{os.getpid()}@{_host()}"


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there: never guess
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: it exists
        return True
    return True


def remove_stale(folder: str | os.PathLike[str], pattern: re.Pattern[str], what: str) -> int:
    """Remove the folders in ``folder`` left by processes of this host that are gone.

    A ``kill -9`` (or a power cut) gives a process no chance to remove its temporary folders;
    the next run that writes beside them removes them instead, and says so in one warning line.
    Only folders whose name ``pattern`` matches in full, with groups ``pid`` and ``host`` (see
    `owner_tag`), are touched, and only when ``host`` is this host and ``pid`` is no running
    process: folders of live runs, of other hosts sharing the folder, and everything else are
    left alone.

    Parameters
    ----------
    folder : path-like
        Where to look (not recursively); a missing or unreadable folder is skipped.
    pattern : re.Pattern
        The names of the temporary folders.
    what : str
        What they are, for the warning (``"staging folders"``).

    Returns
    -------
    int
        The number of folders removed.
    """
    host, me = _host(), os.getpid()
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None or match["host"] != host:
            continue
        pid = int(match["pid"])
        if pid == me or _alive(pid):
            continue
        with contextlib.suppress(OSError):
            if not entry.is_dir(follow_symlinks=False):
                continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed += not os.path.lexists(entry.path)
    if removed:
        warnings.warn(
            f"removed {what} left by interrupted runs in {folder} ({removed})", stacklevel=2
        )
    return removed


def check_writable(
    path: str | os.PathLike[str], *, what: str = "output", replace_dir: bool = False
) -> None:
    """Raise `ParameterError` unless `atomic_output` can write ``path``.

    Called before any work, so that a bad output path costs one line, not the run.

    Parameters
    ----------
    path : path-like
        The output path (a file, or a folder with ``replace_dir``).
    what : str
        What ``path`` is, for the message (``"output"``, ``"--checkpoint"``).
    replace_dir : bool
        An existing folder at ``path`` may be replaced.

    Raises
    ------
    ParameterError
        ``path`` is an existing folder (without ``replace_dir``), the nearest existing folder
        above it is a file, or that folder is not writable.
    """
    final = Path(path).absolute()
    if final.is_dir() and not final.is_symlink() and not replace_dir:
        raise ParameterError(f"{what} {path} is an existing folder; choose another path")
    parent = final.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ParameterError(f"{what} {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ParameterError(f"{what} {path}: cannot write in folder {parent}")


@contextlib.contextmanager
def output_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on output ``path`` (a ``.<name>.lock`` file beside it).

    Writers that replace several files together (a subset and its manifest) take it around
    their renames, so that two runs writing the same output cannot interleave them. The lock
    file is removed on release; a waiter that then finds its file unlinked locks the new one.
    Without ``fcntl`` (Windows) there is no lock.

    Parameters
    ----------
    path : path-like
        The output the lock stands for; its folder must exist.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no flock on this platform
        yield
        return
    final = Path(path).absolute()
    lock = final.parent / f".{final.name}.lock"
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(lock)
            except FileNotFoundError:
                current = None
            if current is not None and current.st_ino == os.fstat(fd).st_ino:
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the holder before us removed this file: lock the new one
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` through `atomic_output`: readers see the old file or the new.

    Parameters
    ----------
    path : path-like
        The file to write (its missing parent folders are created).
    text : str
        The whole content.
    encoding : str
        Text encoding of the file.

    Returns
    -------
    Path
        ``path``.
    """
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


@contextlib.contextmanager
def atomic_output(
    path: str | os.PathLike[str],
    *,
    replace_dir: bool = False,
    before_replace: Callable[[Path], None] | None = None,
) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s content to; rename it onto ``path`` on success.

    The temporary path lies in a fresh hidden staging folder beside ``path``
    (``.<name>.unisel-<pid>@<host>-<random>.tmp``: same file system, so the rename is atomic for
    files), has the same name as ``path`` and does not exist yet: the caller creates a file or a
    folder there. If the block raises (KeyboardInterrupt included), the staging folder is
    removed and ``path`` is left as it was. Missing parent folders are created, and removed
    again on failure. Staging folders beside ``path`` whose process was killed are removed
    first (see `remove_stale`).

    Parameters
    ----------
    path : path-like
        The final output path (a file or a folder).
    replace_dir : bool
        Allow replacing an existing folder at ``path`` (off by default, so that a mistyped
        output path can never delete a folder of the user's, empty or not).
    before_replace : callable or None
        Called with the written temporary path just before the rename (e.g. to hash it and
        publish a file that describes it); if it raises, nothing is renamed.

    Yields
    ------
    Path
        Where to write.

    Raises
    ------
    ParameterError
        ``path`` cannot be written (see `check_writable`).
    """
    check_writable(path, replace_dir=replace_dir)
    final = Path(path).absolute()
    created: list[Path] = []
    parent = final.parent
    while not parent.exists():
        created.append(parent)
        parent = parent.parent
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(final.parent, STAGING_PATTERN, "staging folders")
    staging = Path(
        tempfile.mkdtemp(
            prefix=f".{final.name}.unisel-{owner_tag()}-", suffix=".tmp", dir=final.parent
        )
    )
    try:
        tmp = staging / final.name
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to {tmp}")
        if before_replace is not None:
            before_replace(tmp)
        if final.is_dir() and not final.is_symlink():
            # A folder cannot be replaced in one rename: move the old one aside first.
            old = staging / (final.name + ".old")
            final.rename(old)
            try:
                tmp.rename(final)
            except BaseException:
                old.rename(final)
                raise
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in created:  # innermost first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    shutil.rmtree(staging, ignore_errors=True)
