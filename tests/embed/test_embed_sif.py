"""Smooth-inverse-frequency pooling for word2vec (``pooling="sif"``)."""

from __future__ import annotations

import numpy as np
import pytest

from unisel.embed._pooling import first_component, mean_pool, remove_component, sif_weights
from unisel.embed.word2vec import Word2VecEmbedder
from unisel.errors import ParameterError


def test_weighted_pool_is_the_plain_weighted_mean():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(30, 5))
    weights = rng.uniform(0.1, 1, size=30)
    lengths = rng.integers(0, 6, size=40)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    ids = rng.integers(0, 30, size=indptr[-1])
    got = mean_pool(ids, indptr, table, weights)
    for i in range(40):
        rows = ids[indptr[i] : indptr[i + 1]]
        want = (table[rows] * weights[rows, None]).sum(0) / max(rows.size, 1)
        # float32 output of float64 sums: one float32 rounding apart at most
        np.testing.assert_allclose(got[i], want, rtol=1e-6, atol=1e-7)


def test_sif_weights_favour_rare_words():
    w = sif_weights(np.array([1000, 10, 1]), a=1e-3)
    assert w[0] < w[1] < w[2] <= 1.0


def test_removing_the_first_component():
    rng = np.random.default_rng(1)
    common = rng.normal(size=6)
    V = rng.normal(size=(200, 6)) * 0.1 + common  # every row shares one direction
    V[5] = 0.0
    u = first_component(V)
    assert abs(abs(u @ common) / np.linalg.norm(common) - 1) < 1e-2  # it finds that direction
    W = remove_component(V, u)
    assert np.abs(W.astype(np.float64) @ u).max() < 1e-5
    assert not W[5].any()  # a zero row stays zero


TEXTS = [
    "the cat sat on the mat with the other cat",
    "a dog and the cat played in the garden all day",
    "the stock market fell sharply on monday morning",
    "investors sold the shares of the bank on monday",
    "the recipe needs two eggs flour sugar and butter",
    "bake the cake for forty minutes with the butter",
] * 8


@pytest.mark.parametrize("training", ["file", "iterable"])
def test_sif_embed_equals_fit_then_transform_and_has_its_own_cache_key(training):
    opts = {"min_count": 1, "epochs": 3, "vector_size": 16, "training": training}
    mean = Word2VecEmbedder(**opts)
    sif = Word2VecEmbedder(**opts, pooling="sif")
    assert "pooling" not in mean.config()  # the paper's vectors keep their cache entries
    assert sif.config()["pooling"] == "sif" and sif.config() != mean.config()
    a = sif.embed(TEXTS, progress=False)
    b = Word2VecEmbedder(**opts, pooling="sif").fit(TEXTS).transform(TEXTS)
    # the same training (one worker, seeded) and the same pooling; float32 rounding apart
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    u = sif._component
    assert u is not None and np.abs(a.astype(np.float64) @ u).max() < 1e-4
    assert not np.allclose(a, mean.embed(TEXTS, progress=False))


def test_bad_pooling():
    with pytest.raises(ParameterError, match="pooling must be one of mean, sif"):
        Word2VecEmbedder(pooling="max")
    with pytest.raises(ParameterError, match="sif_a must be > 0"):
        Word2VecEmbedder(pooling="sif", sif_a=0)
