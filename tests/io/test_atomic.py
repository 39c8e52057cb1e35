"""atomic_output: the output appears whole or not at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from unisel.errors import ParameterError
from unisel.io import atomic_output
from unisel.io.atomic import STAGING_PATTERN, check_writable, owner_tag


def test_file_appears_only_on_success(tmp_path: Path) -> None:
    final = tmp_path / "out.txt"
    with atomic_output(final) as tmp:
        assert tmp.name == "out.txt" and tmp.parent.parent == tmp_path and not tmp.exists()
        tmp.write_text("done")
        assert not final.exists()
    assert final.read_text() == "done"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failure_keeps_the_old_file_and_leaves_no_temp(
    tmp_path: Path, error: type[BaseException]
) -> None:
    final = tmp_path / "out.txt"
    final.write_text("old")
    with pytest.raises(error), atomic_output(final) as tmp:
        tmp.write_text("half")
        raise error("stop")
    assert final.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_folder_output_and_created_parents(tmp_path: Path) -> None:
    final = tmp_path / "a" / "b" / "folder"
    with pytest.raises(RuntimeError), atomic_output(final) as tmp:
        tmp.mkdir()
        (tmp / "part").write_text("x")
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []  # the parents it made are gone again
    with atomic_output(final) as tmp:
        tmp.mkdir()
        (tmp / "part").write_text("x")
    assert (final / "part").read_text() == "x"


def test_nothing_written_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), atomic_output(tmp_path / "x"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_replaced_only_when_allowed(tmp_path: Path) -> None:
    final = tmp_path / "folder"
    final.mkdir()
    (final / "old").write_text("1")
    with pytest.raises(ParameterError, match="existing folder"), atomic_output(final):
        pass
    assert (final / "old").exists()
    with atomic_output(final, replace_dir=True) as tmp:
        tmp.mkdir()
        (tmp / "new").write_text("2")
    assert sorted(p.name for p in final.iterdir()) == ["new"]
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]


def test_an_empty_folder_is_refused_too(tmp_path: Path) -> None:
    final = tmp_path / "out"
    final.mkdir()
    for given in (final, f"{final}/"):
        with pytest.raises(ParameterError, match="existing folder"), atomic_output(given) as tmp:
            tmp.write_text("subset")
    assert final.is_dir() and list(final.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_parent_that_is_a_file_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("mine")
    for target in (tmp_path / "afile" / "x.jsonl", tmp_path / "afile" / "deeper" / "x.ckpt"):
        with pytest.raises(ParameterError, match="is a file, not a folder"):
            check_writable(target)
        with pytest.raises(ParameterError, match="is a file, not a folder"), atomic_output(target):
            pass
    assert (tmp_path / "afile").read_text() == "mine"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_staging_of_a_killed_process_is_removed_by_the_next_write(tmp_path: Path) -> None:
    host = owner_tag().split("@", 1)[1]
    dead = tmp_path / f".out.txt.unisel-{_dead_pid()}@{host}-abc123_x.tmp"
    other_name = tmp_path / f".cache.npy.unisel-{_dead_pid()}@{host}-zz9.tmp"
    alive = tmp_path / f".out.txt.unisel-{os.getppid()}@{host}-abc123_y.tmp"
    other_host = tmp_path / f".out.txt.unisel-{_dead_pid()}@{host}x-other-abc.tmp"
    not_ours = tmp_path / ".out.txt.abc123.tmp"  # no owner: never touched
    for folder in (dead, other_name, alive, other_host, not_ours):
        folder.mkdir()
        (folder / "out.txt").write_text("half")
    with pytest.warns(UserWarning, match=r"interrupted runs in .* \(2\)"):
        with atomic_output(tmp_path / "out.txt") as tmp:
            tmp.write_text("done")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["out.txt", alive.name, other_host.name, not_ours.name])


def test_staging_names_carry_the_owner(tmp_path: Path) -> None:
    with atomic_output(tmp_path / "out.txt") as tmp:
        assert STAGING_PATTERN.fullmatch(tmp.parent.name) is not None
        assert f".unisel-{owner_tag()}-" in tmp.parent.name
        tmp.write_text("done")


def test_replacing_a_folder_puts_the_old_one_back_when_the_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = tmp_path / "folder"
    final.mkdir()
    (final / "old").write_text("1")
    real_rename = Path.rename

    def failing(self: Path, target: Path) -> Path:
        if self.name == "folder" and Path(target) == final:
            raise OSError("disk full")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(OSError, match="disk full"):
        with atomic_output(final, replace_dir=True) as tmp:
            tmp.mkdir()
            (tmp / "new").write_text("2")
    assert sorted(p.name for p in final.iterdir()) == ["old"]
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]


def test_an_unwritable_folder_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # os.access stands in for a read-only folder: the tests may run as root, who can write.
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path)
    with pytest.raises(ParameterError, match=f"cannot write in folder {tmp_path}$"):
        with atomic_output(tmp_path / "new" / "x.jsonl"):
            pass
    assert list(tmp_path.iterdir()) == []
