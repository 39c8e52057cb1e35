from __future__ import annotations

import csv
import json

import pytest
import yaml

from unisel.errors import InputError, ParameterError
from unisel.evaluate import EXAMPLE_TASK
from unisel.experiment import load_config, run_experiment

WORDS = "apple river stone cloud music number garden engine planet letter window summer".split()


def _data(path, n=24):
    rows = []
    for i in range(n):
        a, b = WORDS[i % len(WORDS)], WORDS[(i * 5 + 3) % len(WORDS)]
        rows.append(
            {
                "instruction": f"Describe {a} and {b}.",
                "input": "",
                "output": f"The {a} meets the {b} {i}.",
            }
        )
    path.write_text(json.dumps(rows))
    return path


def _config(tmp_path, **kw):
    data = _data(tmp_path / "data.json")
    cfg = {
        "data": data.name,
        "model": "tiny-llama",
        "k": 6,
        "arms": ["maxmin", "random"],
        "seeds": [0],
        "holdout": 4,
        "train": {
            "max_steps": 5,
            "batch_size": 2,
            "max_length": 256,
            "lr": 3e-3,
            "warmup_steps": 0,
        },
        "smoothing_window": 2,
        "eval_tasks": [str(EXAMPLE_TASK)],
        "eval_limit": 4,
    }
    cfg.update(kw)
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_two_arms_end_to_end_and_resume(tmp_path):
    cfg = load_config(_config(tmp_path))
    out = tmp_path / "exp"

    class Stop(Exception):
        pass

    def stop(entry):
        raise Stop

    with pytest.raises(Stop):
        run_experiment(cfg, out, quiet=True, on_run=stop)
    first = json.loads((out / "runs" / "maxmin-s0" / "result.json").read_text())
    assert not (out / "runs" / "random-s0").exists()

    res = run_experiment(cfg, out, quiet=True)
    assert [(r["arm"], r["trained"]) for r in res.runs] == [("maxmin", False), ("random", True)]
    assert json.loads((out / "runs" / "maxmin-s0" / "result.json").read_text()) == first

    for name in [
        "config.yaml",
        "selection.json",
        "data/holdout.jsonl",
        "data/maxmin.jsonl",
        "data/random.jsonl",
        "curves.csv",
        "time_to_threshold.csv",
        "heldout.csv",
        "lm_eval.csv",
        "summary.json",
        "figures/loss_vs_steps.png",
        "figures/loss_vs_time.png",
        "figures/heldout.png",
        "figures/lm_eval.png",
        "index.html",
        "runs/maxmin-s0/log.jsonl",
        "runs/random-s0/lm_eval.json",
    ]:
        assert (out / name).is_file(), name
    assert not (out / "runs" / "random-s0" / "model").exists()  # removed after evaluation

    sel = json.loads((out / "selection.json").read_text())
    held = set(sel["holdout"])
    assert len(held) == 4
    for arm in ("maxmin", "random"):
        a = sel["arms"][arm]
        assert a["size"] == 6 and not held & set(a["indices"])
        assert a["h_min_cosine"] >= 0 and a["covering_radius_cosine"] > 0
    # Max-min spreads at least as well as random by its own criterion.
    assert sel["arms"]["maxmin"]["h_min_cosine"] >= sel["arms"]["random"]["h_min_cosine"]

    with open(out / "curves.csv") as f:
        curve = list(csv.DictReader(f))
    assert len(curve) == 10 and {"loss_ma2", "loss_ema2"} <= set(curve[0])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["thresholds_picked"] and summary["thresholds"]
    for arm in ("maxmin", "random"):
        s = summary["arms"][arm]
        assert s["steps"] == 5 and s["heldout_loss"][0] > 0
    assert any("unisel_tiny_mc" in g for g in summary["lm_eval"])
    html = (out / "index.html").read_text()
    assert "Time to threshold" in html and "data:image/png;base64," in html
    assert "uniform (maxmin)" in html

    # Other settings in the same folder are refused.
    with pytest.raises(ParameterError):
        run_experiment(load_config(_config(tmp_path, k=5)), out, quiet=True)


def test_config_errors(tmp_path):
    with pytest.raises(InputError, match="unknown setting 'kk'"):
        load_config(_config(tmp_path, kk=3))
    with pytest.raises(InputError, match="set by the experiment"):
        load_config(_config(tmp_path, train={"seed": 3}))
    with pytest.raises(InputError, match="exactly one of k and fraction"):
        load_config(_config(tmp_path, fraction=0.5))
    with pytest.raises(InputError, match="unknown training setting"):
        load_config(_config(tmp_path, train={"lrr": 1}))
