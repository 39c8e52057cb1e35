"""get_embedder: spec parsing, settings checks, and the registry."""

from __future__ import annotations

import pytest

from unisel.embed import EMBEDDERS, embed_texts, get_embedder
from unisel.embed.hf import HFEmbedder
from unisel.embed.npy import NpyEmbedder
from unisel.errors import InputError, ParameterError


def test_all_names_registered() -> None:
    assert EMBEDDERS.names() == ["hf", "minilm", "npy", "tfidf", "word2vec", "wordllama"]


def test_plain_names_and_settings() -> None:
    w = get_embedder("word2vec", vector_size=32, seed=4)
    assert w.spec == "word2vec" and w.config()["vector_size"] == 32 and w.config()["seed"] == 4
    assert get_embedder("TFIDF").name == "tfidf"


def test_argument_specs() -> None:
    hf = get_embedder("hf:org/some-model", max_length=64)
    assert isinstance(hf, HFEmbedder) and hf.path == "org/some-model" and hf.max_length == 64
    assert hf.spec == "hf:org/some-model"
    npy = get_embedder("npy:/data/emb.npy")
    assert isinstance(npy, NpyEmbedder) and npy.path == "/data/emb.npy"
    assert get_embedder("npy:C:x.npy").path == "C:x.npy"  # only the first colon splits


def test_seed_is_dropped_for_embedders_without_randomness() -> None:
    assert "seed" not in get_embedder("minilm", seed=3).config()


def test_unknown_name() -> None:
    with pytest.raises(ParameterError, match=r"unknown embedder 'bert'; known: hf, minilm, npy"):
        get_embedder("bert")


@pytest.mark.parametrize(
    ("spec", "params", "match"),
    [
        ("hf", {}, "needs an argument: use hf:VALUE"),
        ("npy:", {}, "needs an argument"),
        ("word2vec:big", {}, "takes no argument"),
        ("tfidf", {"n_component": 3}, "unknown setting 'n_component'; known: max_features"),
        ("tfidf", {"n_components": 0}, "n_components must be >= 1"),
    ],
)
def test_bad_specs(spec: str, params: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        get_embedder(spec, **params)


def test_bad_texts() -> None:
    with pytest.raises(InputError, match="no records to embed"):
        embed_texts([], "tfidf")
    with pytest.raises(InputError, match="record 1: text is NoneType"):
        embed_texts(["a", None], "tfidf")  # type: ignore[list-item]
