"""`write_subset`: write chosen records in the input's own format, atomically."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from unisel._progress import progress_bar
from unisel.errors import ParameterError
from unisel.io.atomic import atomic_output
from unisel.io.formats import FORMATS, Format, Source, format_for_suffix
from unisel.io.formats.hf import is_disk_dataset
from unisel.io.formats.memory import not_written
from unisel.io.reader import reopen_source
from unisel.io.records import RecordSet

ORDERS = ("input", "selection")


def _positions(records: RecordSet, indices: Sequence[int] | np.ndarray) -> np.ndarray:
    """Validate ``indices`` (positions in ``records``) and map them to source record numbers."""
    idx = np.asarray(indices)
    if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
        raise ParameterError(f"indices must be a 1-D sequence of integers, got shape {idx.shape}")
    if idx.size:
        bad = idx[(idx < 0) | (idx >= len(records))]
        if bad.size:
            raise ParameterError(f"index {int(bad[0])} is out of range for {len(records)} records")
        values, counts = np.unique(idx, return_counts=True)
        if counts.max() > 1:
            raise ParameterError(f"index {int(values[counts > 1][0])} is chosen twice")
    return records.source_rows(idx.astype(np.int64))


def _check_output(fmt: Format, source: Source, out: Path, given: str) -> bool:
    """Refuse outputs that would overwrite the input or change its format.

    Returns whether an existing folder at ``out`` may be replaced (a previous subset folder).
    """
    target = out.resolve()
    if source.path is not None:
        inp = source.path.resolve()
        if target == inp or inp.is_relative_to(target):
            raise ParameterError(
                f"output {given} is the input {source.display}; choose another path"
            )
        if inp.is_dir() and target.is_relative_to(inp):
            raise ParameterError(f"output {given} lies inside the input folder {source.display}")
    named = format_for_suffix(out.suffix)
    if fmt.family != "hf" and named is not None and FORMATS.get(named).family != fmt.family:
        raise ParameterError(
            f"output {given}: the input is {fmt.name} and the subset is written in the same "
            f"format; use a suffix among {list(fmt.suffixes)}"
        )
    return fmt.family == "hf" and is_disk_dataset(out)


def write_subset(
    records: RecordSet,
    indices: Sequence[int] | np.ndarray,
    output: str | os.PathLike[str],
    *,
    order: Literal["input", "selection"] = "input",
    quiet: bool = False,
    before_replace: Callable[[Path], None] | None = None,
) -> Path:
    """Write the chosen records to ``output`` in the input's own format.

    The input is streamed again and the chosen records copied: JSON Lines and CSV records byte
    for byte (CSV with its header), JSON arrays re-serialised with the input's indentation and
    field order, Parquet with the input's Arrow schema and compression, ``save_to_disk`` folders
    through ``Dataset.select(...).save_to_disk``. Hub inputs (and ``save_to_disk`` inputs given
    an output with a file suffix) are written in the format the output's suffix names, as a
    ``save_to_disk`` folder when it has none. The output appears only when complete (see
    `atomic_output`); the input is never modified.

    Parameters
    ----------
    records : RecordSet
        What `read_records` returned for the input.
    indices : sequence of int, shape (k,)
        Positions into ``records.texts`` of the records to write, without repeats.
    output : str or path-like
        The output file (or folder); must not be the input.
    order : {"input", "selection"}
        Write the records in input order, or in the order of ``indices``.
    quiet : bool
        Hide the progress bar.
    before_replace : callable or None
        Called with the complete subset at its temporary path, just before it is renamed onto
        ``output`` (see `atomic_output`): `unisel.pipeline.write_selection` publishes the
        manifest there.

    Returns
    -------
    Path
        The absolute output path.

    Raises
    ------
    ParameterError
        Bad indices or order, an output equal to (or containing) the input, or an output
        suffix of another format.
    InputError
        The input changed or vanished since it was read.
    """
    if order not in ORDERS:
        raise ParameterError(f"order must be one of {ORDERS}, got {order!r}")
    rows = _positions(records, indices)
    positions = [int(i) for i in (np.sort(rows) if order == "input" else rows)]
    fmt = FORMATS.get(records.format)()
    if not fmt.writable:
        raise ParameterError(not_written(records.source))
    source = reopen_source(records)
    out = Path(output).expanduser().absolute()
    replace_dir = _check_output(fmt, source, out, str(output))
    bar = progress_bar(
        total=len(positions), unit="rec", desc=f"writing {output}", quiet=quiet, leave=False
    )
    try:
        with bar, atomic_output(out, replace_dir=replace_dir, before_replace=before_replace) as tmp:
            fmt.write(source, positions, tmp, bar.update)
    except OSError as exc:
        raise ParameterError(f"output {output}: cannot write ({exc.strerror or exc})") from None
    return out
