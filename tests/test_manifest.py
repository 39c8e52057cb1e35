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


FIXTURE_V1 = Path(__file__).parent / "fixtures" / "manifest_v1"


def test_a_manifest_written_before_format_version_still_loads_typed() -> None:
    from unisel.io import file_sha256
    from unisel.manifest import EmbedderInfo, InputInfo, OutputInfo, SelectorInfo

    m = load_manifest(FIXTURE_V1 / "subset.jsonl")  # checks the subset beside it
    assert m.format_version == 1
    assert isinstance(m.input_info, InputInfo) and m.input_info.n_records == 12
    assert (m.input_info.format, m.input_info.schema) == ("jsonl", "alpaca")
    assert isinstance(m.output_info, OutputInfo)
    assert m.output_info.sha256 == file_sha256(FIXTURE_V1 / "subset.jsonl") == m.output["sha256"]
    assert isinstance(m.embedder_info, EmbedderInfo)
    assert (m.embedder_info.method, m.embedder_info.dim) == ("tfidf", 11)
    sel = m.selector_info
    assert isinstance(sel, SelectorInfo) and sel.method == "maxmin"
    assert (sel.start, sel.metric, sel.params["n_samples"]) == (11, "cosine", 4)
    assert m.indices == [11, 6, 2, 0] and m.selector["params"]["start"] == 11


def test_new_manifests_carry_the_format_version(selected: Path) -> None:
    from unisel.manifest import FORMAT_VERSION

    raw = json.loads(Path(f"{selected}.manifest.json").read_text())
    assert raw["format_version"] == FORMAT_VERSION == 2
    m = load_manifest(selected)
    assert m.format_version == 2 and m.selector_info.start == m.selector["params"]["start"]
    assert m.embedder_info.cache_path is None and m.output_info.order == "input"


def test_a_later_format_version_and_missing_section_keys_are_one_line_errors(
    tmp_path: Path,
) -> None:
    data = json.loads((FIXTURE_V1 / "subset.jsonl.manifest.json").read_text())
    later = tmp_path / "later.jsonl.manifest.json"
    later.write_text(json.dumps({**data, "format_version": 3}))
    with pytest.raises(InputError, match=r"format_version 3; this unisel reads 1 to 2") as err:
        load_manifest(later, check=False)
    assert str(err.value).startswith(str(later)) and "\n" not in str(err.value)

    sparse = tmp_path / "sparse.jsonl.manifest.json"
    del data["embedder"]["dim"]
    sparse.write_text(json.dumps(data))
    m = load_manifest(sparse, check=False)  # the dict sections load as before
    with pytest.raises(InputError, match="manifest section 'embedder' lacks dim"):
        _ = m.embedder_info


def test_a_cut_down_manifest_reads_partially_and_refuses_the_checked_view(tmp_path: Path) -> None:
    from unisel.manifest import EmbedderInfo, InputInfo, Manifest, SelectorInfo

    m = Manifest(
        input={"sha256": "abc", "note": 1},
        output={},
        embedder=None,  # type: ignore[arg-type]
        selector={"method": "maxmin", "params": {"metric": "euclidean"}},
        k=1,
        seed=0,
        indices=[0],
        distances=None,
        h_min={},
    )
    made_from = m.section(InputInfo, partial=True)
    assert (made_from.sha256, made_from.source, made_from.n_records) == ("abc", "", 0)
    assert made_from.extra == {"note": 1}
    assert m.section(EmbedderInfo, partial=True).method == ""
    assert m.section(SelectorInfo, partial=True).metric == m.selector_info.metric == "euclidean"
    with pytest.raises(InputError, match="manifest section 'input' lacks format, n_records"):
        _ = m.input_info
    with pytest.raises(AttributeError, match="read-only"):
        m.input_info = made_from  # type: ignore[misc]
