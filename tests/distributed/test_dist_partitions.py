"""Partitioning inputs: every record read exactly once, in input order, with clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unisel.distributed import plan_partitions, read_partition_texts
from unisel.errors import InputError


def _all_texts(parts):
    return [t for p in parts for t in read_partition_texts(p)]


@settings(max_examples=30, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 40), min_size=1, max_size=30),
    blanks=st.lists(st.booleans(), max_size=30),
    n_partitions=st.integers(1, 12),
)
def test_jsonl_byte_ranges_cover_each_record_once(tmp_path_factory, lengths, blanks, n_partitions):
    path = tmp_path_factory.mktemp("j") / "d.jsonl"
    texts = [f"rec{i}-" + "é" * n for i, n in enumerate(lengths)]
    lines = []
    for i, t in enumerate(texts):
        lines.append(json.dumps({"text": t}, ensure_ascii=False))
        if i < len(blanks) and blanks[i]:
            lines.append("")
    path.write_text("\n".join(lines) + ("\n" if n_partitions % 2 else ""), encoding="utf-8")
    parts = plan_partitions(path, n_partitions=n_partitions)
    assert [p.index for p in parts] == list(range(len(parts)))
    assert _all_texts(parts) == texts


def test_schemas_render_like_the_reader(tmp_path):
    rows = [
        {"instruction": "Do", "input": "", "output": "Done"},
        {"instruction": "Ask", "input": "ctx", "output": "Ans"},
    ]
    p = tmp_path / "a.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert _all_texts(plan_partitions(p, n_partitions=2)) == ["Do\nDone", "Ask\nctx\nAns"]
    q = tmp_path / "s.json"
    q.write_text(
        json.dumps(
            [{"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}]
            * 3
        )
    )
    assert _all_texts(plan_partitions(q, n_partitions=2)) == ["hi\nyo"] * 3


def test_bad_line_names_file_and_line(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"text": "a"}\n{"text": "b"}\n{broken\n{"text": "c"}\n')
    with pytest.raises(InputError, match=r"d\.jsonl:3: not valid JSON"):
        _all_texts(plan_partitions(p, n_partitions=2))
    p.write_text('{"text": "a"}\n{"other": 1}\n')
    with pytest.raises(InputError, match=r"d\.jsonl:2: .*field"):
        _all_texts(plan_partitions(p, n_partitions=1))


def test_parquet_row_groups(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = [f"t{i}" for i in range(23)]
    pq.write_table(
        pa.table({"text": texts, "n": np.arange(23)}), tmp_path / "d.parquet", row_group_size=5
    )
    parts = plan_partitions(tmp_path / "d.parquet", n_partitions=3)
    assert len(parts) == 3 and parts[-1].stop == 5
    assert _all_texts(parts) == texts
    assert len(plan_partitions(tmp_path / "d.parquet", n_partitions=50)) == 5


def test_hf_save_to_disk_shards(tmp_path):
    import datasets

    texts = [f"row {i}" for i in range(17)]
    datasets.Dataset.from_dict({"text": texts}).save_to_disk(str(tmp_path / "ds"))
    parts = plan_partitions(tmp_path / "ds", n_partitions=4)
    assert len(parts) == 4 and {p.kind for p in parts} == {"hf_disk"}
    assert _all_texts(parts) == texts


def test_texts_list_and_unsupported(tmp_path):
    assert _all_texts(plan_partitions(["a", "b", "c"], n_partitions=2)) == ["a", "b", "c"]
    (tmp_path / "x.csv").write_text("a\n")
    with pytest.raises(InputError, match="unsupported input format"):
        plan_partitions(tmp_path / "x.csv")
