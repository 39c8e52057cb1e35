"""Small Alpaca and ShareGPT samples shared by the train, evaluate and experiment tests."""

from __future__ import annotations

import json
from pathlib import Path

ALPACA = [
    {"instruction": "Name a colour.", "input": "", "output": "Blue."},
    {"instruction": "Add the numbers.", "input": "2 and 3", "output": "5"},
    {"instruction": "Say hello.", "input": "", "output": "Hello there, friend."},
    {"instruction": "Give an animal.", "input": "", "output": "A cat."},
    {"instruction": "Reverse the word.", "input": "abc", "output": "cba"},
    {"instruction": "Is water wet?", "input": "", "output": "Yes, water is wet."},
]

SHAREGPT = [
    {
        "id": f"c{i}",
        "conversations": [
            {"from": "human", "value": f"Question number {i}?"},
            {"from": "gpt", "value": f"Answer number {i}."},
            {"from": "human", "value": "Thanks."},
            {"from": "gpt", "value": "You are welcome."},
        ],
    }
    for i in range(8)
]


def write_json(path: Path, rows: list[dict]) -> Path:
    """Write ``rows`` to ``path`` as one JSON array; return ``path``."""
    path.write_text(json.dumps(rows))
    return path
