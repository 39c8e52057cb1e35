"""Output paths checked before any work, and the subset and its manifest written as a pair."""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from pathlib import Path

from unisel.errors import ParameterError
from unisel.flows.timing import StageTimer
from unisel.io import RecordSet, atomic_output, write_subset
from unisel.io.atomic import check_writable, content_sha256, output_lock
from unisel.io.formats.hf import is_disk_dataset
from unisel.manifest import (
    Manifest,
    manifest_path_for,
)
from unisel.select import Selection


def _same_path(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.realpath(a) == os.path.realpath(b)
    except OSError:
        return False


def check_output(
    input: str | Path,
    output: str | Path,
    order: str = "input",
    *,
    checkpoint: str | Path | None = None,
) -> None:
    """Refuse, before any work, outputs that cannot or must not be written.

    Parameters
    ----------
    input : path
        The input (never overwritten).
    output : path
        The subset; its manifest is ``<output>.manifest.json``.
    order : str
        Record order of the subset.
    checkpoint : path or None
        The maxmin checkpoint file.

    Raises
    ------
    ParameterError
        ``output`` is ``input`` (after resolving links), ``order`` is not ``"input"`` or
        ``"selection"``, ``output`` is an existing folder other than an earlier ``save_to_disk``
        subset (an empty one included), or an output's folder is a file or not writable (see
        `unisel.io.atomic.check_writable`).
    """
    if _same_path(input, output):
        raise ParameterError(f"{output}: the output path is the input path; choose another")
    _check_order(order)
    check_writable(output, replace_dir=is_disk_dataset(Path(output)))
    check_writable(manifest_path_for(output), what="manifest")
    if checkpoint is not None:
        check_writable(checkpoint, what="--checkpoint")


def _check_order(order: str) -> None:
    if order not in ("input", "selection"):
        raise ParameterError(f"order must be 'input' or 'selection', got {order!r}")


def write_selection(
    records: RecordSet,
    selection: Selection,
    manifest: Manifest,
    output: str | Path,
    *,
    order: str = "input",
    timer: StageTimer | None = None,
    quiet: bool = False,
) -> Path:
    """Write the subset in the input's format and its manifest beside it, as one pair.

    The subset is written to a staging path first; its sha256 and size go into the manifest's
    ``output`` section. Then, holding the output's lock (`unisel.io.atomic.output_lock`, so
    that two runs writing one path cannot interleave), the manifest is renamed into place and
    the subset after it. A run killed between the two renames leaves the new manifest beside
    the old subset (or none), which `unisel.manifest.load_manifest` refuses by the hash; the
    old manifest never describes the new subset. On an error the new manifest is removed again.

    The manifest's ``timings`` are set from ``timer``: in the file, the stages before the write
    (still running when the file is written); in ``manifest``, the write stage too.

    Returns
    -------
    Path
        The manifest path, ``<output>.manifest.json``.
    """
    timer = timer if timer is not None else StageTimer()
    mpath = manifest_path_for(output)
    published: tuple[int, int] | None = None  # (device, inode) of the staged subset

    def publish_manifest(staged: Path) -> None:
        nonlocal published
        sha256, size = content_sha256(staged)
        manifest.output.update(sha256=sha256, size=size)
        manifest.timings = timer.rounded()
        held.enter_context(output_lock(output))
        with atomic_output(mpath) as tmp_manifest:
            tmp_manifest.write_text(manifest.to_json(), encoding="utf-8")
        st = staged.stat()
        published = (st.st_dev, st.st_ino)
        _pause_between_renames()

    with timer("write"), ExitStack() as held:
        try:
            write_subset(
                records,
                selection.indices,
                output,
                order=order,  # type: ignore[arg-type]
                quiet=quiet,
                before_replace=publish_manifest,
            )
        except BaseException:
            if published is not None and _identity(output) != published:
                mpath.unlink(missing_ok=True)  # it describes a subset that never appeared
            raise
    manifest.timings = timer.rounded()
    return mpath


def _identity(path: str | Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


#: Test hook (tests/cli/test_output_safety.py): when set to a file path, `write_selection`
#: creates that file between the manifest's rename and the subset's, and waits there (at most
#: a minute) until the file is deleted, so that a test can kill the run at that moment.


_PAUSE_ENV = "UNISEL_TEST_PAUSE_BETWEEN_RENAMES"


def _pause_between_renames() -> None:
    flag = os.environ.get(_PAUSE_ENV)
    if not flag:
        return
    Path(flag).write_text(str(os.getpid()), encoding="utf-8")
    deadline = time.monotonic() + 60
    while Path(flag).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
