"""unisel.tokens: counters, the budget rule's helpers, the length summary."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from unisel.errors import ParameterError
from unisel.tokens import TokenBudget, count_tokens, length_summary


def test_whitespace_counts_words():
    c = count_tokens(["a b  c", "", "one\ttwo\nthree four"])
    assert c.counts.tolist() == [3, 0, 4] and c.tokenizer == "whitespace"
    assert count_tokens(["x y"], "whitespace").counts.tolist() == [2]


def test_whitespace_counting_imports_no_torch_or_transformers():
    code = (
        "import sys, numpy as np; from unisel.select import select; "
        "from unisel.tokens import count_tokens; "
        "c = count_tokens(['a b', 'c']); "
        "select(np.eye(2), method='first', token_budget=2, token_counts=c); "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'heavy import'"
    )
    import os

    import unisel

    src = os.path.dirname(os.path.dirname(unisel.__file__))  # this checkout's unisel
    env = {**os.environ, "PYTHONPATH": src}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_smollm2_tokenizer_counts_like_its_tokenizer():
    from transformers import AutoTokenizer

    from unisel.train.models import _smollm2_tokenizer_dir

    texts = ["Hello there, how are you?", "def f(x):\n    return x * 2", ""]
    tok = AutoTokenizer.from_pretrained(str(_smollm2_tokenizer_dir()))
    want = [len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts]
    got = count_tokens(texts, "smollm2-135m")
    assert got.counts.tolist() == want and got.tokenizer == "smollm2-135m" and want[0] > 3


def test_unknown_tokenizer_is_one_line():
    with pytest.raises(ParameterError, match="cannot load a tokenizer") as info:
        count_tokens(["a"], "no/such-tokenizer-anywhere")
    assert "\n" not in str(info.value)
    with pytest.raises(ParameterError, match="no such folder"):
        count_tokens(["a"], "./no/such/tokenizer/folder")


@pytest.mark.parametrize("offline", [True, False])
def test_unknown_tokenizer_fails_at_once_without_retry_noise(tmp_path, offline):
    # Offline or not (without a network the hub libraries retried for ~50 s, printing 22 lines),
    # an unknown name is one line on stderr and exit status 2, within seconds (15 s: a guard for
    # a slow machine, not a measurement).
    import json
    import os
    import time

    import unisel

    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"text": f"record {i} words"}) + "\n" for i in range(20)))
    env = {
        k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    }
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    env.update(
        PYTHONPATH=os.path.dirname(os.path.dirname(unisel.__file__)),
        HOME=str(tmp_path / "home"),
        UNISEL_CACHE_DIR=str(tmp_path / "cache"),
        HF_HOME=str(tmp_path / "hf"),
    )
    argv = [sys.executable, "-m", "unisel", "select", str(data), "--tokens", "10"]
    argv += ["--tokenizer", "no-such-tokenizer-xyz", "--embedder", "tfidf", "-q"]
    argv += ["-o", str(tmp_path / "out.jsonl")]
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "no-such-tokenizer-xyz" in proc.stderr and "cannot load a tokenizer" in proc.stderr
    assert elapsed < 15, elapsed
    assert not (tmp_path / "out.jsonl").exists()


def test_budget_helpers():
    b = TokenBudget(10, np.array([4, 1, 9, 3, 0]))
    assert b.max_records() == 4  # 0 + 1 + 3 + 4 = 8 <= 10 < 8 + 9
    assert b.prefix_length(np.array([0, 3, 2, 1])) == 2  # 4 + 3 = 7, + 9 crosses
    assert b.prefix_length(np.array([4, 1, 0, 3, 2])) == 4
    with pytest.raises(ParameterError, match="first selected record"):
        TokenBudget(5, b.counts).prefix_length(np.array([2, 0]))
    with pytest.raises(ParameterError, match="shortest record"):
        TokenBudget(2, np.array([3, 5])).max_records()
    with pytest.raises(ParameterError, match="integer"):
        TokenBudget(2.5, np.array([1]))  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="integers"):
        TokenBudget(2, np.array([1.0]))
    d = b.describe(np.array([3, 1]))
    assert d == {"tokenizer": "whitespace", "budget": 10, "total": 4, "per_record": [3, 1]}


def test_length_summary():
    s = length_summary(np.arange(1, 101))
    assert s["n"] == 100 and s["total"] == 5050 and s["mean"] == 50.5
    assert s["median"] == 50.5 and s["min"] == 1 and s["max"] == 100
    assert s["q10"] == pytest.approx(np.quantile(np.arange(1, 101), 0.1))
    assert length_summary(np.array([], dtype=int)) == {"n": 0}
