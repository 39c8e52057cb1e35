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


@dataclass
class ChatToy:
    root: Path
    data: Path
    X: np.ndarray
    texts: list[str]
    turns: np.ndarray
    manifests: dict[str, Path]
    indices: dict[str, np.ndarray]
    planted: dict[str, int]
    set_aside: np.ndarray


#: A record whose text is markup: the page must show it as text, never run it.
MARKUP = '<b id="injected">bold</b><script>window.injected = 1;</script> & <i>more</i>'
VOCAB = tuple(f"w{i}" for i in range(400))


def make_chat_toy(root: Path, *, n: int = 300, d: int = 12, k: int = 40, seed: int = 0) -> ChatToy:
    """A ShareGPT data set with the records a user must see: markup, a record longer than the
    page keeps, near-empty records (set aside by the default preset), five copies of one text
    and a group of near-identical embeddings; a maxmin subset over the admitted records (its
    manifest counts the set-aside ones) and a random one."""
    from unisel.options import PRESETS

    rng = np.random.default_rng(seed)
    n_turns = rng.integers(1, 7, n)
    convs = []
    for t in n_turns:
        convs.append(
            [
                {"from": "human" if j % 2 == 0 else "gpt", "value": " ".join(rng.choice(VOCAB, 8))}
                for j in range(t)
            ]
        )
    planted = {"markup": 7, "long": 8, "zero_width": 9, "short": 11, "blank_turns": 12}
    convs[7] = [{"from": "human", "value": MARKUP + " " + "long line of words " * 400}]
    convs[8] = [{"from": "human", "value": "start " + "x" * 12_000}]
    convs[9] = [{"from": "human", "value": "\u200b"}]
    convs[11] = [{"from": "human", "value": "knock knock"}, {"from": "gpt", "value": "Who?"}]
    convs[12] = [
        {"from": "human", "value": "a turn with text in it"},
        {"from": "gpt", "value": "   "},
        {"from": "human", "value": "another turn with words"},
    ]
    for r in range(20, 25):  # five copies of one conversation
        convs[r] = [dict(t) for t in convs[20]]
    centers = rng.normal(size=(5, d)) * 3.0
    X = (centers[rng.integers(0, 5, n)] + rng.normal(size=(n, d))).astype(np.float32)
    X[21:25] = X[20]
    X[30:34] = X[30] + 1e-4 * rng.normal(size=(4, d)).astype(np.float32)  # near-identical
    X[9] = 0.0  # nothing for the embedder to see
    root.mkdir(parents=True, exist_ok=True)
    cache = root / "emb.npy"
    np.save(cache, X)
    data = root / "chat.jsonl"
    data.write_text("".join(json.dumps({"conversations": c}) + "\n" for c in convs))
    from unisel.io import read_records
    from unisel.tokens import content_words

    texts = read_records(data, quiet=True).texts
    turns = np.asarray([sum(1 for t in c if t["value"].strip()) for c in convs])
    rule = PRESETS["default"]
    aside = np.flatnonzero(
        (content_words(texts) < rule.min_words) | (~X.any(axis=1) if rule.aside_zero else False)
    )
    admitted = np.setdiff1d(np.arange(n), aside)
    pos, dist = maxmin_reference(X[admitted], k, start=int(np.searchsorted(admitted, 7)))
    subsets = {
        "maxmin": (admitted[pos], dist, {"preset": "default", "set_aside": int(aside.size)}),
        "random": (rng.choice(n, size=k, replace=False), None, {"seed": seed}),
    }
    manifests = {}
    for name, (idx, dist_, params) in subsets.items():
        m = Manifest(
            input={
                "source": str(data.resolve()),
                "format": "jsonl",
                "schema": "sharegpt",
                "text_field": None,
                "n_records": n,
                "n_dropped": 0,
                "sha256": "0" * 64,
            },
            output={"path": str(root / f"{name}.jsonl"), "format": "jsonl", "order": "input"},
            embedder={"method": "tfidf", "params": {}, "dim": d, "cache_path": str(cache)},
            selector={"method": name, "params": params},
            k=k,
            seed=seed,
            indices=[int(i) for i in idx],
            distances=distances_to_json(dist_),
            h_min={"cosine": 0.0, "euclidean": 0.0},
        )
        path = root / f"{name}.jsonl.manifest.json"
        path.write_text(m.to_json())
        manifests[name] = path
    return ChatToy(
        root,
        data,
        X,
        list(texts),
        turns,
        manifests,
        {name: np.asarray(v[0], dtype=np.int64) for name, v in subsets.items()},
        planted,
        aside,
    )


@pytest.fixture(scope="session")
def chat_built(tmp_path_factory: pytest.TempPathFactory) -> tuple[ChatToy, Path, dict]:
    """One report over the chat toy: maxmin and random against the full set."""
    from unisel.report import write_report

    root = tmp_path_factory.mktemp("chat")
    t = make_chat_toy(root / "toy")
    out = root / "report"
    write_report(t.data, [t.manifests["maxmin"], t.manifests["random"]], out, seed=5, quiet=True)
    return t, out, json.loads((out / "report.json").read_text())
