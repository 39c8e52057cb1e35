"""Uniformity metrics against brute force on random inputs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist, pdist

from unisel.metrics import (
    count_exact_duplicates,
    count_identical_texts,
    set_metrics,
    text_digests,
    uniformity_report,
)


def brute(X, idx):
    S = X[idx]
    cos = cdist(S, S, "cosine")
    np.fill_diagonal(cos, np.inf)
    nn = cos.min(axis=1)
    return {
        "h_min_cosine": pdist(S, "cosine").min(),
        "h_min_euclidean": pdist(S, "euclidean").min(),
        "nn_mean": nn.mean(),
        "nn_median": np.median(nn),
        "covering_radius": cdist(X, S, "cosine").min(axis=1).max(),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_report_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 7))
    subsets = {"a": rng.choice(300, 40, replace=False), "b": rng.choice(300, 100, replace=False)}
    report = uniformity_report(X, subsets)
    assert [m.name for m in report.sets] == ["full", "a", "b"]
    assert report["full"].covering_radius == 0.0
    for name, idx in subsets.items():
        got = report[name]
        assert got.size == len(idx)
        for key, value in brute(X, idx).items():
            assert getattr(got, key) == pytest.approx(value, abs=1e-9), key


def test_duplicates_are_counted_and_h_min_is_zero():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4))
    X[10] = X[3]
    X[11] = X[3]
    X[20] = X[21] * 1.0001  # near duplicate, not exact (cosine distance ~0)
    m = uniformity_report(X, {})["full"]
    assert m.n_exact_duplicates == 2
    assert m.h_min_cosine == pytest.approx(0.0, abs=1e-12)
    assert m.h_min_euclidean == 0.0
    assert m.n_near_duplicates >= 5  # 3, 10, 11, 20, 21


def test_count_exact_duplicates():
    assert count_exact_duplicates(np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 1.0], [1.0, 2.0]])) == 2
    assert count_exact_duplicates(np.zeros((1, 3))) == 0


def _unique_rows_reference(X):
    rows = np.ascontiguousarray(X).view(np.dtype((np.void, X.dtype.itemsize * X.shape[1])))
    return X.shape[0] - np.unique(rows).shape[0]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 300),
    d=st.integers(1, 7),
    dtype=st.sampled_from([np.float16, np.float32, np.float64]),
    n_repeats=st.integers(0, 50),
    seed=st.integers(0, 2**31 - 1),
)
def test_count_exact_duplicates_equals_sorting_reference(n, d, dtype, n_repeats, seed):
    rng = np.random.default_rng(seed)
    # few distinct values, so rows repeat by chance as well as by copy; -0.0 and NaN are
    # bit patterns like any other
    X = rng.choice(np.array([0.0, -0.0, 1.0, np.nan], dtype=dtype), size=(n, d))
    X[rng.integers(0, n, n_repeats)] = X[rng.integers(0, n, n_repeats)]
    assert count_exact_duplicates(X) == _unique_rows_reference(X)


def test_table_and_dict():
    X = np.random.default_rng(1).normal(size=(30, 3))
    report = uniformity_report(X, {"one": np.array([4])})
    table = report.to_table()
    assert "h_min (cosine)" in table and "one" in table and "n/a" in table
    d = report.to_dict()
    assert d["sets"][1]["h_min_cosine"] is None  # NaN for a single record becomes null
    assert d["sets"][1]["covering_radius"] > 0


def test_report_keeps_each_sets_nn_distances():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 5))
    idx = rng.choice(120, 30, replace=False)
    report = uniformity_report(X, {"s": idx, "one": np.array([7])})
    full = cdist(X, X, "cosine")
    np.fill_diagonal(full, np.inf)
    np.testing.assert_allclose(report.nn_distances["full"], full.min(axis=1), atol=1e-9)
    sub = cdist(X[np.sort(idx)], X[np.sort(idx)], "cosine")
    np.fill_diagonal(sub, np.inf)
    np.testing.assert_allclose(report.nn_distances["s"], sub.min(axis=1), atol=1e-9)
    assert report.nn_distances["one"].size == 0
    assert "nn_distances" not in report.to_dict()


def test_identical_texts_and_identical_embeddings_are_counted_apart():
    # Rows 1 and 2 repeat row 0's text and embedding; rows 4 and 5 have other texts but row 3's
    # embedding (an embedder can map different texts to one vector): 2 extra copies of a text,
    # 4 of an embedding.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 5))
    X[1] = X[2] = X[0]
    X[4] = X[5] = X[3]
    texts = [f"text {i}" for i in range(12)]
    texts[1] = texts[2] = texts[0]
    report = uniformity_report(X, {"a": [0, 1, 3, 6], "b": [6, 7, 8]}, texts=texts)
    full, a, b = report["full"], report["a"], report["b"]
    assert (full.n_identical_texts, full.n_identical_embeddings) == (2, 4)
    assert (a.n_identical_texts, a.n_identical_embeddings) == (1, 1)
    assert (b.n_identical_texts, b.n_identical_embeddings) == (0, 0)
    row = report.to_dict()["sets"][0]
    assert row["n_identical_texts"] == 2 and row["n_identical_embeddings"] == 4
    table = report.to_table().splitlines()
    text_line = next(x for x in table if x.startswith("identical text (extra copies)"))
    emb_line = next(x for x in table if x.startswith("identical embedding (extra copies)"))
    assert text_line.split()[-3:] == ["2", "1", "0"]
    assert emb_line.split()[-3:] == ["4", "1", "0"]
    assert not any(x.startswith("exact duplicates") for x in table)
    # without the texts the text count is unknown, not 0
    no_texts = uniformity_report(X, {})
    assert no_texts["full"].n_identical_texts is None
    assert "identical text (extra copies)" in no_texts.to_table()
    assert count_identical_texts(["x", "y", "x", "x"]) == 2
    assert count_identical_texts(text_digests(["x", "y", "x"])) == 1


def test_both_entry_points_take_every_metric_option():
    # set_metrics and uniformity_report take the same keyword options, and refuse others
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 6))
    options = {
        "near_duplicate_threshold": 0.2,
        "exact_limit": 20,
        "approximate": "sample",
        "sample_size": 15,
        "random_state": 4,
        "backend": "numpy",
        "n_jobs": 1,
        "quiet": True,
    }
    texts = [str(i % 7) for i in range(60)]
    report = uniformity_report(X, {"a": np.arange(30)}, texts=texts, full_name="all", **options)
    assert report.near_duplicate_threshold == 0.2
    assert report.extra["sample_size"] == 15 and report.extra["exact_limit"] == 20
    alone = set_metrics("all", X, texts=texts, **options)
    assert alone == report["all"] and alone.nn_method == "sample"
    assert set_metrics("a", X[:30], X, texts=texts[:30], **options) == report["a"]
    with pytest.raises(TypeError, match="near_duplicate"):
        uniformity_report(X, {}, near_duplicate=0.1)
    with pytest.raises(TypeError, match="near_duplicate"):
        set_metrics("x", X, near_duplicate=0.1)
