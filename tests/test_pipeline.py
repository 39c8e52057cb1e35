"""The stage functions of `unisel.pipeline`, each on its own, and their chain in `select_file`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import pdist

import unisel.pipeline as up
from tests._data import make_records, write_records
from unisel.embed import Embeddings
from unisel.errors import InputError, ParameterError
from unisel.io import RecordSet, read_records, texts_sha256
from unisel.manifest import Manifest, load_manifest, manifest_path_for
from unisel.select import select


def text_records(n: int, *, source_index: list[int] | None = None) -> RecordSet:
    return RecordSet(
        source="mem",
        format="jsonl",
        schema="text",
        texts=[f"record {i}" for i in range(n)],
        content_hash="abc",
        source_index=source_index,
    )


def write_manifest(path: Path, *, rows: list[int], sha256: str = "abc") -> Path:
    manifest = Manifest(
        input={"sha256": sha256},
        output={},
        embedder={},
        selector={"method": "maxmin"},
        k=len(rows),
        seed=0,
        indices=rows,
        distances=None,
        h_min={},
    )
    path.write_text(manifest.to_json(), encoding="utf-8")
    return path


def test_stage_timer_adds_up_repeated_stages_and_rounds():
    timer = up.StageTimer()
    for _ in range(2):
        with timer("embed"):
            pass
    timer.seconds["read"] = 1.23456
    assert list(timer.rounded()) == ["embed", "read"]
    assert timer.rounded()["read"] == 1.235
    assert "total" in timer.summary()


def test_check_output_refuses_the_input_itself_and_a_link_to_it(tmp_path):
    src = tmp_path / "data.jsonl"
    src.write_text("{}\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(src)
    for out in (src, link):
        with pytest.raises(ParameterError, match="output path is the input path"):
            up.check_output(src, out)
    with pytest.raises(ParameterError, match="order must be"):
        up.check_output(src, tmp_path / "out.jsonl", "random")
    up.check_output(src, tmp_path / "out.jsonl", "selection")


def test_selection_size_without_extend_is_resolve_k():
    records = text_records(50)
    assert up.selection_size(records, k=7) == (7, None)
    assert up.selection_size(records, fraction=0.1) == (5, None)
    with pytest.raises(ParameterError):
        up.selection_size(records, k=51)


def test_selection_size_extend_adds_to_the_previous_rows(tmp_path):
    records = text_records(20)
    mpath = write_manifest(tmp_path / "prev.manifest.json", rows=[4, 9, 1])
    total, initial = up.selection_size(records, k=5, extend=mpath)
    assert (total, initial) == (8, [4, 9, 1])
    # --fraction counts the records not yet selected: 0.5 of 17.
    assert up.selection_size(records, fraction=0.5, extend=mpath)[0] == 3 + 8


@pytest.mark.parametrize(
    ("rows", "sha256", "method", "message"),
    [
        ([1, 2], "abc", "random", "use --method maxmin"),
        ([1, 2], "other", "maxmin", "different input data"),
        (list(range(20)), "abc", "maxmin", "already holds all 20"),
    ],
)
def test_selection_size_extend_errors(tmp_path, rows, sha256, method, message):
    mpath = write_manifest(tmp_path / "prev.manifest.json", rows=rows, sha256=sha256)
    with pytest.raises(ParameterError, match=message):
        up.selection_size(text_records(20), k=3, method=method, extend=mpath)


def test_check_embeddings_names_the_embedder_and_both_counts():
    emb = Embeddings(vectors=np.zeros((3, 2), np.float32), method="npy")
    up.check_embeddings(emb, 3, "npy:x.npy")
    with pytest.raises(InputError, match=r"npy:x.npy: 3 embeddings for 4 records"):
        up.check_embeddings(emb, 4, "npy:x.npy")


@pytest.mark.parametrize("method", ["maxmin", "random", "first"])
def test_run_selector_is_select_with_the_run_parameters(method):
    X = np.random.default_rng(1).normal(size=(80, 6)).astype(np.float32)
    got = up.run_selector(X, 12, method, seed=3, quiet=True)
    want = select(X, 12, method, random_state=3, **({"quiet": True} if method == "maxmin" else {}))
    np.testing.assert_array_equal(got.indices, want.indices)
    assert got.method == method and got.k == 12


def test_run_selector_maxmin_start_and_initial():
    X = np.random.default_rng(2).normal(size=(60, 5)).astype(np.float32)
    started = up.run_selector(X, 6, start=17, quiet=True)
    assert started.indices[0] == 17
    # Continuing the first 6 rows of a selection by 4 gives the first 10 of the longer one.
    longer = up.run_selector(X, 10, start=17, quiet=True)
    continued = up.run_selector(X, 10, initial=[int(i) for i in started.indices], quiet=True)
    np.testing.assert_array_equal(continued.indices, longer.indices)


def test_run_selector_passes_selector_params():
    X = np.random.default_rng(3).normal(size=(40, 4)).astype(np.float32)
    got = up.run_selector(X, 5, "kmeans", selector_params={"max_iter": 2})
    assert got.params["max_iter"] == 2
    np.testing.assert_array_equal(
        got.indices, select(X, 5, "kmeans", random_state=0, max_iter=2).indices
    )
    # A setting that has its own flag (--start) is refused in selector_params (--select-opt).
    with pytest.raises(ParameterError, match="--select-opt start: not a setting of maxmin"):
        up.run_selector(X, 5, selector_params={"start": 3}, start=8, quiet=True)
    with pytest.raises(ParameterError, match="maxmin only"):
        up.run_selector(X, 5, "random", workers=1)


def test_subset_h_min_matches_pairwise_distances():
    X = np.random.default_rng(4).normal(size=(50, 8)).astype(np.float32)
    idx = np.array([30, 2, 11, 47, 5])
    got = up.subset_h_min(X, idx)
    sub = X[np.sort(idx)].astype(np.float64)
    assert got["cosine"] == pytest.approx(pdist(sub, "cosine").min(), abs=1e-5)
    assert got["euclidean"] == pytest.approx(pdist(sub, "euclidean").min(), rel=1e-5)
    assert up.subset_h_min(X, [4]) == {"cosine": None, "euclidean": None}


def test_selection_manifest_maps_rows_to_source_records(tmp_path):
    X = np.random.default_rng(5).normal(size=(6, 3)).astype(np.float32)
    emb = Embeddings(vectors=X, method="npy", params={"path": "x.npy"})
    selection = up.run_selector(X, 3, start=0, quiet=True)
    # Records 1 and 4 of the source were skipped: position i is source record source_index[i].
    skipped = text_records(6, source_index=[0, 2, 3, 5, 6, 7])
    manifest = up.selection_manifest(
        skipped, emb, selection, output=tmp_path / "o.jsonl", order="selection", seed=9
    )
    rows = [int(i) for i in selection.indices]
    assert manifest.embedding_indices == rows
    assert manifest.indices == [[0, 2, 3, 5, 6, 7][i] for i in rows]
    assert manifest.output == {
        "path": str((tmp_path / "o.jsonl").resolve()),
        "format": "jsonl",
        "order": "selection",
    }
    assert manifest.embedder["dim"] == 3 and manifest.seed == 9
    assert manifest.selector["method"] == "maxmin"
    plain = up.selection_manifest(text_records(6), emb, selection, output=tmp_path / "o.jsonl")
    assert plain.embedding_indices is None and plain.indices == rows
    assert plain.distances is not None and plain.distances[0] is None


def test_write_selection_writes_subset_and_manifest(tmp_path):
    src = write_records(make_records("alpaca", 30), tmp_path / "in.jsonl", "jsonl")
    records = read_records(src, quiet=True)
    X = np.random.default_rng(6).normal(size=(30, 4)).astype(np.float32)
    selection = up.run_selector(X, 5, quiet=True)
    emb = Embeddings(vectors=X, method="npy")
    out = tmp_path / "sub.jsonl"
    manifest = up.selection_manifest(records, emb, selection, output=out)
    timer = up.StageTimer({"read": 0.5})
    mpath = up.write_selection(records, selection, manifest, out, timer=timer, quiet=True)
    assert mpath == manifest_path_for(out)
    lines = src.read_text().splitlines()
    assert out.read_text().splitlines() == [lines[i] for i in sorted(selection.indices)]
    saved = load_manifest(mpath)
    assert saved.indices == [int(i) for i in selection.indices]
    # The file holds the stages before the write; the returned manifest the write too.
    assert saved.timings == {"read": 0.5}
    assert set(manifest.timings) == {"read", "write"}


def test_write_selection_leaves_nothing_when_the_subset_write_fails(tmp_path, monkeypatch):
    src = write_records(make_records("alpaca", 10), tmp_path / "in.jsonl", "jsonl")
    records = read_records(src, quiet=True)
    X = np.eye(10, dtype=np.float32)
    selection = up.run_selector(X, 3, quiet=True)
    manifest = up.selection_manifest(records, Embeddings(X, "npy"), selection, output="x")

    def fail(*args, **kwargs):
        raise InputError("disk full")

    monkeypatch.setattr("unisel.flows.outputs.write_subset", fail)
    with pytest.raises(InputError, match="disk full"):
        up.write_selection(records, selection, manifest, tmp_path / "sub.jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_named_subsets_makes_names_unique_and_keeps_full_free(tmp_path):
    records = text_records(10)
    for name, rows in (("full", [1, 2]), ("a", [3]), ("b", [4, 5])):
        manifest = json.loads(
            write_manifest(tmp_path / f"{name}.manifest.json", rows=rows).read_text()
        )
        manifest["selector"]["method"] = "full" if name == "full" else "maxmin"
        (tmp_path / f"{name}.manifest.json").write_text(json.dumps(manifest))
    specs = [tmp_path / f"{n}.manifest.json" for n in ("full", "a", "b")]
    named = up.named_subsets(specs, records)
    assert list(named) == ["full-2", "maxmin", "maxmin-2"]
    np.testing.assert_array_equal(named["maxmin-2"], [4, 5])


def test_metrics_embeddings_uses_the_manifests_cache_only_when_it_fits(tmp_path):
    records = text_records(8)
    cached = np.random.default_rng(7).normal(size=(8, 3)).astype(np.float32)
    np.save(tmp_path / "cache.npy", cached)
    mpath = write_manifest(tmp_path / "s.manifest.json", rows=[0, 1])
    manifest = json.loads(mpath.read_text())
    manifest["embedder"] = {
        "method": "word2vec",
        "params": {"x": 1},
        "cache_path": str(tmp_path / "cache.npy"),
    }
    mpath.write_text(json.dumps(manifest))
    emb = up.metrics_embeddings(records, [mpath])
    np.testing.assert_array_equal(emb.vectors, cached)
    assert emb.method == "word2vec" and emb.params == {"x": 1}
    # An embedder named explicitly wins over the cache.
    np.save(tmp_path / "other.npy", cached[:, :2])
    emb = up.metrics_embeddings(records, [mpath], f"npy:{tmp_path / 'other.npy'}", cache_dir=False)
    assert emb.vectors.shape == (8, 2)
    # A cache of another size is not used: the default embedder embeds the records.
    emb = up.metrics_embeddings(text_records(5), [mpath], cache_dir=False, quiet=True)
    assert emb.vectors.shape[0] == 5 and emb.cache_path is None


def test_select_file_is_the_chain_of_its_stages(tmp_path):
    src = write_records(make_records("sharegpt", 40), tmp_path / "in.json", "json")
    X = np.random.default_rng(8).normal(size=(40, 5)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    result = up.select_file(
        src,
        output=tmp_path / "out.json",
        k=6,
        embedder=f"npy:{tmp_path / 'x.npy'}",
        preset="paper",
        quiet=True,
    )
    want = up.run_selector(X, 6, seed=0, quiet=True)
    np.testing.assert_array_equal(result.selection.indices, want.indices)
    assert result.manifest.h_min == up.subset_h_min(X, want.indices)
    assert set(result.manifest.timings) == {"read", "embed", "select", "metrics", "write"}
    assert load_manifest(result.manifest_path).indices == [int(i) for i in want.indices]


# ---------------------------------------------------------------- in-memory inputs
@pytest.fixture(scope="module")
def messages_data(tmp_path_factory):
    """60 chat records as a JSON Lines file, a datasets.Dataset and a pandas DataFrame."""
    import pandas as pd
    from datasets import Dataset

    records = make_records("messages", 60, seed=3)
    path = write_records(records, tmp_path_factory.mktemp("mem") / "chat.jsonl", "jsonl")
    return records, path, Dataset.from_list(records), pd.DataFrame(records)


@pytest.mark.parametrize("kind", ["dataset", "dataframe"])
@pytest.mark.parametrize("order", ["input", "selection"])
def test_select_dataset_selects_what_select_file_selects(tmp_path, messages_data, kind, order):
    records, path, ds, df = messages_data
    data = ds if kind == "dataset" else df
    common = {"k": 9, "embedder": "tfidf", "cache_dir": False, "seed": 4, "quiet": True}
    on_file = up.select_file(path, output=tmp_path / "sub.jsonl", order=order, **common)
    got = up.select_dataset(data, order=order, **common)
    np.testing.assert_array_equal(got.selection.indices, on_file.selection.indices)
    chosen = (
        on_file.selection.indices if order == "selection" else np.sort(on_file.selection.indices)
    )
    np.testing.assert_array_equal(got.indices, chosen)
    assert type(got.subset) is type(data) and len(got.subset) == 9
    rows = got.subset.to_list() if kind == "dataset" else got.subset.to_dict("records")
    assert rows == [records[i] for i in chosen]
    if kind == "dataframe":
        assert got.subset.index.tolist() == [int(i) for i in chosen]
    m = got.manifest
    assert m.input["in_memory"] is True and m.input["format"] == kind
    assert m.input["schema"] == "messages" and m.input["n_records"] == 60
    assert m.input["sha256"] == texts_sha256(read_records(path, quiet=True).texts)
    assert m.input["sha256"] != on_file.manifest.input["sha256"]  # texts, not file bytes
    assert m.output == {"path": None, "format": kind, "order": order}
    assert m.h_min == on_file.manifest.h_min
    # "tokens": the default preset's length buckets count every record's words
    assert set(m.timings) == {"read", "tokens", "embed", "select", "metrics", "subset"}
    assert "in_memory" not in on_file.manifest.input
    json.loads(m.to_json())  # serialisable as a manifest file


def test_select_dataset_skipped_rows_extend_and_fraction():
    import pandas as pd

    texts = [f"{w} record number {i} " * (1 + i % 4) for i, w in enumerate("abcdefghij" * 3)]
    texts[5] = texts[17] = ""
    df = pd.DataFrame({"text": texts, "id": range(30)}, index=[f"r{i}" for i in range(30)])
    common = {"embedder": "tfidf", "cache_dir": False, "quiet": True, "skip_empty": True}
    with pytest.warns(UserWarning, match="2 records without text"):
        first = up.select_dataset(df, fraction=0.25, **common)
    assert len(first.subset) == 7 and first.manifest.input["n_skipped"] == 2
    assert not {5, 17} & set(first.indices.tolist())
    assert first.subset["id"].tolist() == first.indices.tolist()
    assert first.subset.index.tolist() == [f"r{i}" for i in first.indices]
    with pytest.warns(UserWarning):
        more = up.select_dataset(df, k=3, extend=first.manifest, **common)
    assert more.manifest.k == 10
    np.testing.assert_array_equal(more.selection.indices[:7], first.selection.indices)
    other = pd.DataFrame({"text": [t + "!" for t in texts]})
    with pytest.raises(ParameterError, match="extend: the manifest was made from different"):
        up.select_dataset(other, k=3, extend=first.manifest, **common)


def test_select_dataset_and_select_file_point_to_each_other(tmp_path, messages_data):
    _, path, ds, df = messages_data
    with pytest.raises(ParameterError, match="for a file use select_file"):
        up.select_dataset(path, k=3)
    with pytest.raises(ParameterError, match="got list"):
        up.select_dataset([{"text": "a"}], k=3)
    for data in (ds, df):
        with pytest.raises(ParameterError, match="use unisel.pipeline.select_dataset"):
            up.select_file(data, output=tmp_path / "o.jsonl", k=3)
    with pytest.raises(ParameterError, match="order must be"):
        up.select_dataset(df, k=3, order="random")


@pytest.mark.parametrize("kind", ["dataset", "dataframe"])
def test_select_dataset_without_a_text_column_names_the_fields(kind):
    import pandas as pd
    from datasets import Dataset

    words = ["graph theory", "french recipe", "guitar song", "cell biology", "city weather"]
    rows = [{"prompt": f"question about {w}", "score": i} for i, w in enumerate(words)]
    data = Dataset.from_list(rows) if kind == "dataset" else pd.DataFrame(rows)
    with pytest.raises(InputError) as info:
        up.select_dataset(data, k=2, embedder="tfidf", cache_dir=False, quiet=True)
    message = str(info.value)
    assert "\n" not in message and "cannot detect the schema" in message
    assert "['prompt', 'score']" in message
    with pytest.raises(InputError, match=r"no field 'body'; fields are \['prompt', 'score'\]"):
        up.select_dataset(data, k=2, text_field="body", quiet=True)
    got = up.select_dataset(
        data, k=2, text_field="prompt", embedder="tfidf", cache_dir=False, quiet=True
    )
    assert got.manifest.input["text_field"] == "prompt" and len(got.subset) == 2


def test_selection_size_with_tokens():
    recs = text_records(10)
    assert up.selection_size(recs, tokens=30) == (0, None)
    for kw, message in [
        (dict(k=3, tokens=30), "one of -k, --fraction and --tokens"),
        (dict(), "one of -k, --fraction and --tokens"),
        (dict(tokens=0), "positive integer"),
        (dict(tokens=5, extend="m.json"), "cannot extend"),
    ]:
        with pytest.raises(ParameterError, match=message):
            up.selection_size(recs, **kw)


def test_run_selector_to_a_token_budget_and_with_counts_only():
    recs = text_records(40)
    counts = up.record_tokens(recs)
    assert counts.counts.tolist() == [2] * 40  # "record i"
    X = np.random.default_rng(0).normal(size=(40, 5))
    budgeted = up.run_selector(X, 0, "maxmin", token_budget=15, token_counts=counts, quiet=True)
    assert budgeted.k == 7 and budgeted.tokens["total"] == 14
    assert (
        budgeted.indices.tolist()
        == select(X, 7, "maxmin", start=budgeted.params["start"]).indices.tolist()
    )
    counted = up.run_selector(X, 4, "first", token_counts=counts)
    assert counted.tokens == {
        "tokenizer": "whitespace",
        "budget": None,
        "total": 8,
        "per_record": [2] * 4,
    }
    with pytest.raises(ParameterError, match="one process"):
        up.run_selector(X, 0, "maxmin", token_budget=15, token_counts=counts, workers=2)


def test_select_dataset_to_a_token_budget(messages_data):
    records, _, ds, _ = messages_data
    words = [len(t.split()) for t in read_records(ds, quiet=True).texts]
    got = up.select_dataset(ds, tokens=300, embedder="tfidf", cache_dir=False, quiet=True)
    t = got.manifest.tokens
    assert t["budget"] == 300 and t["total"] == sum(t["per_record"]) <= 300
    assert t["per_record"] == [words[i] for i in got.selection.indices]
    assert len(got.subset) == got.selection.k
