"""Benchmark the command line's start-up: each ``--help`` in a fresh process.

Every cell runs ``python -m unisel ... --help`` ``--repeat`` times in a new interpreter and
reports the median and the largest wall seconds and the peak resident set size, beside two
references measured in the same run: ``python -c pass`` (the interpreter alone) and
``python -c "import numpy"`` (the floor of anything that touches an array). The target is under
0.3 s for every ``--help``. Example::

    python benchmarks/bench_startup.py --json docs/bench/startup.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

CELLS: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "python -c 'import numpy'": ["-c", "import numpy"],
    "unisel --help": ["-m", "unisel", "--help"],
    "unisel select --help": ["-m", "unisel", "select", "--help"],
    "unisel metrics --help": ["-m", "unisel", "metrics", "--help"],
    "unisel report --help": ["-m", "unisel", "report", "--help"],
    "unisel train --help": ["-m", "unisel", "train", "--help"],
    "unisel experiment --help": ["-m", "unisel", "experiment", "--help"],
    "unisel evaluate --help": ["-m", "unisel", "evaluate", "--help"],
    "unisel theory --help": ["-m", "unisel", "theory", "--help"],
    "unisel distributed select --help": ["-m", "unisel", "distributed", "select", "--help"],
}


def run_cell(args: list[str], repeat: int) -> dict[str, float]:
    """Wall seconds (median, max) and peak RSS in MB of ``repeat`` fresh runs."""
    times = []
    peak = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage
        times.append(time.perf_counter() - t0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise SystemExit(f"{' '.join(args)} exited {child.returncode}")
        peak = max(peak, usage.ru_maxrss / 1024)  # KiB on Linux
    return {"median_s": statistics.median(times), "max_s": max(times), "peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    rows = {}
    print(f"{'command':36s} {'median s':>9s} {'max s':>7s} {'peak MB':>8s}")
    for name, cell in CELLS.items():
        rows[name] = run_cell(cell, args.repeat)
        r = rows[name]
        print(f"{name:36s} {r['median_s']:9.3f} {r['max_s']:7.3f} {r['peak_mb']:8.0f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {"machine": platform.platform(), "repeat": args.repeat, "cells": rows}, f, indent=1
            )


if __name__ == "__main__":
    main()
