"""The ``unisel`` command line: parse, call the Python API, print.

Each subcommand has one ``_add_<name>`` function that declares its arguments and one
``_run_<name>`` function that calls the API. Errors of the user's making (`UniselError`) are
printed as one line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from unisel.errors import UniselError

Handler = Callable[[argparse.Namespace], int]


# ---------------------------------------------------------------- select (issue 2)
def _add_select(sub: argparse._SubParsersAction) -> Handler:
    raise NotImplementedError


# ---------------------------------------------------------------- metrics (issue 2)
def _add_metrics(sub: argparse._SubParsersAction) -> Handler:
    raise NotImplementedError


# ---------------------------------------------------------------- report (issue 4)
def _add_report(sub: argparse._SubParsersAction) -> Handler | None:
    p = sub.add_parser(
        "report",
        help="one-page HTML report comparing subsets (PCA panels, histograms, metrics)",
        description="Write a self-contained HTML report (index.html, PNG figures, report.json) "
        "comparing subsets of one data set, from the manifests `unisel select` wrote; the "
        "embeddings come from the cache the manifests name.",
    )
    p.add_argument(
        "full",
        nargs="?",
        default=None,
        metavar="FULL",
        help="the full data set (checked against the manifests; default: theirs)",
    )
    p.add_argument(
        "--subset",
        "-s",
        action="append",
        required=True,
        metavar="PATH",
        help="a subset file or its .manifest.json (repeat for each subset)",
    )
    p.add_argument(
        "--name",
        action="append",
        default=None,
        metavar="NAME",
        help="label of each --subset, in order (default: its selector)",
    )
    p.add_argument("--output", "-o", required=True, metavar="DIR", help="report folder to write")
    p.add_argument(
        "--embeddings",
        default=None,
        metavar="NPY",
        help="full-set embeddings (.npy) instead of the manifests' cache",
    )
    p.add_argument(
        "--sample-size",
        type=int,
        default=20_000,
        metavar="N",
        help="most points per scatter panel (metrics use all; default 20000)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the scatter samples (default 0)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    def run(args: argparse.Namespace) -> int:
        import json

        from unisel.report import write_report

        index = write_report(
            args.full,
            args.subset,
            args.output,
            names=args.name,
            embeddings=args.embeddings,
            sample_size=args.sample_size,
            seed=args.seed,
            quiet=args.quiet,
        )
        summary = json.loads((index.parent / "report.json").read_text(encoding="utf-8"))["summary"]
        if not args.quiet:
            print(summary["text"])
        print(index)
        return 0

    return run


# ---------------------------------------------------------------- train (issue 5)
def _add_train(sub: argparse._SubParsersAction) -> Handler | None:
    return None


# ---------------------------------------------------------------- experiment (issue 5)
def _add_experiment(sub: argparse._SubParsersAction) -> Handler | None:
    return None


# ---------------------------------------------------------------- evaluate (issue 5)
def _add_evaluate(sub: argparse._SubParsersAction) -> Handler | None:
    return None


# ---------------------------------------------------------------- theory (issue 6)
def _add_theory(sub: argparse._SubParsersAction) -> Handler | None:
    return None


# ---------------------------------------------------------------- distributed (issue 7)
def _add_distributed(sub: argparse._SubParsersAction) -> Handler | None:
    return None


# ---------------------------------------------------------------- entry point
_SUBCOMMANDS = (
    _add_select,
    _add_metrics,
    _add_report,
    _add_train,
    _add_experiment,
    _add_evaluate,
    _add_theory,
    _add_distributed,
)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    """The argument parser and the handler of each subcommand."""
    from unisel import __version__

    parser = argparse.ArgumentParser(
        prog="unisel",
        description="Select the most uniformly spread subset of a fine-tuning data set.",
    )
    parser.add_argument("--version", action="version", version=f"unisel {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    handlers: dict[str, Handler] = {}
    for add in _SUBCOMMANDS:
        before = set(sub.choices)
        handler = add(sub)
        for name in set(sub.choices) - before:
            if handler is not None:
                handlers[name] = handler
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    try:
        return handlers[args.command](args)
    except UniselError as exc:
        print(f"unisel {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"unisel {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
