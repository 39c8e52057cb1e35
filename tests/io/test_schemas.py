"""Schema detection and rendering."""

from __future__ import annotations

import pytest

from tests.io.samples import EXPECTED_TEXT, SAMPLES
from unisel.errors import InputError, ParameterError
from unisel.io import SCHEMAS
from unisel.io.schemas import EmptyRecordError, Schema, resolve_schema


def test_registry_lists_the_four_schemas() -> None:
    assert set(SCHEMAS) == {"alpaca", "sharegpt", "messages", "text"}
    assert "alpaca" in SCHEMAS and len(SCHEMAS) == 4


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_detect_and_render(name: str) -> None:
    for record in SAMPLES[name]:
        schema = resolve_schema(record, "x")
        assert schema.name == name
        assert schema.render(record, "x") == EXPECTED_TEXT[name](record)


def test_alpaca_without_input_and_numbers() -> None:
    schema = SCHEMAS.get("alpaca")()
    assert schema.render({"instruction": "Count.", "output": 3}, "x") == "Count.\n3"
    assert schema.render({"instruction": "A", "input": None, "output": "B"}, "x") == "A\nB"


def test_no_role_labels_in_conversations() -> None:
    record = SAMPLES["sharegpt"][0]
    text = SCHEMAS.get("sharegpt")().render(record, "x")
    assert "human" not in text and "gpt" not in text


def test_conversation_given_as_json_string() -> None:
    record = {"conversations": '[{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]'}
    assert SCHEMAS.get("sharegpt")().render(record, "x") == "hi\nyo"


def test_messages_with_content_parts() -> None:
    record = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image"}]},
            {"role": "assistant", "content": "a cat"},
        ]
    }
    assert SCHEMAS.get("messages")().render(record, "x") == "look\na cat"


@pytest.mark.parametrize(
    ("name", "record", "fields"),
    [
        ("alpaca", {"instruction": " ", "input": "", "output": ""}, "instruction/input/output"),
        ("sharegpt", {"conversations": []}, "conversations"),
        ("messages", {"messages": [{"role": "user", "content": ""}]}, "messages"),
        ("text", {"text": "\n"}, "text"),
    ],
)
def test_empty_record_is_an_error_naming_the_fields(name: str, record: dict, fields: str) -> None:
    with pytest.raises(EmptyRecordError, match=f"^data: record 3: no text in fields? {fields}$"):
        SCHEMAS.get(name)().render(record, "data: record 3")


def test_wrong_type_is_an_input_error() -> None:
    with pytest.raises(InputError, match="field 'output' has type list"):
        SCHEMAS.get("alpaca")().render({"instruction": "a", "output": ["b"]}, "x")
    with pytest.raises(InputError, match="field 'conversations' has type int"):
        SCHEMAS.get("sharegpt")().render({"conversations": 3}, "x")


def test_unknown_fields_cannot_be_detected() -> None:
    with pytest.raises(
        InputError, match=r"cannot detect the schema from fields \['a', 'b'\]; pass"
    ):
        resolve_schema({"a": 1, "b": 2}, "d.jsonl: record 0 (line 1)")


def test_override_and_text_field() -> None:
    record = {"question": "why", "text": "because"}
    assert resolve_schema(record, "x").name == "text"
    schema = resolve_schema(record, "x", text_field="question")
    assert schema.name == "text" and schema.render(record, "x") == "why"
    with pytest.raises(InputError, match="no field 'body'; fields are"):
        resolve_schema(record, "x", text_field="body")
    with pytest.raises(ParameterError, match="unknown schema 'tweets'"):
        resolve_schema(record, "x", schema="tweets")
    with pytest.raises(ParameterError, match="applies only to the 'text' schema"):
        resolve_schema({"instruction": "a", "output": "b"}, "x", "alpaca", "instruction")
    with pytest.raises(InputError, match="none of the alpaca fields"):
        resolve_schema(record, "x", schema="alpaca")


def test_a_new_schema_is_one_class() -> None:
    from unisel.io.schemas import SchemaRegistry

    registry = SchemaRegistry("schema")

    @registry.register("qa")
    class QA(Schema):
        fields = ("q", "a")

        @classmethod
        def detect(cls, record: object) -> bool:
            return isinstance(record, dict) and "q" in record

        def render(self, record: dict, where: str) -> str:
            return record["q"] + "\n" + record["a"]

    assert registry.detect({"q": "1", "a": "2"}) is QA
    assert registry.detect({"z": 1}) is None
