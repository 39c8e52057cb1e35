"""Records an embedder has nothing for (zero vectors) get a dimension of their own."""

import warnings

import numpy as np
import pytest

from unisel.embed import embed_texts, lift_zero_rows
from unisel.metrics import uniformity_report
from unisel.select.engine.reference import cosine_normalize


def test_lift_keeps_other_distances_and_makes_zero_rows_identical():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 5)).astype(np.float32)
    X[[3, 11]] = 0.0
    lifted, zero = lift_zero_rows(X)
    assert zero.tolist() == [3, 11] and lifted.shape == (20, 6)
    U, V = cosine_normalize(X), cosine_normalize(lifted)
    keep = np.setdiff1d(np.arange(20), zero)
    # The same products of the same numbers, but BLAS may block a (20, 5) and a (20, 6) product
    # differently and round the sums in another order (numpy 2.4: 1.1e-16 apart): a tolerance of
    # a few float64 ulps, far below any change a wrong lift would make (>= 1e-3 here).
    np.testing.assert_allclose(
        (U @ U.T)[np.ix_(keep, keep)], (V @ V.T)[np.ix_(keep, keep)], rtol=0, atol=1e-12
    )
    # Exact by construction: V[3] and V[11] are both the unit vector of the new column, and every
    # other row is 0 there, so each dot product is one exact 1 * 1 or a sum of exact zeros.
    assert 1 - V[3] @ V[11] == 0.0  # identical to each other
    np.testing.assert_array_equal(1 - V[keep] @ V[3], 1.0)  # orthogonal to the rest


def test_no_zero_rows_returns_the_input():
    X = np.ones((4, 3), dtype=np.float32)
    lifted, zero = lift_zero_rows(X)
    assert lifted is X and zero.size == 0


def test_covering_radius_is_not_ruined_by_zero_rows():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 4)).astype(np.float32)
    X[[5, 6]] = 0.0
    lifted, _ = lift_zero_rows(X)
    sub = np.r_[0:5, 6:40]  # holds zero row 6 but not zero row 5
    assert uniformity_report(X, {"s": sub})["s"].covering_radius == 1.0  # the convention's problem
    assert uniformity_report(lifted, {"s": sub})["s"].covering_radius < 1.0


def test_embed_texts_lifts_and_warns(tmp_path):
    texts = ["alpha beta gamma"] * 6 + ["delta epsilon"] * 6 + ["!!!", "???"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        emb = embed_texts(
            texts, "word2vec", cache_dir=tmp_path, quiet=True, vector_size=8, min_count=1
        )
    assert emb.vectors.shape == (14, 9)
    assert (
        emb.vectors[12, -1] == 1.0 and emb.vectors[13, -1] == 1.0 and not emb.vectors[:12, -1].any()
    )
    assert any("2 records have a zero embedding" in str(w.message) for w in caught)
    again = embed_texts(
        texts, "word2vec", cache_dir=tmp_path, quiet=True, vector_size=8, min_count=1
    )
    np.testing.assert_array_equal(again.vectors, emb.vectors)  # the lifted vectors are cached


def test_npy_with_zero_rows_is_lifted_into_the_cache(tmp_path):
    arr = np.random.default_rng(2).normal(size=(6, 3)).astype(np.float32)
    arr[2] = 0.0
    np.save(tmp_path / "e.npy", arr)
    with pytest.warns(UserWarning, match="1 records have a zero embedding"):
        emb = embed_texts(
            ["t"] * 6, f"npy:{tmp_path / 'e.npy'}", cache_dir=tmp_path / "c", quiet=True
        )
    assert emb.vectors.shape == (6, 4)
    assert emb.cache_path is not None and emb.cache_path.parent == tmp_path / "c"
    np.testing.assert_array_equal(np.load(emb.cache_path), emb.vectors)
    np.testing.assert_array_equal(np.load(tmp_path / "e.npy"), arr)  # the user's file is untouched
