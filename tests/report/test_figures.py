"""Figures are checked by content: the numbers behind each one, recomputed the plain way."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.decomposition import PCA

from unisel.report import figures as F


def _reference_pca(X: np.ndarray) -> np.ndarray:
    raw = (
        PCA(n_components=2, svd_solver="full")
        .fit(X.astype(np.float64))
        .transform(X.astype(np.float64))
    )
    return (raw - raw.min(axis=0)) / (raw.max(axis=0) - raw.min(axis=0))


def _match_signs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` with each axis mirrored (x -> 1 - x) where that brings it onto ``b``."""
    out = a.copy()
    for j in range(2):
        if np.abs((1 - a[:, j]) - b[:, j]).max() < np.abs(a[:, j] - b[:, j]).max():
            out[:, j] = 1 - a[:, j]
    return out


def test_pca_panels_in_unit_square_share_axes_and_sizes(built):
    t, out, rep = built
    pca = rep["figures"]["pca"]
    panels = {p["name"]: p for p in pca["panels"]}
    assert list(panels) == ["full", "maxmin", "random", "first"]
    for p in panels.values():
        x, y = np.array(p["x"]), np.array(p["y"])
        assert x.size == y.size == p["n_shown"] == len(p["rows"])
        assert x.min() >= 0 and x.max() <= 1 and y.min() >= 0 and y.max() <= 1
        assert p["xlim"] == pca["panels"][0]["xlim"] and p["ylim"] == pca["panels"][0]["ylim"]
        assert p["xlim"][0] <= 0 and p["xlim"][1] >= 1
    # sample_size=300: the full set (400) is sampled, the subsets (120) are drawn whole.
    assert panels["full"]["size"] == 400 and panels["full"]["n_shown"] == 300
    assert len(set(panels["full"]["rows"])) == 300
    for name in ("maxmin", "random", "first"):
        assert panels[name]["size"] == panels[name]["n_shown"] == t.indices[name].size
        assert sorted(panels[name]["rows"]) == sorted(t.indices[name].tolist())
    assert (out / "pca.png").stat().st_size > 1000


def test_pca_coordinates_are_the_full_set_projection(built):
    t, _, rep = built
    ref = _reference_pca(t.X)
    for p in rep["figures"]["pca"]["panels"]:
        got = np.column_stack([p["x"], p["y"]])
        want = ref[np.array(p["rows"])]
        np.testing.assert_allclose(_match_signs(got, want), want, atol=1e-4)


def test_blocked_pca_matches_sklearn_pca(monkeypatch):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(900, 8)) * np.array([5, 3, 1, 1, 1, 1, 1, 1])
    exact, info_e = F.pca_coordinates(X)
    monkeypatch.setattr(F, "PCA_INCREMENTAL_ABOVE", 10)
    monkeypatch.setattr(F, "PCA_BLOCK_ROWS", 200)
    inc, info_i = F.pca_coordinates(X)
    assert info_e["solver"] == "full" and info_i["solver"] == "blocked-covariance"
    np.testing.assert_allclose(
        info_i["explained_variance_ratio"], info_e["explained_variance_ratio"]
    )
    assert inc.min() >= 0 and inc.max() <= 1
    np.testing.assert_allclose(_match_signs(inc, exact), exact, atol=1e-6)


def test_sample_rows_is_a_sorted_sample_without_replacement():
    rng = np.random.default_rng(0)
    assert F.sample_rows(5, 10, rng).tolist() == [0, 1, 2, 3, 4]
    s = F.sample_rows(1000, 50, rng)
    assert s.size == 50 and np.unique(s).size == 50 and (np.diff(s) > 0).all() and s.max() < 1000


def test_nn_histogram_counts_match_brute_force(built):
    t, _, rep = built
    h = rep["figures"]["nn_histogram"]
    edges = np.array(h["bin_edges"])
    for entry in h["sets"]:
        idx = np.arange(t.X.shape[0]) if entry["name"] == "full" else t.indices[entry["name"]]
        D = cdist(t.X[idx].astype(np.float64), t.X[idx].astype(np.float64), metric="cosine")
        np.fill_diagonal(D, np.inf)
        nn = D.min(axis=1)
        assert entry["n"] == idx.size == sum(entry["counts"])
        # Distances past the axis end are counted in the last bin.
        assert entry["overflow"] == int((nn > edges[-1] + 1e-12).sum())
        want, _ = np.histogram(np.minimum(nn, edges[-1]), bins=edges)
        # Values on a bin edge may fall either side through rounding of the two computations.
        assert np.abs(np.array(entry["counts"]) - want).sum() <= 2


def test_nn_histogram_keeps_outliers_in_the_last_bin(tmp_path):
    rng = np.random.default_rng(0)
    bulk = rng.uniform(0.0, 0.2, 1000)
    nn = {"a": np.concatenate([bulk, [1.0, 1.0]]), "b": rng.uniform(0.0, 0.1, 500)}
    res = F.plot_nn_histogram(nn, {"a": "#000", "b": "#111"}, tmp_path / "h.png")
    edges = np.array(res["bin_edges"])
    assert edges[-1] < 0.3 and res["max_distance"] == 1.0
    a, b = res["sets"]
    assert a["overflow"] == 2 and b["overflow"] == 0
    assert sum(a["counts"]) == 1002 and a["counts"][-1] >= 2 and sum(b["counts"]) == 500


def test_coverage_curve_is_the_manifest_distances(built):
    t, _, rep = built
    cov = rep["figures"]["coverage"]
    assert [s["name"] for s in cov["sets"]] == ["maxmin"]
    s = cov["sets"][0]
    steps = np.array(s["steps"])
    np.testing.assert_allclose(s["distances"], t.distances[steps - 1], atol=1e-6)
    assert steps[0] == 2 and steps[-1] == t.distances.size  # the first record has no distance
    assert np.all(np.diff(s["distances"]) <= 1e-12)
    refs = {r["name"] for r in cov["references"]}
    assert refs == {"random", "first"}


def test_coverage_curve_is_thinned_for_long_selections(tmp_path):
    d = np.concatenate([[np.inf], np.linspace(1.0, 0.1, 9999)])
    res = F.plot_coverage({"maxmin": d}, {}, {"maxmin": "#000"}, tmp_path / "c.png", max_points=500)
    s = res["sets"][0]
    assert len(s["steps"]) <= 500 and s["steps"][-1] == 10000 and s["k"] == 10000
    assert s["final"] == 0.1


def test_bars_hold_the_table_values(built):
    _, out, rep = built
    bars = rep["figures"]["bars"]
    metrics = {s["name"]: s["metrics"] for s in rep["sets"]}
    assert bars["names"] == list(metrics)
    assert bars["h_min_cosine"] == [metrics[n]["h_min_cosine"] for n in bars["names"]]
    assert bars["covering_radius"] == [metrics[n]["covering_radius"] for n in bars["names"]]
    # maxmin is the most spread subset of the toy set.
    hm = dict(zip(bars["names"], bars["h_min_cosine"], strict=True))
    assert hm["maxmin"] > hm["random"] and hm["maxmin"] > hm["first"]


def test_density_view_for_large_sets(tmp_path, monkeypatch, toy_factory):
    from unisel.report import build, write_report

    t = toy_factory(tmp_path / "toy")
    monkeypatch.setattr(build, "DENSITY_ABOVE", 100)
    write_report(t.data, [t.manifests["maxmin"], t.manifests["random"]], tmp_path / "r", quiet=True)
    import json

    rep = json.loads((tmp_path / "r" / "report.json").read_text())
    dens = rep["figures"]["density"]
    assert [p["name"] for p in dens["panels"]] == ["full", "maxmin", "random"]
    for p in dens["panels"]:
        # Every point lands in exactly one cell, so the shares add up to 1.
        assert p["share_sum"] == pytest.approx(1.0)
        assert 1 / p["occupied_cells"] <= p["max_share"] <= 1
    # The full set holds every subset's points, so it occupies at least as many cells.
    by = {p["name"]: p for p in dens["panels"]}
    assert by["full"]["occupied_cells"] >= max(
        by["maxmin"]["occupied_cells"], by["random"]["occupied_cells"]
    )
    assert (tmp_path / "r" / "density.png").stat().st_size > 1000


def test_nn_blocks_stay_bounded():
    # The report's nearest-neighbour pass is the metrics kernel, which sizes its own blocks.
    from unisel.metrics.neighbors import PRODUCT_BYTES, auto_block_size

    assert auto_block_size(1000) == 8192
    rows = auto_block_size(1_000_000)
    assert 16 <= rows < 8192 and rows * 4 * 1_000_000 <= PRODUCT_BYTES
