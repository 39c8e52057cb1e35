"""The default preset keeps what an embedding cannot see out of the first picks; the paper preset
is the published recipe, byte for byte the selection of the versions before presets existed."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from unisel.cli import main
from unisel.manifest import load_manifest

SHORT = {7: "ok", 51: "thanks", 123: "\u200b", 200: "| - |", 250: "yes no"}

# `unisel select data.jsonl -k 30 --embedder npy:emb.npy --seed 0` on this fixture, run with the
# code of commit 3f0402b (before presets): the zero row 123 is the 5th pick.
BEFORE_PRESETS = [
    255, 226, 284, 25, 123, 242, 204, 111, 256, 159, 203, 62, 244, 9, 280,
    168, 8, 172, 32, 216, 134, 152, 261, 99, 67, 146, 197, 80, 178, 49,
]  # fmt: skip


def _fixture(folder):
    rng = np.random.default_rng(2026)
    words = [f"w{i}" for i in range(300)]
    rows = []
    for _ in range(300):
        n = int(rng.integers(8, 120))
        rows.append(
            {
                "instruction": " ".join(rng.choice(words, size=n)),
                "input": "",
                "output": " ".join(rng.choice(words, size=n // 2 + 1)),
            }
        )
    for i, text in SHORT.items():
        rows[i] = {"instruction": text, "input": "", "output": ""}
    with open(folder / "data.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    X = rng.normal(size=(300, 16)).astype(np.float32)
    X[list(SHORT)] *= 6.0
    X[123] = 0.0
    np.save(folder / "emb.npy", X)
    return folder / "data.jsonl", folder / "emb.npy"


def _select(tmp_path, *flags):
    data, emb = _fixture(tmp_path)
    out = tmp_path / f"s{len(list(tmp_path.glob('s*.jsonl')))}.jsonl"
    argv = ["select", str(data), "-k", "30", "--seed", "0", "-o", str(out), "-q"]
    assert main([*argv, "--cache-dir", str(tmp_path / "c"), *flags]) == 0
    return load_manifest(out)


def test_the_paper_preset_is_the_selection_before_presets(tmp_path):
    m = _select(tmp_path, "--embedder", f"npy:{tmp_path / 'emb.npy'}", "--preset", "paper")
    assert m.indices == BEFORE_PRESETS
    assert m.selector["params"]["preset"] == "paper"
    assert "set_aside" not in m.selector["params"]


def test_the_default_sets_aside_what_the_embedding_cannot_see(tmp_path):
    m = _select(tmp_path, "--embedder", f"npy:{tmp_path / 'emb.npy'}")
    assert not set(m.indices) & set(SHORT)  # none of them among the 30 picks
    assert m.selector["params"]["set_aside"] == len(SHORT)
    assert m.selector["params"]["preset"] == "default"


@pytest.mark.parametrize(
    ("embedder", "opts"), [("word2vec", ["--embed-opt", "min_count=1"]), ("tfidf", [])]
)
def test_planted_near_empty_records_are_never_early_picks(tmp_path, embedder, opts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 300 small records: word2vec warns it has few words
        m = _select(tmp_path, "--embedder", embedder, *opts)
        # the paper's recipe takes some of them (the zero-width record has no vector at all)
        paper = _select(tmp_path, "--embedder", embedder, *opts, "--preset", "paper")
    assert not set(m.indices) & set(SHORT)
    assert set(paper.indices) & set(SHORT)
