"""write_subset: round trips in every format and schema, ordering, refusals and atomicity."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.io.samples import (
    EXPECTED_TEXT,
    FORMAT_FILES,
    SAMPLES,
    load_jsonl,
    write_json,
    write_jsonl,
)
from unisel.errors import InputError, ParameterError
from unisel.io import read_records, write_subset
from unisel.io.formats import FORMATS
from unisel.io.formats import hf as hf_module

CHOSEN = [4, 0, 3, 1]  # includes both copies of the duplicated alpaca record (1 and 3)


@pytest.mark.parametrize("order", ["input", "selection"])
@pytest.mark.parametrize("schema", sorted(SAMPLES))
@pytest.mark.parametrize("fmt", sorted(FORMAT_FILES))
def test_round_trip(tmp_path: Path, fmt: str, schema: str, order: str) -> None:
    name, writer, loader = FORMAT_FILES[fmt]
    path = writer(SAMPLES[schema], tmp_path / name)
    raw = loader(path)
    rs = read_records(path, quiet=True)
    out = tmp_path / ("out_" + name)
    assert write_subset(rs, CHOSEN, out, order=order, quiet=True) == out.absolute()

    rows = CHOSEN if order == "selection" else sorted(CHOSEN)
    got = loader(out)
    assert got == [raw[i] for i in rows]
    assert [list(r) for r in got] == [list(raw[i]) for i in rows]  # field order kept
    back = read_records(out, quiet=True)
    assert back.format == fmt and back.schema == schema
    assert back.texts == [rs.texts[i] for i in rows]
    assert back.texts == [EXPECTED_TEXT[schema](SAMPLES[schema][i]) for i in rows]
    if fmt == "parquet":
        assert pq.read_schema(out).equals(pq.read_schema(path), check_metadata=True)
        assert pq.ParquetFile(out).metadata.row_group(0).column(0).compression == "ZSTD"


@pytest.mark.parametrize("indent", [2, 4, "\t", None])
def test_json_keeps_the_indentation_style(tmp_path: Path, indent: int | str | None) -> None:
    records = SAMPLES["alpaca"]
    path = write_json(records, tmp_path / "d.json", indent=indent)
    out = write_subset(read_records(path, quiet=True), [2, 5], tmp_path / "o.json", quiet=True)
    expected = json.dumps([records[2], records[5]], indent=indent, ensure_ascii=False) + "\n"
    assert out.read_text("utf-8") == expected


def test_json_compact_and_ascii_escaped(tmp_path: Path) -> None:
    records = SAMPLES["alpaca"]
    path = tmp_path / "d.json"
    path.write_text(json.dumps(records, separators=(",", ":")), "utf-8")
    out = write_subset(read_records(path, quiet=True), [4, 0], tmp_path / "o.json", quiet=True)
    assert out.read_text("utf-8") == json.dumps([records[0], records[4]], separators=(",", ":"))


def test_jsonl_lines_copied_byte_for_byte(tmp_path: Path) -> None:
    lines = [
        b'{"text": "a",   "z": 1.50}\r\n',
        b'{"z": 2, "text": "b"}\n',
        b"\n",
        b'  {"text":"c\\u00e9"}\n',
        b'{"text": "d"}',  # no final newline
    ]
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"".join(lines))
    rs = read_records(path, quiet=True)
    out = write_subset(rs, [3, 0, 2], tmp_path / "o.jsonl", order="selection", quiet=True)
    assert out.read_bytes() == lines[4] + b"\n" + lines[0] + lines[3]


def test_csv_keeps_header_and_raw_records(tmp_path: Path) -> None:
    content = 'text,n\r\n"two\r\nlines",1\r\nplain,2\r\n"say ""hi""",3\r\n'
    path = tmp_path / "d.csv"
    path.write_bytes(content.encode())
    out = write_subset(read_records(path, quiet=True), [2, 0], tmp_path / "o.csv", quiet=True)
    assert out.read_bytes() == b'text,n\r\n"two\r\nlines",1\r\n"say ""hi""",3\r\n'


def test_skipped_records_map_to_source_rows(tmp_path: Path) -> None:
    records = [{"text": f"t{i}"} for i in range(6)]
    records[1] = {"text": ""}
    path = write_jsonl(records, tmp_path / "d.jsonl")
    with pytest.warns(UserWarning):
        rs = read_records(path, skip_empty=True, quiet=True)
    out = write_subset(rs, [0, 1, 4], tmp_path / "o.jsonl", quiet=True)
    assert load_jsonl(out) == [records[0], records[2], records[5]]


def test_truncated_json_subset(tmp_path: Path) -> None:
    records = SAMPLES["text"]
    text = json.dumps(records, indent=2)
    path = tmp_path / "cut.json"
    path.write_text(text[: text.index("number 5")], "utf-8")
    with pytest.warns(UserWarning):
        rs = read_records(path, quiet=True)
    out = write_subset(rs, [4, 0], tmp_path / "o.json", order="selection", quiet=True)
    assert json.loads(out.read_text("utf-8")) == [records[4], records[0]]


def test_example_subset_round_trip(tmp_path: Path) -> None:
    with pytest.warns(UserWarning):
        rs = read_records("example:sharegpt", quiet=True)
    chosen = [len(rs) - 1, 0, 7]
    out = write_subset(rs, chosen, tmp_path / "sg.json", order="selection", quiet=True)
    back = read_records(out, quiet=True)
    assert back.texts == [rs.texts[i] for i in chosen] and back.n_dropped == 0


# ---------------------------------------------------------------- hub inputs
@pytest.fixture
def hub_records(monkeypatch: pytest.MonkeyPatch):
    import datasets

    monkeypatch.setattr(hf_module, "hub_reachable", lambda timeout=3.0: True)
    monkeypatch.setattr(
        datasets,
        "load_dataset",
        lambda name, split: datasets.Dataset.from_list(SAMPLES["sharegpt"]),
    )
    return read_records("owner/chat", quiet=True)


@pytest.mark.parametrize("name", ["sub.jsonl", "sub.json", "sub.parquet", "sub.csv", "sub"])
def test_hub_output_follows_the_suffix(tmp_path: Path, hub_records, name: str) -> None:
    out = write_subset(hub_records, [3, 1], tmp_path / name, order="selection", quiet=True)
    back = read_records(out, quiet=True)
    expected_format = {"": "hf_disk", ".csv": "csv"}.get(out.suffix, out.suffix[1:])
    assert back.format == expected_format
    assert back.texts == [hub_records.texts[3], hub_records.texts[1]]


def test_hub_output_unknown_suffix(tmp_path: Path, hub_records) -> None:
    with pytest.raises(ParameterError, match="unknown suffix '.txt'"):
        write_subset(hub_records, [0], tmp_path / "sub.txt", quiet=True)
    assert list(tmp_path.iterdir()) == []


def test_disk_folder_output_replaces_a_previous_subset(tmp_path: Path) -> None:
    _, writer, loader = FORMAT_FILES["hf_disk"]
    path = writer(SAMPLES["text"], tmp_path / "full")
    rs = read_records(path, quiet=True)
    write_subset(rs, [0, 1], tmp_path / "sub", quiet=True)
    write_subset(rs, [5], tmp_path / "sub", quiet=True)
    assert loader(tmp_path / "sub") == [SAMPLES["text"][5]]


# ---------------------------------------------------------------- refusals
def test_output_equal_to_input_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_jsonl(SAMPLES["text"], tmp_path / "d.jsonl")
    before = path.read_bytes()
    rs = read_records(path, quiet=True)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "link.jsonl").symlink_to(path)
    for spelling in (path, "d.jsonl", "./sub/../d.jsonl", "link.jsonl", tmp_path):
        with pytest.raises(ParameterError, match="is the input"):
            write_subset(rs, [0], spelling, quiet=True)
    assert path.read_bytes() == before


def test_output_inside_input_folder_is_refused(tmp_path: Path) -> None:
    path = FORMAT_FILES["hf_disk"][1](SAMPLES["text"], tmp_path / "full")
    rs = read_records(path, quiet=True)
    with pytest.raises(ParameterError, match="inside the input folder"):
        write_subset(rs, [0], path / "sub", quiet=True)
    with pytest.raises(ParameterError, match="is the input"):
        write_subset(rs, [0], path, quiet=True)


def test_output_of_another_format_is_refused(tmp_path: Path) -> None:
    path = write_jsonl(SAMPLES["text"], tmp_path / "d.jsonl")
    rs = read_records(path, quiet=True)
    with pytest.raises(ParameterError, match="use a suffix among"):
        write_subset(rs, [0], tmp_path / "o.parquet", quiet=True)
    assert not (tmp_path / "o.parquet").exists()


def test_existing_plain_folder_is_never_replaced(tmp_path: Path) -> None:
    path = write_jsonl(SAMPLES["text"], tmp_path / "d.jsonl")
    folder = tmp_path / "keep"
    folder.mkdir()
    (folder / "precious.txt").write_text("x")
    with pytest.raises(ParameterError, match="existing folder"):
        write_subset(read_records(path, quiet=True), [0], folder, quiet=True)
    assert (folder / "precious.txt").read_text() == "x"


@pytest.mark.parametrize(
    ("indices", "match"),
    [
        ([0, 9], "index 9 is out of range for 6 records"),
        ([-1], "index -1 is out of range"),
        ([2, 1, 2], "index 2 is chosen twice"),
        ([[0, 1]], "1-D sequence of integers"),
        ([0.5], "1-D sequence of integers"),
    ],
)
def test_bad_indices(tmp_path: Path, indices: list, match: str) -> None:
    path = write_jsonl(SAMPLES["text"], tmp_path / "d.jsonl")
    with pytest.raises(ParameterError, match=match):
        write_subset(read_records(path, quiet=True), indices, tmp_path / "o.jsonl", quiet=True)
    assert not (tmp_path / "o.jsonl").exists()


def test_bad_order(tmp_path: Path) -> None:
    path = write_jsonl(SAMPLES["text"], tmp_path / "d.jsonl")
    with pytest.raises(ParameterError, match="order must be one of"):
        write_subset(read_records(path, quiet=True), [0], tmp_path / "o.jsonl", order="random")  # type: ignore[arg-type]


def test_input_changed_since_read(tmp_path: Path) -> None:
    path = write_jsonl(SAMPLES["text"], tmp_path / "d.jsonl")
    rs = read_records(path, quiet=True)
    write_jsonl(SAMPLES["text"][:2], path)
    with pytest.raises(InputError, match="changed since it was read"):
        write_subset(rs, [0], tmp_path / "o.jsonl", quiet=True)
    assert not (tmp_path / "o.jsonl").exists()


# ---------------------------------------------------------------- atomicity
@pytest.mark.parametrize("fmt", sorted(FORMAT_FILES))
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failure_mid_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, error: type[BaseException]
) -> None:
    name, writer, _ = FORMAT_FILES[fmt]
    path = writer(SAMPLES["text"], tmp_path / name)
    rs = read_records(path, quiet=True)
    cls = FORMATS.get(fmt)
    real_write = cls.write
    calls = []

    def update_then_fail(n: int) -> None:
        calls.append(n)
        raise error("interrupted")

    def write(self, source, positions, out, update=None) -> None:  # type: ignore[no-untyped-def]
        real_write(self, source, positions, out, update_then_fail)

    monkeypatch.setattr(cls, "write", write)
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / ("out_" + name)
    with pytest.raises(error):
        write_subset(rs, [0, 2, 3], out, quiet=True)
    assert calls, "the write never got as far as its first record"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# ---------------------------------------------------------------- properties
_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1).filter(str.strip)
_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=3),
)
_record = st.builds(
    lambda text, extra: {"text": text, **extra},
    _text,
    st.dictionaries(st.sampled_from(["a", "b", "c"]), _value),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(_record, min_size=1, max_size=12), data=st.data())
def test_jsonl_and_json_subsets_read_back_as_chosen(
    records: list[dict], data: st.DataObject
) -> None:
    n = len(records)
    chosen = data.draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n), label="chosen")
    order = data.draw(st.sampled_from(["input", "selection"]), label="order")
    expected = [records[i] for i in (chosen if order == "selection" else sorted(chosen))]
    with tempfile.TemporaryDirectory() as tmp:
        for writer, name in ((write_jsonl, "d.jsonl"), (write_json, "d.json")):
            path = writer(records, Path(tmp) / name)
            out = write_subset(
                read_records(path, quiet=True),
                chosen,
                Path(tmp) / ("o" + name),
                order=order,
                quiet=True,
            )
            got = json.loads(out.read_text("utf-8")) if name.endswith(".json") else load_jsonl(out)
            assert got == expected
            assert [list(r) for r in got] == [list(r) for r in expected]
            if expected:
                assert read_records(out, quiet=True).texts == [r["text"] for r in expected]


def test_indices_may_be_a_numpy_array(tmp_path: Path) -> None:
    path = write_jsonl(SAMPLES["text"], tmp_path / "d.jsonl")
    out = write_subset(
        read_records(path, quiet=True),
        np.array([5, 2], dtype=np.int32),
        tmp_path / "o.jsonl",
        order="selection",
        quiet=True,
    )
    assert load_jsonl(out) == [SAMPLES["text"][5], SAMPLES["text"][2]]
    assert os.path.getsize(out) > 0
