"""The command line starts light: ``--help`` imports no stage, and ``select`` with an embedder
that needs no torch imports neither torch nor transformers.

Each check runs in a fresh interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

HEAVY_FOR_HELP = (
    "torch", "transformers", "numba", "scipy", "sklearn", "gensim", "pandas", "dask", "numpy",
)  # fmt: skip
TORCH = ("torch", "transformers", "sentence_transformers")

_PROBE = """
import contextlib, io, json, sys
from unisel.cli import main
args = json.loads(sys.argv[1])
with contextlib.redirect_stdout(io.StringIO()):
    try:
        status = main(args)
    except SystemExit as exc:
        status = exc.code
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""


def _loaded(args: list[str], env: dict[str, str] | None = None) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out["status"], {name.split(".")[0] for name in out["modules"]}


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["select"],
        ["metrics"],
        ["report"],
        ["train"],
        ["experiment"],
        ["evaluate"],
        ["theory"],
        ["distributed"],
        ["distributed", "select"],
        ["distributed", "embed"],
    ],
)
def test_help_imports_no_stage(command):
    status, modules = _loaded([*command, "--help"])
    assert status == 0
    assert not modules & set(HEAVY_FOR_HELP), sorted(modules & set(HEAVY_FOR_HELP))


@pytest.mark.parametrize("embedder", ["tfidf", "word2vec", "wordllama", "npy"])
def test_select_without_torch(embedder, tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    data = tmp_path / "d.jsonl"
    with data.open("w") as f:
        for _ in range(120):
            text = " ".join(rng.choice(words, size=12))
            f.write(json.dumps({"instruction": text, "input": "", "output": text[::-1]}) + "\n")
    spec = embedder
    if embedder == "npy":
        np.save(tmp_path / "e.npy", rng.normal(size=(120, 8)).astype(np.float32))
        spec = f"npy:{tmp_path / 'e.npy'}"
    env = {**os.environ, "UNISEL_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "s.jsonl"
    status, modules = _loaded(
        ["select", str(data), "-k", "10", "-o", str(out), "--embedder", spec, "--quiet"], env
    )
    assert status == 0 and out.exists()
    assert not modules & set(TORCH), sorted(modules & set(TORCH))


def test_the_help_lists_every_registered_selector():
    from unisel.options import SELECTOR_NAMES
    from unisel.select import SELECTORS

    assert list(SELECTOR_NAMES) == SELECTORS.names()


def test_version_is_read_when_asked(capsys):
    from unisel.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("unisel ")
