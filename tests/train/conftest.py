from __future__ import annotations

import pytest

from tests.train.samples import ALPACA, SHAREGPT, write_json


@pytest.fixture(autouse=True)
def _setup(monkeypatch):
    import torch

    torch.set_num_threads(1)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def alpaca_file(tmp_path):
    return write_json(tmp_path / "alpaca.json", ALPACA)


@pytest.fixture
def sharegpt_file(tmp_path):
    return write_json(tmp_path / "sharegpt.json", SHAREGPT)
