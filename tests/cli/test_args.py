"""The argument groups the subcommands share (`unisel.cli._args`)."""

from __future__ import annotations

import argparse

import pytest

from unisel.cli import build_parser
from unisel.cli._args import (
    SCHEMA_CHOICES,
    add_cluster,
    add_common_input,
    add_size,
    cache_arg,
    parse_options,
)
from unisel.errors import ParameterError
from unisel.io import SCHEMAS


@pytest.fixture(scope="module")
def cli_parser():
    return build_parser()


def parser_with(*builders) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    for build in builders:
        build(p)
    return p


def test_parse_options_reads_json_values_and_keeps_other_strings():
    got = parse_options(["vector_size=200", "lower=true", "name=abc", "ratio=0.5", "path=a=b"])
    assert got == {"vector_size": 200, "lower": True, "name": "abc", "ratio": 0.5, "path": "a=b"}


@pytest.mark.parametrize("item", ["novalue", "=3"])
def test_parse_options_refuses_an_item_without_key_or_value(item):
    with pytest.raises(ParameterError, match="KEY=VALUE"):
        parse_options([item])


def test_common_input_defaults_and_cache_switch():
    p = parser_with(add_common_input)
    args = p.parse_args(["data.jsonl"])
    assert (args.input, args.schema, args.split, args.seed) == ("data.jsonl", None, "train", 0)
    assert args.skip_empty is None and not args.quiet and args.embed_opt == []
    assert cache_arg(args) is None
    args = p.parse_args(["d", "--cache-dir", "c", "--embed-opt", "a=1", "--embed-opt", "b=x"])
    assert cache_arg(args) == "c" and args.embed_opt == ["a=1", "b=x"]
    assert cache_arg(p.parse_args(["d", "--cache-dir", "c", "--no-cache"])) is False


def test_schema_choices_are_the_registered_schemas():
    assert set(SCHEMA_CHOICES) == set(SCHEMAS)


def test_size_needs_exactly_one_of_k_and_fraction(capsys):
    p = parser_with(add_size)
    assert p.parse_args(["-k", "5"]).k == 5
    assert p.parse_args(["--fraction", "0.5"]).fraction == 0.5
    for argv in ([], ["-k", "5", "--fraction", "0.5"]):
        with pytest.raises(SystemExit):
            p.parse_args(argv)
    capsys.readouterr()


def test_cluster_takes_a_scheduler_or_workers_not_both(capsys):
    p = parser_with(add_cluster)
    args = p.parse_args([])
    assert args.scheduler is None and args.workers is None
    assert p.parse_args(["--workers", "3"]).workers == 3
    with pytest.raises(SystemExit):
        p.parse_args(["--workers", "3", "--scheduler", "tcp://h:1"])
    capsys.readouterr()


@pytest.mark.parametrize(
    "argv",
    [
        ["select", "d", "-k", "1", "-o", "o"],
        ["metrics", "d"],
        ["report", "-s", "m", "-o", "o"],
        ["train", "d", "-o", "o"],
        ["experiment", "c.yaml", "-o", "o"],
        ["evaluate", "m", "--tasks", "t"],
        ["theory", "-o", "o"],
        ["distributed", "embed", "d", "-o", "o"],
        ["distributed", "select", "e", "-k", "1", "-o", "o"],
        ["distributed", "metrics", "e", "--selection", "s"],
    ],
)
def test_every_subcommand_takes_q_for_quiet_and_has_a_handler(cli_parser, argv):
    parser, handlers = cli_parser
    assert not parser.parse_args(argv).quiet
    args = parser.parse_args([*argv, "-q"])
    assert args.quiet and callable(handlers[args.command])
