"""In-memory inputs: a ``datasets.Dataset`` (or ``DatasetDict``) and a ``pandas.DataFrame``.

`read_records` accepts these objects like a path. Neither library is imported here: an object
is recognised through the module its class comes from, which the caller has already imported.
Schema detection and rendering are those of files; the records' content hash is the sha256 of
their rendered texts (`texts_sha256`), since an in-memory object has no file bytes to hash.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unisel.errors import InputError, ParameterError
from unisel.io.formats.base import (
    FORMATS,
    Format,
    Record,
    RowsFormat,
    Source,
    Update,
    _no_update,
)
from unisel.io.formats.hf import _BATCH_ROWS, _HFFormat, _pick_split

DATASET_DISPLAY = "<datasets.Dataset>"
DATAFRAME_DISPLAY = "<pandas.DataFrame>"


def _instance_of(obj: Any, module: str, *names: str) -> bool:
    """Whether ``obj`` is one of the classes ``module.names``, if that module is loaded."""
    mod = sys.modules.get(module)
    return mod is not None and isinstance(obj, tuple(getattr(mod, n) for n in names))


def is_in_memory(obj: Any) -> bool:
    """Whether ``obj`` is a ``datasets.Dataset``/``DatasetDict`` or a ``pandas.DataFrame``."""
    return _instance_of(obj, "datasets", "Dataset", "DatasetDict") or _instance_of(
        obj, "pandas", "DataFrame"
    )


def open_in_memory(obj: Any, split: str = "train") -> tuple[Format, Source]:
    """The format and `Source` of an in-memory data set.

    Parameters
    ----------
    obj : datasets.Dataset, datasets.DatasetDict or pandas.DataFrame
        The records; a ``DatasetDict`` gives its ``split``.
    split : str
        The split of a ``DatasetDict``.

    Raises
    ------
    ParameterError
        ``obj`` is none of these (a streaming ``IterableDataset``, a Series, a list...).
    InputError
        A ``DatasetDict`` without ``split``.
    """
    meta: dict[str, Any] = {"in_memory": True}
    if _instance_of(obj, "datasets", "Dataset", "DatasetDict"):
        meta.update(display=DATASET_DISPLAY, split=split)
        data = _pick_split(obj, split, DATASET_DISPLAY)
        return FORMATS.get("dataset")(), Source(DATASET_DISPLAY, None, meta, data)
    if _instance_of(obj, "pandas", "DataFrame"):
        meta.update(display=DATAFRAME_DISPLAY)
        return FORMATS.get("dataframe")(), Source(DATAFRAME_DISPLAY, None, meta, obj)
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    raise ParameterError(
        f"expected a path, a datasets.Dataset or a pandas.DataFrame, got {kind}"
        + (" (a streaming data set; load it without streaming=True)" if "Iterable" in kind else "")
    )


@FORMATS.register("dataset")
class InMemoryDataset(_HFFormat):
    """A ``datasets.Dataset`` held by the caller; a subset is ``Dataset.select(...)``."""

    family = "hf"

    def inspect(self, source: Source) -> dict[str, Any]:
        if len(source.handle) == 0:
            raise InputError(f"{source.display}: no records")
        return {}


def _plain(value: Any) -> Any:
    """A DataFrame cell as the plain Python value a JSON file would give.

    Missing cells (NaN, ``pd.NA``, None) become None; NumPy scalars and arrays (list columns
    read from Parquet) become Python numbers and lists.
    """
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    pandas = sys.modules.get("pandas")
    if pandas is not None and value is pandas.NA:
        return None
    return value


@FORMATS.register("dataframe")
class DataFrameFormat(RowsFormat):
    """A ``pandas.DataFrame`` held by the caller, one record per row; the subset is
    ``df.iloc[...]`` (see `unisel.pipeline.select_dataset`), not written back to a file."""

    family = "dataframe"
    writable = False

    def records(
        self, source: Source, columns: Sequence[str] | None = None, update: Update = _no_update
    ) -> Iterator[tuple[Record, int | None]]:
        df = source.handle
        by_name = {str(c): c for c in df.columns}
        if columns is not None:
            df = df[[by_name[c] for c in columns if c in by_name]]
        names = [str(c) for c in df.columns]
        for begin in range(0, len(df), _BATCH_ROWS):
            block = df.iloc[begin : begin + _BATCH_ROWS]
            for row in block.itertuples(index=False, name=None):
                yield {n: _plain(v) for n, v in zip(names, row, strict=True)}, None
            update(len(block))

    def write(
        self, source: Source, positions: Sequence[int], out: Path, update: Update = _no_update
    ) -> None:
        raise ParameterError(not_written(source.display))


def not_written(display: str) -> str:
    """Why a subset of an in-memory DataFrame is not written to a file, and what to do."""
    return (
        f"{display}: an in-memory DataFrame is not written to a file; take df.iloc[indices] "
        "(unisel.pipeline.select_dataset returns it)"
    )
