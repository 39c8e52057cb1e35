"""Messages of ``unisel select`` / ``unisel metrics`` that must say what is wrong (issue 20)."""

from __future__ import annotations

import json
import warnings

import pytest

from tests._data import make_records, write_records
from tests.test_cli import bad, run


@pytest.fixture
def data(tmp_path):
    return write_records(make_records("alpaca", 30), tmp_path / "data.jsonl", "jsonl")


# ------------------------------------------------------------------ item 13
def test_a_subset_repeating_a_record_says_so(tmp_path, capsys, data):
    lines = data.read_text().splitlines()
    subset = tmp_path / "hand.jsonl"
    subset.write_text("\n".join([lines[3], lines[7], lines[3]]) + "\n")
    code, out, err = run(
        capsys,
        "metrics",
        data,
        "--subset",
        subset,
        "--embedder",
        "tfidf",
        "--cache-dir",
        tmp_path / "c",
        "-q",
    )
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert str(subset) in line
    assert "record 2 repeats record 0 of the subset" in line
    assert "has that record 1 time" in line and "not in the full set" not in line


def test_a_text_file_given_as_npy_embeddings_is_not_called_pickled(tmp_path, capsys, data):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    line = bad(tmp_path, capsys, data, "-k", 3, "--embedder", f"npy:{notes}")
    assert f"{notes}: not a .npy file" in line and "pickle" not in line


def test_a_text_file_given_as_checkpoint_is_not_called_pickled(tmp_path, capsys, data):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    line = bad(tmp_path, capsys, data, "-k", 3, "--embedder", "tfidf", "--checkpoint", notes)
    assert f"{notes}: not a checkpoint file" in line and "pickle" not in line
    assert notes.read_text() == "my notes\n"  # the user's file is untouched


@pytest.mark.parametrize("buckets", [0, 1, -3])
def test_fewer_than_two_length_buckets_are_refused(tmp_path, capsys, data, buckets):
    line = bad(tmp_path, capsys, data, "-k", 5, "--length-buckets", buckets)
    assert f"length_buckets must be at least 2, got {buckets}" in line


def test_a_subset_of_repeated_records_warns(tmp_path, capsys):
    src = tmp_path / "same.jsonl"
    src.write_text("".join(json.dumps({"text": "same words here"}) + "\n" for _ in range(20)))
    with pytest.warns(UserWarning) as caught:
        code, _, err = run(
            capsys,
            "select",
            src,
            "-k",
            5,
            "--embedder",
            "tfidf",
            "-o",
            tmp_path / "s.jsonl",
            "--cache-dir",
            tmp_path / "c",
            "-q",
            "--preset",
            "paper",
        )
    assert code == 0, err
    messages = [str(w.message) for w in caught]
    assert messages == [
        "all 5 selected records have one and the same embedding (h_min 0): the input has only "
        "1 distinct embedding for 5 records"
    ]


def test_a_subset_without_repeats_does_not_warn(tmp_path, capsys, data):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code, _, err = run(
            capsys,
            "select",
            data,
            "-k",
            5,
            "--embedder",
            "tfidf",
            "-o",
            tmp_path / "s.jsonl",
            "--cache-dir",
            tmp_path / "c",
            "-q",
        )
    assert code == 0, err


# ------------------------------------------------------------------ item 14
def test_select_report_prints_the_inputs_warnings_once(tmp_path, capsys):
    records = make_records("alpaca", 30)
    src = tmp_path / "cut.json"
    src.write_text(json.dumps(records)[:-40])  # the last record cut off
    with pytest.warns(UserWarning) as caught:
        code, _, err = run(
            capsys,
            "select",
            src,
            "-k",
            5,
            "--embedder",
            "tfidf",
            "-o",
            tmp_path / "s.json",
            "--cache-dir",
            tmp_path / "c",
            "--report",
            tmp_path / "report",
            "-q",
        )
    assert code == 0, err
    cut = [str(w.message) for w in caught if "cut off" in str(w.message)]
    assert len(cut) == 1, cut
    assert (tmp_path / "report" / "index.html").is_file()


def test_nothing_is_written_under_home(tmp_path, capsys, data, monkeypatch):
    # tests/conftest.py points UNISEL_CACHE_DIR at a temporary folder for the whole session:
    # the default embedding cache and the converted models (tiny-llama here) go there.
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    code, _, err = run(
        capsys,
        "select",
        data,
        "-k",
        5,
        "--tokenizer",
        "tiny-llama",
        "-o",
        tmp_path / "s.jsonl",
        "-q",
    )
    assert code == 0, err
    assert [p.relative_to(home) for p in home.rglob("*")] == []
