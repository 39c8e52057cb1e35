"""A report on a set above the metrics' exact limit says which numbers are estimated."""

from __future__ import annotations

import json

from unisel.report import write_report


def test_estimated_full_set_is_stated_on_the_page(toy, tmp_path):
    out = tmp_path / "rep"
    write_report(toy.data, [toy.manifests["maxmin"]], out, exact_limit=200, quiet=True)
    rep = json.loads((out / "report.json").read_text())
    full, sub = (s["metrics"] for s in rep["sets"])
    assert full["nn_method"] == "sample" and full["nn_sample_size"] == 400  # sample <= set
    assert sub["nn_method"] == "exact" and sub["h_min_exact"] is True
    html = (out / "index.html").read_text()
    assert "too large for exact search" in html
    assert 'data-json="/sets/0/metrics/nn_sample_size"' in html
    exact = tmp_path / "exact"
    write_report(toy.data, [toy.manifests["maxmin"]], exact, quiet=True)
    assert "too large for exact search" not in (exact / "index.html").read_text()
