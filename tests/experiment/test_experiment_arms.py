"""An experiment arm is the subset `unisel select` gives for the same options on the pool."""

from __future__ import annotations

import json

import pytest
import yaml

from unisel.cli import main
from unisel.errors import InputError
from unisel.experiment import load_config
from unisel.experiment.runner import _prepare_data

WORDS = (
    "apple river stone cloud music number garden engine planet letter window summer bridge "
    "candle forest harbor island jacket kettle ladder meadow needle orange pencil"
).split()


def _config(tmp_path, **kw):
    rows = []
    for i in range(60):
        picked = [WORDS[(i * j + 3 * j) % len(WORDS)] for j in range(1, 8)]
        rows.append(
            {
                "instruction": "Describe " + " and ".join(picked[:3]) + ".",
                "input": "",
                "output": "The " + " meets the ".join(picked) + f" {i}.",
            }
        )
    (tmp_path / "data.json").write_text(json.dumps(rows))
    cfg = {
        "data": "data.json",
        "model": "tiny-llama",
        "k": 12,
        "arms": ["maxmin", "maxmin-paper", "random"],
        "arm_options": {"maxmin-paper": {"method": "maxmin", "preset": "paper"}},
        "seeds": [0],
        "selection_seed": 3,
        "holdout": 6,
        "embedder": "tfidf",
        "train": {"max_steps": 1, "batch_size": 2, "max_length": 64},
    }
    cfg.update(kw)
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return load_config(path)


@pytest.mark.parametrize(
    ("arm", "flags"),
    [("maxmin", []), ("maxmin-paper", ["--preset", "paper"]), ("random", ["--method", "random"])],
)
def test_an_arm_is_what_unisel_select_writes(tmp_path, arm, flags):
    cfg = _config(tmp_path)
    out = tmp_path / "exp"
    info = _prepare_data(cfg, out, quiet=True)
    pool = out / "data" / "pool.jsonl"
    mine = tmp_path / "mine.jsonl"
    argv = ["select", str(pool), "-k", "12", "--seed", "3", "--embedder", "tfidf", "-o", str(mine)]
    assert main([*argv, "--cache-dir", str(tmp_path / "c"), "-q", *flags]) == 0
    arm_file = out / "data" / f"{arm}.jsonl"
    assert arm_file.read_bytes() == mine.read_bytes()
    theirs = json.loads((out / "data" / f"{arm}.jsonl.manifest.json").read_text())
    ours = json.loads((tmp_path / "mine.jsonl.manifest.json").read_text())
    assert theirs["indices"] == ours["indices"] and theirs["selector"] == ours["selector"]
    assert info["arms"][arm]["manifest"].endswith(f"{arm}.jsonl.manifest.json")


def test_the_default_and_the_paper_arm_differ_and_bad_arm_options_are_refused(tmp_path):
    cfg = _config(tmp_path)
    info = _prepare_data(cfg, tmp_path / "exp", quiet=True)
    assert info["arms"]["maxmin"]["preset"] == "default"
    assert info["arms"]["maxmin-paper"]["preset"] == "paper"
    with pytest.raises(InputError, match="no selector 'maxmin-x'"):
        _config(tmp_path, arms=["maxmin-x"], arm_options={})
    with pytest.raises(InputError, match="seed is set by the experiment itself"):
        _config(tmp_path, arm_options={"maxmin": {"seed": 4}})
