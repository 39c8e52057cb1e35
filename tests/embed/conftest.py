"""Shared fixtures of the embedder tests: a private cache root and a small corpus."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the user's cache: the default cache root is a fresh temporary folder."""
    root = tmp_path / "cache-root"
    monkeypatch.setenv("UNISEL_CACHE_DIR", str(root))
    return root


@pytest.fixture
def corpus() -> list[str]:
    """Thirty short records with repeated words (so min_count=2 keeps a vocabulary) and one
    record with no word at all."""
    topics = [
        "the cat sat on the mat and the cat slept",
        "a dog chased the ball in the park",
        "write a python function that sorts a list",
        "explain the theory of relativity in simple words",
        "translate this sentence into french please",
        "how do i bake bread at home with yeast",
    ]
    texts = [f"{t} {i % 3} {'again ' * (i % 4)}".strip() for i, t in enumerate(topics * 5)]
    texts[7] = "?!... :-) 🎉"
    return texts
