"""The on-disk cache: hit, miss, invalidation, metadata, atomic files, load_cached."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from unisel.embed import embed_texts, load_cached
from unisel.embed.cache import cache_key, texts_digest
from unisel.embed.tfidf import TfidfEmbedder


@pytest.fixture
def count_embeds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls of TfidfEmbedder.embed (the cached work)."""
    calls: list[int] = []
    original = TfidfEmbedder.embed

    def counting(self: TfidfEmbedder, texts, *, progress=True):  # type: ignore[no-untyped-def]
        calls.append(len(texts))
        return original(self, texts, progress=progress)

    monkeypatch.setattr(TfidfEmbedder, "embed", counting)
    return calls


def test_second_call_loads_the_cache(
    tmp_path: Path, corpus: list[str], count_embeds: list[int]
) -> None:
    first = embed_texts(corpus, "tfidf", cache_dir=tmp_path, quiet=True, n_components=6)
    second = embed_texts(corpus, "tfidf", cache_dir=tmp_path, quiet=True, n_components=6)
    assert count_embeds == [len(corpus)]
    assert first.cache_path == second.cache_path
    assert first.cache_path is not None and first.cache_path.parent == tmp_path
    assert isinstance(second.vectors, np.memmap) and not second.vectors.flags.writeable
    np.testing.assert_array_equal(first.vectors, second.vectors)
    assert second.params == first.params


@pytest.mark.parametrize(
    "change",
    [
        {"n_components": 5},  # a setting
        {"seed": 9},  # the seed
        {"texts": "edit"},  # one record's text
        {"texts": "reorder"},  # the order of the records
    ],
)
def test_any_change_misses(
    change: dict, tmp_path: Path, corpus: list[str], count_embeds: list[int]
) -> None:
    base = {"n_components": 6, "seed": 0}
    a = embed_texts(corpus, "tfidf", cache_dir=tmp_path, quiet=True, **base)
    texts = list(corpus)
    kwargs = dict(base)
    if change.get("texts") == "edit":
        texts[3] += " extra"
    elif change.get("texts") == "reorder":
        texts[0], texts[1] = texts[1], texts[0]
    else:
        kwargs.update(change)
    b = embed_texts(texts, "tfidf", cache_dir=tmp_path, quiet=True, **kwargs)
    assert len(count_embeds) == 2
    assert a.cache_path != b.cache_path
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_files_metadata_and_no_temporaries(tmp_path: Path, corpus: list[str]) -> None:
    emb = embed_texts(corpus, "tfidf", cache_dir=tmp_path, quiet=True, n_components=4)
    assert emb.cache_path is not None
    key = emb.cache_path.stem
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{key}.json", f"{key}.npy"]
    meta = json.loads((tmp_path / f"{key}.json").read_text())
    assert (
        meta["method"] == "tfidf" and meta["n"] == len(corpus) and meta["dim"] == 5
    )  # 4 components + 1 for the record without words
    assert meta["params"] == emb.params and meta["params"]["n_components"] == 4
    assert meta["created"].endswith("+00:00")
    assert key == cache_key(texts_digest(corpus), "tfidf", emb.params)
    loaded = load_cached(emb.cache_path)
    assert isinstance(loaded, np.memmap) and loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, emb.vectors)


def test_default_dir_is_under_unisel_cache_dir(_private_cache: Path, corpus: list[str]) -> None:
    emb = embed_texts(corpus, "tfidf", quiet=True, n_components=4)
    assert emb.cache_path is not None and emb.cache_path.parent == _private_cache / "embeddings"


def test_cache_off_writes_nothing(
    _private_cache: Path, corpus: list[str], count_embeds: list[int]
) -> None:
    for _ in range(2):
        assert embed_texts(corpus, "tfidf", cache_dir=False, quiet=True).cache_path is None
    assert count_embeds == [len(corpus)] * 2
    assert not _private_cache.exists()


def test_damaged_entry_is_recomputed(
    tmp_path: Path, corpus: list[str], count_embeds: list[int]
) -> None:
    emb = embed_texts(corpus, "tfidf", cache_dir=tmp_path, quiet=True, n_components=4)
    assert emb.cache_path is not None
    emb.cache_path.write_bytes(b"not an npy file")
    again = embed_texts(corpus, "tfidf", cache_dir=tmp_path, quiet=True, n_components=4)
    assert len(count_embeds) == 2
    np.testing.assert_array_equal(load_cached(again.cache_path), np.asarray(emb.vectors))


def test_entry_without_metadata_is_not_a_hit(
    tmp_path: Path, corpus: list[str], count_embeds: list[int]
) -> None:
    emb = embed_texts(corpus, "tfidf", cache_dir=tmp_path, quiet=True, n_components=4)
    assert emb.cache_path is not None
    emb.cache_path.with_suffix(".json").unlink()  # as if interrupted between the two renames
    embed_texts(corpus, "tfidf", cache_dir=tmp_path, quiet=True, n_components=4)
    assert len(count_embeds) == 2


def test_texts_digest_separates_record_boundaries() -> None:
    assert texts_digest(["ab", "c"]) != texts_digest(["a", "bc"])
    assert texts_digest(["a"]) != texts_digest(["a", ""])
    assert texts_digest(["x", "y"]) == texts_digest(("x", "y"))


def _truncate(path: Path) -> None:
    with open(path, "r+b") as f:  # as a full disk or a cut copy leaves it: header, half a body
        f.truncate(path.stat().st_size // 2)


def test_a_truncated_entry_is_removed_with_one_warning_and_embedded_again(
    tmp_path: Path, corpus: list[str], count_embeds: list[int]
) -> None:
    emb = embed_texts(corpus, "tfidf", cache_dir=tmp_path, quiet=True, n_components=4)
    assert emb.cache_path is not None
    _truncate(emb.cache_path)
    with pytest.warns(UserWarning, match="unreadable .*removed it, embedding again") as caught:
        again = embed_texts(corpus, "tfidf", cache_dir=tmp_path, quiet=True, n_components=4)
    assert len(count_embeds) == 2
    assert all("\n" not in str(w.message) for w in caught)
    np.testing.assert_array_equal(load_cached(again.cache_path), np.asarray(emb.vectors))


def test_metrics_on_a_truncated_cache_embeds_again(tmp_path: Path, capsys, recwarn) -> None:
    """The cache a subset's manifest names (``unisel metrics --subset``) is read like any other
    cache entry: truncated, it is removed with a warning and the records are embedded again."""
    from tests._data import make_records, write_records
    from tests.test_cli import run
    from unisel.manifest import load_manifest
    from unisel.pipeline import metrics_file, select_file

    data = write_records(make_records("alpaca", 40), tmp_path / "data.jsonl", "jsonl")
    out = tmp_path / "sub.jsonl"
    cache = tmp_path / "cache"
    select_file(data, output=out, k=8, embedder="tfidf", cache_dir=cache, quiet=True)
    named = Path(load_manifest(out).embedder["cache_path"])
    _truncate(named)
    report = metrics_file(data, subsets=[out], cache_dir=cache, quiet=True)
    assert [s.name for s in report.sets] == ["full", "maxmin"]
    assert not named.exists() and not named.with_suffix(".json").exists()
    messages = [str(w.message) for w in recwarn if "unreadable" in str(w.message)]
    assert len(messages) == 1 and str(named) in messages[0]

    select_file(data, output=out, k=8, embedder="tfidf", cache_dir=cache, quiet=True)
    _truncate(named)
    code, stdout, err = run(capsys, "metrics", data, "--subset", out, "--cache-dir", cache, "-q")
    assert code == 0, err
    assert "maxmin" in stdout and not named.exists()
