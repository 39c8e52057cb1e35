"""The `Format` interface: how one input format is inspected, streamed and written back."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from unisel._registry import Registry
from unisel.errors import InputError

T = TypeVar("T")
Update = Callable[[int], object]
Record = dict[str, Any]


def _no_update(n: int) -> None:
    return None


@dataclass
class Source:
    """An input being read or written back.

    Attributes
    ----------
    display : str
        The name used in messages (the path as the user gave it, or the hub name).
    path : Path or None
        The absolute local file or folder; None for a hub data set.
    meta : dict
        Format details found by `Format.inspect` (JSON-serialisable; kept in RecordSet.meta).
    handle : object or None
        An open ``datasets.Dataset`` for Hugging Face inputs.
    """

    display: str
    path: Path | None
    meta: dict[str, Any] = field(default_factory=dict)
    handle: Any = None

    @property
    def file(self) -> Path:
        """The local path (an error for hub inputs, which have none)."""
        if self.path is None:
            raise InputError(f"{self.display}: not a local file")
        return self.path


class Format:
    """One input format.

    Subclasses set ``suffixes`` (the file name endings that select them, lower case) and
    ``family`` (the output family that an output suffix must match), and implement the methods.
    """

    name: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]] = ()
    family: ClassVar[str] = ""
    #: unit of the progress bar: bytes of the file, or rows
    unit: ClassVar[str] = "B"
    #: whether `write` can write a subset to a file (not for an in-memory DataFrame)
    writable: ClassVar[bool] = True

    def inspect(self, source: Source) -> dict[str, Any]:
        """Format details the writer needs; raises `InputError` for an empty input."""
        return {}

    def total(self, source: Source) -> int | None:
        """The progress bar total in ``unit`` (file size by default)."""
        return source.file.stat().st_size

    def records(
        self, source: Source, columns: Sequence[str] | None = None, update: Update = _no_update
    ) -> Iterator[tuple[Record, int | None]]:
        """Stream ``(record, line)`` pairs in input order; ``line`` is 1-based or None.

        ``columns`` lists the fields the caller needs; column stores may load only those.
        ``update(n)`` is called as ``n`` more units of input are consumed.
        """
        raise NotImplementedError

    def write(
        self, source: Source, positions: Sequence[int], out: Path, update: Update = _no_update
    ) -> None:
        """Write the source records at ``positions`` (record numbers, in that order) to ``out``."""
        raise NotImplementedError


class RowsFormat(Format):
    """A format whose source handle is an in-memory table (a data set, a DataFrame) with a
    length: one record a row, progress counted in rows."""

    unit = "rows"

    def inspect(self, source: Source) -> dict[str, Any]:
        if len(source.handle) == 0:
            raise InputError(f"{source.display}: no records")
        return {}

    def total(self, source: Source) -> int | None:
        return len(source.handle)


FORMATS: Registry[Format] = Registry("input format")


def pick(items: Iterable[tuple[int, T]], positions: Sequence[int], display: str) -> Iterator[T]:
    """Items of a stream, in the order of ``positions``, holding only the chosen ones.

    Parameters
    ----------
    items : iterable of (int, item)
        ``(record number, item)`` in increasing record number.
    positions : sequence of int
        Record numbers to yield, without repeats, in the wanted order.
    display : str
        Input name for the error raised if some position never appears.

    Yields
    ------
    item
        When ``positions`` is increasing, items are yielded while streaming (nothing is held);
        otherwise the chosen items are collected first, then yielded in order.
    """
    if not positions:
        return
    increasing = all(a < b for a, b in zip(positions, positions[1:], strict=False))
    wanted = set(positions)
    last = max(positions)
    held: dict[int, T] = {}
    for number, item in items:
        if number in wanted:
            if increasing:
                yield item
            else:
                held[number] = item
        if number >= last:
            break
    else:
        raise InputError(f"{display}: has fewer records than when it was read (changed since?)")
    if not increasing:
        for number in positions:
            yield held[number]
