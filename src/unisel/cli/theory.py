"""``unisel theory``: the paper's predictions on synthetic data."""

from __future__ import annotations

import argparse

from unisel.cli._args import Handler, add_quiet, add_seed


def _add_theory(sub: argparse._SubParsersAction) -> Handler | None:
    p = sub.add_parser(
        "theory",
        help="check the paper's three theoretical predictions on synthetic data",
        description=(
            "Run the uniformity (Theorem 1), convergence (Corollary 3) and approximation "
            "(Theorem 3) experiments; each writes NAME.json and NAME.png into -o DIR and "
            "prints each prediction with the statistic that decides whether the data agree."
        ),
    )
    p.add_argument(
        "experiment",
        nargs="?",
        default="all",
        choices=["uniformity", "convergence", "approximation", "all"],
        help="which experiment (default: all)",
    )
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    p.add_argument("--quick", action="store_true", help="small sweeps (about a minute for all)")
    add_seed(p, "seed of every random draw (default 0)")
    add_quiet(p)
    return _run_theory


def _run_theory(args: argparse.Namespace) -> int:
    from unisel.theory import run

    results = run(args.experiment, args.output, quick=args.quick, seed=args.seed, quiet=args.quiet)
    for res in results.values():
        print(res.summary())
        print(f"  -> {res.json_path}, {res.figure_path} ({res.extra['seconds']:.1f} s)")
    return 0
