"""Fixtures shared by the io tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_hub_offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hub tests must not depend on the caller's offline settings."""
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
