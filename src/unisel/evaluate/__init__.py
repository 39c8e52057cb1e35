"""Benchmark a trained model with lm-evaluation-harness (``unisel evaluate``).

Tasks are lm-eval task names (``arc_challenge``, ``truthfulqa_mc1``: the data comes from the
Hugging Face hub, so they need network access) or paths to local task YAML files, which run
offline. A local task is an ordinary lm-eval task config; a relative ``data_files`` path in it is
taken relative to the YAML file, e.g.::

    task: my_mc
    dataset_path: json
    dataset_kwargs:
      data_files:
        test: my_mc.jsonl        # beside the YAML
    test_split: test
    output_type: multiple_choice
    doc_to_text: "Question: {{question}}\\nAnswer:"
    doc_to_choice: "{{choices}}"
    doc_to_target: "{{answer}}"
    metric_list:
      - metric: acc

A small example ships as :data:`EXAMPLE_TASK` (``unisel/evaluate/tasks/unisel_tiny_mc.yaml``).

The paper's set-up is ARC-Challenge 25-shot and TruthfulQA MC 0-shot; give ``num_fewshot`` per
task as ``arc_challenge:25``.
"""

from unisel.evaluate.harness import (
    EVAL_FILE,
    EXAMPLE_TASK,
    EvalResult,
    evaluate,
    load_eval,
    local_task_config,
    parse_tasks,
)

__all__ = [
    "EVAL_FILE",
    "EXAMPLE_TASK",
    "EvalResult",
    "evaluate",
    "load_eval",
    "local_task_config",
    "parse_tasks",
]
