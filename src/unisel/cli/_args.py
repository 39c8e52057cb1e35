"""Argument groups the subcommands share, and the parsing of their values."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

Handler = Callable[[argparse.Namespace], int]


#: The names of `unisel.io.SCHEMAS`, spelt out so that building the parser imports no reader
#: (tests/cli/test_args.py checks that they agree).
SCHEMA_CHOICES = ("alpaca", "sharegpt", "messages", "text")


def add_quiet(p: argparse.ArgumentParser, help: str = "no progress bars") -> None:
    p.add_argument("-q", "--quiet", action="store_true", help=help)


def add_command(
    sub: argparse._SubParsersAction, name: str, help: str, description: str | None = None
) -> argparse.ArgumentParser:
    """The parser of subcommand ``name``: ``help`` in the command list, ``description`` atop
    its own ``--help``."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help, description=description)
    return parser


def add_choice(
    p: argparse.ArgumentParser, flag: str, choices: Sequence[str], default: str, help: str
) -> None:
    """``flag`` taking one of ``choices``, ``default`` when not given."""
    p.add_argument(flag, choices=choices, default=default, help=help)


def add_config_options(
    p: argparse.ArgumentParser,
    config: Any,
    options: Sequence[tuple[str, Callable[[str], Any] | None, str | None]],
) -> None:
    """Options ``(flag, type, help)`` whose defaults are the fields of ``config`` they set.

    The field is the flag's destination (``--max-length`` sets ``max_length``), so the
    parser's defaults cannot drift from the config's. A type of None keeps the text.
    """
    for flag, kind, text in options:
        dest = flag.lstrip("-").replace("-", "_")
        typed: dict[str, Any] = {} if kind is None else {"type": kind}
        p.add_argument(flag, default=getattr(config, dest), help=text, **typed)


def add_seed(
    p: argparse.ArgumentParser, help: str = "seed of every random choice (default 0)"
) -> None:
    p.add_argument("--seed", type=int, default=0, help=help)


def add_schema(p: argparse.ArgumentParser) -> None:
    """``--schema`` (one of the known schemas, default detected) and ``--text-field``."""
    p.add_argument("--schema", choices=SCHEMA_CHOICES, help="record schema (default: detected)")
    p.add_argument("--text-field", help="column holding the text (text schema)")


def add_input(p: argparse.ArgumentParser) -> None:
    """The input of `read_records`: the source, its schema, split and empty-record policy."""
    p.add_argument(
        "input",
        help="data file (JSON, JSONL, Parquet, CSV), save_to_disk folder, hub name, or example:sharegpt",
    )
    add_schema(p)
    p.add_argument(
        "--split",
        default="train",
        help="split of a hub data set or DatasetDict folder (default train)",
    )
    p.add_argument(
        "--skip-empty",
        action="store_true",
        default=None,
        help="leave out records with no text instead of failing",
    )


def add_embed_cache(p: argparse.ArgumentParser) -> None:
    """The embedding cache (``--cache-dir``, ``--no-cache``) and ``--embed-opt`` settings."""
    p.add_argument(
        "--cache-dir",
        help="embedding cache folder (default $UNISEL_CACHE_DIR or ~/.cache/unisel/embeddings)",
    )
    p.add_argument(
        "--no-cache", action="store_true", help="do not read or write the embedding cache"
    )
    p.add_argument(
        "--embed-opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="embedder setting, e.g. vector_size=200 (repeatable)",
    )


def add_common_input(p: argparse.ArgumentParser) -> None:
    """What ``select`` and ``metrics`` share: input, seed, embedding cache, quiet."""
    add_input(p)
    add_seed(p)
    add_embed_cache(p)
    add_quiet(p, "no progress bars or stage timings")


def add_size(
    p: argparse.ArgumentParser,
    k_help: str | None = None,
    fraction_help: str | None = None,
    *,
    required: bool = True,
) -> None:
    """``-k`` or ``--fraction``, exactly one (at most one with ``required=False``: the API then
    checks the size, e.g. against ``--tokens``)."""
    size = p.add_mutually_exclusive_group(required=required)
    size.add_argument("-k", type=int, help=k_help)
    size.add_argument("--fraction", type=float, help=fraction_help)


def add_cluster(
    p: argparse.ArgumentParser,
    scheduler_help: str = "connect to a running Dask scheduler (tcp://host:8786)",
    workers_help: str = "start a local cluster of N worker processes",
) -> None:
    """``--scheduler ADDRESS`` or ``--workers N`` (at most one): where Dask work runs."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--scheduler", metavar="ADDRESS", help=scheduler_help)
    g.add_argument("--workers", type=int, metavar="N", help=workers_help)


def parse_options(items: list[str], flag: str = "--embed-opt") -> dict[str, object]:
    """``KEY=VALUE`` strings as a dict, each value parsed as JSON when it is JSON."""
    import json

    from unisel.errors import ParameterError

    out: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ParameterError(f"{flag} expects KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def bounded_int(text: str, minimum: int, expected: str, too_small: str) -> int:
    """``text`` as an integer of at least ``minimum``, for an option's ``type``.

    Raises `argparse.ArgumentTypeError` ("expected <expected>, got ..." when ``text`` is not an
    integer, "<too_small>, got ..." when it is below ``minimum``), which argparse reports as a
    usage error.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{too_small}, got {value}")
    return value


def cache_arg(args: argparse.Namespace) -> object:
    return False if args.no_cache else args.cache_dir


def read_options(args: argparse.Namespace) -> Any:
    """The `ReadOptions` of the flags `add_common_input` declared."""
    from unisel.options import ReadOptions

    return ReadOptions(
        schema=args.schema, text_field=args.text_field, split=args.split, skip_empty=args.skip_empty
    )


def embed_options(args: argparse.Namespace) -> Any:
    """The `EmbedOptions` of ``--embedder``, ``--embed-opt`` and the cache flags."""
    from unisel.options import EmbedOptions

    return EmbedOptions(
        embedder=getattr(args, "embedder", None),
        params=parse_options(args.embed_opt),
        cache_dir=cache_arg(args),
    )


def select_options(args: argparse.Namespace) -> Any:
    """The `SelectOptions` of ``unisel select``'s flags: the one place they are read."""
    from unisel.options import SelectOptions

    return SelectOptions(
        method=args.method,
        k=args.k,
        fraction=args.fraction,
        tokens=args.tokens,
        tokenizer=args.tokenizer,
        length_buckets=args.length_buckets,
        seed=args.seed,
        start=args.start,
        metric=args.metric,
        device=args.device,
        checkpoint=args.checkpoint,
        extend=args.extend,
        selector_params=parse_options(args.select_opt, flag="--select-opt"),
        scheduler=args.scheduler,
        workers=args.workers,
        mode=args.mode,
        preset=args.preset,
        outliers=args.outliers,
        min_words=args.min_words,
    )
