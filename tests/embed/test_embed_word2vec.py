"""word2vec: tokenizer, mean pooling against a plain loop, cross-process reproducibility."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unisel.embed.word2vec import (
    Word2VecEmbedder,
    _Corpus,
    mean_word_vectors,
    stable_hash,
    tokenize,
)
from unisel.errors import InputError, ParameterError

SRC = Path(__file__).resolve().parents[2] / "src"


def test_tokenize_lowercase_words_any_script() -> None:
    assert tokenize("Hello, World! x_1 Ünïcode 中文 🎉") == [
        "hello",
        "world",
        "x_1",
        "ünïcode",
        "中文",
    ]
    assert tokenize("?!... :-)") == []


def test_stable_hash_is_crc32_of_utf8() -> None:
    assert stable_hash("wörd") == zlib.crc32("wörd".encode())
    assert stable_hash("a") != stable_hash("b")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["a", "b", "c", "zz", "!", "Q"]), max_size=8).map(" ".join),
        min_size=1,
        max_size=6,
    )
)
def test_mean_word_vectors_matches_plain_loop(texts: list[str]) -> None:
    vocab = {"a": 0, "b": 1, "c": 2, "q": 3}
    W = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    got = mean_word_vectors(texts, vocab, W)
    for i, text in enumerate(texts):
        rows = [vocab[w] for w in text.lower().split() if w in vocab]
        want = np.mean([W[r].astype(np.float64) for r in rows], axis=0) if rows else np.zeros(5)
        np.testing.assert_allclose(got[i], want, rtol=1e-6, atol=1e-7)
    assert got.dtype == np.float32


def test_long_records_are_split_for_gensim_and_capped() -> None:
    text = " ".join(["w"] * 25_000)
    assert [len(s) for s in _Corpus([text], None)] == [10_000, 10_000, 5_000]
    assert [len(s) for s in _Corpus([text], 12_000)] == [10_000, 2_000]


def test_no_word_reaches_min_count() -> None:
    with pytest.raises(InputError, match="min_count=5"):
        Word2VecEmbedder().embed(["one two", "three four"], progress=False)


@pytest.mark.parametrize("field", ["vector_size", "window", "min_count", "epochs", "workers"])
def test_bad_settings(field: str) -> None:
    with pytest.raises(ParameterError, match=field):
        Word2VecEmbedder(**{field: 0})


_CHILD = """
import hashlib, sys
from unisel.embed import embed_texts
texts = [f"record {i} about topic {i % 7} and {'more ' * (i % 5)} words" for i in range(60)]
X = embed_texts(texts, "word2vec", cache_dir=False, quiet=True, min_count=1, vector_size=16, epochs=2).vectors
print(hashlib.sha256(X.tobytes()).hexdigest())
"""


def test_identical_bytes_across_processes_with_different_hash_seeds() -> None:
    digests = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(SRC)}
        out = subprocess.run(
            [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True
        )
        digests.append(out.stdout.strip().splitlines()[-1])
    assert len(digests[0]) == len(hashlib.sha256().hexdigest())
    assert digests[0] == digests[1]
