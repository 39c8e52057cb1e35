"""Resolving subsets and embeddings: manifests, caches, and clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from unisel.errors import InputError, ParameterError
from unisel.report import resolve_inputs


def test_manifests_subset_files_and_pairs(toy):
    inputs = resolve_inputs(
        toy.data,
        [toy.manifests["maxmin"], toy.root / "random.jsonl", ("mine", [3, 1, 2])],
    )
    assert [s.name for s in inputs.sets] == ["maxmin", "random", "mine"]
    assert isinstance(inputs.X, np.memmap)  # the cache is mapped, not copied or recomputed
    np.testing.assert_array_equal(inputs.X, toy.X)
    np.testing.assert_array_equal(inputs.sets[0].indices, toy.indices["maxmin"])
    assert inputs.sets[0].distances is not None and np.isinf(inputs.sets[0].distances[0])
    assert inputs.sets[1].distances is None and inputs.sets[2].method is None
    assert inputs.embedder["method"] == "word2vec" and inputs.source == str(toy.data)


def test_names_override_and_duplicates_are_numbered(toy):
    inputs = resolve_inputs(None, [toy.manifests["maxmin"], toy.manifests["maxmin"]])
    assert [s.name for s in inputs.sets] == ["maxmin", "maxmin-2"]
    inputs = resolve_inputs(None, [toy.manifests["maxmin"]], names=["uniform"])
    assert inputs.sets[0].name == "uniform"
    with pytest.raises(ParameterError, match="2 names for 1 subsets"):
        resolve_inputs(None, [toy.manifests["maxmin"]], names=["a", "b"])
    with pytest.raises(ParameterError, match="names the full set"):
        resolve_inputs(None, [toy.manifests["maxmin"]], names=["full"])


def test_missing_cache_says_how_to_recreate_it(toy):
    toy.cache.unlink()
    with pytest.raises(
        InputError,
        match=r"embedding cache .*emb\.npy is gone; re-create it by running `unisel select",
    ):
        resolve_inputs(toy.data, [toy.manifests["maxmin"]])


def test_manifest_of_another_data_set_is_refused(toy, tmp_path):
    other = tmp_path / "other.jsonl"
    other.write_text('{"text": "x"}\n')
    with pytest.raises(InputError, match="not from"):
        resolve_inputs(other, [toy.manifests["maxmin"]])


def test_different_embedders_are_refused(toy):
    path = toy.manifests["random"]
    m = json.loads(path.read_text())
    m["embedder"]["method"] = "hf:minilm"
    path.write_text(json.dumps(m))
    with pytest.raises(ParameterError, match="one embedding space"):
        resolve_inputs(None, [toy.manifests["maxmin"], path])


def test_bad_indices_and_missing_embeddings(toy):
    with pytest.raises(InputError, match="index 400 outside the full set of 400"):
        resolve_inputs(None, [toy.manifests["maxmin"], ("bad", [0, 400])])
    with pytest.raises(InputError, match="more than once"):
        resolve_inputs(None, [toy.manifests["maxmin"], ("bad", [1, 1])])
    with pytest.raises(ParameterError, match="pass embeddings"):
        resolve_inputs(None, [("a", [0, 1])])
    with pytest.raises(ParameterError, match="at least one subset"):
        resolve_inputs(None, [])
    with pytest.raises(InputError, match="manifest not found"):
        resolve_inputs(None, [toy.root / "nope.jsonl"])


def test_explicit_embeddings_array_or_file(toy):
    X = np.asarray(toy.X)
    inputs = resolve_inputs(None, [("a", [0, 5, 9])], embeddings=X)
    assert inputs.n == 400 and inputs.source is None
    inputs = resolve_inputs(None, [("a", [0, 5, 9])], embeddings=toy.cache)
    assert inputs.embedder["cache_path"] == str(toy.cache)


def test_row_count_must_match_manifest(toy, tmp_path):
    short = tmp_path / "short.npy"
    np.save(short, toy.X[:100])
    with pytest.raises(InputError, match="400 records but the embeddings have 100 rows"):
        resolve_inputs(None, [toy.manifests["maxmin"]], embeddings=short)
