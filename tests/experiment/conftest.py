from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_STANDINS = Path(__file__).resolve().parent.parent / "train" / "unisel_train_standins.py"


def standins():
    name = "unisel_train_standins"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _STANDINS)
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
    standins().install(monkeypatch.setattr)
