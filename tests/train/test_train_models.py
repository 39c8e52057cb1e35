"""Built-in models are converted into the cache through atomic_output."""

from __future__ import annotations

from pathlib import Path

import pytest


def _leftovers(folder: Path, name: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != name and "tiny" in p.name)


def test_a_failed_model_build_leaves_nothing_in_the_cache(tmp_path, monkeypatch):
    from transformers import LlamaForCausalLM

    from unisel.train.models import model_cache_dir, resolve_model

    monkeypatch.setenv("UNISEL_CACHE_DIR", str(tmp_path / "cache"))

    def disk_full(self, *args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(LlamaForCausalLM, "save_pretrained", disk_full)
    with pytest.raises(OSError, match="No space left"):
        resolve_model("tiny-llama")
    cache = model_cache_dir()
    assert not any(p.name.startswith("tiny-llama") for p in cache.iterdir())
    assert _leftovers(cache, "") == []  # no staging folder of the failed build either


def test_the_first_finished_build_wins_a_race(tmp_path):
    from unisel.train.models import _publish

    target = tmp_path / "models" / "m"

    def write(tmp: Path) -> None:
        tmp.mkdir()
        (tmp / "config.json").write_text("mine")
        # meanwhile another process publishes the same folder
        target.mkdir(parents=True)
        (target / "config.json").write_text("theirs")

    assert _publish(target, write) == target
    assert (target / "config.json").read_text() == "theirs"
    assert [p.name for p in target.parent.iterdir()] == ["m"]  # our copy is gone
