"""Sample records of each schema, and writers/loaders of each file format, for the io tests."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

Record = dict[str, Any]

SAMPLES: dict[str, list[Record]] = {
    "alpaca": [
        {"instruction": "Add the numbers.", "input": "2 and 3", "output": "5", "id": 0},
        {"instruction": "Name a colour.", "input": "", "output": "Blue.", "id": 1},
        {"instruction": "Translate to French.", "input": "cheese", "output": "fromage", "id": 2},
        {"instruction": "Name a colour.", "input": "", "output": "Blue.", "id": 1},  # duplicate
        {"instruction": "Écris un haïku.", "input": "", "output": "雪の朝", "id": 4},
        {"instruction": "Sum a list.", "input": "[1, 2]", "output": "3", "id": 5},
    ],
    "sharegpt": [
        {
            "id": f"c{i}",
            "conversations": [
                {"from": "human", "value": f"question {i} ✓"},
                {"from": "gpt", "value": f"answer {i}\nwith two lines"},
            ],
        }
        for i in range(6)
    ],
    "messages": [
        {
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": f"hello {i}"},
                {"role": "assistant", "content": f"hi {i}"},
            ],
            "source": "chat",
        }
        for i in range(6)
    ],
    "text": [{"title": f"t{i}", "text": f"plain text number {i}, ünïcode"} for i in range(6)],
}

#: The rendered text of each sample record (what read_records must produce).
EXPECTED_TEXT: dict[str, Callable[[Record], str]] = {
    "alpaca": lambda r: "\n".join(r[f] for f in ("instruction", "input", "output") if r[f]),
    "sharegpt": lambda r: "\n".join(t["value"] for t in r["conversations"]),
    "messages": lambda r: "\n".join(m["content"] for m in r["messages"]),
    "text": lambda r: r["text"],
}


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def write_json(records: list[Record], path: Path, indent: int | str | None = 2) -> Path:
    path.write_text(json.dumps(records, indent=indent, ensure_ascii=False) + "\n", "utf-8")
    return path


def write_jsonl(records: list[Record], path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def write_parquet(records: list[Record], path: Path) -> Path:
    table = pa.Table.from_pylist(records).replace_schema_metadata({"made_by": "tests"})
    pq.write_table(table, path, compression="zstd")
    return path


def write_csv(records: list[Record], path: Path) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(list(records[0]))
        for r in records:
            writer.writerow([_cell(v) for v in r.values()])
    return path


def write_hf_disk(records: list[Record], path: Path) -> Path:
    import datasets

    datasets.Dataset.from_list(records).save_to_disk(str(path))
    return path


def load_json(path: Path) -> list[Record]:
    return json.loads(path.read_text("utf-8"))


def load_jsonl(path: Path) -> list[Record]:
    return [json.loads(line) for line in path.read_bytes().split(b"\n") if line.strip()]


def load_parquet(path: Path) -> list[Record]:
    return pq.read_table(path).to_pylist()


def load_csv(path: Path) -> list[Record]:
    with open(path, encoding="utf-8", newline="") as f:
        return [dict(row) for row in csv.DictReader(f)]


def load_hf_disk(path: Path) -> list[Record]:
    import datasets

    return datasets.load_from_disk(str(path)).to_list()


#: format name -> (file name, writer, loader of the raw records as the format stores them)
FORMAT_FILES: dict[str, tuple[str, Callable[..., Path], Callable[[Path], list[Record]]]] = {
    "json": ("data.json", write_json, load_json),
    "jsonl": ("data.jsonl", write_jsonl, load_jsonl),
    "parquet": ("data.parquet", write_parquet, load_parquet),
    "csv": ("data.csv", write_csv, load_csv),
    "hf_disk": ("data_folder", write_hf_disk, load_hf_disk),
}
