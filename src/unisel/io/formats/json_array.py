"""JSON array files (``[{...}, {...}]``), streamed one item at a time with ijson.

A file cut off inside its last record (as a truncated download or the ShareGPT dump is) yields
its complete records; the number of records begun but not finished is kept as ``n_dropped``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import ijson as _ijson
from ijson.common import IncompleteJSONError, JSONError

from unisel.errors import InputError
from unisel.io.formats.base import FORMATS, Format, Record, Source, Update, _no_update, pick

try:  # the C backend is several times faster than the pure-Python fallback
    ijson: Any = _ijson.get_backend("yajl2_c")
except ImportError:  # pragma: no cover - depends on the ijson build
    ijson = _ijson

_HEAD = 1 << 20


class _Counted:
    """A binary file that reports how many bytes were read."""

    def __init__(self, f: IO[bytes], update: Update) -> None:
        self._f = f
        self._update = update

    def read(self, n: int = -1) -> bytes:
        chunk = self._f.read(n)
        self._update(len(chunk))
        return chunk


def _plain(value: Any, where: str) -> Any:
    """``value`` with ijson's Decimals turned into floats, so that json can write it."""
    if isinstance(value, Decimal):
        number = float(value)
        if not math.isfinite(number):
            raise InputError(f"{where}: number {value} is out of range")
        return number
    if isinstance(value, dict):
        return {k: _plain(v, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, where) for v in value]
    return value


def _count_started(path: Path) -> int:
    """How many items of a cut-off array were begun (complete or not).

    A second pass over the parser's events, made only for cut-off files, so that the common
    case keeps the fast path in which ijson builds the items in C.
    """
    started = 0
    with open(path, "rb") as f:
        try:
            for prefix, event, _ in ijson.parse(f):
                if prefix == "item" and (event == "start_map" or event == "start_array"):
                    started += 1
        except JSONError:
            pass
    return started


def _is_truncation(exc: Exception) -> bool:
    text = str(exc)
    return "premature EOF" in text or "Incomplete JSON content" in text


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@FORMATS.register("json")
class JsonArray(Format):
    """A JSON array of objects; written back with the indentation style of the input."""

    suffixes = (".json",)
    family = "json"

    def inspect(self, source: Source) -> dict[str, Any]:
        path = source.file
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(_HEAD)
            f.seek(max(size - 1, 0))
            last = f.read(1)
        body = head.lstrip()
        if not body:
            raise InputError(f"{source.display}: empty file")
        if not body.startswith(b"["):
            raise InputError(f"{source.display}: expected a JSON array of records")
        after = body[1:]
        gap = after[: len(after) - len(after.lstrip())].decode("ascii", "replace")
        indent: int | str | None = None
        if "\n" in gap:
            unit = gap.rsplit("\n", 1)[1]
            indent = len(unit) if unit.strip(" ") == "" else unit
        colon = head.find(b'":')
        spaced = colon < 0 or head[colon + 2 : colon + 3] == b" "
        # Raw UTF-8 in the head means the file was written without escaping; else json.dump's
        # default (escape everything non-ASCII) is what a file of \\u escapes was written with.
        ensure_ascii = head.isascii()
        return {
            "indent": indent,
            "spaced": spaced,
            "ensure_ascii": ensure_ascii,
            "final_newline": last == b"\n",
        }

    def _items(
        self, source: Source, update: Update, count_dropped: bool = True
    ) -> Iterator[tuple[int, Record]]:
        """Stream the items; sets ``source.meta["n_dropped"]`` when the array is cut off."""
        number = 0
        source.meta["n_dropped"] = 0
        with open(source.file, "rb") as raw:
            try:
                # Not use_float: the C backend overflows on integers beyond 64 bits with it.
                for item in ijson.items(_Counted(raw, update), "item"):
                    if not isinstance(item, dict):
                        raise InputError(
                            f"{source.display}: record {number} is a {type(item).__name__}, "
                            "expected a JSON object"
                        )
                    yield number, item
                    number += 1
            except (JSONError, UnicodeDecodeError) as exc:
                if not (isinstance(exc, IncompleteJSONError) and _is_truncation(exc)):
                    raise InputError(
                        f"{source.display}: record {number}: malformed JSON ({_first_line(exc)})"
                    ) from None
                if count_dropped:
                    source.meta["n_dropped"] = _count_started(source.file) - number

    def records(
        self, source: Source, columns: Sequence[str] | None = None, update: Update = _no_update
    ) -> Iterator[tuple[Record, int | None]]:
        for _, item in self._items(source, update):
            yield item, None

    def write(
        self, source: Source, positions: Sequence[int], out: Path, update: Update = _no_update
    ) -> None:
        meta = source.meta
        indent = meta.get("indent")
        spaced = meta.get("spaced", True)
        if indent is not None:
            separators = (",", ": " if spaced else ":")
            pad = " " * indent if isinstance(indent, int) else str(indent)
            opening, between, closing = "[\n" + pad, ",\n" + pad, "\n]"
        else:
            separators = (", ", ": ") if spaced else (",", ":")
            pad, opening, between, closing = "", "[", separators[0], "]"
        if not positions:
            opening, closing = "[", "]"
        with open(out, "w", encoding="utf-8") as f:
            f.write(opening)
            chosen = pick(self._items(source, _no_update, False), positions, source.display)
            for j, record in enumerate(chosen):
                text = json.dumps(
                    _plain(record, f"{source.display}: record {positions[j]}"),
                    indent=indent,
                    separators=separators,
                    ensure_ascii=meta.get("ensure_ascii", True),
                )
                f.write((between if j else "") + text.replace("\n", "\n" + pad))
                update(1)
            f.write(closing + ("\n" if meta.get("final_newline") else ""))
