"""The ``unisel`` command line: parse, call the Python API, print.

Each subcommand has one ``_add_<name>`` function that declares its arguments and one
``_run_<name>`` function that calls the API: ``select``, ``metrics`` and ``report`` in
`unisel.cli.data`, ``train``, ``experiment`` and ``evaluate`` in `unisel.cli.lab`, ``theory`` in
`unisel.cli.theory`, ``distributed`` in `unisel.cli.distributed`; the argument groups they share
are in `unisel.cli._args`. Errors of the user's making (`UniselError`) are printed as one line on
stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from unisel.cli._args import Handler
from unisel.cli.data import _add_metrics, _add_report, _add_select
from unisel.cli.distributed import _add_distributed
from unisel.cli.lab import _add_evaluate, _add_experiment, _add_train
from unisel.cli.theory import _add_theory
from unisel.errors import UniselError
from unisel.options import check_seed

__all__ = [
    "Handler",
    "_add_distributed",
    "_add_evaluate",
    "_add_experiment",
    "_add_metrics",
    "_add_report",
    "_add_select",
    "_add_theory",
    "_add_train",
    "build_parser",
    "main",
]


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


class _Version(argparse.Action):
    """``--version``, reading the version only when asked (see `unisel.__getattr__`)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        import unisel

        print(f"unisel {unisel.__version__}")  # on stdout, as argparse's own version action
        parser.exit()


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    """The argument parser and the handler of each subcommand."""
    parser = argparse.ArgumentParser(
        prog="unisel",
        description="Select the most uniformly spread subset of a fine-tuning data set.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    handlers: dict[str, Handler] = {}
    for add in _SUBCOMMANDS:
        before = set(sub.choices)
        handler = add(sub)
        for name in set(sub.choices) - before:
            if handler is not None:
                handlers[name] = handler
    return parser, handlers


class Terminated(KeyboardInterrupt):
    """Raised in the main thread on SIGTERM, so that a terminated run cleans up as Ctrl-C does
    (every ``except BaseException``/``finally`` that removes temporary files runs)."""


def _terminate(signum: int, frame: Any) -> None:
    # Once: a second SIGTERM must not cut the cleanup the first one started.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into `Terminated` while the command runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2: a user error, 130: interrupted,
    141: the reader of standard output went away, 143: terminated by SIGTERM)."""
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    # Warnings about the user's data (dropped or skipped records) as one line each.
    warnings.formatwarning = lambda message, category, *rest, **kw: (
        f"unisel {args.command}: warning: {message}\n"
    )
    try:
        if getattr(args, "seed", None) is not None:  # every subcommand's, before any work
            check_seed(args.seed, "--seed")
        with _sigterm_as_interrupt():
            return handlers[args.command](args)
    except UniselError as exc:
        print(f"unisel {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Terminated:
        print(f"unisel {args.command}: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"unisel {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `unisel metrics ... | head`: the reader has what it asked for. Output files are
        # written before anything is printed, so nothing is left half written; stdout goes to
        # /dev/null so that the interpreter's flush at exit does not raise a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE: what a shell reports for a writer killed by the signal


if __name__ == "__main__":
    sys.exit(main())
