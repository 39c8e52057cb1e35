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
    return None


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
