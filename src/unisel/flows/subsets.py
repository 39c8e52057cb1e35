"""Record numbers and subsets: input record numbers, subsets named by manifests or files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unisel.errors import InputError, ParameterError
from unisel.io import RecordSet, read_records
from unisel.manifest import (
    InputInfo,
    SelectorInfo,
    load_manifest,
    manifest_path_for,
)


def record_position(records: RecordSet, record: int) -> int:
    """The position in ``records.texts`` (the embedding row) of input record number ``record``.

    The manifest and ``--start`` number records as the input file does (0-based, skipped
    records counted); embedders and selectors number the records with text. The two differ
    only when records were skipped (``skip_empty``).

    Parameters
    ----------
    records : RecordSet
    record : int
        0-based record number in the input.

    Returns
    -------
    int
        The record's row; ``record`` itself when nothing was skipped (the selector then checks
        the range).

    Raises
    ------
    ParameterError
        ``record`` is not a record of the input, or was skipped for having no text.
    """
    if records.source_index is None:
        return int(record)
    index = np.asarray(records.source_index, dtype=np.int64)
    pos = int(np.searchsorted(index, record))
    if pos < index.size and int(index[pos]) == record:
        return pos
    last = len(records) + records.n_skipped - 1
    if not 0 <= record <= last:
        raise ParameterError(f"start record {record} is outside 0..{last}")
    raise ParameterError(
        f"start record {record} has no text and was skipped (skip_empty); choose another"
    )


def subset_of(records: RecordSet, rows: Sequence[int] | np.ndarray) -> Any:
    """The rows ``rows`` (source row numbers, in that order) of an in-memory input.

    Returns
    -------
    datasets.Dataset or pandas.DataFrame
        ``dataset.select(rows)`` or ``df.iloc[rows]``.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if records.format == "dataset":
        return records.handle.select(rows.tolist())
    if records.format == "dataframe":
        return records.handle.iloc[rows]
    raise ParameterError(f"{records.source}: not an in-memory input; write_subset writes it")


def subset_indices(
    spec: str | Path,
    records: RecordSet,
    *,
    schema: str | None = None,
    text_field: str | None = None,
) -> tuple[str, np.ndarray]:
    """Row indices into ``records`` of a subset given as a manifest or as a data file.

    A manifest (or a subset file with its manifest beside it) gives its indices directly, after
    checking it was made from the same input. A data file without a manifest is matched record by
    record on its rendered text (each full-set record used at most once).

    Returns
    -------
    name : str
        A short label (the selector name from the manifest, else the file stem).
    indices : ndarray of shape (k,), int64
    """
    path = Path(spec)
    mpath = path if path.name.endswith(".manifest.json") else manifest_path_for(path)
    if mpath.exists():
        manifest = load_manifest(mpath)
        made_from = manifest.section(InputInfo, partial=True)
        if made_from.sha256 and records.content_hash and made_from.sha256 != records.content_hash:
            raise InputError(
                f"{mpath}: the manifest was made from different input data ({made_from.source})"
            )
        rows = manifest.embedding_rows()
        if rows.size and rows.max() >= len(records):
            raise InputError(
                f"{mpath}: index {rows.max()} is outside the {len(records)} input records"
            )
        return manifest.section(SelectorInfo, partial=True).method or path.stem, rows
    sub = read_records(
        path,
        schema=schema or records.schema,
        text_field=text_field or records.text_field,
        quiet=True,
    )
    positions: dict[str, list[int]] = {}
    for i, text in enumerate(records.texts):
        positions.setdefault(text, []).append(i)
    for lst in positions.values():
        lst.reverse()
    indices = []
    first_of: dict[str, int] = {}  # the subset's first record of each text
    for r, text in enumerate(sub.texts):
        stack = positions.get(text)
        first = first_of.setdefault(text, r)
        if stack is None:
            raise InputError(f"{path}: record {r} is not in the full set {records.source}")
        if not stack:
            have = sum(1 for t in records.texts if t == text)
            raise InputError(
                f"{path}: record {r} repeats record {first} of the subset, and the full set "
                f"{records.source} has that record {have} time{'s' if have != 1 else ''}; a "
                "subset holds each record of the full set at most once"
            )
        indices.append(stack.pop())
    return path.name.split(".")[0], np.asarray(indices, dtype=np.int64)


def named_subsets(
    subsets: Sequence[str | Path],
    records: RecordSet,
    *,
    schema: str | None = None,
    text_field: str | None = None,
) -> dict[str, np.ndarray]:
    """The row indices of each subset under a unique name (see `subset_indices`).

    Names repeat as ``NAME-2``, ``NAME-3``...; ``full`` is reserved for the full set.

    Returns
    -------
    dict of str to ndarray of shape (k,), int64
        In the order of ``subsets``.
    """
    named: dict[str, np.ndarray] = {}
    for spec in subsets:
        name, idx = subset_indices(spec, records, schema=schema, text_field=text_field)
        base, i = name, 2
        while name in named or name == "full":
            name, i = f"{base}-{i}", i + 1
        named[name] = idx
    return named
