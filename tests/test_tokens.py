"""unisel.tokens: counters, the budget rule's helpers, the length summary."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from unisel.errors import InputError, ParameterError
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
    with pytest.raises(InputError, match="cannot load a tokenizer") as info:
        count_tokens(["a"], "no/such-tokenizer-anywhere")
    assert "\n" not in str(info.value)


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
