"""Small synthetic instruction and chat data sets in every supported format."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

WORDS = (
    "model data train select uniform random cluster point space distance embed token text "
    "python code write explain list number sort graph tree search query answer question "
    "story poem summary translate french english recipe cook bake travel city weather "
    "music guitar song history war king science physics chemistry biology cell energy"
).split()


def sentence(rng: np.random.Generator, lo: int = 4, hi: int = 14) -> str:
    return " ".join(rng.choice(WORDS, size=int(rng.integers(lo, hi))))


def make_records(schema: str, n: int = 60, seed: int = 0) -> list[dict]:
    """``n`` records of ``schema`` with varied text; deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    out: list[dict] = []
    for i in range(n):
        if schema == "alpaca":
            out.append(
                {
                    "instruction": sentence(rng),
                    "input": sentence(rng, 0, 5),
                    "output": sentence(rng),
                }
            )
        elif schema == "sharegpt":
            turns = [
                {"from": "human" if t % 2 == 0 else "gpt", "value": sentence(rng)}
                for t in range(2 + i % 3)
            ]
            out.append({"id": f"c{i}", "conversations": turns})
        elif schema == "messages":
            turns = [
                {"role": "user" if t % 2 == 0 else "assistant", "content": sentence(rng)}
                for t in range(2 + i % 3)
            ]
            out.append({"messages": turns, "source": "synthetic"})
        elif schema == "text":
            out.append({"id": i, "body": sentence(rng, 6, 20)})
        else:
            raise ValueError(schema)
    return out


def write_records(records: list[dict], path: Path, fmt: str) -> Path:
    """Write ``records`` as ``fmt`` (json, jsonl, parquet, csv, hf_disk) at ``path``."""
    if fmt == "json":
        path.write_text(json.dumps(records, indent=2), encoding="utf-8")
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(records), path, row_group_size=16)
    elif fmt == "csv":
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)
    elif fmt == "hf_disk":
        import datasets

        datasets.Dataset.from_list(records).save_to_disk(str(path))
    else:
        raise ValueError(fmt)
    return path


EXTENSION = {
    "json": ".json",
    "jsonl": ".jsonl",
    "parquet": ".parquet",
    "csv": ".csv",
    "hf_disk": "",
}
