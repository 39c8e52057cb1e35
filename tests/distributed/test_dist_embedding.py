"""Corpus-fitted embedders (word2vec, tfidf) are fitted once and shared by every partition."""

from __future__ import annotations

import json

import numpy as np
import pytest

from unisel.cli import main
from unisel.distributed import (
    FitOptions,
    embed_partitions,
    load_sharded,
    open_sharded,
    plan_partitions,
    read_partition_texts,
)
from unisel.embed.tfidf import TfidfEmbedder
from unisel.embed.word2vec import Word2VecEmbedder

N = 300
COPIES = (0, 150, 299)  # one record, placed in the first, middle and last partition


def _input(tmp_path):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60)]
    texts = [" ".join(rng.choice(words, 10)) for _ in range(N)]
    for i in COPIES:
        texts[i] = "w1 w2 w3 w4 w5 w6 w7 w8"
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    sizes = [len(read_partition_texts(p)) for p in plan_partitions(src, n_partitions=3)]
    owner = np.repeat(np.arange(len(sizes)), sizes)
    assert len(sizes) == 3 and len({int(owner[i]) for i in COPIES}) == 3, sizes
    return src, texts


def _assert_copies_identical(X: np.ndarray) -> None:
    X = np.asarray(X)
    assert np.abs(X[COPIES[0]]).max() > 0
    for i in COPIES[1:]:
        np.testing.assert_allclose(X[i], X[COPIES[0]], rtol=0, atol=1e-6)


@pytest.mark.parametrize("embedder", ["word2vec", "tfidf"])
@pytest.mark.parametrize("fit_on", ["sample", "all"])
def test_same_record_same_vector_in_every_partition(tmp_path, embedder, fit_on):
    src, texts = _input(tmp_path)
    store = embed_partitions(
        src,
        tmp_path / "emb",
        embedder=embedder,
        n_partitions=3,
        fit=FitOptions(on=fit_on, sample=90),
        quiet=True,
    )
    assert store.n_shards == 3 and store.shape[0] == N
    _assert_copies_identical(open_sharded(tmp_path / "emb"))


def test_fit_on_all_gives_the_single_machine_vectors(tmp_path):
    src, texts = _input(tmp_path)
    settings = {"vector_size": 16, "min_count": 1, "epochs": 2, "seed": 3}
    embed_partitions(
        src,
        tmp_path / "emb",
        embedder=Word2VecEmbedder(**settings),
        n_partitions=3,
        fit=FitOptions(on="all"),
        quiet=True,
    )
    single = Word2VecEmbedder(**settings).embed(texts, progress=False)
    # Same training corpus and one worker thread: gensim gives the same word table, and the
    # pooling is the same code, so the vectors agree to float32 rounding.
    np.testing.assert_allclose(np.asarray(open_sharded(tmp_path / "emb")), single, atol=1e-6)


def test_cli_default_word2vec_embeds_a_record_alike_in_every_partition(tmp_path, capsys):
    src, _ = _input(tmp_path)
    argv = ["distributed", "embed", str(src), "-o", str(tmp_path / "emb"), "--partitions", "3"]
    assert main([*argv, "-q"]) == 0
    _assert_copies_identical(load_sharded(tmp_path / "emb"))


def test_fitted_model_is_shipped_to_the_cluster_workers(cluster, tmp_path):
    src, _ = _input(tmp_path)
    for name, model in (
        ("w", Word2VecEmbedder(vector_size=16, min_count=1, epochs=2)),
        ("t", TfidfEmbedder(n_components=8)),
    ):
        embed_partitions(
            src, tmp_path / name, embedder=model, client=cluster, n_partitions=3, quiet=True
        )
        _assert_copies_identical(open_sharded(tmp_path / name))


@pytest.mark.parametrize(
    "model", [Word2VecEmbedder(min_count=1), TfidfEmbedder(n_components=4)], ids=["w2v", "tfidf"]
)
def test_transform_before_fit_is_a_clear_error(model):
    from unisel.errors import ParameterError

    with pytest.raises(ParameterError, match="call fit first"):
        model.transform(["a b"])
