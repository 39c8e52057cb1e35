"""Hugging Face data sets: folders written by ``Dataset.save_to_disk``, and hub names.

Both are read through an open ``datasets.Dataset``. A subset is written with
``Dataset.select(...)``: as a ``save_to_disk`` folder when the output name has no file suffix,
else as the file format its suffix names (``.json``, ``.jsonl``, ``.parquet``, ``.csv``, ``.tsv``).
"""

from __future__ import annotations

import csv
import json
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from unisel.errors import InputError, ParameterError
from unisel.io.formats.base import FORMATS, Record, RowsFormat, Source, Update, _no_update

_BATCH_ROWS = 1024
DISK_MARKERS = ("state.json", "dataset_dict.json")


def _datasets(display: str) -> Any:
    try:
        import datasets
    except ImportError:
        raise InputError(
            f"{display}: reading Hugging Face data sets needs the datasets package "
            "(pip install 'unisel[hf]')"
        ) from None
    return datasets


def _pick_split(data: Any, split: str, display: str) -> Any:
    """The ``split`` of a DatasetDict; a Dataset is returned as it is."""
    if hasattr(data, "keys") and not hasattr(data, "select"):
        if split not in data:
            raise InputError(f"{display}: no split {split!r}; splits are {sorted(data.keys())}")
        return data[split]
    return data


def is_disk_dataset(path: Path) -> bool:
    """Whether ``path`` is a folder written by ``save_to_disk``."""
    return path.is_dir() and any((path / m).is_file() for m in DISK_MARKERS)


def load_disk(path: Path, display: str, split: str) -> Any:
    """Open a ``save_to_disk`` folder (the ``split`` of a DatasetDict)."""
    datasets = _datasets(display)
    try:
        data = datasets.load_from_disk(str(path))
    except (OSError, ValueError, FileNotFoundError) as exc:
        raise InputError(f"{display}: unreadable save_to_disk folder ({exc})") from None
    return _pick_split(data, split, display)


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers a TCP connection within ``timeout`` seconds."""
    import os

    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False


def _offline_mode() -> bool:
    import os

    return any(
        os.environ.get(v, "").upper() in ("1", "ON", "YES", "TRUE")
        for v in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")
    )


def load_hub(name: str, split: str) -> Any:
    """Load the ``split`` of hub data set ``name`` with ``datasets.load_dataset``.

    Without a connection to the hub this fails at once with a one-line `InputError` (rather than
    after the download retries), unless the user set ``HF_DATASETS_OFFLINE`` to use a cached copy.
    """
    datasets = _datasets(name)
    offline_hint = (
        f"{name}: not a local file, and the Hugging Face hub cannot be reached to load it "
        "as a data set; pass a local file instead"
    )
    if not _offline_mode() and not hub_reachable():
        raise InputError(offline_hint)
    try:
        data = datasets.load_dataset(name, split=split)
    except ConnectionError:
        raise InputError(offline_hint) from None
    except Exception as exc:  # datasets raises many types; all mean "cannot load this name"
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "split" in message.lower() and split in message:
            raise InputError(f"{name}: no split {split!r} ({message})") from None
        raise InputError(f"{name}: cannot load from the Hugging Face hub ({message})") from None
    return _pick_split(data, split, name)


class _HFFormat(RowsFormat):
    def inspect(self, source: Source) -> dict[str, Any]:
        super().inspect(source)
        return {"fingerprint": source.handle._fingerprint}

    def records(
        self, source: Source, columns: Sequence[str] | None = None, update: Update = _no_update
    ) -> Iterator[tuple[Record, int | None]]:
        data = source.handle
        if columns is not None:
            data = data.select_columns([c for c in columns if c in data.column_names])
        for batch in data.iter(batch_size=_BATCH_ROWS):
            names = list(batch)
            rows = len(batch[names[0]]) if names else 0
            for i in range(rows):
                yield {n: batch[n][i] for n in names}, None
            update(rows)

    def write(
        self, source: Source, positions: Sequence[int], out: Path, update: Update = _no_update
    ) -> None:
        subset = source.handle.select(list(positions))
        suffix = out.suffix.lower()
        writer = _WRITERS.get(suffix)
        if writer is None:
            if suffix:
                raise ParameterError(
                    f"output {out.name}: unknown suffix {suffix!r}; use no suffix (a "
                    f"save_to_disk folder) or one of {sorted(_WRITERS)}"
                )
            subset.save_to_disk(str(out))
        else:
            writer(subset, out)
        update(len(positions))


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def _write_jsonl(subset: Any, out: Path) -> None:
    with open(out, "w", encoding="utf-8") as f:
        for row in subset:
            f.write(json.dumps(row, ensure_ascii=False, default=_jsonable) + "\n")


def _write_json(subset: Any, out: Path) -> None:
    with open(out, "w", encoding="utf-8") as f:
        f.write("[")
        for j, row in enumerate(subset):
            text = json.dumps(row, ensure_ascii=False, indent=2, default=_jsonable)
            f.write(("," if j else "") + "\n  " + text.replace("\n", "\n  "))
        f.write("\n]\n" if len(subset) else "]\n")


def _write_csv(subset: Any, out: Path, delimiter: str = ",") -> None:
    with open(out, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter, lineterminator="\n")
        writer.writerow(subset.column_names)
        for row in subset:
            writer.writerow(
                [
                    v
                    if isinstance(v, str)
                    else ""
                    if v is None
                    else json.dumps(v, ensure_ascii=False, default=_jsonable)
                    for v in row.values()
                ]
            )


def _write_parquet(subset: Any, out: Path) -> None:
    subset.to_parquet(str(out))


_WRITERS = {
    ".json": _write_json,
    ".jsonl": _write_jsonl,
    ".ndjson": _write_jsonl,
    ".parquet": _write_parquet,
    ".csv": _write_csv,
    ".tsv": lambda subset, out: _write_csv(subset, out, "\t"),
}


@FORMATS.register("hf_disk")
class DiskDataset(_HFFormat):
    """A folder written by ``datasets.Dataset.save_to_disk`` (or ``DatasetDict``)."""

    family = "hf"


@FORMATS.register("hub")
class HubDataset(_HFFormat):
    """A data set on the Hugging Face hub, loaded by name with ``datasets.load_dataset``."""

    family = "hf"
