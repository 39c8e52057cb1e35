from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _setup(monkeypatch):
    import torch

    torch.set_num_threads(1)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
