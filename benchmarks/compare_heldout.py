"""Held-out loss of experiment arms at equal training tokens, across experiment folders.

Reads the ``heldout_curves.csv`` of one or more ``unisel experiment`` outputs (or copies of them,
such as ``docs/bench/tokens/ce_heldout_curves.csv``), interpolates every run's held-out loss
linearly at the same numbers of training tokens seen, and prints mean ± sample std (ddof 1) over the seeds per
arm, one row per token count (a Markdown table), plus each arm's final loss. With ``--png`` it
also draws the mean curves with a band of one standard deviation. Example::

    python benchmarks/compare_heldout.py docs/bench/tokens/ce_heldout_curves.csv \\
        docs/bench/tokens/ce_default_heldout_curves.csv --rename maxmin=maxmin-paper \\
        --png docs/img/experiment/tokens_ce_default_arm.png
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict

import numpy as np

POINTS = (4000, 6000, 8000, 10000, 14000, 18000)


def read_runs(paths: list[str]) -> dict[str, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """arm -> seed -> (tokens seen, held-out loss), in step order."""
    runs: dict[str, dict[int, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for path in paths:
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                runs[row["arm"]][int(row["seed"])].append(
                    (float(row["tokens_seen"]), float(row["loss"]))
                )
    return {
        arm: {
            s: (np.array([t for t, _ in v]), np.array([x for _, x in v])) for s, v in seeds.items()
        }
        for arm, seeds in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("curves", nargs="+", help="heldout_curves.csv files")
    parser.add_argument("--png", help="draw the mean curves here")
    parser.add_argument(
        "--rename", action="append", default=[], metavar="OLD=NEW", help="an arm's label"
    )
    args = parser.parse_args()
    runs = read_runs(args.curves)
    for item in args.rename:
        old, _, new = item.partition("=")
        runs[new] = runs.pop(old)
    arms = list(runs)
    print("| training tokens seen | " + " | ".join(arms) + " |")
    print("|---|" + "---|" * len(arms))
    for point in POINTS:
        cells = []
        for arm in arms:
            vals = [np.interp(point, t, x) for t, x in runs[arm].values() if t[0] <= point <= t[-1]]
            cells.append(f"{np.mean(vals):.4f} ± {np.std(vals, ddof=1):.4f}" if vals else "-")
        print(f"| {point:,} | " + " | ".join(cells) + " |")
    ends = [[x[-1] for _, x in runs[a].values()] for a in arms]
    print(
        "| end | " + " | ".join(f"{np.mean(e):.4f} ± {np.std(e, ddof=1):.4f}" for e in ends) + " |"
    )
    print("| seeds | " + " | ".join(str(len(runs[a])) for a in arms) + " |")
    if args.png:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7.5, 3.6), layout="constrained")
        ax = fig.subplots()
        grid = np.linspace(3000, 19500, 60)
        for arm in arms:
            curves = np.array([np.interp(grid, t, x) for t, x in runs[arm].values()])
            mean, std = curves.mean(axis=0), curves.std(axis=0, ddof=1)
            ax.plot(grid, mean, label=f"{arm} ({len(curves)} seeds)")
            ax.fill_between(grid, mean - std, mean + std, alpha=0.15)
        ax.set_xlabel("training tokens seen")
        ax.set_ylabel("held-out loss (CE)")
        ax.legend()
        fig.savefig(args.png, dpi=110)


if __name__ == "__main__":
    main()
