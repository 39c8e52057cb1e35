"""The summary is computed from the numbers: change them and the text follows."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unisel.report.summary import Num, format_number, summarize


def _m(name, h, cr, *, size=500, nn_mean=0.3, nn_median=0.28, dup=0):
    return {
        "name": name,
        "size": size,
        "h_min_cosine": h,
        "h_min_euclidean": h * 2,
        "nn_mean": nn_mean,
        "nn_median": nn_median,
        "covering_radius": cr,
        "n_identical_embeddings": dup,
        "n_near_duplicates": dup,
    }


def _resolve(doc, pointer):
    node = doc
    for part in pointer.strip("/").split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _doc(sets, summary):
    return {"sets": [{"metrics": m} for m in sets], "summary": {"comparisons": summary.comparisons}}


def _nums(summary):
    return [p for s in summary.sentences for p in s if isinstance(p, Num)]


def test_ratio_and_percent_come_from_the_numbers():
    sets = [
        _m("full", 0.0, 0.0, size=1000, dup=3),
        _m("maxmin", 0.213, 0.30),
        _m("random", 0.062, 0.38),
    ]
    s = summarize(sets)
    assert s.best == "maxmin"
    assert s.text.startswith("maxmin is the most uniform of the 2 subsets")
    assert "3.4x random's 0.062" in s.text
    assert "covering radius is 21% smaller than random's (0.3 vs 0.38)" in s.text
    assert (
        "The full set has 1,000 records and h_min 0, with 3 extra copies of an identical embedding."
        in s.text
    )
    c = s.comparisons[0]
    assert c["h_min_ratio"] == pytest.approx(0.213 / 0.062)
    assert c["covering_radius_diff_pct"] == pytest.approx(100 * 0.08 / 0.38)


def test_changing_numbers_changes_text():
    base = [_m("full", 0.0, 0.0), _m("maxmin", 0.213, 0.30), _m("random", 0.062, 0.38)]
    changed = [_m("full", 0.0, 0.0), _m("maxmin", 0.213, 0.30), _m("random", 0.1, 0.25)]
    t1, t2 = summarize(base).text, summarize(changed).text
    assert t1 != t2
    assert "2.1x random's 0.1" in t2
    assert "covering radius is 20% larger than random's (0.3 vs 0.25)" in t2
    # random now covers better: the summary says so rather than hiding it.
    assert "random has the smallest covering radius (0.25)" in t2
    assert "smallest covering radius" not in t1


def test_best_follows_h_min_and_ties_break_on_covering_radius():
    s = summarize([_m("full", 0, 0), _m("a", 0.05, 0.4), _m("b", 0.09, 0.5)])
    assert s.best == "b" and s.text.startswith("b is the most uniform")
    s = summarize([_m("full", 0, 0), _m("a", 0.09, 0.4), _m("b", 0.09, 0.5)])
    assert s.best == "a" and "the same h_min, 0.09" in s.text


def test_zero_h_min_names_duplicates_and_ignores_rounding_noise():
    one = summarize([_m("full", 0, 0), _m("maxmin", 0.1, 0.3), _m("random", -2.2e-16, 0.4, dup=1)])
    assert (
        "random has h_min 0 (1 extra copy of an identical embedding) where maxmin has 0.1"
        in one.text
    )
    assert "h_min_ratio" not in one.comparisons[0]
    many = summarize([_m("full", 0, 0), _m("maxmin", 0.1, 0.3), _m("random", 0.0, 0.4, dup=7)])
    assert "(7 extra copies of an identical embedding)" in many.text


def test_single_subset_is_compared_with_the_full_set():
    s = summarize([_m("full", 0.01, 6e-16, size=2000), _m("maxmin", 0.2, 0.25, size=1000)])
    assert s.text.startswith("maxmin (1,000 records): its closest pair")
    assert "20.0x full's 0.01" in s.text
    assert "full covers every record exactly (covering radius 0)" in s.text


def test_no_subsets_gives_no_summary():
    assert summarize([_m("full", 0, 0)]).sentences == []


def test_format_number():
    assert format_number(0.21345) == "0.213"
    assert format_number(6.66e-16) == "0"
    assert format_number(17634, "int") == "17,634"
    assert format_number(3.4351, "ratio") == "3.4"
    assert format_number(21.05, "pct") == "21"
    assert format_number(None) == "n/a" and format_number(math.nan) == "n/a"


dist = st.floats(min_value=0.0, max_value=2.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(dist, dist, dist), min_size=1, max_size=5))
def test_every_number_points_at_its_value(values):
    sets = [_m("full", 0.0, 0.0)] + [
        _m(f"s{i}", h, cr, nn_median=med) for i, (h, cr, med) in enumerate(values)
    ]
    s = summarize(sets)
    hmax = max(h if h >= 1e-9 else 0.0 for h, _, _ in values)
    best = next(m for m in sets if m["name"] == s.best)
    assert (best["h_min_cosine"] if best["h_min_cosine"] >= 1e-9 else 0.0) == hmax
    doc = _doc(sets, s)
    for num in _nums(s):
        assert _resolve(doc, num.pointer) == num.value
        assert format_number(num.value, num.kind) in s.text
