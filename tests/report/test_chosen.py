"""What was chosen: the records behind the numbers, and each subset's length and turn shift."""

from __future__ import annotations

import json

import numpy as np
import pytest

from unisel.metrics import text_digests
from unisel.report import write_report
from unisel.report.chosen import (
    MAX_CHARS,
    N_FIRST,
    duplicate_groups,
    preview,
    visible,
)
from unisel.report.inputs import count_turns
from unisel.report.summary import Num, shift_sentences
from unisel.tokens import content_words


def _brute_groups(X, texts, threshold, pairs=True):
    """Connected groups of equal texts / embeddings within ``threshold``, by union-find."""
    n = len(texts)
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    U = X.astype(np.float64)
    norms = np.linalg.norm(U, axis=1)
    U[norms > 0] /= norms[norms > 0, None]
    for i in range(n):
        for j in range(i + 1, n):
            same = texts[i] == texts[j] or bool((X[i] == X[j]).all())
            if pairs and not same:
                same = 1.0 - float(U[i] @ U[j]) <= threshold
            if same:
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def _nn(X):
    U = X.astype(np.float64)
    norms = np.linalg.norm(U, axis=1)
    U[norms > 0] /= norms[norms > 0, None]
    D = 1.0 - U @ U.T
    np.fill_diagonal(D, np.inf)
    return D.min(axis=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_duplicate_groups_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, d = 80, 3
    X = rng.normal(size=(n, d))
    X[5:9] = X[4]  # identical embeddings
    X[20:23] = X[19] + 1e-3 * rng.normal(size=(3, d))  # near-identical
    X[40] = X[41] = 0.0  # empty embeddings
    texts = [f"t{i}" for i in range(n)]
    texts[60] = texts[61] = texts[2] = "same"  # identical texts, different embeddings
    thr = 0.01
    got = duplicate_groups(X, text_digests(texts), _nn(X), thr)
    assert sorted(g.tolist() for g in got) == _brute_groups(X, texts, thr)
    assert [g.size for g in got] == sorted((g.size for g in got), reverse=True)
    # Without exact nearest neighbours, only equal embeddings (and texts) join records.
    got = duplicate_groups(X, text_digests(texts), None, thr)
    assert sorted(g.tolist() for g in got) == _brute_groups(X, texts, thr, pairs=False)


def test_visible_and_preview():
    assert visible("\u200b") == "<U+200B>"
    assert visible("thanks | \u200b\n\tok") == "thanks | <U+200B>\n\tok"
    assert visible("family \U0001f468\u200d\U0001f469") == "family \U0001f468\u200d\U0001f469"
    assert preview("a" * 400, 300, 6) == "a" * 300
    assert preview("\n".join("abcdefgh"), 300, 3) == "a\nb\nc"
    assert preview("short", 300, 6) == "short"


def test_first_picks_samples_set_aside_and_groups(chat_built):
    t, _, rep = chat_built
    chosen = rep["chosen"]
    assert chosen["note"] is None
    mm, rnd = chosen["sets"]
    assert (mm["name"], rnd["name"]) == ("maxmin", "random")

    # First picks: the manifest's order and distances; the start has none.
    first = mm["first_picks"]
    assert [e["row"] for e in first] == t.indices["maxmin"][:N_FIRST].tolist()
    assert first[0]["distance"] is None
    dists = [e["distance"] for e in first[1:]]
    assert all(a >= b for a, b in zip(dists, dists[1:], strict=False))
    assert rnd["first_picks"] is None  # no selection order to show

    # Text as read, cut at MAX_CHARS with the rest counted; words and turns per record.
    markup = first[0]
    full = t.texts[t.planted["markup"]]
    assert markup["text"] == full[:MAX_CHARS] and markup["chars"] == len(full)
    assert markup["n_cut"] == len(full) - MAX_CHARS > 0
    words = content_words(t.texts)
    for e in first:
        assert e["words"] == words[e["row"]] and e["turns"] == t.turns[e["row"]]

    # Random samples: kept from the subset, dropped from the rest, in record order.
    for cs in (mm, rnd):
        kept = {e["row"] for e in cs["kept_sample"]}
        dropped = {e["row"] for e in cs["dropped_sample"]}
        inside = set(t.indices[cs["name"]].tolist())
        assert kept <= inside and not dropped & inside
        assert len(kept) == len(dropped) == 6
        assert cs["n_dropped"] == len(t.texts) - len(inside)

    # Set aside: recomputed with the preset's rule, matching the manifest's count.
    aside = mm["set_aside"]
    assert aside["count"] == aside["found"] == t.set_aside.size
    assert [e["row"] for e in aside["records"]] == t.set_aside.tolist()
    assert aside["kept"] == 0 and aside["note"] is None
    assert t.planted["zero_width"] in t.set_aside and t.planted["short"] in t.set_aside
    assert rnd["set_aside"] is None

    # Groups: the five copies of one text first, kept counts per subset.
    groups = chosen["groups"]
    assert groups["embeddings_compared"] == "pairs"
    top = groups["shown"][0]
    assert top["members"] == [20, 21, 22, 23, 24]
    assert top["size"] == 5 and top["distinct_texts"] == 1
    for j, name in enumerate(("maxmin", "random")):
        assert top["kept"][j] == int(np.isin(np.arange(20, 25), t.indices[name]).sum())
    near = next(g for g in groups["shown"] if g["members"][0] == 30)
    assert near["size"] == 4 and near["distinct_texts"] == 4
    assert groups["n_records"] >= 9 and groups["count"] >= 2


def test_length_and_turn_shift_in_json_and_summary(chat_built):
    t, _, rep = chat_built
    words = content_words(t.texts)
    full = rep["sets"][0]["shift"]
    assert full["median_words"] == pytest.approx(np.median(words))
    assert full["short_pct"] == pytest.approx(100 * np.mean(words <= 20))
    assert full["median_turns"] == pytest.approx(np.median(t.turns))
    for s in rep["sets"][1:]:
        rows = t.indices[s["name"]]
        assert s["shift"]["median_words"] == pytest.approx(np.median(words[rows]))
        assert s["shift"]["median_turns"] == pytest.approx(np.median(t.turns[rows]))
        assert s["shift"]["median_words_ratio"] == pytest.approx(
            np.median(words[rows]) / np.median(words)
        )
        assert f"{s['name']}'s records have a median of" in rep["summary"]["text"]
        assert "turns per conversation" in rep["summary"]["text"]
    sentences = shift_sentences(rep["sets"])
    assert len(sentences) == 2
    for sentence in sentences:
        for part in sentence:
            if isinstance(part, Num):
                node = rep
                for key in part.pointer.strip("/").split("/"):
                    node = node[int(key)] if isinstance(node, list) else node[key]
                assert node == part.value


def test_samples_are_deterministic(chat_built, tmp_path):
    t, _, rep = chat_built
    subsets = [t.manifests["maxmin"], t.manifests["random"]]
    write_report(t.data, subsets, tmp_path / "a", seed=5, quiet=True)
    again = json.loads((tmp_path / "a" / "report.json").read_text())
    assert again["chosen"] == rep["chosen"]
    write_report(t.data, subsets, tmp_path / "b", seed=6, quiet=True)
    other = json.loads((tmp_path / "b" / "report.json").read_text())
    assert other["chosen"]["sets"][0]["kept_sample"] != rep["chosen"]["sets"][0]["kept_sample"]


def test_no_records_no_section(toy, tmp_path):
    write_report(toy.data, [toy.manifests["maxmin"]], tmp_path / "r", lengths=None, quiet=True)
    rep = json.loads((tmp_path / "r" / "report.json").read_text())
    assert rep["chosen"]["note"] and rep["chosen"]["sets"] == []
    assert all(s["shift"] is None for s in rep["sets"])
    html = (tmp_path / "r" / "index.html").read_text()
    assert "What was chosen" in html and "No records to show" in html


def test_turns_of_messages_skip_empty_turns(tmp_path):
    from unisel.io import read_records

    path = tmp_path / "m.jsonl"
    rows = [
        {
            "messages": [
                {"role": "user", "content": "hi there"},
                {"role": "assistant", "content": ""},
            ]
        },
        {
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "a question"}]},
                {"role": "assistant", "content": "an answer"},
            ]
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    records = read_records(path, quiet=True)
    assert count_turns(path, records).tolist() == [1, 3]
    text = tmp_path / "t.jsonl"
    text.write_text(json.dumps({"text": "plain"}) + "\n")
    assert count_turns(text, read_records(text, quiet=True)) is None
