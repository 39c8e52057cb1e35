"""atomic_output: the output appears whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from unisel.errors import ParameterError
from unisel.io import atomic_output


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
