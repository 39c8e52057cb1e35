"""``unisel metrics --exact-limit / --approximate / --sample-size``."""

from __future__ import annotations

import json

import pytest

from tests._data import make_records, write_records
from unisel.cli import main


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def src(tmp_path):
    return write_records(make_records("alpaca", 80), tmp_path / "data.jsonl", "jsonl")


def test_estimate_above_the_limit_is_marked(src, tmp_path, capsys):
    cache = tmp_path / "cache"
    code, out, err = run(
        capsys,
        "metrics",
        src,
        "--exact-limit",
        50,
        "--sample-size",
        30,
        "--seed",
        2,
        "--cache-dir",
        cache,
        "--json",
        "-q",
    )
    assert code == 0, err
    full = json.loads(out)["sets"][0]
    assert full["nn_method"] == "sample" and full["nn_sample_size"] == 30
    code, table, _ = run(
        capsys,
        "metrics",
        src,
        "--exact-limit",
        50,
        "--sample-size",
        30,
        "--seed",
        2,
        "--cache-dir",
        cache,
        "-q",
    )
    assert code == 0 and "sample 30" in table and "random sample of 30 of 80 rows (seed 2)" in table
    code, out, _ = run(
        capsys, "metrics", src, "--exact-limit", "none", "--cache-dir", cache, "--json", "-q"
    )
    assert code == 0 and json.loads(out)["sets"][0]["nn_method"] == "exact"


@pytest.mark.parametrize(
    "argv",
    [
        ["--exact-limit", "1"],
        ["--exact-limit", "lots"],
        ["--approximate", "annoy"],
        ["--sample-size", "0"],
    ],
)
def test_bad_flags_exit_2_with_one_line(src, tmp_path, capsys, argv):
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in ["metrics", src, *argv, "--cache-dir", tmp_path / "c", "-q"]])
    assert info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert argv[0] in last and "error" in last
    assert not (tmp_path / "c").exists()  # refused before any work
