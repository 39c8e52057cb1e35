"""Reading records and writing subsets (stage 1 of the pipeline).

Public API (implemented in the modules of this package):

- ``read_records(source, *, schema=None, text_field=None, split="train", quiet=False) -> RecordSet``
- ``write_subset(records, indices, output, *, quiet=False) -> Path``
- ``atomic_output(path)``: context manager yielding a temporary path renamed onto ``path`` on success.
- ``file_sha256(path) -> str``
- ``SCHEMAS``: names of the known schemas.
"""

from unisel.io.records import RecordSet

__all__ = ["RecordSet"]
