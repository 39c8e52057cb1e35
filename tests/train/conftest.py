from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent


def _standins():
    name = "unisel_train_standins"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _HERE / "unisel_train_standins.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


@pytest.fixture(autouse=True)
def _setup(monkeypatch):
    import torch

    torch.set_num_threads(1)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _standins().install(monkeypatch.setattr)


ALPACA = _standins().ALPACA
SHAREGPT = _standins().SHAREGPT
write_json = _standins().write_json


@pytest.fixture
def alpaca_file(tmp_path):
    return write_json(tmp_path / "alpaca.json", ALPACA)


@pytest.fixture
def sharegpt_file(tmp_path):
    return write_json(tmp_path / "sharegpt.json", SHAREGPT)
