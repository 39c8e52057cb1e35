"""Splitting an input data set into partitions that workers read on their own.

A `Partition` is a small picklable description, never the data: a byte range of a JSONL file
(aligned to line starts), a run of Parquet row groups, a contiguous shard of a Hugging Face
``save_to_disk`` folder, or (for ``.json`` arrays and in-memory lists, which cannot be split
without parsing) a slice of texts read by the driver. Partitions are in input order, so the
global row of a record is the number of records in the partitions before it plus its row in
its own partition.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unisel.distributed.shards import split_rows
from unisel.errors import InputError, ParameterError

DEFAULT_PARTITION_BYTES = 64 * 2**20
SCHEMA_NAMES = ("alpaca", "sharegpt", "messages", "text")


@dataclass(frozen=True)
class Partition:
    """One partition of an input.

    Attributes
    ----------
    kind : {"jsonl", "parquet", "hf_disk", "texts"}
    path : str
        The input file or folder ("" for ``texts``).
    index : int
        Position of the partition in input order.
    start, stop : int
        Byte range (jsonl), row-group range (parquet), shard number and shard count (hf_disk:
        ``start`` = shard, ``stop`` = number of shards), or text slice (texts).
    schema : str
        How a record becomes text; see `render_record`.
    text_field : str or None
        Column for the ``text`` schema.
    texts : tuple of str, optional
        The texts themselves, for ``kind == "texts"`` only.
    """

    kind: str
    path: str
    index: int
    start: int
    stop: int
    schema: str
    text_field: str | None = None
    texts: tuple[str, ...] | None = None


# ------------------------------------------------------------------ record -> text
def detect_schema(record: Any, where: str) -> str:
    """The schema of one record: alpaca, sharegpt, messages or text (a ``text`` column)."""
    if isinstance(record, dict):
        if "instruction" in record or "output" in record:
            return "alpaca"
        if isinstance(record.get("conversations"), list):
            return "sharegpt"
        if isinstance(record.get("messages"), list):
            return "messages"
        if "text" in record:
            return "text"
    raise InputError(
        f"{where}: cannot tell the schema of the record; pass schema= (--schema) and text_field="
    )


def render_record(record: Any, schema: str, text_field: str | None, where: str) -> str:
    """The text the embedder sees for one record.

    Alpaca: instruction, input and output joined by newlines (empty parts skipped);
    ShareGPT: every turn's ``value``; messages: every message's ``content``; text: the
    ``text_field`` column (default ``"text"``).
    """
    if not isinstance(record, dict):
        raise InputError(f"{where}: record is not a JSON object")
    try:
        if schema == "alpaca":
            parts = [record.get(f) or "" for f in ("instruction", "input", "output")]
            return "\n".join(str(p) for p in parts if p)
        if schema == "sharegpt":
            return "\n".join(str(t.get("value") or "") for t in record["conversations"])
        if schema == "messages":
            return "\n".join(str(m.get("content") or "") for m in record["messages"])
        if schema == "text":
            value = record[text_field or "text"]
            return "" if value is None else str(value)
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{where}: record does not fit schema {schema!r} (field {exc})") from None
    raise ParameterError(f"unknown schema {schema!r}; known: {', '.join(SCHEMA_NAMES)}")


# ------------------------------------------------------------------ planning
def _input_kind(path: Path) -> str:
    if path.is_dir():
        if (path / "dataset_info.json").is_file() or (path / "state.json").is_file():
            return "hf_disk"
        raise InputError(f"{path}: folder is not a Hugging Face save_to_disk data set")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return "jsonl"
    if suffix == ".parquet":
        return "parquet"
    if suffix == ".json":
        return "json"
    raise InputError(
        f"{path}: unsupported input format {suffix!r}; use .jsonl, .json, .parquet or a save_to_disk folder"
    )


def _jsonl_boundaries(path: Path, parts: int) -> list[tuple[int, int]]:
    """Byte ranges that start at line starts; every line lies in exactly one range."""
    size = path.stat().st_size
    cuts = [0]
    with path.open("rb") as fh:
        for i in range(1, parts):
            target = max(cuts[-1], size * i // parts)
            if target <= 0:
                continue
            fh.seek(target - 1)
            fh.readline()  # finish the line that byte target-1 belongs to
            pos = fh.tell()
            if cuts[-1] < pos < size:
                cuts.append(pos)
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]


def _first_jsonl_record(path: Path) -> Any:
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    return json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
    raise InputError(f"{path}: no records")


def plan_partitions(
    source: str | Path | Sequence[str],
    *,
    n_partitions: int | None = None,
    partition_bytes: int = DEFAULT_PARTITION_BYTES,
    schema: str | None = None,
    text_field: str | None = None,
) -> list[Partition]:
    """Split an input into partitions in input order.

    Parameters
    ----------
    source : path or sequence of str
        A ``.jsonl``, ``.json`` (array), ``.parquet`` file, a ``save_to_disk`` folder, or a list
        of texts.
    n_partitions : int, optional
        Wanted number of partitions (fewer come back when the input is smaller: a Parquet
        file gives at most one per row group). Default: one per ``partition_bytes`` of input.
    partition_bytes : int
        Target partition size in bytes when ``n_partitions`` is not given.
    schema, text_field : str, optional
        How records become text; detected from the first record when ``schema`` is None.

    Returns
    -------
    list of Partition
    """
    if n_partitions is not None and n_partitions < 1:
        raise ParameterError(f"number of partitions must be at least 1, got {n_partitions}")
    if schema is not None and schema not in SCHEMA_NAMES:
        raise ParameterError(f"unknown schema {schema!r}; known: {', '.join(SCHEMA_NAMES)}")
    if not isinstance(source, (str, Path)):
        texts = [str(t) for t in source]
        parts = n_partitions or 1
        return [
            Partition("texts", "", i, lo, hi, "text", None, tuple(texts[lo:hi]))
            for i, (lo, hi) in enumerate(split_rows(len(texts), parts))
        ]
    path = Path(source).resolve()
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    kind = _input_kind(path)
    size = (
        path.stat().st_size
        if path.is_file()
        else sum(f.stat().st_size for f in path.rglob("*.arrow"))
    )
    parts = n_partitions or max(1, -(-size // max(1, partition_bytes)))
    if kind == "jsonl":
        first = _first_jsonl_record(path)
        schema = schema or detect_schema(first, f"{path}:1")
        return [
            Partition("jsonl", str(path), i, a, b, schema, text_field)
            for i, (a, b) in enumerate(_jsonl_boundaries(path, parts))
        ]
    if kind == "json":
        try:
            records = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: not a readable JSON array ({exc})") from None
        if not isinstance(records, list) or not records:
            raise InputError(f"{path}: expected a non-empty JSON array of records")
        schema = schema or detect_schema(records[0], f"{path}: record 0")
        texts = [
            render_record(r, schema, text_field, f"{path}: record {i}")
            for i, r in enumerate(records)
        ]
        return [
            Partition("texts", str(path), i, lo, hi, schema, text_field, tuple(texts[lo:hi]))
            for i, (lo, hi) in enumerate(split_rows(len(texts), parts))
        ]
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
        groups = pf.metadata.num_row_groups
        if groups == 0 or pf.metadata.num_rows == 0:
            raise InputError(f"{path}: no records")
        first = pf.read_row_group(0).slice(0, 1).to_pylist()[0]
        schema = schema or detect_schema(first, f"{path}: row 0")
        return [
            Partition("parquet", str(path), i, lo, hi, schema, text_field)
            for i, (lo, hi) in enumerate(split_rows(groups, min(parts, groups)))
        ]
    # hf_disk
    ds = _load_hf(path)
    if len(ds) == 0:
        raise InputError(f"{path}: no records")
    schema = schema or detect_schema(ds[0], f"{path}: row 0")
    parts = min(parts, len(ds))
    return [Partition("hf_disk", str(path), i, i, parts, schema, text_field) for i in range(parts)]


def _load_hf(path: Path) -> Any:
    try:
        import datasets
    except ImportError:
        raise ParameterError(
            "reading save_to_disk folders needs the 'datasets' package: pip install 'unisel[hf]'"
        ) from None
    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as exc:  # datasets raises several types for a bad folder
        raise InputError(f"{path}: not a readable save_to_disk data set ({exc})") from None
    if isinstance(ds, datasets.DatasetDict):
        if "train" not in ds:
            raise InputError(f"{path}: data set has no 'train' split (splits: {', '.join(ds)})")
        ds = ds["train"]
    return ds


# ------------------------------------------------------------------ reading (runs on workers)
def _line_number(path: str, offset: int) -> int:
    """1-based line number of the line starting at byte ``offset`` (only used for errors)."""
    count = 1
    with open(path, "rb") as fh:
        remaining = offset
        while remaining > 0:
            chunk = fh.read(min(remaining, 2**20))
            if not chunk:
                break
            count += chunk.count(b"\n")
            remaining -= len(chunk)
    return count


def read_partition_texts(part: Partition) -> list[str]:
    """The texts of the records of one partition, in input order."""
    if part.kind == "texts":
        return list(part.texts or ())
    if part.kind == "jsonl":
        texts: list[str] = []
        with open(part.path, "rb") as fh:
            fh.seek(part.start)
            pos = part.start
            while pos < part.stop:
                line = fh.readline()
                if not line:
                    break
                line_start, pos = pos, pos + len(line)
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    where = f"{part.path}:{_line_number(part.path, line_start)}"
                    raise InputError(f"{where}: not valid JSON ({exc})") from None
                if not isinstance(record, dict):
                    where = f"{part.path}:{_line_number(part.path, line_start)}"
                    raise InputError(f"{where}: record is not a JSON object")
                try:
                    texts.append(render_record(record, part.schema, part.text_field, part.path))
                except InputError as exc:
                    where = f"{part.path}:{_line_number(part.path, line_start)}"
                    raise InputError(str(exc).replace(part.path, where, 1)) from None
        return texts
    if part.kind == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(part.path)
        before = sum(pf.metadata.row_group(g).num_rows for g in range(part.start))
        rows = pf.read_row_groups(list(range(part.start, part.stop))).to_pylist()
        return [
            render_record(r, part.schema, part.text_field, f"{part.path}: row {before + j}")
            for j, r in enumerate(rows)
        ]
    if part.kind == "hf_disk":
        ds = _load_hf(Path(part.path)).shard(
            num_shards=part.stop, index=part.start, contiguous=True
        )
        return [
            render_record(
                r, part.schema, part.text_field, f"{part.path}: shard {part.start} row {j}"
            )
            for j, r in enumerate(ds)
        ]
    raise ValueError(f"unknown partition kind {part.kind!r}")


def describe(parts: Sequence[Partition]) -> list[dict[str, Any]]:
    """JSON-serialisable description of partitions (for the store's index and fingerprints)."""
    return [
        {
            "kind": p.kind,
            "path": p.path,
            "index": p.index,
            "start": p.start,
            "stop": p.stop,
            "schema": p.schema,
        }
        for p in parts
    ]


def input_fingerprint(source: str | Path | Sequence[str]) -> str:
    """Cheap identity of an input: path, size and modification time (content hash for lists)."""
    import hashlib

    if not isinstance(source, (str, Path)):
        h = hashlib.sha256()
        for t in source:
            h.update(str(t).encode("utf-8", "surrogatepass"))
            h.update(b"\0")
        return "texts:" + h.hexdigest()
    path = Path(source).resolve()
    st = os.stat(path)
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"
