"""The `RecordSet` type: what the reader hands to the rest of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RecordSet:
    """Records read from one source, and the text of each that the embedder sees.

    Attributes
    ----------
    source : str
        The path (absolute) or the hub name the records came from.
    format : str
        ``"json"``, ``"jsonl"``, ``"parquet"``, ``"csv"``, ``"hf_disk"`` or ``"hub"``.
    schema : str
        ``"alpaca"``, ``"sharegpt"``, ``"messages"`` or ``"text"``.
    texts : list of str, length n
        The rendered text of each record in input order (instruction + input + output for
        Alpaca; every turn of a conversation for ShareGPT and messages; the column for text).
    text_field : str or None
        The column used by the ``text`` schema.
    n_dropped : int
        Incomplete records dropped from the end of a truncated JSON array.
    content_hash : str
        sha256 of the input bytes (files), or of the data set fingerprint (hub / save_to_disk).
    meta : dict
        Format-specific details the writer needs (e.g. the hub split), JSON-serialisable.
    """

    source: str
    format: str
    schema: str
    texts: list[str]
    text_field: str | None = None
    n_dropped: int = 0
    content_hash: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)
