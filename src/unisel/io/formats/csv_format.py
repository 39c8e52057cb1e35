"""CSV and TSV files with a header row, read with the csv module, written back byte for byte.

Each record's raw text (which may span several lines when a quoted cell holds newlines) is
copied unchanged, after the header line, so quoting, line endings and the header are kept.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from unisel.errors import InputError
from unisel.io.formats.base import FORMATS, Format, Record, Source, Update, _no_update, pick

_BOM = "\ufeff"


class _Tap:
    """Iterates over lines, keeping the text of those handed out since the last `take`."""

    def __init__(self, lines: Iterator[str], update: Update) -> None:
        self._lines = lines
        self._update = update
        self._held: list[str] = []
        self.line = 0

    def __iter__(self) -> _Tap:
        return self

    def __next__(self) -> str:
        text = next(self._lines)
        self._held.append(text)
        self.line += 1
        self._update(len(text))
        return text

    def take(self) -> str:
        text = "".join(self._held)
        self._held.clear()
        return text


@FORMATS.register("csv")
class Csv(Format):
    """Comma-separated values (``.csv``) or tab-separated (``.tsv``), UTF-8, header first."""

    suffixes = (".csv", ".tsv")
    family = "csv"

    def inspect(self, source: Source) -> dict[str, Any]:
        with open(source.file, "rb") as f:
            head = f.read(4)
            f.seek(0)
            while chunk := f.read(1 << 16):
                if chunk.strip().removeprefix(_BOM.encode("utf-8")).strip():
                    break
            else:
                raise InputError(f"{source.display}: empty file")
        return {
            "delimiter": "\t" if source.file.suffix.lower() == ".tsv" else ",",
            "bom": head.startswith(_BOM.encode("utf-8")),
        }

    def _rows(self, source: Source, update: Update) -> Iterator[tuple[int, int, list[str], str]]:
        """``(record number, first line, cells, raw text)``; record -1 is the header."""
        csv.field_size_limit(sys.maxsize)
        delimiter = source.meta.get("delimiter", ",")
        with open(source.file, encoding="utf-8-sig", newline="") as f:
            tap = _Tap(iter(f), update)
            reader = csv.reader(tap, delimiter=delimiter)
            number = -1
            width = 0
            try:
                while True:
                    first = tap.line + 1
                    try:
                        cells = next(reader)
                    except StopIteration:
                        break
                    raw = tap.take()
                    if not cells:  # a blank line
                        continue
                    if number == -1:
                        width = len(cells)
                    elif len(cells) != width:
                        raise InputError(
                            f"{source.display}:{first}: {len(cells)} fields, the header has {width}"
                        )
                    yield number, first, cells, raw
                    number += 1
            except csv.Error as exc:
                raise InputError(f"{source.display}:{tap.line}: malformed CSV ({exc})") from None
            except UnicodeDecodeError as exc:
                raise InputError(f"{source.display}: not UTF-8 ({exc.reason})") from None
        if number == -1:
            raise InputError(f"{source.display}: empty file")

    def records(
        self, source: Source, columns: Sequence[str] | None = None, update: Update = _no_update
    ) -> Iterator[tuple[Record, int | None]]:
        header: list[str] = []
        for number, line, cells, _ in self._rows(source, update):
            if number == -1:
                header = cells
                dupes = sorted({c for c in header if header.count(c) > 1})
                if dupes:
                    raise InputError(f"{source.display}:{line}: duplicate column names {dupes}")
                continue
            yield dict(zip(header, cells, strict=True)), line

    def write(
        self, source: Source, positions: Sequence[int], out: Path, update: Update = _no_update
    ) -> None:
        rows = self._rows(source, _no_update)
        _, _, _, header = next(rows)
        newline = "\r\n" if header.endswith("\r\n") else "\n"
        encoding = "utf-8-sig" if source.meta.get("bom") else "utf-8"
        with open(out, "w", encoding=encoding, newline="") as f:
            f.write(header if header.endswith(("\n", "\r")) else header + newline)
            for raw in pick(((n, raw) for n, _, _, raw in rows), positions, source.display):
                f.write(raw if raw.endswith(("\n", "\r")) else raw + newline)
                update(1)
