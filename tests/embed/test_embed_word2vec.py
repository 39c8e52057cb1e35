"""word2vec: tokenizer, mean pooling against a plain loop, cross-process reproducibility."""

from __future__ import annotations

import hashlib
import io
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
    scan_corpus,
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
for training in ("file", "iterable"):
    X = embed_texts(texts, "word2vec", cache_dir=False, quiet=True, min_count=1, vector_size=16,
                    epochs=2, training=training).vectors
    print(hashlib.sha256(X.tobytes()).hexdigest(), end=" ")
print()
"""


def test_identical_bytes_across_processes_with_different_hash_seeds() -> None:
    digests = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(SRC)}
        out = subprocess.run(
            [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True
        )
        digests.append(out.stdout.strip().splitlines()[-1].split())
    assert [len(d) for d in digests[0]] == [len(hashlib.sha256().hexdigest())] * 2
    assert digests[0][0] != digests[0][1]  # the two training modes
    assert digests[0] == digests[1]


# --- training="file": one tokenization pass, gensim's corpus_file mode ---------------------------

_TEXTS = st.lists(
    st.lists(st.sampled_from(["a", "B", "c", "zz", "!", "ü", "東京", "x_1"]), max_size=9).map(
        " ".join
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None)
@given(_TEXTS, st.one_of(st.none(), st.integers(1, 4)))
def test_scan_corpus_matches_plain_tokenization(texts: list[str], cap: int | None) -> None:
    out = io.StringIO()
    corpus = scan_corpus(texts, cap, out)
    words = [tokenize(t) for t in texts]
    assert corpus.indptr.tolist() == [0, *np.cumsum([len(w) for w in words]).tolist()]
    assert [corpus.words[i] for i in corpus.ids] == [w for ws in words for w in ws]
    assert len(set(corpus.words)) == len(corpus.words)
    train = [ws if cap is None else ws[:cap] for ws in words]
    assert out.getvalue().split("\n")[:-1] == [" ".join(ws) for ws in train]
    counted = {w: int(c) for w, c in zip(corpus.words, corpus.train_counts, strict=True) if c}
    want: dict[str, int] = {}
    for ws in train:
        for w in ws:
            want[w] = want.get(w, 0) + 1
    assert counted == want


@settings(max_examples=40, deadline=None)
@given(_TEXTS)
def test_scanned_mean_vectors_match_the_loop(texts: list[str]) -> None:
    vocab = {"a": 0, "b": 1, "zz": 2, "東京": 3}
    W = np.random.default_rng(1).normal(size=(4, 6)).astype(np.float32)
    got = scan_corpus(texts, None, io.StringIO()).mean_vectors(vocab, W)
    assert got.dtype == np.float32 and got.shape == (len(texts), 6)
    np.testing.assert_allclose(got, mean_word_vectors(texts, vocab, W), rtol=1e-6, atol=1e-7)


def test_file_vocabulary_is_the_iterable_one(corpus: list[str]) -> None:
    """The counts of the one scan give gensim the vocabulary its own scan would."""
    from gensim.models import Word2Vec

    scanned = scan_corpus(corpus, None, io.StringIO())
    by_freq = Word2Vec(min_count=2, hashfxn=stable_hash)
    by_freq.build_vocab_from_freq(
        {w: int(c) for w, c in zip(scanned.words, scanned.train_counts, strict=True) if c}
    )
    by_scan = Word2Vec(min_count=2, hashfxn=stable_hash)
    by_scan.build_vocab(_Corpus(corpus, None))
    assert by_freq.wv.key_to_index == by_scan.wv.key_to_index
    assert [by_freq.wv.get_vecattr(w, "count") for w in by_freq.wv.index_to_key] == [
        by_scan.wv.get_vecattr(w, "count") for w in by_scan.wv.index_to_key
    ]
    np.testing.assert_array_equal(by_freq.wv.vectors, by_scan.wv.vectors)  # same initial vectors


def test_file_and_iterable_both_work_and_have_their_own_cache_keys(corpus: list[str]) -> None:
    settings_ = {"min_count": 2, "vector_size": 24, "epochs": 3}
    file_ = Word2VecEmbedder(**settings_)
    iterable = Word2VecEmbedder(training="iterable", **settings_)
    assert file_.training == "file" and file_.config()["training"] == "corpus_file"
    assert "training" not in iterable.config()  # as before the setting existed: old caches hit
    A = file_.embed(corpus, progress=False)
    B = iterable.embed(corpus, progress=False)
    assert A.shape == B.shape == (len(corpus), 24)
    assert not np.array_equal(A, B)  # gensim's random numbers are drawn in another order
    for X in (A, B):  # both learn the corpus: a record is nearest to one of its own topic
        U = np.delete(X, 7, axis=0)  # record 7 has no word
        U = U / np.linalg.norm(U, axis=1, keepdims=True)
        topic = np.delete(np.arange(len(corpus)) % 6, 7)
        cos = U @ U.T
        np.fill_diagonal(cos, -np.inf)
        assert (topic[cos.argmax(axis=1)] == topic).mean() > 0.8


def test_file_mode_trains_long_records() -> None:
    text = " ".join(f"w{i % 50}" for i in range(25_000))
    out = io.StringIO()
    assert scan_corpus([text], None, out).n_sentences == 3
    X = Word2VecEmbedder(vector_size=8, epochs=1).embed([text, "w1 w2 w3"], progress=False)
    assert X.shape == (2, 8) and np.isfinite(X).all() and np.abs(X).sum(axis=1).min() > 0


def test_bad_training_mode() -> None:
    with pytest.raises(ParameterError, match="training must be one of file, iterable"):
        Word2VecEmbedder(training="stream")


def test_unwritable_temporary_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"
    monkeypatch.setattr("tempfile.tempdir", str(missing))
    with pytest.raises(ParameterError, match="TMPDIR.*training=iterable"):
        Word2VecEmbedder(min_count=1).embed(["a b c"], progress=False)
    X = Word2VecEmbedder(min_count=1, training="iterable", vector_size=4).embed(
        ["a b c"], progress=False
    )
    assert X.shape == (1, 4)


def test_file_mode_takes_lone_surrogates() -> None:
    """A JSON "\\ud800" escape gives a lone surrogate: never part of a word, so the UTF-8 token
    file can always be written."""
    texts = ["alpha beta \ud800 gamma", "alpha beta gamma", "beta gamma alpha"]
    X = Word2VecEmbedder(min_count=1, vector_size=4).embed(texts, progress=False)
    assert X.shape == (3, 4) and np.isfinite(X).all()
