"""JSON Lines files: one object per line, read line by line, written back byte for byte."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from unisel.errors import InputError
from unisel.io.formats.base import FORMATS, Format, Record, Source, Update, _no_update, pick

_BATCH = 1 << 16


@FORMATS.register("jsonl")
class JsonLines(Format):
    """One JSON object per line; blank lines are ignored."""

    suffixes = (".jsonl", ".ndjson")
    family = "json"

    def inspect(self, source: Source) -> dict[str, Any]:
        with open(source.file, "rb") as f:
            for raw in f:
                if raw.strip():
                    return {}
        raise InputError(f"{source.display}: empty file")

    def _lines(self, source: Source, update: Update) -> Iterator[tuple[int, int, bytes]]:
        """``(record number, line number, raw line)`` for every non-blank line."""
        number = 0
        pending = 0
        with open(source.file, "rb") as f:
            for line_no, raw in enumerate(f, 1):
                pending += len(raw)
                if pending >= _BATCH:
                    update(pending)
                    pending = 0
                if raw.strip():
                    yield number, line_no, raw
                    number += 1
        update(pending)

    def records(
        self, source: Source, columns: Sequence[str] | None = None, update: Update = _no_update
    ) -> Iterator[tuple[Record, int | None]]:
        for _, line_no, raw in self._lines(source, update):
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as exc:
                hint = ""
                if source.file.suffix.lower() == ".json":
                    hint = "; a .json file must hold an array of records or one record per line"
                raise InputError(
                    f"{source.display}:{line_no}: malformed JSON ({exc.msg} at column "
                    f"{exc.colno}){hint}"
                ) from None
            except UnicodeDecodeError as exc:
                raise InputError(f"{source.display}:{line_no}: not UTF-8 ({exc.reason})") from None
            if not isinstance(record, dict):
                raise InputError(
                    f"{source.display}:{line_no}: a {type(record).__name__}, expected a JSON object"
                )
            yield record, line_no

    def write(
        self, source: Source, positions: Sequence[int], out: Path, update: Update = _no_update
    ) -> None:
        lines = ((n, raw) for n, _, raw in self._lines(source, _no_update))
        with open(out, "wb") as f:
            for raw in pick(lines, positions, source.display):
                f.write(raw if raw.endswith(b"\n") else raw + b"\n")
                update(1)
