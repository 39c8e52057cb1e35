"""The plain-language summary, computed from the metrics.

Every number in the summary is a :class:`Num` that points (JSON pointer) at the value in
``report.json``, so the page can mark it and tests can check it; derived numbers (ratios,
percentages) are stored under ``/summary/comparisons``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Num:
    """A number shown in the text: its ``report.json`` pointer, value and display kind.

    ``kind`` is ``"dist"`` (3 significant digits), ``"ratio"`` (one decimal), ``"pct"``
    (whole percent, value already in percent), ``"int"`` (thousands separators) or
    ``"count"`` (a median of counts: whole numbers as such, halves with one decimal).
    """

    pointer: str
    value: float | int | None
    kind: str = "dist"


Part = str | Num
ZERO_BELOW = 1e-9


@dataclass
class Summary:
    """Sentences of parts, the derived numbers, and the set judged most uniform."""

    sentences: list[list[Part]] = field(default_factory=list)
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    best: str | None = None

    @property
    def text(self) -> str:
        """The summary as plain text."""
        return " ".join(render_plain(s) for s in self.sentences)


def format_number(value: float | int | None, kind: str = "dist") -> str:
    """Display form of a number; ``n/a`` for None or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if kind == "int":
        return f"{int(value):,d}"
    if kind == "ratio":
        return f"{value:.1f}" if value < 100 else f"{value:,.0f}"
    if kind == "pct":
        return f"{value:.0f}"
    if kind == "count":
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    # Cosine distances computed in float64 carry ~1e-16 of rounding noise: a distance of
    # 6.7e-16 between a record and itself is shown as the 0 it is.
    if abs(value) < ZERO_BELOW:
        return "0"
    return f"{value:.3g}"


def render_plain(parts: Sequence[Part]) -> str:
    return "".join(p if isinstance(p, str) else format_number(p.value, p.kind) for p in parts)


def _copies(count: Any) -> str:
    return "extra copy" if int(count) == 1 else "extra copies"


def _embedding_copies_key(m: Mapping[str, Any]) -> str:
    """The key of the identical-embedding count (``n_exact_duplicates`` in older reports)."""
    return "n_exact_duplicates" if "n_identical_embeddings" not in m else "n_identical_embeddings"


def _f(x: Any) -> float:
    return float("nan") if x is None else float(x)


def _v(x: Any) -> float:
    """The value for comparisons: rounding noise below ``ZERO_BELOW`` counts as 0."""
    f = _f(x)
    return 0.0 if abs(f) < ZERO_BELOW else f


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))


def _rank_key(m: Mapping[str, Any]) -> tuple[float, float, float]:
    h = _v(m["h_min_cosine"])
    cr = _v(m["covering_radius"])
    nn = _v(m["nn_mean"])
    # Larger h_min first; ties by smaller covering radius, then larger mean nn distance.
    return (
        -h if math.isfinite(h) else math.inf,
        cr if math.isfinite(cr) else math.inf,
        -nn if math.isfinite(nn) else math.inf,
    )


def summarize(sets: Sequence[Mapping[str, Any]], *, full_name: str = "full") -> Summary:
    """Build the summary from per-set metrics.

    Parameters
    ----------
    sets : sequence of mappings
        ``report.json``'s ``sets[i]["metrics"]`` in order (keys of ``SetMetrics``); the entry
        named ``full_name`` is the full set.
    full_name : str

    Returns
    -------
    Summary
        Its numbers point at ``/sets/<i>/metrics/<field>`` and
        ``/summary/comparisons/<j>/<field>``.
    """
    out = Summary()

    def num(i: int, key: str, kind: str = "dist") -> Num:
        return Num(f"/sets/{i}/metrics/{key}", sets[i][key], kind)

    full_i = next((i for i, m in enumerate(sets) if m["name"] == full_name), None)
    sub_i = [i for i, m in enumerate(sets) if m["name"] != full_name]
    if not sub_i:
        return out
    order = sorted(sub_i, key=lambda i: (_rank_key(sets[i]), i))
    b = order[0]
    best = sets[b]
    out.best = str(best["name"])

    if len(sub_i) > 1:
        head: list[Part] = [f"{best['name']} is the most uniform of the {len(sub_i)} subsets: "]
    else:
        head = [f"{best['name']} ("]
        head += [num(b, "size", "int"), " records): "]
    head += [
        "its closest pair of records is ",
        num(b, "h_min_cosine"),
        " apart in cosine distance (h_min), and every record of the full set lies within ",
        num(b, "covering_radius"),
        " of it (covering radius).",
    ]
    out.sentences.append(head)

    others = order[1:] if len(sub_i) > 1 else ([full_i] if full_i is not None else [])
    for o in others:
        other = sets[o]
        j = len(out.comparisons)
        cmp: dict[str, Any] = {"best": best["name"], "other": other["name"]}
        h_b, h_o = _v(best["h_min_cosine"]), _v(other["h_min_cosine"])
        cr_b, cr_o = _v(best["covering_radius"]), _v(other["covering_radius"])
        s: list[Part] = [f"Against {other['name']}: "]
        dup_key = _embedding_copies_key(other)
        dup = int(other.get(dup_key) or 0)
        if not (math.isfinite(h_b) and math.isfinite(h_o)):
            s += ["h_min ", num(b, "h_min_cosine"), " vs ", num(o, "h_min_cosine")]
        elif h_o == 0 and h_b == 0:
            s += [f"both {best['name']} and {other['name']} have h_min ", num(b, "h_min_cosine")]
        elif h_o == 0:
            s += [f"{other['name']} has h_min ", num(o, "h_min_cosine")]
            if dup > 0:
                s += [" (", num(o, dup_key, "int"), f" {_copies(dup)} of an identical embedding)"]
            s += [f" where {best['name']} has ", num(b, "h_min_cosine")]
        elif _same(h_b, h_o):
            s += ["the same h_min, ", num(b, "h_min_cosine")]
        else:
            cmp["h_min_ratio"] = h_b / h_o
            s += [
                "h_min ",
                num(b, "h_min_cosine"),
                ", ",
                Num(f"/summary/comparisons/{j}/h_min_ratio", cmp["h_min_ratio"], "ratio"),
                f"x {other['name']}'s ",
                num(o, "h_min_cosine"),
            ]
        if not (math.isfinite(cr_b) and math.isfinite(cr_o)):
            pass
        elif _same(cr_b, cr_o):
            s += ["; the same covering radius, ", num(b, "covering_radius")]
        elif cr_o == 0:
            s += [
                f"; {other['name']} covers every record exactly (covering radius ",
                num(o, "covering_radius"),
                ")",
            ]
        else:
            pct = 100.0 * abs(cr_o - cr_b) / cr_o
            cmp["covering_radius_diff_pct"] = pct
            cmp["covering_radius_smaller"] = bool(cr_b < cr_o)
            word = "smaller" if cr_b < cr_o else "larger"
            s += [
                f"; {best['name']}'s covering radius is ",
                Num(f"/summary/comparisons/{j}/covering_radius_diff_pct", pct, "pct"),
                f"% {word} than {other['name']}'s (",
                num(b, "covering_radius"),
                " vs ",
                num(o, "covering_radius"),
                ")",
            ]
        s += [
            "; median nearest-neighbour distance ",
            num(b, "nn_median"),
            " vs ",
            num(o, "nn_median"),
            ".",
        ]
        out.comparisons.append(cmp)
        out.sentences.append(s)

    # The h_min winner need not cover best; say so when another subset does.
    cover_best = min(sub_i, key=lambda i: (_v(sets[i]["covering_radius"]), i))
    cr_cb, cr_best = _v(sets[cover_best]["covering_radius"]), _v(best["covering_radius"])
    if cover_best != b and math.isfinite(cr_cb) and cr_cb < cr_best and not _same(cr_cb, cr_best):
        out.sentences.append(
            [
                f"{sets[cover_best]['name']} has the smallest covering radius (",
                num(cover_best, "covering_radius"),
                "), so it leaves the full set's records closer to the subset, although its closest "
                "pair is nearer (h_min ",
                num(cover_best, "h_min_cosine"),
                ").",
            ]
        )

    if full_i is not None:
        s = [
            "The full set has ",
            num(full_i, "size", "int"),
            " records and h_min ",
            num(full_i, "h_min_cosine"),
        ]
        dup_key = _embedding_copies_key(sets[full_i])
        dup = int(sets[full_i].get(dup_key) or 0)
        same_text = sets[full_i].get("n_identical_texts")
        if dup > 0:
            s += [
                ", with ",
                num(full_i, dup_key, "int"),
                f" {_copies(dup)} of an identical embedding",
            ]
            if same_text is not None:
                s += [" and ", num(full_i, "n_identical_texts", "int"), " of an identical text"]
        s.append(".")
        out.sentences.append(s)
    return out


def shift_sentences(
    sets: Sequence[Mapping[str, Any]], *, full_name: str = "full"
) -> list[list[Part]]:
    """One sentence per subset on its length and turn shift against the full set.

    Parameters
    ----------
    sets : sequence of mappings
        ``report.json``'s ``sets``, each with ``name`` and ``shift`` (None when the records
        were not read: no sentence): ``median_words``, ``median_words_ratio``, ``short_words``,
        ``short_pct``, ``median_turns`` (None without turns).
    full_name : str

    Returns
    -------
    list of sentences
        Numbers point at ``/sets/<i>/shift/<field>``.
    """
    full_i = next((i for i, s in enumerate(sets) if s["name"] == full_name), None)
    if full_i is None or not sets[full_i].get("shift"):
        return []

    def num(i: int, key: str, kind: str) -> Num:
        return Num(f"/sets/{i}/shift/{key}", sets[i]["shift"][key], kind)

    out: list[list[Part]] = []
    for i, s in enumerate(sets):
        shift = s.get("shift")
        if i == full_i or not shift:
            continue
        sentence: list[Part] = [
            f"{s['name']}'s records have a median of ",
            num(i, "median_words", "count"),
            " words" + (" (runs of letters or digits)" if not out else "") + " against ",
            num(full_i, "median_words", "count"),
            " in the full set",
        ]
        if shift.get("median_words_ratio") is not None:
            sentence += [" (", num(i, "median_words_ratio", "ratio"), "x)"]
        sentence += [
            "; ",
            num(i, "short_pct", "ratio"),
            f"% of them have {shift['short_words']} words or fewer against ",
            num(full_i, "short_pct", "ratio"),
            "%",
        ]
        if shift.get("median_turns") is not None:
            sentence += [
                "; median ",
                num(i, "median_turns", "count"),
                " turns per conversation against ",
                num(full_i, "median_turns", "count"),
            ]
        sentence.append(".")
        out.append(sentence)
    return out
