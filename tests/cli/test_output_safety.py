"""Outputs under kill, SIGTERM, concurrency and bad paths (issue 20, items 2, 3, 4, 10, 11).

The kill tests run ``python -m unisel select`` in a subprocess (tfidf or a slowed-down word2vec
on 200 small records) and use the test hook ``UNISEL_TEST_PAUSE_BETWEEN_RENAMES`` of
`unisel.pipeline.write_selection`: it creates a flag file between the manifest's rename and the
subset's and waits there until the flag is deleted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests._data import make_records, write_records
from tests.test_cli import run
from unisel.errors import InputError, ParameterError
from unisel.manifest import load_manifest
from unisel.pipeline import select_file

SRC = Path(__file__).resolve().parents[2] / "src"  # the checkout under test, not the install


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_records(make_records("alpaca", 200), tmp_path / "data.jsonl", "jsonl")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(SRC),
        UNISEL_CACHE_DIR=str(tmp_path / "cache"),
        TMPDIR=str(tmp_path / "tmp"),
        OMP_NUM_THREADS="1",
        **extra,
    )
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return env


def _start(tmp_path: Path, *argv: object, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "unisel", *(str(a) for a in argv)],
        env=_env(tmp_path, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(proc: subprocess.Popen[str], ready, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the run ended (status {proc.returncode}) before {what}:\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no {what} within {timeout}s")
        time.sleep(0.02)


def _select(tmp_path, capsys, data, out, *argv) -> tuple[int, str, str]:
    return run(capsys, "select", data, "-o", out, "--cache-dir", tmp_path / "cache", "-q", *argv)


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ------------------------------------------------------------------ item 2: empty output folder
@pytest.mark.parametrize("slash", ["", "/"])
def test_an_empty_output_folder_is_refused(tmp_path, capsys, data, slash) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    code, _, err = _select(tmp_path, capsys, data, f"{folder}{slash}", "-k", 10)
    assert code == 2
    assert "is an existing folder" in _one_line(err)
    assert folder.is_dir() and list(folder.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl", "out"]  # no work done


# ------------------------------------------------------------ item 10: outputs under a file
@pytest.mark.parametrize(
    "argv",
    [
        ["-o", "afile/x.jsonl"],
        ["-o", "afile/deeper/x.jsonl"],
        ["-o", "x.jsonl", "--checkpoint", "afile/x.ckpt"],
        ["-o", "x.jsonl", "--report", "afile/rep"],
    ],
)
def test_outputs_under_a_file_are_refused_before_any_work(tmp_path, capsys, data, argv) -> None:
    afile = tmp_path / "afile"
    afile.write_text("mine")
    argv = [a if a.startswith("-") else str(tmp_path / a) for a in argv]
    code, _, err = run(
        capsys, "select", data, "-k", 10, "--cache-dir", tmp_path / "cache", "-q", *argv
    )
    assert code == 2
    assert "is a file, not a folder" in _one_line(err)
    assert afile.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "data.jsonl"]  # not embedded


# ------------------------------------------------------------------- item 11: seed out of range
@pytest.mark.parametrize("seed", ["-1", "99999999999", "4294967296"])
@pytest.mark.parametrize("command", ["select", "metrics"])
def test_a_seed_out_of_range_is_one_line(tmp_path, capsys, data, command, seed) -> None:
    argv = ["-k", 10, "-o", tmp_path / "x.jsonl"] if command == "select" else []
    code, _, err = run(
        capsys, command, data, "--seed", seed, "--cache-dir", tmp_path / "cache", "-q", *argv
    )
    assert code == 2
    assert f"--seed must be in 0..4294967295, got {seed}" in _one_line(err)
    assert not (tmp_path / "cache").exists()


def test_a_seed_out_of_range_is_refused_by_the_api(tmp_path, data) -> None:
    for seed in (-1, 2**32):
        with pytest.raises(ParameterError, match="seed must be in 0..4294967295"):
            select_file(data, output=tmp_path / "x.jsonl", k=5, seed=seed, cache_dir=False)
    assert not (tmp_path / "x.jsonl").exists()


# ------------------------------------------- items 3 and 4: a kill between the two renames
def test_a_kill_between_the_renames_leaves_a_pair_the_readers_refuse(
    tmp_path, capsys, data
) -> None:
    out = tmp_path / "out.jsonl"
    mpath = tmp_path / "out.jsonl.manifest.json"
    code, _, err = _select(tmp_path, capsys, data, out, "-k", 10, "--embedder", "tfidf")
    assert code == 0, err
    old_subset = out.read_bytes()

    flag = tmp_path / "paused"
    proc = _start(
        tmp_path,
        *("select", data, "-o", out, "-k", 30, "--embedder", "tfidf", "-q"),
        UNISEL_TEST_PAUSE_BETWEEN_RENAMES=str(flag),
    )
    _wait_for(proc, flag.exists, "the pause between the renames")
    staging = [p for p in tmp_path.iterdir() if p.name.startswith(".out.jsonl.unisel-")]
    assert len(staging) == 1 and (staging[0] / "out.jsonl").is_file()  # the new subset
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    flag.unlink()

    # The new manifest is in place beside the old subset: never the old manifest beside a
    # new subset, and every reader refuses the mismatched pair in one line.
    assert out.read_bytes() == old_subset
    assert json.loads(mpath.read_text())["k"] == 30
    with pytest.raises(InputError, match="does not describe"):
        load_manifest(out)
    code, _, err = run(capsys, "metrics", data, "--subset", out, "-q")
    assert code == 2 and f"{mpath} does not describe {out}" in _one_line(err)
    code, _, err = _select(
        tmp_path, capsys, data, tmp_path / "more.jsonl", "-k", 5, "--extend", mpath
    )
    assert code == 2 and "does not describe" in _one_line(err)

    # The next run to the same path removes the killed run's staging (and its lock file).
    with pytest.warns(UserWarning, match="staging folders left by interrupted runs"):
        code, _, err = _select(tmp_path, capsys, data, out, "-k", 30, "--embedder", "tfidf")
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cache",
        "data.jsonl",
        "out.jsonl",
        "out.jsonl.manifest.json",
        "tmp",
    ]
    assert load_manifest(out).k == 30 and len(out.read_text().splitlines()) == 30
    code, _, err = run(capsys, "metrics", data, "--subset", out, "-q")
    assert code == 0, err


def test_two_runs_to_one_path_end_with_one_runs_pair(tmp_path, data) -> None:
    out = tmp_path / "out.jsonl"
    flag = tmp_path / "paused"
    first = _start(
        tmp_path,
        *("select", data, "-o", out, "-k", 10, "--embedder", "tfidf", "-q"),
        UNISEL_TEST_PAUSE_BETWEEN_RENAMES=str(flag),
    )
    _wait_for(first, flag.exists, "the first run's pause")  # it holds the output's lock
    second = _start(tmp_path, "select", data, "-o", out, "-k", 30, "--embedder", "tfidf", "-q")

    def second_staged() -> bool:
        return any(
            (p / "out.jsonl").is_file()
            for p in tmp_path.glob(f".out.jsonl.unisel-{second.pid}@*.tmp")
        )

    _wait_for(second, second_staged, "the second run's subset")
    time.sleep(0.5)
    assert second.poll() is None  # waiting for the lock, not renaming past the first run
    flag.unlink()
    for proc in (first, second):
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    m = load_manifest(out)  # a consistent pair: the second run's, renamed last
    assert m.k == 30 and len(out.read_text().splitlines()) == 30
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


# ---------------------------------------------------------------- item 4: SIGTERM and SIGKILL
def _slow_word2vec(tmp_path: Path, data: Path, out: Path) -> subprocess.Popen[str]:
    # Many epochs keep the token file in $TMPDIR for a few seconds.
    argv = ("select", data, "-o", out, "-k", 10, "--no-cache", "--embed-opt", "epochs=5000")
    return _start(tmp_path, *argv, "-q")


def _token_file(tmp_path: Path) -> bool:
    return any((tmp_path / "tmp").glob("unisel-word2vec-*/corpus.txt"))


def test_sigterm_cleans_up_like_ctrl_c(tmp_path, data) -> None:
    out = tmp_path / "out.jsonl"
    proc = _slow_word2vec(tmp_path, data, out)
    _wait_for(proc, lambda: _token_file(tmp_path), "the word2vec token file")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert _one_line(err) == "unisel select: terminated"
    assert list((tmp_path / "tmp").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl", "tmp"]


def test_the_token_folder_of_a_killed_run_is_removed_by_the_next_run(tmp_path, data) -> None:
    out = tmp_path / "out.jsonl"
    proc = _slow_word2vec(tmp_path, data, out)
    _wait_for(proc, lambda: _token_file(tmp_path), "the word2vec token file")
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert _token_file(tmp_path)  # what a kill -9 leaves
    again = _start(tmp_path, "select", data, "-o", out, "-k", 10, "--no-cache", "-q")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "removed word2vec token folders left by interrupted runs" in err
    assert list((tmp_path / "tmp").iterdir()) == []
