"""Record schemas: how to recognise a record's layout and render it to the text that is embedded.

A schema is one small class registered in `SCHEMAS`: ``detect(record)`` says whether a record has
its layout, ``render(record, where)`` returns the record's text or raises `InputError` naming the
record. Detection tries the schemas in registration order (the most specific first), on the first
record of the input. A new schema is one new class decorated with ``@SCHEMAS.register("name")``.

Rendering follows the paper: the text of a record is its instruction, input and output joined
with newlines; a conversation is the text of all its turns joined with newlines. Role labels
("human", "gpt", "user", ...) are left out on purpose: they are the same few words in every
record, so they carry nothing that tells records apart, and with a mean-of-word-vectors embedder
they pull every record towards the same point, shrinking the distances that selection relies on.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from unisel._registry import Registry
from unisel.errors import InputError, ParameterError

Record = Mapping[str, Any]


class EmptyRecordError(InputError):
    """A record whose schema fields hold no text (the reader may skip such records)."""


class Schema:
    """Base class of a record schema.

    Attributes
    ----------
    name : str
        The name it is registered under (set by the registry).
    fields : tuple of str
        The fields the schema reads, in rendering order (the reader loads only these columns
        from column stores).
    """

    name: ClassVar[str]
    fields: tuple[str, ...] = ()

    def __init__(self, text_field: str | None = None) -> None:
        if text_field is not None:
            raise ParameterError(
                f"a text field ({text_field!r}) applies only to the 'text' schema, not {self.name!r}"
            )

    @classmethod
    def detect(cls, record: Record) -> bool:
        """Whether ``record`` (the first record of an input) has this schema's layout."""
        raise NotImplementedError

    def render(self, record: Record, where: str) -> str:
        """The text to embed for ``record``.

        Parameters
        ----------
        record : mapping
            One record, fields in input order.
        where : str
            Location used in error messages, e.g. ``"data.jsonl: record 12 (line 13)"``.

        Returns
        -------
        str
            Non-empty text.

        Raises
        ------
        InputError
            If the record has no usable text.
        """
        raise NotImplementedError

    def _no_text(self, where: str) -> EmptyRecordError:
        plural = "s" if len(self.fields) > 1 else ""
        return EmptyRecordError(f"{where}: no text in field{plural} {'/'.join(self.fields)}")


class SchemaRegistry(Registry[Schema]):
    """The schema registry; iterating over it (or ``in``) gives the schema names."""

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def detect(self, record: Record) -> type[Schema] | None:
        """The first registered schema whose ``detect`` accepts ``record``, or None."""
        for cls in self._items.values():
            if cls.detect(record):
                return cls
        return None


SCHEMAS = SchemaRegistry("schema")


def _as_text(value: Any, field_name: str, where: str) -> str:
    """A field's value as text: strings as they are, None as empty, numbers as written."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return str(value)
    raise InputError(
        f"{where}: field {field_name!r} has type {type(value).__name__}, expected text"
    )


def _as_list(value: Any, field_name: str, where: str) -> list[Any]:
    """A list field; a JSON-encoded string (as CSV cells hold them) is decoded first."""
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: field {field_name!r} is not a list ({exc.msg})") from None
    if not isinstance(value, (list, tuple)):
        raise InputError(
            f"{where}: field {field_name!r} has type {type(value).__name__}, expected a list"
        )
    return list(value)


def _join(parts: list[str]) -> str:
    return "\n".join(p for p in parts if p.strip())


class _Turns(Schema):
    """A list of chat turns (objects) in the one field of ``fields``; renders the texts of
    every turn joined with newlines."""

    @classmethod
    def detect(cls, record: Record) -> bool:
        return cls.fields[0] in record

    def render(self, record: Record, where: str) -> str:
        key = self.fields[0]
        turns = _as_list(record.get(key), key, where)
        parts: list[str] = []
        for j, turn in enumerate(turns):
            if not isinstance(turn, dict):
                raise InputError(f"{where}: {key}[{j}] is not an object")
            parts.extend(self._turn_texts(turn, f"{key}[{j}]", where))
        text = _join(parts)
        if not text:
            raise self._no_text(where)
        return text

    def _turn_texts(self, turn: dict[str, Any], at: str, where: str) -> list[str]:
        """The texts of one turn; ``at`` names it in messages (``messages[3]``)."""
        raise NotImplementedError


@SCHEMAS.register("sharegpt")
class ShareGPT(_Turns):
    """ShareGPT conversations: ``{"conversations": [{"from": ..., "value": ...}, ...]}``.

    Renders the ``value`` of every turn (``content`` is accepted too), joined with newlines.
    """

    fields = ("conversations",)

    def _turn_texts(self, turn: dict[str, Any], at: str, where: str) -> list[str]:
        return [_as_text(turn.get("value", turn.get("content")), f"{at}.value", where)]


@SCHEMAS.register("messages")
class Messages(_Turns):
    """Chat messages: ``{"messages": [{"role": ..., "content": ...}, ...]}``.

    Renders the ``content`` of every message joined with newlines. A content given as a list of
    parts (``[{"type": "text", "text": ...}, ...]``) contributes its text parts.
    """

    fields = ("messages",)

    def _turn_texts(self, turn: dict[str, Any], at: str, where: str) -> list[str]:
        content = turn.get("content")
        if isinstance(content, list):
            return [
                _as_text(p.get("text"), f"{at}.content", where)
                for p in content
                if isinstance(p, dict) and p.get("type", "text") == "text"
            ]
        return [_as_text(content, f"{at}.content", where)]


@SCHEMAS.register("alpaca")
class Alpaca(Schema):
    """Alpaca instructions: ``{"instruction": ..., "input": ..., "output": ...}``.

    Renders instruction, input and output joined with newlines; ``input`` is optional and an
    empty one is left out.
    """

    fields = ("instruction", "input", "output")

    @classmethod
    def detect(cls, record: Record) -> bool:
        return "instruction" in record and "output" in record

    def render(self, record: Record, where: str) -> str:
        text = _join([_as_text(record.get(f), f, where) for f in self.fields])
        if not text:
            raise self._no_text(where)
        return text


@SCHEMAS.register("text")
class Text(Schema):
    """One text column: ``text_field`` if given, else the column ``text``."""

    DEFAULT_FIELD: ClassVar[str] = "text"

    def __init__(self, text_field: str | None = None) -> None:
        self.text_field = text_field or self.DEFAULT_FIELD
        self.fields = (self.text_field,)

    @classmethod
    def detect(cls, record: Record) -> bool:
        return cls.DEFAULT_FIELD in record

    def render(self, record: Record, where: str) -> str:
        text = _as_text(record.get(self.text_field), self.text_field, where)
        if not text.strip():
            raise self._no_text(where)
        return text


def resolve_schema(
    first: Record, where: str, schema: str | None = None, text_field: str | None = None
) -> Schema:
    """The schema for an input, detected from its first record unless given.

    Parameters
    ----------
    first : mapping
        The first record of the input.
    where : str
        Location of that record, for error messages.
    schema : str, optional
        A registered schema name; overrides detection.
    text_field : str, optional
        The column to embed; implies the ``text`` schema when ``schema`` is None.

    Returns
    -------
    Schema
        A schema instance ready to render records.

    Raises
    ------
    ParameterError
        Unknown schema name, or a text field given with a schema other than ``text``.
    InputError
        No schema fits, or the text field is not a field of the first record.
    """
    fields = list(first)
    if schema is None and text_field is not None:
        schema = "text"
    if schema is None:
        cls = SCHEMAS.detect(first)
        if cls is None:
            raise InputError(
                f"{where}: cannot detect the schema from fields {fields}; "
                "pass --schema or --text-field"
            )
    else:
        cls = SCHEMAS.get(schema)
    instance = cls(text_field=text_field)
    missing = [f for f in instance.fields if f not in first]
    if isinstance(instance, Text) and missing:
        raise InputError(f"{where}: no field {instance.text_field!r}; fields are {fields}")
    if len(missing) == len(instance.fields):
        raise InputError(
            f"{where}: none of the {instance.name} fields {list(instance.fields)} "
            f"is present; fields are {fields}"
        )
    return instance
