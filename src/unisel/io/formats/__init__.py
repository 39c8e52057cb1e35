"""Input formats: one `Format` class per format, registered in `FORMATS` by name.

A new format is one new module whose class is decorated with ``@FORMATS.register("name")``
and sets ``suffixes``; importing it here makes the name and its suffixes known.
"""

from __future__ import annotations

from pathlib import Path

from unisel.io.formats import csv_format, hf, json_array, jsonl, memory, parquet  # noqa: F401
from unisel.io.formats.base import FORMATS, Format, Source, pick

__all__ = ["FORMATS", "Format", "Source", "format_for_suffix", "pick", "sniff_json"]


def format_for_suffix(suffix: str) -> str | None:
    """The name of the format that a file suffix (``".jsonl"``) selects, or None."""
    suffix = suffix.lower()
    for name in FORMATS.names():
        if suffix in FORMATS.get(name).suffixes:
            return name
    return None


def sniff_json(path: Path) -> str:
    """``"json"`` if the file starts (after whitespace) with ``[``, else ``"jsonl"``.

    Files named ``.json`` often hold JSON Lines and the other way round; the first byte decides.
    """
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            body = chunk.lstrip()
            if body:
                return "json" if body.startswith(b"[") else "jsonl"
    return "json" if path.suffix.lower() == ".json" else "jsonl"
