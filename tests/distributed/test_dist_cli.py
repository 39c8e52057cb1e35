"""`unisel distributed embed|select|metrics` in one process, and cluster-argument errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from unisel.cli import main
from unisel.distributed import dask_client, load_sharded
from unisel.errors import ParameterError
from unisel.metrics import neighbors
from unisel.select.engine.reference import maxmin_reference


def test_embed_select_metrics_round_trip(tmp_path, capsys):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(80)]
    src = tmp_path / "d.jsonl"
    src.write_text(
        "".join(json.dumps({"text": " ".join(rng.choice(words, 9))}) + "\n" for _ in range(150))
    )
    emb, sel = tmp_path / "emb", tmp_path / "sel.json"
    assert (
        main(
            [
                "distributed",
                "embed",
                str(src),
                "-o",
                str(emb),
                "--embedder",
                "tfidf-svd:8",
                "--partitions",
                "3",
                "-q",
            ]
        )
        == 0
    )
    X = load_sharded(emb)
    assert X.shape == (150, 8)
    assert (
        main(
            [
                "distributed",
                "select",
                str(emb),
                "-k",
                "20",
                "-o",
                str(sel),
                "--start",
                "4",
                "--metrics",
                "-q",
            ]
        )
        == 0
    )
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    ref_i, _ = maxmin_reference(X, 20, start=4)
    assert json.loads(sel.read_text())["indices"] == ref_i.tolist()
    assert printed["h_min"] == pytest.approx(neighbors.h_min(X[ref_i]), abs=1e-12)
    assert main(["distributed", "metrics", str(emb), "--selection", str(sel)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["covering_radius"] == pytest.approx(
        neighbors.covering_radius(X, X[ref_i]), abs=1e-12
    )
    # an existing output is an error of the user's making: one line, exit 2, file untouched
    before = sel.read_text()
    assert (
        main(["distributed", "select", str(emb), "-k", "5", "-o", str(sel), "--mode", "two-round"])
        == 2
    )
    assert "exists" in capsys.readouterr().err and sel.read_text() == before


def test_cluster_arguments_are_checked():
    with pytest.raises(ParameterError, match="at most one"):
        with dask_client(scheduler="tcp://127.0.0.1:1", workers=1):
            pass
    with pytest.raises(ParameterError, match="at least 1"):
        with dask_client(workers=0):
            pass
    with pytest.raises(ParameterError, match="cannot connect"):
        with dask_client(scheduler="tcp://127.0.0.1:9", timeout=1):
            pass
    with dask_client() as client:
        assert client is None
