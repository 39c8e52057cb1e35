"""`unisel distributed select` and `unisel select --workers` are one selection: the same start
rule (drawn with --seed) and the same order on the same embeddings."""

from __future__ import annotations

import json

import numpy as np

from unisel.cli import main
from unisel.manifest import load_manifest


def test_distributed_select_and_select_workers_give_the_same_order(tmp_path, capsys):
    rng = np.random.default_rng(5)
    n = 240
    X = (rng.normal(size=(n, 12)) * rng.uniform(0.2, 2, size=(n, 1))).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    words = [f"w{i}" for i in range(50)]
    with open(tmp_path / "d.jsonl", "w") as f:
        for _ in range(n):
            f.write(json.dumps({"text": " ".join(rng.choice(words, size=12))}) + "\n")
    common = ["-k", "25", "--seed", "7", "--workers", "1", "-q"]
    assert (
        main(
            ["select", str(tmp_path / "d.jsonl"), "-o", str(tmp_path / "s.jsonl"), *common,
             "--embedder", f"npy:{tmp_path / 'x.npy'}", "--preset", "paper",
             "--cache-dir", str(tmp_path / "c")]
        )
        == 0
    )  # fmt: skip
    via_select = load_manifest(tmp_path / "s.jsonl").indices
    out = tmp_path / "sel.json"
    assert main(["distributed", "select", str(tmp_path / "x.npy"), "-o", str(out), *common]) == 0
    via_alias = json.loads(out.read_text())["indices"]
    assert via_alias == via_select
    assert via_select[0] == int(np.random.default_rng(7).integers(n))  # the seed's draw
    capsys.readouterr()
