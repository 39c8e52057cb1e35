"""Stand-ins for pipeline functions that other branches provide (used only when missing).

Installed by the conftest of tests/train, tests/evaluate and tests/experiment so that these tests
run on a branch where ``unisel.io.read_records``, ``unisel.embed.embed_texts`` or
``unisel.select.select`` are not merged yet; once they are, the real functions are used.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

ALPACA = [
    {"instruction": "Name a colour.", "input": "", "output": "Blue."},
    {"instruction": "Add the numbers.", "input": "2 and 3", "output": "5"},
    {"instruction": "Say hello.", "input": "", "output": "Hello there, friend."},
    {"instruction": "Give an animal.", "input": "", "output": "A cat."},
    {"instruction": "Reverse the word.", "input": "abc", "output": "cba"},
    {"instruction": "Is water wet?", "input": "", "output": "Yes, water is wet."},
]

SHAREGPT = [
    {
        "id": f"c{i}",
        "conversations": [
            {"from": "human", "value": f"Question number {i}?"},
            {"from": "gpt", "value": f"Answer number {i}."},
            {"from": "human", "value": "Thanks."},
            {"from": "gpt", "value": "You are welcome."},
        ],
    }
    for i in range(8)
]


def write_json(path: Path, rows) -> Path:
    path.write_text(json.dumps(rows))
    return path


def read_records(source, *, schema=None, text_field=None, split="train", quiet=False):
    from unisel.io.records import RecordSet

    path = Path(source)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        rows, fmt = [json.loads(x) for x in text.splitlines() if x.strip()], "jsonl"
    else:
        rows, fmt = json.loads(text), "json"
    first = rows[0]
    if schema is None:
        if "conversations" in first:
            schema = "sharegpt"
        elif "messages" in first:
            schema = "messages"
        elif "instruction" in first:
            schema = "alpaca"
        else:
            schema = "text"

    def render(r):
        if schema == "alpaca":
            return "\n".join(str(r.get(k) or "") for k in ("instruction", "input", "output"))
        if schema in ("sharegpt", "messages"):
            turns = r.get("conversations") or r.get("messages") or []
            return "\n".join(str(t.get("value", t.get("content"))) for t in turns)
        return str(r[text_field or "text"])

    return RecordSet(
        source=str(path.resolve()),
        format=fmt,
        schema=schema,
        texts=[render(r) for r in rows],
        text_field=text_field,
        content_hash=hashlib.sha256(path.read_bytes()).hexdigest(),
    )


def embed_texts(texts, method="word2vec", *, cache_dir=None, seed=0, quiet=False, **params):
    from unisel.embed.base import Embeddings

    dim = 32
    X = np.zeros((len(texts), dim), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in str(t).lower().split():
            h = int(hashlib.md5(w.encode()).hexdigest(), 16)
            X[i, h % dim] += 1.0 if (h >> 8) % 2 else -1.0
    X[np.all(X == 0, axis=1), 0] = 1.0
    return Embeddings(vectors=X, method=method, params={"dim": dim})


def select(X, k, method="maxmin", *, random_state=0, **params):
    from unisel.select.base import Selection
    from unisel.select.engine.reference import maxmin_reference

    n = X.shape[0]
    dist = None
    if method == "maxmin":
        idx, dist = maxmin_reference(X, k, start=params.get("start", 0))
    elif method == "random":
        idx = np.random.default_rng(random_state).choice(n, size=k, replace=False)
    elif method == "first":
        idx = np.arange(k)
    else:
        raise ValueError(method)
    return Selection(indices=np.asarray(idx, np.int64), method=method, n_total=n, distances=dist)


def install(monkeypatch_setattr) -> None:
    """Attach a stand-in for every pipeline function the branch lacks."""
    import unisel.io

    if not hasattr(unisel.io, "read_records"):
        monkeypatch_setattr(unisel.io, "read_records", read_records, raising=False)
    try:
        import unisel.embed as embed
    except ImportError:  # pragma: no cover
        embed = None
    if embed is not None and not hasattr(embed, "embed_texts"):
        monkeypatch_setattr(embed, "embed_texts", embed_texts, raising=False)
    import unisel.select as sel

    if not hasattr(sel, "select"):
        monkeypatch_setattr(sel, "select", select, raising=False)
