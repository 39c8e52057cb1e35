"""Record lengths in the report: per-set distribution, table columns, figure, sources."""

from __future__ import annotations

import json

import numpy as np
import pytest

from unisel.errors import InputError
from unisel.report import write_report


def _vary_lengths(toy):
    """Rewrite the toy data so record i has (i % 17) + 1 words."""
    n = toy.X.shape[0]
    words = [(i % 17) + 1 for i in range(n)]
    toy.data.write_text("".join(json.dumps({"text": " ".join(["w"] * c)}) + "\n" for c in words))
    return np.asarray(words)


def test_each_set_gets_its_length_summary_and_histogram(toy, tmp_path):
    words = _vary_lengths(toy)
    out = tmp_path / "rep"
    write_report(toy.data, list(toy.manifests.values()), out, quiet=True)
    rep = json.loads((out / "report.json").read_text())
    assert rep["length_unit"] == "words" and rep["length_note"] is None
    fig = rep["figures"]["lengths"]
    for s in rep["sets"]:
        want = words if s["name"] == "full" else words[toy.indices[s["name"]]]
        assert s["lengths"]["n"] == want.size
        assert s["lengths"]["mean"] == pytest.approx(want.mean())
        assert s["lengths"]["median"] == pytest.approx(np.median(want))
        assert s["lengths"]["q90"] == pytest.approx(np.quantile(want, 0.9))
        assert s["metrics"]["length_median"] == pytest.approx(np.median(want))
        counts = next(c for c in fig["sets"] if c["name"] == s["name"])["counts"]
        assert sum(counts) == want.size
    html = (out / "index.html").read_text()
    assert "median words" in html and "Length of the records" in html


def test_lengths_from_an_array_and_none(toy, tmp_path):
    n = toy.X.shape[0]
    given = np.arange(n, dtype=np.int64)
    write_report(toy.data, list(toy.manifests.values()), tmp_path / "a", lengths=given, quiet=True)
    rep = json.loads((tmp_path / "a" / "report.json").read_text())
    first = next(s for s in rep["sets"] if s["name"] == "first")
    assert first["lengths"]["max"] == toy.indices["first"].max()
    write_report(toy.data, list(toy.manifests.values()), tmp_path / "b", lengths=None, quiet=True)
    rep = json.loads((tmp_path / "b" / "report.json").read_text())
    assert "lengths" not in rep["figures"] and rep["sets"][0]["lengths"] is None
    assert not (tmp_path / "b" / "lengths.png").exists()


def test_unreadable_records_skip_auto_but_fail_when_asked(toy, tmp_path):
    toy.data.unlink()
    write_report(None, list(toy.manifests.values()), tmp_path / "a", quiet=True)
    rep = json.loads((tmp_path / "a" / "report.json").read_text())
    assert "lengths" not in rep["figures"] and "could not be read" in rep["length_note"]
    with pytest.raises(InputError):
        write_report(
            None, list(toy.manifests.values()), tmp_path / "b", lengths="words", quiet=True
        )
