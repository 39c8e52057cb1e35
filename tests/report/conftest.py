"""Shared fixtures: a small clustered data set with maxmin / random / first subsets and manifests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from unisel.manifest import Manifest, distances_to_json
from unisel.select.engine.reference import maxmin_reference


@dataclass
class Toy:
    root: Path
    data: Path
    cache: Path
    X: np.ndarray
    manifests: dict[str, Path]
    indices: dict[str, np.ndarray]
    distances: np.ndarray


def make_toy(root: Path, *, n: int = 400, d: int = 16, k: int = 120, seed: int = 0) -> Toy:
    """Clustered Gaussian embeddings with a few exact duplicates, and three subsets of size k."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(6, d)) * 3.0
    X = (centers[rng.integers(0, 6, n)] + rng.normal(size=(n, d))).astype(np.float32)
    X[10:15] = X[0]  # exact duplicates, so some sets have h_min 0
    root.mkdir(parents=True, exist_ok=True)
    cache = root / "emb.npy"
    np.save(cache, X)
    data = root / "data.jsonl"
    data.write_text("".join(json.dumps({"text": f"record {i}"}) + "\n" for i in range(n)))
    mm_idx, mm_dist = maxmin_reference(X, k, start=0)
    subsets = {
        "maxmin": (mm_idx, mm_dist),
        "random": (rng.choice(n, size=k, replace=False), None),
        "first": (np.arange(k), None),
    }
    manifests = {}
    for name, (idx, dist) in subsets.items():
        m = Manifest(
            input={
                "source": str(data.resolve()),
                "format": "jsonl",
                "schema": "text",
                "text_field": "text",
                "n_records": n,
                "n_dropped": 0,
                "sha256": "0" * 64,
            },
            output={"path": str(root / f"{name}.jsonl"), "format": "jsonl", "order": "input"},
            embedder={
                "method": "word2vec",
                "params": {"vector_size": d},
                "dim": d,
                "cache_path": str(cache),
            },
            selector={"method": name, "params": {"seed": seed}},
            k=k,
            seed=seed,
            indices=[int(i) for i in idx],
            distances=distances_to_json(dist),
            h_min={"cosine": 0.0, "euclidean": 0.0},
        )
        path = root / f"{name}.jsonl.manifest.json"
        path.write_text(m.to_json())
        manifests[name] = path
    return Toy(
        root,
        data,
        cache,
        X,
        manifests,
        {k_: np.asarray(v[0], dtype=np.int64) for k_, v in subsets.items()},
        mm_dist,
    )


@pytest.fixture
def toy_factory():
    """``make_toy`` itself, for tests that need their own variant."""
    return make_toy


@pytest.fixture
def toy(tmp_path: Path) -> Toy:
    return make_toy(tmp_path / "toy")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Toy, Path, dict]:
    """One report over the toy set, with a sample size that forces the full panel to sample."""
    from unisel.report import write_report

    root = tmp_path_factory.mktemp("built")
    t = make_toy(root / "toy")
    out = root / "report"
    write_report(
        t.data,
        [t.manifests[n] for n in ("maxmin", "random", "first")],
        out,
        sample_size=300,
        seed=3,
        quiet=True,
    )
    return t, out, json.loads((out / "report.json").read_text())
