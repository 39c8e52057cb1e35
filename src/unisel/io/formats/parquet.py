"""Parquet files, read by record batches with pyarrow and written back with the same schema."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from unisel.errors import InputError
from unisel.io.formats.base import FORMATS, Format, Record, Source, Update, _no_update

_BATCH_ROWS = 8192


def _open(source: Source) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(source.file)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{source.display}: not a readable Parquet file ({exc})") from None


@FORMATS.register("parquet")
class Parquet(Format):
    """Apache Parquet; the output keeps the Arrow schema (with its metadata) and compression."""

    suffixes = (".parquet", ".pq")
    family = "parquet"
    unit = "rows"

    def inspect(self, source: Source) -> dict[str, Any]:
        if source.file.stat().st_size == 0:
            raise InputError(f"{source.display}: empty file")
        pf = _open(source)
        compression = "snappy"
        if pf.metadata.num_row_groups and pf.metadata.num_columns:
            compression = pf.metadata.row_group(0).column(0).compression.lower()
        return {"compression": compression, "rows": pf.metadata.num_rows}

    def total(self, source: Source) -> int | None:
        return int(source.meta.get("rows", 0)) or None

    def records(
        self, source: Source, columns: Sequence[str] | None = None, update: Update = _no_update
    ) -> Iterator[tuple[Record, int | None]]:
        pf = _open(source)
        try:
            for batch in pf.iter_batches(batch_size=_BATCH_ROWS, columns=columns):
                yield from ((row, None) for row in batch.to_pylist())
                update(batch.num_rows)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"{source.display}: unreadable Parquet data ({exc})") from None

    def write(
        self, source: Source, positions: Sequence[int], out: Path, update: Update = _no_update
    ) -> None:
        pf = _open(source)
        schema = pf.schema_arrow
        wanted = np.asarray(positions, dtype=np.int64)
        increasing = bool(np.all(np.diff(wanted) > 0))
        order = np.sort(wanted)
        pieces: list[pa.Table] = []
        compression = source.meta.get("compression", "snappy")
        compression = None if compression == "uncompressed" else compression
        with pq.ParquetWriter(out, schema, compression=compression) as writer:
            start = 0
            for batch in pf.iter_batches(batch_size=_BATCH_ROWS):
                lo, hi = np.searchsorted(order, [start, start + batch.num_rows])
                if hi > lo:
                    table = pa.Table.from_batches([batch.take(pa.array(order[lo:hi] - start))])
                    if increasing:
                        writer.write_table(table)
                        update(int(hi - lo))
                    else:
                        pieces.append(table)
                start += batch.num_rows
            if len(order) and order[-1] >= start:
                raise InputError(f"{source.display}: has fewer rows than when it was read")
            if not increasing:
                # Rows were gathered in input order; put them in the order asked for.
                table = pa.concat_tables(pieces)
                writer.write_table(table.take(pa.array(np.searchsorted(order, wanted))))
                update(len(wanted))
