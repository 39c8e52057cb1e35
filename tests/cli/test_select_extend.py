"""``unisel select --extend``: the manifest's embedder, carried distances, one record numbering."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests._data import make_records, write_records
from tests.test_cli import bad, run
from unisel.manifest import load_manifest, manifest_path_for


@pytest.fixture
def data(tmp_path):
    return write_records(make_records("alpaca", 60), tmp_path / "data.jsonl", "jsonl")


@pytest.fixture
def skipped(tmp_path):
    """60 records, of which 3 and 17 have no text: record r > 17 is embedding row r - 2."""
    records = make_records("sharegpt", 60)
    for i in (3, 17):
        records[i]["conversations"] = []
    return write_records(records, tmp_path / "d.jsonl", "jsonl")


def _select(tmp_path, capsys, src, name, *argv):
    out = tmp_path / f"{name}.jsonl"
    code, _, err = run(
        capsys, "select", src, "-o", out, "--cache-dir", tmp_path / "cache", "-q", *argv
    )
    assert code == 0, err
    return load_manifest(out)


# ----------------------------------------------------------------- item 6: the embedder
def test_extend_without_embedder_takes_the_manifests_embedder_and_seed(tmp_path, capsys, data):
    # the paper's greedy, whose k records are a prefix of any longer run's
    paper = ["--preset", "paper"]
    first = _select(
        tmp_path, capsys, data, "a", "-k", 10, "--embedder", "tfidf", "--seed", 3, *paper
    )
    longer = _select(
        tmp_path, capsys, data, "b", "-k", 25, "--embedder", "tfidf", "--seed", 3, *paper
    )
    ext = _select(tmp_path, capsys, data, "c", "-k", 15, "--extend", tmp_path / "a.jsonl", *paper)
    assert ext.embedder["method"] == "tfidf" and ext.embedder["params"] == first.embedder["params"]
    assert ext.embedder["params"]["seed"] == 3
    assert ext.indices == longer.indices


def test_extend_without_embedder_keeps_the_manifests_settings(tmp_path, capsys, data):
    opts = ["--embed-opt", "vector_size=8", "--embed-opt", "min_count=1", "--embed-opt", "epochs=2"]
    first = _select(tmp_path, capsys, data, "a", "-k", 5, *opts)  # word2vec, the default
    ext = _select(tmp_path, capsys, data, "c", "-k", 5, "--extend", tmp_path / "a.jsonl")
    assert ext.embedder == {**first.embedder, "cache_path": ext.embedder["cache_path"]}
    assert ext.embedder["params"]["vector_size"] == 8 and ext.indices[:5] == first.indices


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--embedder", "word2vec"], ["'tfidf'", "'word2vec'"]),
        (["--embedder", "tfidf", "--seed", 5], ["seed=3", "seed=5"]),
        (["--embed-opt", "n_components=4"], ["n_components=256", "n_components=4"]),
    ],
    ids=["other-embedder", "other-seed", "other-setting"],
)
def test_extend_refuses_another_embedder_in_one_line(tmp_path, capsys, data, argv, words):
    _select(tmp_path, capsys, data, "a", "-k", 10, "--embedder", "tfidf", "--seed", 3)
    line = bad(tmp_path, capsys, data, "-k", 5, "--extend", tmp_path / "a.jsonl", *argv)
    assert "a.jsonl" in line and "made with embedder 'tfidf'" in line
    for word in words:
        assert word in line


# ----------------------------------------------------------------- item 7: the distances
def test_extended_distances_equal_a_direct_run(tmp_path, capsys, data):
    common = ["--embedder", "tfidf", "--start", 4]
    _select(tmp_path, capsys, data, "a", "-k", 10, *common)
    direct = _select(tmp_path, capsys, data, "b", "-k", 25, *common)
    ext = _select(tmp_path, capsys, data, "c", "-k", 15, "--extend", tmp_path / "a.jsonl", *common)
    assert ext.indices == direct.indices
    assert ext.distances.count(None) == 1 and ext.distances[0] is None
    np.testing.assert_allclose(ext.distances[1:], direct.distances[1:], rtol=1e-9, atol=1e-12)
    # an extension of the extension carries all 25 over
    again = _select(tmp_path, capsys, data, "d", "-k", 5, "--extend", tmp_path / "c.jsonl", *common)
    assert again.distances[:25] == ext.distances and again.distances.count(None) == 1


def test_distances_missing_from_the_manifest_are_computed(tmp_path, capsys, data):
    # A manifest from an extension made before distances were carried over has nulls.
    common = ["--embedder", "tfidf", "--start", 4, "--metric", "euclidean"]
    _select(tmp_path, capsys, data, "a", "-k", 10, *common)
    direct = _select(tmp_path, capsys, data, "b", "-k", 25, *common)
    mpath = manifest_path_for(tmp_path / "a.jsonl")
    raw = json.loads(mpath.read_text())
    raw["distances"] = [None] * 10
    mpath.write_text(json.dumps(raw))
    ext = _select(tmp_path, capsys, data, "c", "-k", 15, "--extend", tmp_path / "a.jsonl", *common)
    assert ext.indices == direct.indices and ext.distances.count(None) == 1
    np.testing.assert_allclose(ext.distances[1:], direct.distances[1:], rtol=1e-9, atol=1e-12)


# ----------------------------------------------------------------- item 9: record numbers
def test_start_and_manifest_speak_input_record_numbers(tmp_path, capsys, skipped):
    common = ["--embedder", "tfidf", "--skip-empty"]
    m = _select(tmp_path, capsys, skipped, "a", "-k", 8, "--start", 20, *common)
    assert m.indices[0] == 20 and m.selector["params"]["start"] == 20
    assert m.embedding_indices[0] == 18  # records 3 and 17 have no row
    # --extend reads the numbering back: the same --start is accepted, another refused
    ext = _select(
        tmp_path,
        capsys,
        skipped,
        "c",
        "-k",
        4,
        "--start",
        20,
        "--extend",
        tmp_path / "a.jsonl",
        *common,
    )
    assert ext.indices[:8] == m.indices and ext.selector["params"]["start"] == 20
    direct = _select(tmp_path, capsys, skipped, "b", "-k", 12, "--start", 20, *common)
    assert ext.indices == direct.indices
    line = bad(
        tmp_path,
        capsys,
        skipped,
        "-k",
        4,
        "--start",
        21,
        "--extend",
        tmp_path / "a.jsonl",
        *common,
    )
    assert "starts at record 20, not at --start 21" in line


@pytest.mark.parametrize(("start", "message"), [(17, "no text"), (60, "outside 0..59")])
def test_start_at_a_skipped_or_missing_record_is_refused(tmp_path, capsys, skipped, start, message):
    line = bad(tmp_path, capsys, skipped, "-k", 4, "--start", start, "--skip-empty")
    assert f"start record {start}" in line and message in line
