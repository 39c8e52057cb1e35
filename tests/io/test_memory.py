"""read_records on in-memory inputs: a datasets.Dataset (or DatasetDict) and a pandas DataFrame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from datasets import Dataset, DatasetDict

from tests.io.samples import EXPECTED_TEXT, SAMPLES
from unisel.embed.cache import texts_digest
from unisel.errors import InputError, ParameterError
from unisel.io import is_in_memory, read_records, texts_sha256, write_subset

MAKERS = {"dataset": Dataset.from_list, "dataframe": pd.DataFrame}


@pytest.mark.parametrize("schema", sorted(SAMPLES))
@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_each_schema_detected_and_rendered_as_for_files(kind, schema):
    records = SAMPLES[schema]
    rs = read_records(MAKERS[kind](records), quiet=True)
    assert rs.format == kind and rs.schema == schema and rs.in_memory
    assert rs.texts == [EXPECTED_TEXT[schema](r) for r in records]
    assert rs.source == ("<datasets.Dataset>" if kind == "dataset" else "<pandas.DataFrame>")
    assert rs.content_hash == texts_sha256(rs.texts)
    assert rs.n_skipped == 0 and rs.source_index is None


def test_texts_sha256_depends_on_order_and_boundaries_and_is_the_cache_digest():
    texts = ["ab", "c"]
    assert texts_sha256(texts) == texts_digest(texts)
    assert len({texts_sha256(t) for t in (["ab", "c"], ["a", "bc"], ["c", "ab"], ["abc"])}) == 4


def test_dataframe_cells_from_parquet_and_missing_values():
    # pyarrow's to_pandas gives NumPy arrays for list columns: rendered like Python lists.
    df = pa.Table.from_pylist(SAMPLES["sharegpt"]).to_pandas()
    assert isinstance(df["conversations"].iloc[0], np.ndarray)
    expected = [EXPECTED_TEXT["sharegpt"](r) for r in SAMPLES["sharegpt"]]
    assert read_records(df, quiet=True).texts == expected
    # A missing cell (NaN, None, pd.NA) is an empty field; integer columns are numbers.
    alpaca = pd.DataFrame(
        {
            "instruction": ["a", "b", "c"],
            "input": [np.nan, None, pd.NA],
            "output": pd.array(["x", "y", "z"], dtype="string"),
        }
    )
    assert read_records(alpaca, quiet=True).texts == ["a\nx", "b\ny", "c\nz"]
    numbers = pd.DataFrame({"text": [1, 2, 3]})
    assert read_records(numbers, quiet=True).texts == ["1", "2", "3"]


def test_text_field_and_skip_empty_map_rows():
    df = pd.DataFrame({"body": ["one", None, "three", ""], "n": [1, 2, 3, 4]})
    with pytest.raises(InputError, match=r"<pandas.DataFrame>: record 1: no text in field body"):
        read_records(df, text_field="body", quiet=True)
    with pytest.warns(UserWarning, match="2 records without text"):
        rs = read_records(df, text_field="body", skip_empty=True, quiet=True)
    assert rs.texts == ["one", "three"] and rs.source_index == [0, 2]


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_no_text_column_is_a_one_line_error_naming_the_fields(kind):
    data = MAKERS[kind]([{"body": "x", "n": 1}, {"body": "y", "n": 2}])
    with pytest.raises(InputError) as info:
        read_records(data, quiet=True)
    message = str(info.value)
    assert "\n" not in message and "record 0" in message and "['body', 'n']" in message
    with pytest.raises(InputError, match=r"no field 'text_col'; fields are \['body', 'n'\]"):
        read_records(data, text_field="text_col", quiet=True)


def test_empty_frame_and_other_objects():
    with pytest.raises(InputError, match=r"<pandas.DataFrame>: no records"):
        read_records(pd.DataFrame({"text": []}), quiet=True)
    with pytest.raises(InputError, match=r"<datasets.Dataset>: no records"):
        read_records(Dataset.from_dict({"text": []}), quiet=True)
    for obj in (
        [{"text": "a"}],
        pd.Series(["a"]),
        Dataset.from_list([{"text": "a"}]).to_iterable_dataset(),
    ):
        assert not is_in_memory(obj)
        with pytest.raises(ParameterError, match="expected a path, a datasets.Dataset or a pandas"):
            read_records(obj, quiet=True)


def test_dataset_dict_gives_its_split():
    dd = DatasetDict(
        {
            "train": Dataset.from_list(SAMPLES["text"]),
            "test": Dataset.from_list(SAMPLES["text"][:2]),
        }
    )
    assert len(read_records(dd, quiet=True)) == 6
    assert len(read_records(dd, split="test", quiet=True)) == 2
    with pytest.raises(InputError, match=r"no split 'dev'"):
        read_records(dd, split="dev", quiet=True)


def test_write_subset_of_a_dataset_writes_the_suffix_format_a_frame_refuses(tmp_path):
    ds = Dataset.from_list(SAMPLES["alpaca"])
    out = write_subset(read_records(ds, quiet=True), [4, 1], tmp_path / "sub.jsonl", quiet=True)
    assert read_records(out, quiet=True).texts == [
        EXPECTED_TEXT["alpaca"](SAMPLES["alpaca"][i]) for i in (1, 4)
    ]
    frame = read_records(pd.DataFrame(SAMPLES["alpaca"]), quiet=True)
    with pytest.raises(ParameterError, match=r"df.iloc\[indices\]"):
        write_subset(frame, [1], tmp_path / "sub2.jsonl", quiet=True)
    assert not (tmp_path / "sub2.jsonl").exists()
