"""wordllama: the real bundled table, offline; the pooling against the package's own embed()."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import socket

import numpy as np
import pytest

from unisel.embed import embed_texts, get_embedder
from unisel.embed import wordllama as wl
from unisel.errors import ParameterError

TEXTS = [
    "How do I sort a list in Python?",
    "Sorting a list in Python",
    "Bake bread at home with yeast and flour",
    "",  # no token: zero vector, lifted
    "?!... :-) 🎉 émigré naïve 東京",
]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("wordllama tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_real_model_offline(no_network) -> None:
    with pytest.warns(UserWarning, match="1 records have a zero embedding"):
        emb = embed_texts(TEXTS, "wordllama", cache_dir=False, quiet=True)
    X = emb.vectors
    assert X.shape == (5, 257) and X.dtype == np.float32  # 256 + the zero-row dimension
    assert np.isfinite(X).all()
    assert not X[3, :-1].any() and X[3, -1] == 1.0
    U = X[:, :-1] / np.linalg.norm(X[:, :-1], axis=1, keepdims=True).clip(1e-12)
    cos = U @ U.T
    assert cos[0, 1] > cos[0, 2] + 0.2  # the two sorting questions are the close pair
    assert emb.params["dim"] == 256 and emb.params["package"].startswith("wordllama==")


def test_matches_the_package_pooling(no_network) -> None:
    """The sparse float64 pooling gives the numbers of WordLlamaInference.embed (norm=False)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        inference = importlib.import_module("wordllama.inference")
    finally:  # wordllama's import calls logging.basicConfig: undo it
        root.handlers[:] = handlers
        root.setLevel(level)
    table, tokenizer = wl.load_model(128)
    rng = np.random.default_rng(0)
    words = "the cat sat mat dog python list sort bread yeast 東京 🎉 , . ?".split()
    texts = [" ".join(rng.choice(words, size=int(rng.integers(1, 40)))) for _ in range(50)]
    texts += ["word " * 3000]  # one long text in the batch: padding is the package's problem
    reference = inference.WordLlamaInference(table, tokenizer).embed(texts, batch_size=7)
    ours = wl.WordLlamaEmbedder(dim=128, batch_size=13).embed(texts, progress=False)
    assert ours.shape == (51, 128) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-5)


def test_deterministic_batch_independent_and_matryoshka() -> None:
    a = wl.WordLlamaEmbedder(batch_size=2).embed(TEXTS, progress=False)
    b = wl.WordLlamaEmbedder(batch_size=1000).embed(TEXTS, progress=False)
    assert (
        a.tobytes() == b.tobytes()
    )  # each text is pooled alone, in a fixed order: no batch effect
    small = wl.WordLlamaEmbedder(dim=64).embed(TEXTS, progress=False)
    assert small.shape == (5, 64)
    np.testing.assert_array_equal(
        small, a[:, :64]
    )  # the mean of a prefix is the prefix of the mean


def test_cache_hit_and_key(tmp_path) -> None:
    first = embed_texts(TEXTS[:3], "wordllama", cache_dir=tmp_path, quiet=True)
    again = embed_texts(TEXTS[:3], "wordllama", cache_dir=tmp_path, quiet=True, batch_size=1)
    assert first.cache_path is not None and again.cache_path == first.cache_path
    assert isinstance(again.vectors, np.memmap)  # read back from the cache, not recomputed
    np.testing.assert_array_equal(first.vectors, again.vectors)
    other = embed_texts(TEXTS[:3], "wordllama", cache_dir=tmp_path, quiet=True, dim=128)
    assert other.cache_path != first.cache_path and other.dim == 128
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_bad_settings() -> None:
    with pytest.raises(ParameterError, match=r"dim must be one of \[64, 128, 256\]"):
        get_embedder("wordllama", dim=100)
    with pytest.raises(ParameterError, match="dim must be one of"):
        get_embedder("wordllama", dim=512)  # not bundled: would need a download
    with pytest.raises(ParameterError, match="batch_size"):
        get_embedder("wordllama", batch_size=0)
    with pytest.raises(ParameterError, match="takes no argument"):
        get_embedder("wordllama:128")


def test_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "wordllama" else real(name, *a),
    )
    with pytest.raises(ParameterError) as info:
        embed_texts(["x"], "wordllama", cache_dir=False, quiet=True)
    message = str(info.value)
    assert "pip install 'unisel[wordllama]'" in message and "\n" not in message


def test_lone_surrogate_is_a_replacement_character() -> None:
    """A JSON "\\ud800" escape gives a lone surrogate, which the Rust tokenizer cannot take."""
    embedder = wl.WordLlamaEmbedder(dim=64)
    got = embedder.embed(["abc \ud800 def", "plain text"], progress=False)
    want = embedder.embed(["abc \ufffd def", "plain text"], progress=False)
    np.testing.assert_array_equal(got, want)
