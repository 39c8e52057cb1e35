"""One quick run of every theory experiment, shared by the tests of this folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from unisel.theory import TheoryResult, run

SEED = 0


@pytest.fixture(scope="session")
def quick_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("theory_quick")


@pytest.fixture(scope="session")
def quick_results(quick_dir: Path) -> dict[str, TheoryResult]:
    """``unisel.theory.run("all", quick=True, seed=0)``, once per test session."""
    return run("all", quick_dir, quick=True, seed=SEED, quiet=True)
