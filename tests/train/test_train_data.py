from __future__ import annotations

import json

import numpy as np
import pytest

from tests.train.samples import ALPACA, SHAREGPT
from unisel.errors import ParameterError
from unisel.train.data import IGNORE, load_rows, tokenize_rows
from unisel.train.models import load_tokenizer
from unisel.train.trainer import lr_at, stream_indices


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("tiny-llama")


def _response_text(tok, ex):
    return tok.decode([t for t in ex.labels if t != IGNORE])


def test_alpaca_loss_on_output_only(tokenizer, alpaca_file):
    data = load_rows(alpaca_file)
    assert data.schema == "alpaca"
    examples, skipped = tokenize_rows(data.rows, data.schema, tokenizer, max_length=256)
    assert skipped == []
    for row, ex in zip(ALPACA, examples, strict=True):
        assert _response_text(tokenizer, ex) == row["output"] + tokenizer.eos_token
        prompt = tokenizer.decode(
            [t for t, lab in zip(ex.input_ids, ex.labels, strict=True) if lab == IGNORE]
        )
        assert "### Instruction:\n" + row["instruction"] in prompt
        assert prompt.endswith("### Response:")
        assert ("### Input:" in prompt) == bool(row["input"])


def test_chat_template_masks_everything_but_assistant_turns(tokenizer, sharegpt_file):
    data = load_rows(sharegpt_file)
    assert data.schema == "sharegpt"
    examples, _ = tokenize_rows(data.rows, data.schema, tokenizer, max_length=512)
    for i, ex in enumerate(examples):
        text = _response_text(tokenizer, ex)
        assert f"Answer number {i}." in text and "You are welcome." in text
        assert "Question" not in text and "Thanks" not in text and "user" not in text


def test_truncation_drops_rows_without_response(tokenizer, tmp_path):
    rows = [{"instruction": "word " * 200, "input": "", "output": "x"}, ALPACA[0]]
    path = tmp_path / "a.json"
    path.write_text(json.dumps(rows))
    data = load_rows(path)
    examples, skipped = tokenize_rows(data.rows, data.schema, tokenizer, max_length=64)
    assert skipped == [0]
    assert len(examples) == 1 and len(examples[0].input_ids) <= 64
    with pytest.raises(ParameterError):
        tokenize_rows(data.rows, "yaml", tokenizer, max_length=64)


def test_manifest_stands_for_its_rows(tmp_path, alpaca_file):
    from unisel.manifest import Manifest, manifest_path_for

    m = Manifest(
        input={"source": str(alpaca_file), "schema": "alpaca", "text_field": None},
        output={"path": str(tmp_path / "sub.jsonl")},
        embedder={},
        selector={"method": "maxmin"},
        k=2,
        seed=0,
        indices=[4, 1],
        distances=None,
        h_min={},
    )
    path = manifest_path_for(tmp_path / "sub.jsonl")
    path.write_text(m.to_json())
    data = load_rows(path)
    assert data.rows == [ALPACA[4], ALPACA[1]]


def test_stream_is_a_permutation_per_epoch():
    n, seed = 7, 3
    s = stream_indices(n, seed, 0, 3 * n)
    for e in range(3):
        assert sorted(s[e * n : (e + 1) * n]) == list(range(n))
    # Any window of the stream equals the same slice of the whole stream (resume safety).
    np.testing.assert_array_equal(stream_indices(n, seed, 5, 12), s[5:12])
    assert not np.array_equal(s[:n], stream_indices(n, seed + 1, 0, n))


def test_constant_schedule_with_warmup():
    assert [lr_at(s, 1.0, 2) for s in range(4)] == [0.0, 0.5, 1.0, 1.0]
    assert lr_at(0, 0.1, 0) == 0.1


def test_offline_byte_tokenizer_round_trips_and_masks():
    from unisel.train.models import _byte_tokenizer

    tok = _byte_tokenizer()
    ids = tok("héllo <|im_end|>")["input_ids"]
    assert tok.decode(ids) == "héllo <|im_end|>" and ids[-1] == tok.eos_token_id
    examples, _ = tokenize_rows(SHAREGPT[:1], "sharegpt", tok, max_length=512)
    text = tok.decode([t for t in examples[0].labels if t != IGNORE])
    assert text == "Answer number 0.<|im_end|>\nYou are welcome.<|im_end|>\n"


def test_target_counts_are_the_trained_tokens_per_row_with_zero_for_dropped_rows():
    from unisel.train.data import target_counts, tokenize_rows
    from unisel.train.models import load_tokenizer

    tok = load_tokenizer("tiny-llama")
    rows = [dict(r) for r in ALPACA[:4]]
    rows[1] = {**rows[1], "instruction": "long " * 200}  # prompt fills max_length: dropped
    counts = target_counts(rows, "alpaca", tok, max_length=64)
    examples, skipped = tokenize_rows(rows, "alpaca", tok, max_length=64)
    assert skipped == [1] and counts[1] == 0
    assert [c for i, c in enumerate(counts) if i != 1] == [e.n_targets for e in examples]
    assert all(c > 0 for i, c in enumerate(counts) if i != 1)


def test_rows_are_read_by_the_io_formats_tsv_included(tmp_path):
    import csv

    path = tmp_path / "a.tsv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t")
        w.writerow(["instruction", "input", "output"])
        w.writerow(["Say hi, please", "", "hi, there"])
        w.writerow(["Add 1 and 2", "", "3"])
    data = load_rows(path)
    assert data.schema == "alpaca"
    assert data.rows == [
        {"instruction": "Say hi, please", "input": "", "output": "hi, there"},
        {"instruction": "Add 1 and 2", "input": "", "output": "3"},
    ]


def test_raw_rows_follow_the_records_read_and_refuse_a_changed_file(tmp_path):
    from unisel.errors import InputError
    from unisel.io import read_records
    from unisel.train.data import raw_rows

    rows = [dict(r) for r in ALPACA[:4]]
    rows[1] = {"instruction": "", "input": "", "output": ""}  # no text: left out
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.warns(UserWarning, match="without text"):
        records = read_records(path, skip_empty=True, quiet=True)
    assert raw_rows(records) == [rows[0], rows[2], rows[3]]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:0:-1]))  # another size
    with pytest.raises(InputError, match="changed since it was read"):
        raw_rows(records)
