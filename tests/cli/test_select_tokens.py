"""``unisel select --tokens N [--tokenizer NAME]``: budget, manifest token counts, bad input."""

from __future__ import annotations

import pytest

from tests._data import make_records, write_records
from tests.test_cli import bad, run
from unisel.io import read_records
from unisel.manifest import load_manifest


@pytest.fixture
def data(tmp_path):
    return write_records(make_records("alpaca", 60), tmp_path / "data.jsonl", "jsonl")


def _select(tmp_path, capsys, data, name, *argv):
    out = tmp_path / f"{name}.jsonl"
    code, stdout, err = run(
        capsys, "select", data, "-o", out, "--cache-dir", tmp_path / "cache", "-q", *argv
    )
    assert code == 0, err
    return load_manifest(out), stdout


@pytest.mark.parametrize("method", ["maxmin", "random", "first"])
def test_budget_is_the_longest_prefix_of_the_unbudgeted_order(tmp_path, capsys, data, method):
    words = [len(t.split()) for t in read_records(data, quiet=True).texts]
    budget = 400
    # the paper's greedy: one order for every size (the default's buckets order depends on it)
    paper = ["--preset", "paper"]
    m, stdout = _select(tmp_path, capsys, data, "b", "--tokens", budget, "--method", method, *paper)
    assert m.tokens["tokenizer"] == "whitespace" and m.tokens["budget"] == budget
    assert m.tokens["per_record"] == [words[i] for i in m.indices]
    assert m.tokens["total"] == sum(m.tokens["per_record"]) <= budget and m.k == len(m.indices)
    assert f"tokens (whitespace): {m.tokens['total']:,} of a budget of 400" in stdout
    # the whole order (every record) from the same selector and seed, then the prefix rule
    if method == "random":  # random draws in permutation order under a budget
        import numpy as np

        order = np.random.default_rng(0).permutation(60).tolist()
    else:
        order = _select(tmp_path, capsys, data, "all", "-k", 60, "--method", method, *paper)[0]
        order = order.indices
    total, prefix = 0, []
    for i in order:
        if total + words[i] > budget:
            break
        total += words[i]
        prefix.append(i)
    assert m.indices == prefix


def test_tokenizer_folder_counts_and_k_with_a_tokenizer(tmp_path, capsys, data, tiny_bert):
    from transformers import AutoTokenizer

    texts = read_records(data, quiet=True).texts
    tok = AutoTokenizer.from_pretrained(str(tiny_bert))
    counts = [len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts]
    m, _ = _select(tmp_path, capsys, data, "t", "--tokens", 300, "--tokenizer", tiny_bert)
    assert m.tokens["tokenizer"] == str(tiny_bert)
    assert m.tokens["per_record"] == [counts[i] for i in m.indices] and m.tokens["total"] <= 300
    assert "tokens" in m.timings
    # with -k the counts are recorded, without a budget
    m, _ = _select(tmp_path, capsys, data, "k", "-k", 5, "--tokenizer", tiny_bert)
    assert m.k == 5 and m.tokens["budget"] is None
    assert m.tokens["per_record"] == [counts[i] for i in m.indices]
    m, _ = _select(tmp_path, capsys, data, "plain", "-k", 5, "--preset", "paper")
    assert m.tokens is None and "tokens" not in m.timings
    # the default preset's length buckets count words, and the manifest records them
    m, _ = _select(tmp_path, capsys, data, "default", "-k", 5)
    assert m.tokens["tokenizer"] == "whitespace" and m.tokens["budget"] is None


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--tokens", "100", "-k", "3"], "one of -k, --fraction and --tokens"),
        (["--tokens", "100", "--fraction", "0.5"], "one of -k, --fraction and --tokens"),
        ([], "one of -k, --fraction and --tokens"),
        (["--tokens", "0"], "positive integer"),
        (["--tokens", "1", "--method", "first"], "smaller than"),
        (["--tokens", "100", "--tokenizer", "no/such-tokenizer"], "cannot load a tokenizer"),
    ],
)
def test_bad_token_input_is_one_line_exit_2(tmp_path, capsys, data, argv, needle):
    assert needle in bad(tmp_path, capsys, data, *argv)


def test_tokens_cannot_extend(tmp_path, capsys, data):
    m, _ = _select(tmp_path, capsys, data, "first", "-k", 3)
    line = bad(tmp_path, capsys, data, "--tokens", 100, "--extend", tmp_path / "first.jsonl")
    assert "cannot extend" in line


def test_length_buckets_from_the_command_line(tmp_path, capsys, data):
    import numpy as np

    from unisel.select.buckets import bucket_ids

    words = np.array([len(t.split()) for t in read_records(data, quiet=True).texts])
    m, _ = _select(tmp_path, capsys, data, "lb", "-k", 20, "--length-buckets", 2)
    assert m.selector["params"]["length_buckets"] == 2 and m.tokens["budget"] is None
    ids = bucket_ids(words, 2)
    want = np.bincount(ids) * 20 / len(words)
    assert np.all(np.abs(np.bincount(ids[m.indices], minlength=want.size) - want) <= 1)
    line = bad(tmp_path, capsys, data, "-k", 5, "--length-buckets", 2, "--method", "random")
    assert "maxmin only" in line
