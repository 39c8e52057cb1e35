"""Above ``exact_limit`` the NN numbers are estimated, and every output says so."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from unisel.errors import ParameterError
from unisel.metrics import set_metrics, uniformity_report


def data(n: int = 400, d: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(6, d)) * 3
    return centres[rng.integers(6, size=n)] + rng.normal(size=(n, d))


def exact_nn(X: np.ndarray, metric: str = "cosine") -> np.ndarray:
    D = cdist(X, X, metric)
    np.fill_diagonal(D, np.inf)
    return D.min(axis=1)


def test_sample_estimate_is_labelled_and_exact_for_the_sampled_rows():
    X = data()
    report = uniformity_report(X, {}, exact_limit=100, sample_size=60, random_state=3)
    m = report["full"]
    assert (m.nn_method, m.nn_sample_size, m.nn_recall, m.h_min_exact) == (
        "sample",
        60,
        None,
        False,
    )
    nn = report.nn_distances["full"]
    rows = np.sort(np.random.default_rng(3).choice(400, 60, replace=False))
    np.testing.assert_allclose(nn, exact_nn(X)[rows], atol=1e-9)  # the stated sample, exact
    assert m.nn_mean == pytest.approx(nn.mean()) and m.nn_median == pytest.approx(np.median(nn))
    # h_min of a sample is an upper bound of the exact value
    assert m.h_min_cosine >= exact_nn(X).min() - 1e-12
    assert m.h_min_euclidean >= exact_nn(X, "euclidean").min() - 1e-12
    table = report.to_table()
    assert "sample 60" in table and "<=" in table and "~" in table
    assert "random sample of 60 of 400 rows (seed 3)" in table
    row = json.loads(json.dumps(report.to_dict()))["sets"][0]
    assert row["nn_method"] == "sample" and row["nn_sample_size"] == 60
    assert row["h_min_exact"] is False
    assert report.extra["exact_limit"] == 100


def test_duplicates_make_the_estimated_h_min_exact_zero():
    X = data()
    X[50] = X[7]
    m = uniformity_report(X, {}, exact_limit=100, sample_size=20)["full"]
    assert m.h_min_cosine == 0.0 and m.h_min_euclidean == 0.0 and m.h_min_exact
    assert m.n_exact_duplicates == 1


def test_threshold_switches_per_set():
    X = data()
    subsets = {"small": np.arange(0, 400, 8), "large": np.arange(300)}
    report = uniformity_report(X, subsets, exact_limit=120, sample_size=40)
    assert [m.nn_method for m in report.sets] == ["sample", "exact", "sample"]
    # the exact set matches brute force; the covering radius is exact for every set
    small = X[np.arange(0, 400, 8)]
    assert report["small"].h_min_cosine == pytest.approx(exact_nn(small).min(), abs=1e-12)
    for name, idx in subsets.items():
        want = cdist(X, X[idx], "cosine").min(axis=1).max()
        assert report[name].covering_radius == pytest.approx(want, abs=1e-12)
    always = uniformity_report(X, subsets, exact_limit=None)
    assert {m.nn_method for m in always.sets} == {"exact"}
    assert always["full"].h_min_cosine == pytest.approx(exact_nn(X).min(), abs=1e-12)
    assert "~" not in always.to_table().split("\n", 2)[2]  # no estimate marks
    at_limit = uniformity_report(X, {}, exact_limit=400)
    assert at_limit["full"].nn_method == "exact"


@pytest.mark.parametrize("module", ["hnswlib", "faiss"])
def test_hnsw_estimate_reports_a_measured_recall(module, monkeypatch):
    pytest.importorskip(module)
    import unisel.metrics as M

    monkeypatch.setattr(M, "_hnsw_method", lambda: module)
    X = data(600, 12).astype(np.float32)
    report = uniformity_report(X, {}, exact_limit=200, approximate="hnsw", sample_size=150)
    m = report["full"]
    assert m.nn_method == "hnsw" and m.nn_sample_size == 150
    assert m.nn_recall is not None and 0.0 <= m.nn_recall <= 1.0
    exact = exact_nn(X.astype(np.float64))
    nn = report.nn_distances["full"]
    assert nn.shape == (600,) and np.all(nn >= exact - 1e-5)  # upper bounds
    # the reported recall is what it says: agreement with exact search on the sample
    rows = np.sort(np.random.default_rng(0).choice(600, 150, replace=False))
    agree = float(np.mean(np.abs(nn[rows] - exact[rows]) <= 1e-6))
    assert m.nn_recall == pytest.approx(agree, abs=0.02)
    assert f"HNSW recall {m.nn_recall:.4g}" in report.to_table()


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"exact_limit": 1}, "exact_limit must be at least 2"),
        ({"exact_limit": "many"}, "exact_limit must be an integer"),
        ({"approximate": "annoy"}, "approximate must be one of sample, hnsw"),
        ({"sample_size": 0}, "sample_size must be positive"),
        ({"n_jobs": 0}, "n_jobs must be positive"),
    ],
)
def test_bad_options_give_one_line_errors(kwargs, needle):
    X = data(30)
    with pytest.raises(ParameterError, match=needle) as info:
        uniformity_report(X, {}, **kwargs)
    assert "\n" not in str(info.value)
    with pytest.raises(ParameterError, match=needle):
        set_metrics("x", X, **kwargs)
