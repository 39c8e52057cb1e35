"""The `RecordSet` type: what the reader hands to the rest of the pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class RecordSet:
    """Records read from one source, and the text of each that the embedder sees.

    Attributes
    ----------
    source : str
        The path (absolute) or the hub name the records came from; ``<datasets.Dataset>`` or
        ``<pandas.DataFrame>`` for an in-memory input.
    format : str
        ``"json"``, ``"jsonl"``, ``"parquet"``, ``"csv"``, ``"hf_disk"``, ``"hub"``, or for an
        in-memory input ``"dataset"`` or ``"dataframe"``.
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
        sha256 of the input bytes (files), the data set fingerprint (hub / save_to_disk), or
        the sha256 of the rendered texts (in-memory inputs, see `unisel.io.texts_sha256`).
    meta : dict
        Format-specific details the writer needs (e.g. the hub split), JSON-serialisable.
    n_skipped : int
        Records left out because they had no usable text (only with ``skip_empty``).
    source_index : list of int or None
        For each entry of ``texts``, its record number in the source (0-based); None when no
        record was skipped, i.e. entry i is source record i. Use `source_rows` to map.
    handle : object or None
        The open ``datasets.Dataset`` for ``hf_disk``, ``hub`` and ``dataset`` inputs, the
        ``pandas.DataFrame`` for ``dataframe`` ones (not serialised).
    """

    source: str
    format: str
    schema: str
    texts: list[str]
    text_field: str | None = None
    n_dropped: int = 0
    content_hash: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    n_skipped: int = 0
    source_index: list[int] | None = None
    handle: Any = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def in_memory(self) -> bool:
        """Whether the records came from an in-memory ``Dataset`` or ``DataFrame``."""
        return bool(self.meta.get("in_memory", False))

    def source_rows(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Map positions in this record set to record numbers in the source.

        Parameters
        ----------
        indices : sequence of int, shape (k,)
            Positions into ``texts`` (what embedders and selectors index).

        Returns
        -------
        numpy.ndarray of int64, shape (k,)
            The same positions when no record was skipped, else the source record numbers.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if self.source_index is None:
            return idx
        return np.asarray(self.source_index, dtype=np.int64)[idx]
