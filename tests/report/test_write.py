"""The output folder: atomic, deterministic, self-contained; the CLI and --report entry points."""

from __future__ import annotations

import argparse
import json
import re

import numpy as np
import pytest

from unisel import cli
from unisel.errors import ParameterError
from unisel.report import build, random_baseline, report_selection, write_report


def test_folder_contents_and_no_network_references(built):
    _, out, rep = built
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "bars.png",
        "coverage.png",
        "index.html",
        "lengths.png",
        "nn_histogram.png",
        "pca.png",
        "report.json",
    ]
    html = (out / "index.html").read_text()
    # Self-contained: no remote or even local file references, figures inlined.
    assert not re.search(r'(src|href)\s*=\s*"(?!data:)', html)
    assert "http://" not in html and "https://" not in html
    assert html.count('src="data:image/png;base64,') == 5
    assert rep["summary"]["best"] == "maxmin"
    assert [s["name"] for s in rep["sets"]] == ["full", "maxmin", "random", "first"]
    assert rep["sample_size"] == 300 and rep["seed"] == 3


def test_failure_leaves_no_folder(toy, tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("figure failed")

    monkeypatch.setattr(build.F, "plot_bars", boom)
    out = tmp_path / "rep"
    with pytest.raises(RuntimeError, match="figure failed"):
        write_report(toy.data, [toy.manifests["maxmin"]], out, quiet=True)
    # Neither the report nor its temporary folder is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == [toy.root.name]


def test_failure_keeps_previous_report(toy, tmp_path, monkeypatch):
    out = tmp_path / "rep"
    write_report(toy.data, [toy.manifests["maxmin"]], out, quiet=True)
    before = (out / "report.json").read_bytes()
    monkeypatch.setattr(build.F, "plot_bars", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_report(toy.data, [toy.manifests["random"]], out, quiet=True)
    assert (out / "report.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_refuses_to_replace_a_foreign_folder(toy, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ParameterError, match="not a unisel report"):
        write_report(toy.data, [toy.manifests["maxmin"]], out, quiet=True)
    assert (out / "notes.txt").read_text() == "keep me"


def test_same_inputs_same_bytes(toy, tmp_path):
    specs = [toy.manifests["maxmin"], toy.manifests["random"]]
    write_report(toy.data, specs, tmp_path / "a", sample_size=100, quiet=True)
    write_report(toy.data, specs, tmp_path / "b", sample_size=100, quiet=True)
    for name in ("report.json", "index.html", "pca.png", "bars.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    write_report(toy.data, specs, tmp_path / "c", sample_size=100, seed=1, quiet=True)
    a = json.loads((tmp_path / "a" / "report.json").read_text())["figures"]["pca"]["panels"][0]
    c = json.loads((tmp_path / "c" / "report.json").read_text())["figures"]["pca"]["panels"][0]
    assert a["rows"] != c["rows"]


def test_report_selection_against_random_of_same_size(toy, tmp_path):
    index = report_selection(toy.manifests["maxmin"], tmp_path / "sel", sample_size=50, quiet=True)
    rep = json.loads((index.parent / "report.json").read_text())
    assert [s["name"] for s in rep["sets"]] == ["full", "maxmin", "random"]
    want = np.random.default_rng(0).choice(400, size=120, replace=False)
    np.testing.assert_array_equal(random_baseline(400, 120, 0), want)
    random_panel = rep["figures"]["pca"]["panels"][2]
    assert random_panel["size"] == 120 and random_panel["n_shown"] == 50
    assert set(random_panel["rows"]) <= set(want.tolist())
    assert rep["summary"]["best"] == "maxmin"


def _run_cli(argv):
    parser = argparse.ArgumentParser(prog="unisel")
    sub = parser.add_subparsers(dest="command")
    handler = cli._add_report(sub)
    assert handler is not None
    return handler(parser.parse_args(argv))


def test_cli(toy, tmp_path, capsys):
    out = tmp_path / "cli"
    rc = _run_cli(
        [
            "report",
            str(toy.data),
            "--subset",
            str(toy.root / "maxmin.jsonl"),
            "-s",
            str(toy.manifests["first"]),
            "--name",
            "uniform",
            "--name",
            "head",
            "-o",
            str(out),
            "--sample-size",
            "64",
            "--seed",
            "2",
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    rep = json.loads((out / "report.json").read_text())
    assert rep["summary"]["text"] in printed and str(out / "index.html") in printed
    assert [s["name"] for s in rep["sets"]] == ["full", "uniform", "head"]
    assert rep["sample_size"] == 64 and rep["seed"] == 2


def test_cli_errors_are_uniselerrors(toy, tmp_path):
    toy.cache.unlink()
    from unisel.errors import UniselError

    with pytest.raises(UniselError, match="is gone"):
        _run_cli(["report", "-s", str(toy.manifests["maxmin"]), "-o", str(tmp_path / "x"), "-q"])
    assert not (tmp_path / "x").exists()


def test_report_counts_identical_texts_and_identical_embeddings_apart(toy_factory, tmp_path):
    # The toy's rows 10-14 repeat row 0's embedding (5 extra copies), every text differs;
    # make records 1 and 2 repeat record 0's text (2 extra copies).
    t = toy_factory(tmp_path / "toy")
    lines = t.data.read_text().splitlines()
    lines[1] = lines[2] = lines[0]
    t.data.write_text("\n".join(lines) + "\n")
    out = tmp_path / "report"
    write_report(t.data, [t.manifests["maxmin"]], out, lengths="words", quiet=True)
    rep = json.loads((out / "report.json").read_text())
    full = rep["sets"][0]["metrics"]
    assert full["n_identical_texts"] == 2
    assert full["n_identical_embeddings"] == 5
    html = (out / "index.html").read_text()
    assert "identical text (extra copies)" in html
    assert "identical embedding (extra copies)" in html
    assert "/sets/0/metrics/n_identical_texts" in html
