"""The manifest and the subset beside it: a pair that readers check (issue 20, item 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests._data import make_records, write_records
from unisel.errors import InputError
from unisel.manifest import check_subset, load_manifest, subset_path_for
from unisel.pipeline import select_file


@pytest.fixture
def selected(tmp_path: Path) -> Path:
    data = write_records(make_records("alpaca", 40), tmp_path / "data.jsonl", "jsonl")
    out = tmp_path / "sub.jsonl"
    select_file(data, output=out, k=8, embedder="tfidf", cache_dir=False, quiet=True)
    return out


def test_the_manifest_records_the_subsets_hash_and_size(selected: Path) -> None:
    from unisel.io import file_sha256

    m = load_manifest(selected)
    assert m.output["sha256"] == file_sha256(selected)
    assert m.output["size"] == selected.stat().st_size
    assert subset_path_for(Path(f"{selected}.manifest.json")) == selected


def test_a_subset_the_manifest_does_not_describe_is_refused(selected: Path) -> None:
    mpath = Path(f"{selected}.manifest.json")
    lines = selected.read_text().splitlines(keepends=True)
    selected.write_text("".join(lines[:-1]))  # as if another run's subset
    for spec in (selected, mpath):
        with pytest.raises(InputError) as err:
            load_manifest(spec)
        message = str(err.value)
        assert "\n" not in message
        assert f"{mpath} does not describe {selected}" in message
        assert "rerun select" in message
    load_manifest(mpath, check=False)  # the indices alone can still be read on purpose


def test_same_size_other_bytes_is_refused(selected: Path) -> None:
    raw = bytearray(selected.read_bytes())
    raw[5] = ord("X") if raw[5] != ord("X") else ord("Y")
    selected.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="does not describe"):
        load_manifest(selected)


def test_manifests_without_a_hash_or_without_their_subset_pass(selected: Path) -> None:
    mpath = Path(f"{selected}.manifest.json")
    data = json.loads(mpath.read_text())
    selected.unlink()  # the indices stand alone
    check_subset(load_manifest(mpath), mpath)
    selected.write_text("anything\n")
    for key in ("sha256", "size"):
        data["output"].pop(key)
    mpath.write_text(json.dumps(data))  # an earlier version's manifest
    assert load_manifest(mpath).k == 8
