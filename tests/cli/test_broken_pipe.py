"""A reader that stops early (``unisel metrics ... | head``) ends the command quietly."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from tests._data import make_records, write_records


def test_a_closed_stdout_ends_with_141_and_no_traceback(tmp_path):
    src = write_records(make_records("alpaca", 30), tmp_path / "data.jsonl", "jsonl")
    np.save(tmp_path / "emb.npy", np.random.default_rng(0).normal(size=(30, 8)))
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads: the first write of the table fails with EPIPE
    try:
        proc = subprocess.run(
            [sys.executable, "-c", "import sys; from unisel.cli import main; sys.exit(main())"]
            + ["metrics", str(src), "-q"]
            + ["--embedder", f"npy:{tmp_path / 'emb.npy'}"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 141, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
