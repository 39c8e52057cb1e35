from __future__ import annotations

import argparse
import json
import math

import pytest

from unisel.errors import InputError, ParameterError
from unisel.evaluate import EXAMPLE_TASK, evaluate, load_eval, local_task_config, parse_tasks


def test_parse_tasks():
    assert parse_tasks("arc_challenge:25, truthfulqa_mc1") == [
        ("arc_challenge", 25),
        ("truthfulqa_mc1", None),
    ]
    assert parse_tasks(["/a/b.yaml:3"]) == [("/a/b.yaml", 3)]
    with pytest.raises(ParameterError):
        parse_tasks(" , ")


def test_local_task_paths_resolve_against_the_yaml(tmp_path):
    cfg = local_task_config(EXAMPLE_TASK)
    assert cfg["dataset_kwargs"]["data_files"]["test"] == str(
        EXAMPLE_TASK.parent / "unisel_tiny_mc.jsonl"
    )
    bad = tmp_path / "t.yaml"
    bad.write_text(
        "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: nope.jsonl\n"
    )
    with pytest.raises(InputError, match="nope.jsonl"):
        local_task_config(bad)


def test_evaluate_local_task_end_to_end_via_cli(tmp_path):
    from unisel.cli import _add_evaluate

    parser = argparse.ArgumentParser()
    handler = _add_evaluate(parser.add_subparsers(dest="command"))
    out = tmp_path / "ev.json"
    args = parser.parse_args(
        [
            "evaluate",
            "tiny-llama",
            "--tasks",
            f"{EXAMPLE_TASK}:1",
            "-o",
            str(out),
            "--limit",
            "4",
            "-q",
        ]
    )
    assert handler(args) == 0
    res = load_eval(out)
    assert res is not None
    metric, value = res.headline["unisel_tiny_mc"]
    assert metric == "acc_norm" and 0.0 <= value <= 1.0
    assert res.num_fewshot["unisel_tiny_mc"] == 1
    saved = json.loads(out.read_text())
    assert math.isclose(
        saved["scores"]["unisel_tiny_mc"]["acc,none"], res.scores["unisel_tiny_mc"]["acc,none"]
    )


def test_hub_data_offline_is_a_clear_error(tmp_path):
    # A task whose data lives on the hub (as arc_challenge's does), run without network.
    task = tmp_path / "hub_task.yaml"
    text = EXAMPLE_TASK.read_text().replace("task: unisel_tiny_mc", "task: hub_mc")
    text = text.replace(
        "dataset_path: json", "dataset_path: allenai/ai2_arc\ndataset_name: ARC-Challenge"
    )
    text = text.replace("dataset_kwargs:\n  data_files:\n    test: unisel_tiny_mc.jsonl\n", "")
    task.write_text(text)
    with pytest.raises(InputError, match="hub_mc.*network"):
        evaluate("tiny-llama", str(task), quiet=True, limit=1)
