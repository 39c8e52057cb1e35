"""Progress bars draw on a terminal (or when forced) and never into a pipe or with quiet=True."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._data import make_records, write_records
from unisel import _progress
from unisel._progress import ENV, bars_enabled, progress_bar

SRC = str(Path(__file__).resolve().parents[1] / "src")


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture
def stderr(monkeypatch):
    """Replace sys.stderr by a stream whose isatty() the test chooses."""

    def use(tty: bool) -> _Stream:
        stream = _Stream(tty)
        monkeypatch.setattr(sys, "stderr", stream)
        return stream

    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setattr(_progress, "_in_notebook", lambda: False)
    return use


@pytest.mark.parametrize(
    ("tty", "env", "quiet", "expected"),
    [
        (True, None, False, True),
        (False, None, False, False),
        (True, "auto", False, True),
        (False, "auto", False, False),
        (False, "always", False, True),
        (False, "1", False, True),
        (True, "never", False, False),
        (True, "0", False, False),
        # quiet wins over everything
        (True, None, True, False),
        (True, "always", True, False),
    ],
)
def test_bars_enabled_table(stderr, monkeypatch, tty, env, quiet, expected):
    stderr(tty)
    if env is not None:
        monkeypatch.setenv(ENV, env)
    assert bars_enabled(quiet) is expected


def test_notebook_counts_as_a_terminal(stderr, monkeypatch):
    stderr(False)
    monkeypatch.setattr(_progress, "_in_notebook", lambda: True)
    assert bars_enabled(False) is True
    assert bars_enabled(True) is False


def test_unknown_mode_warns_and_means_auto(stderr, monkeypatch):
    stderr(False)
    monkeypatch.setenv(ENV, "sometimes")
    with pytest.warns(UserWarning, match="UNISEL_PROGRESS"):
        assert bars_enabled(False) is False


def test_progress_bar_draws_only_when_enabled(stderr):
    for tty, drawn in ((False, False), (True, True)):
        stream = stderr(tty)
        items = list(progress_bar(range(5), desc="work", file=stream, mininterval=0))
        assert items == list(range(5))
        assert ("%|" in stream.getvalue()) is drawn
    with pytest.raises(TypeError, match="disable"):
        progress_bar(range(3), disable=False)


def _run_select(tmp_path: Path, env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    src = write_records(make_records("alpaca", 80), tmp_path / "data.jsonl", "jsonl")
    env = {k: v for k, v in os.environ.items() if k != ENV}
    env.update(PYTHONPATH=SRC, **env_extra)
    argv = [sys.executable, "-m", "unisel", "select", str(src), "-k", "20"]
    argv += ["-o", str(tmp_path / "subset.jsonl"), "--embedder", "tfidf", "--no-cache"]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)


def test_cli_into_a_pipe_prints_no_bar_frames(tmp_path):
    proc = _run_select(tmp_path, {})
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "subset.jsonl").is_file()
    assert "\r" not in proc.stderr
    assert "%|" not in proc.stderr


def test_cli_forced_bars_reach_a_pipe(tmp_path):
    proc = _run_select(tmp_path, {ENV: "always"})
    assert proc.returncode == 0, proc.stderr
    assert "%|" in proc.stderr
    assert "reading" in proc.stderr


_CHILD = "from unisel._progress import bars_enabled; print(bars_enabled(False), bars_enabled(True))"


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal (POSIX)")
def test_real_terminal_enables_bars():
    master, slave = os.openpty()
    try:
        env = {k: v for k, v in os.environ.items() if k != ENV}
        env["PYTHONPATH"] = SRC
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD],
            stderr=slave,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
            timeout=60,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert proc.stdout.split() == ["True", "False"]
