"""word2vec warns when its corpus is too small to train reliable vectors."""

from __future__ import annotations

import warnings

import pytest

from unisel.embed import embed_texts
from unisel.embed import word2vec as w2v


def _small_corpus_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if "word2vec trained on only" in str(w.message)]


def test_a_small_corpus_warns_once_and_names_what_to_use_instead(corpus):
    words = sum(len(w2v.tokenize(t)) for t in corpus)
    with pytest.warns(UserWarning) as caught:
        embed_texts(corpus, "word2vec", cache_dir=False, quiet=True)
    assert _small_corpus_warnings(caught) == [
        f"word2vec trained on only {words:,} words (5 epochs): too few for reliable vectors, "
        "most records come out near duplicates of each other; use --embedder wordllama or tfidf"
    ]


@pytest.mark.parametrize("training", ["file", "iterable"])
def test_it_is_words_times_epochs_that_counts(corpus, training, monkeypatch):
    # A threshold this corpus reaches in 4 epochs (the real one, 2.5M word passes, would take
    # thousands of epochs of it).
    words = sum(len(w2v.tokenize(t)) for t in corpus)
    monkeypatch.setattr(w2v, "MIN_WORD_PASSES", 4 * words)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        embed_texts(corpus, "word2vec", cache_dir=False, quiet=True, epochs=4, training=training)
    assert _small_corpus_warnings(caught) == []
    with pytest.warns(UserWarning) as caught:
        embed_texts(corpus, "word2vec", cache_dir=False, quiet=True, epochs=3, training=training)
    assert _small_corpus_warnings(caught) == [
        f"word2vec trained on only {words:,} words (3 epochs): too few for reliable vectors, "
        "most records come out near duplicates of each other; use --embedder wordllama or "
        "tfidf, or --embed-opt epochs=4"
    ]
