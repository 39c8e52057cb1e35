"""Token-matched arms (`budget: tokens`), held-out evaluations during training, lengths."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import yaml

from tests.experiment.test_experiment_run import _data
from unisel.errors import InputError
from unisel.experiment import load_config, run_experiment


def _counts(path):
    from unisel.train.data import load_rows, target_counts
    from unisel.train.models import load_tokenizer

    loaded = load_rows(str(path))
    return target_counts(loaded.rows, loaded.schema, load_tokenizer("tiny-llama"), max_length=256)


def _config(tmp_path, **kw):
    data = _data(tmp_path / "data.json")
    budget = int(6 * np.median(_counts(data)))  # about six records per arm
    cfg = {
        "data": data.name,
        "model": "tiny-llama",
        "budget": "tokens",
        "token_budget": budget,
        "arms": ["maxmin", "random", "full"],
        "seeds": [0, 1],
        "holdout": 4,
        "train": {
            "epochs": 1,
            "batch_size": 2,
            "max_length": 256,
            "lr": 3e-3,
            "warmup_steps": 0,
            "eval_every": 1,
        },
        "smoothing_window": 2,
    }
    cfg.update(kw)
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path, budget


def test_token_matched_arms_train_on_equal_tokens_within_one_record(tmp_path):
    path, budget = _config(tmp_path)
    out = tmp_path / "exp"
    res = run_experiment(load_config(path), out, quiet=True)

    sel = json.loads((out / "selection.json").read_text())
    pool_counts = np.asarray(sel["pool_token_counts"])
    longest = int(pool_counts.max())
    assert sorted(sel["arms"]) == ["full-s0", "full-s1", "maxmin", "random"]
    for sub in sel["arms"].values():
        assert sub["tokens"] == sum(sub["token_counts"]) <= budget
        # the budget rule: what is left is less than one record (here: the longest one)
        assert budget - sub["tokens"] < longest
    seen = {}
    for run in res.runs:
        result = json.loads(
            (out / "runs" / f"{run['arm']}-s{run['seed']}" / "result.json").read_text()
        )
        sub = sel["arms"][run["subset"]]
        # one epoch over the subset: exactly the subset's training tokens
        assert result["tokens"] == sub["tokens"]
        seen[(run["arm"], run["seed"])] = result["tokens"]
    assert max(seen.values()) - min(seen.values()) < longest
    assert sel["arms"]["full-s0"]["indices"] != sel["arms"]["full-s1"]["indices"]
    # the full-pool sample does not repeat the random arm of the same seed
    assert sel["arms"]["full-s0"]["indices"] != sel["arms"]["random"]["indices"]

    with open(out / "heldout_curves.csv") as f:
        held = list(csv.DictReader(f))
    per_run = {}
    for row in held:
        per_run.setdefault((row["arm"], row["seed"]), []).append(int(row["tokens_seen"]))
    assert len(per_run) == 6
    for (arm, seed), toks in per_run.items():
        assert len(toks) >= 2 and toks == sorted(toks)  # several evaluations per run
        assert toks[-1] == seen[(arm, int(seed))]
    with open(out / "curves.csv") as f:
        curve = list(csv.DictReader(f))
    last = {}
    for row in curve:
        last[(row["arm"], int(row["seed"]))] = int(row["tokens_seen"])
    assert last == seen

    summary = json.loads((out / "summary.json").read_text())
    assert summary["budget"] == "tokens" and summary["token_budget"] == budget
    assert summary["heldout_thresholds_picked"] and summary["heldout_thresholds"]
    for arm in ("maxmin", "random", "full"):
        s = summary["arms"][arm]
        assert (
            s["tokens_seen"]["n"] == 2
            and s["heldout_loss_spread"]["min"] <= s["heldout_loss_spread"]["max"]
        )
        easy = f"{summary['heldout_thresholds'][0]:g}"
        cell = s["heldout_time_to_threshold"][easy]
        assert cell["reached"] >= 1 and cell["tokens"]["max"] <= max(seen.values())
        assert s["lengths"]["n"] == sum(
            sel["arms"][n]["size"] for n in sel["arms"] if n.startswith(arm)
        )
    for name in ("loss_vs_tokens.png", "heldout_curves.png", "lengths.png"):
        assert (out / "figures" / name).is_file()
    html = (out / "index.html").read_text()
    assert "Time to threshold (held-out loss)" in html and "Length of the records" in html
    assert f"{budget:,} training tokens" in html


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(k=5), "remove k/fraction"),
        (dict(token_budget=None), "needs token_budget"),
        (dict(token_budget=0), "positive integer"),
        (dict(train={"max_steps": 3}), "remove train.max_steps"),
        (dict(budget="bytes"), "'records' or 'tokens'"),
        (dict(budget="records", k=5), "token_budget needs budget: tokens"),
    ],
)
def test_token_budget_config_errors(tmp_path, kw, message):
    path, _ = _config(tmp_path, **kw)
    with pytest.raises(InputError, match=message) as info:
        load_config(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
