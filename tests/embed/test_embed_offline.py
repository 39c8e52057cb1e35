"""Every embedder that runs offline: output contract and run-to-run determinism."""

from __future__ import annotations

import numpy as np
import pytest

from unisel.embed import embed_texts, get_embedder

SETTINGS = {
    "word2vec": {"min_count": 2, "vector_size": 24, "epochs": 3},
    "tfidf": {"n_components": 8},
    "minilm": {"batch_size": 4},
    "wordllama": {"dim": 64},
}


@pytest.mark.parametrize("method", sorted(SETTINGS))
def test_shape_dtype_finite_and_deterministic(method: str, corpus: list[str]) -> None:
    texts = corpus[:12] if method == "minilm" else corpus  # keep the real model cheap
    runs = [
        embed_texts(texts, method, cache_dir=False, seed=3, quiet=True, **SETTINGS[method])
        for _ in range(2)
    ]
    X = runs[0].vectors
    assert X.shape[0] == len(texts) and X.ndim == 2 and X.shape[1] > 0
    assert X.dtype == np.float32
    assert np.isfinite(X).all()
    assert runs[0].cache_path is None
    assert runs[0].method == method
    assert X.tobytes() == runs[1].vectors.tobytes()
    # Records are not all mapped to one point.
    assert np.unique(np.round(X, 5), axis=0).shape[0] > 3


@pytest.mark.parametrize("method", ["word2vec", "tfidf"])
def test_seed_changes_seeded_embedders(method: str, corpus: list[str]) -> None:
    a, b = (
        embed_texts(corpus, method, cache_dir=False, seed=s, quiet=True, **SETTINGS[method])
        for s in (0, 1)
    )
    assert a.params["seed"] == 0 and b.params["seed"] == 1
    if method == "word2vec":  # random initial vectors: the seed shows in the output
        assert not np.array_equal(a.vectors, b.vectors)


@pytest.mark.parametrize("method", ["word2vec", "tfidf"])
def test_record_without_words_is_zero(method: str, corpus: list[str]) -> None:
    raw = get_embedder(method, **SETTINGS[method]).embed(corpus, progress=False)
    assert not raw[7].any()
    assert np.linalg.norm(raw, axis=1)[np.arange(len(corpus)) != 7].min() > 0
    # embed_texts gives the zero row a dimension of its own (see lift_zero_rows).
    X = embed_texts(corpus, method, cache_dir=False, quiet=True, **SETTINGS[method]).vectors
    assert X.shape == (raw.shape[0], raw.shape[1] + 1)
    assert X[7, -1] == 1.0 and not X[7, :-1].any() and not np.delete(X[:, -1], 7).any()


def test_tfidf_dimension_is_capped_by_the_data(corpus: list[str]) -> None:
    full = get_embedder("tfidf").embed(corpus, progress=False)
    assert full.shape[1] == min(256, len(corpus)) - 1
    one = embed_texts(["only one record here"], "tfidf", cache_dir=False, quiet=True)
    assert one.vectors.shape == (1, 4)


def test_progress_bars_follow_quiet(
    corpus: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNISEL_PROGRESS", "always")  # captured stderr is not a terminal
    embed_texts(corpus, "word2vec", cache_dir=False, quiet=True, **SETTINGS["word2vec"])
    assert "word2vec" not in capsys.readouterr().err
    monkeypatch.setenv("UNISEL_PROGRESS", "auto")
    embed_texts(corpus, "word2vec", cache_dir=False, quiet=False, **SETTINGS["word2vec"])
    assert "word2vec" not in capsys.readouterr().err
    monkeypatch.setenv("UNISEL_PROGRESS", "always")
    embed_texts(corpus, "word2vec", cache_dir=False, quiet=False, **SETTINGS["word2vec"])
    err = capsys.readouterr().err
    assert "word2vec epochs" in err and "3/3" in err
