"""Reading records and writing subsets (stage 1 of the pipeline).

Public API:

- ``read_records(source, *, schema=None, text_field=None, split="train", skip_empty=None,
  quiet=False) -> RecordSet``; ``source`` may also be a ``datasets.Dataset`` or a
  ``pandas.DataFrame`` (``is_in_memory(obj)`` tells).
- ``source_records(records) -> list[dict]``: the whole source record behind each text.
- ``write_subset(records, indices, output, *, order="input", quiet=False) -> Path``
- ``atomic_output(path)``: context manager yielding a temporary path renamed onto ``path`` on
  success; ``atomic_write_text(path, text)`` writes a whole text file through it.
- ``file_sha256(path) -> str``, ``texts_sha256(texts) -> str``
- ``SCHEMAS``: the schema registry; iterating over it gives the schema names.
- ``FORMATS``: the input format registry.
"""

from unisel.io.atomic import atomic_output, atomic_write_text, file_sha256, texts_sha256
from unisel.io.formats import FORMATS
from unisel.io.formats.memory import is_in_memory
from unisel.io.reader import (
    EXAMPLES,
    InputWarning,
    read_records,
    resolve_source,
    source_records,
)
from unisel.io.records import RecordSet
from unisel.io.schemas import SCHEMAS, Schema
from unisel.io.writer import write_subset

__all__ = [
    "EXAMPLES",
    "resolve_source",
    "FORMATS",
    "SCHEMAS",
    "InputWarning",
    "RecordSet",
    "Schema",
    "atomic_output",
    "atomic_write_text",
    "file_sha256",
    "is_in_memory",
    "read_records",
    "source_records",
    "texts_sha256",
    "write_subset",
]
