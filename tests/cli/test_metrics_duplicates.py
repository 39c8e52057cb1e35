"""``unisel metrics`` counts identical texts and identical embeddings apart, named as such."""

from __future__ import annotations

import json

import numpy as np

from tests._data import make_records, write_records
from unisel.cli import main


def test_metrics_reports_identical_texts_and_identical_embeddings(tmp_path, capsys):
    # 30 records; 30 and 31 repeat record 0 (text and embedding), 5 has record 6's embedding
    # but its own text: 2 extra copies of a text, 3 of an embedding.
    records = make_records("alpaca", 30)
    records += [records[0], records[0]]
    src = write_records(records, tmp_path / "data.jsonl", "jsonl")
    X = np.random.default_rng(0).normal(size=(32, 8)).astype(np.float32)
    X[30] = X[31] = X[0]
    X[5] = X[6]
    np.save(tmp_path / "emb.npy", X)
    argv = ["metrics", str(src), "--embedder", f"npy:{tmp_path / 'emb.npy'}", "-q"]
    assert main([*argv, "--json"]) == 0
    full = json.loads(capsys.readouterr().out)["sets"][0]
    assert full["n_identical_texts"] == 2
    assert full["n_identical_embeddings"] == 3
    assert main(argv) == 0
    table = capsys.readouterr().out.splitlines()
    assert any(x.split()[-1] == "2" for x in table if x.startswith("identical text (extra"))
    assert any(x.split()[-1] == "3" for x in table if x.startswith("identical embedding (extra"))
