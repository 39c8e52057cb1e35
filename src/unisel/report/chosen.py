"""What was chosen: the records behind the numbers.

For every subset: its first picks in selection order with the distance at which each was
chosen, a random sample of the records it kept and of those it dropped, and the records its
preset set aside; for the full set, the largest groups of identical or near-identical records
and how many of each group every subset kept. Also each set's length and turn shift against the
full set, for the summary.

Texts are stored in ``report.json`` as read (cut at `MAX_CHARS`); the page escapes them, shows
invisible characters as ``<U+200B>`` and cuts them at `PREVIEW_CHARS` with a way to expand.
"""

from __future__ import annotations

import unicodedata
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from unisel.errors import UniselError
from unisel.report.inputs import ReportInputs, ReportSet

PREVIEW_CHARS = 300
"""Characters of a record shown before it is expanded."""
PREVIEW_LINES = 6
"""Lines of a record shown before it is expanded (code pastes are many short lines)."""
MAX_CHARS = 5_000
"""Characters of a record kept in ``report.json`` and shown expanded; the rest is counted."""
N_FIRST = 10
N_SAMPLE = 6
N_GROUPS = 8
N_ASIDE = 20
N_MEMBERS = 12
"""Record numbers listed per group of identical or near-identical records."""
SHORT_WORDS = 20
"""The share of records of this many words or fewer is part of each set's length shift."""
_BLOCK = 2048
_KEPT = frozenset("\n\t\r\u200d")


def visible(text: str) -> str:
    """``text`` with invisible characters spelled out (``<U+200B>``), so an empty-looking
    record shows what it holds; newlines and tabs stay."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        # the zero-width joiner is part of emoji sequences: spelling it out would break them
        if ch in _KEPT or (cat[0] != "C" and cat not in ("Zl", "Zp")):
            out.append(ch)
        else:
            out.append(f"<U+{ord(ch):04X}>")
    return "".join(out)


def preview(text: str, chars: int = PREVIEW_CHARS, lines: int = PREVIEW_LINES) -> str:
    """The start of ``text`` shown before it is expanded: at most ``chars`` characters and
    ``lines`` lines; ``text`` itself when it is that short."""
    cut = text[:chars]
    ends = [i for i, ch in enumerate(cut) if ch == "\n"]
    if len(ends) >= lines:
        cut = cut[: ends[lines - 1]]
    return cut


def record_entry(inputs: ReportInputs, row: int, **extra: Any) -> dict[str, Any]:
    """One record for the page: its embedding row, input record number, words, turns, length
    in characters and text (cut at `MAX_CHARS`), plus ``extra`` fields."""
    assert inputs.records is not None and inputs.words is not None
    row = int(row)
    text = inputs.records.texts[row]
    entry: dict[str, Any] = {
        "row": row,
        "record": int(inputs.records.source_rows([row])[0]),
        "words": int(inputs.words[row]),
        "turns": None if inputs.turns is None else int(inputs.turns[row]),
        "chars": len(text),
        "text": text[:MAX_CHARS],
        "n_cut": max(0, len(text) - MAX_CHARS),
    }
    entry.update(extra)
    return entry


def length_shift(inputs: ReportInputs, rows: np.ndarray | None) -> dict[str, Any] | None:
    """Median words, share of short records and median turns of a set (``rows``; None: all).

    Returns None when the records were not read. Words are `unisel.tokens.content_words`.
    """
    if inputs.words is None:
        return None
    words = inputs.words if rows is None else inputs.words[rows]
    out: dict[str, Any] = {
        "median_words": float(np.median(words)),
        "short_words": SHORT_WORDS,
        "short_pct": 100.0 * float(np.mean(words <= SHORT_WORDS)),
        "median_turns": None,
    }
    if inputs.turns is not None:
        turns = inputs.turns if rows is None else inputs.turns[rows]
        out["median_turns"] = float(np.median(turns))
    return out


def add_ratios(shift: dict[str, Any], full: dict[str, Any]) -> None:
    """Add ``median_words_ratio`` (subset median over the full set's) to ``shift``."""
    base = full["median_words"]
    shift["median_words_ratio"] = shift["median_words"] / base if base > 0 else None


def _sample(rows: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    if rows.size <= size:
        return np.sort(rows)
    return np.sort(rng.choice(rows, size=size, replace=False))


def _rule(preset: str, min_words: Any) -> str:
    """The set-aside rule of a preset in words (``fewer than 4 words or an empty embedding``)."""
    from unisel.options import PRESETS

    p = PRESETS.get(preset)
    if p is None:
        return f"the {preset} preset's rule"
    words = p.min_words if min_words is None else int(min_words)
    parts = [f"fewer than {words} words"] if words > 0 else []
    if p.aside_zero:
        parts.append("an empty embedding")
    return " or ".join(parts) or "none"


def _set_aside(inputs: ReportInputs, s: ReportSet) -> dict[str, Any] | None:
    """The records the subset's preset kept out of the max-min candidates, recomputed with the
    rule the selection flow applies (`unisel.select.candidates.candidates`).

    The manifest counts them (``selector.params.set_aside``) but does not list them.
    """
    counted = s.params.get("set_aside")
    if isinstance(counted, (list, tuple)):
        listed: np.ndarray | None = np.asarray(counted, dtype=np.int64)
        counted = len(counted)
    else:
        listed = None
    if not counted:
        return None
    note = None
    rows = listed
    preset = str(s.params.get("preset", "default"))
    if rows is None:
        from unisel.options import SelectOptions
        from unisel.select.candidates import candidates

        assert inputs.records is not None
        try:
            options = SelectOptions(
                method="maxmin", preset=preset, min_words=s.params.get("min_words")
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the selection has warned already
                rows, _ = candidates(inputs.records, np.asarray(inputs.X), options)
        except UniselError as exc:
            return {
                "count": int(counted),
                "found": None,
                "preset": preset,
                "rule": _rule(preset, s.params.get("min_words")),
                "kept": None,
                "n_shown": 0,
                "records": [],
                "note": f"they could not be found again ({exc})",
            }
        if rows.size != int(counted):
            note = (
                f"the {preset} preset's rule finds {rows.size:,} such records here; the "
                "selection counted otherwise (it may have used other settings, such as "
                "--min-words)"
            )
    assert rows is not None
    kept = np.isin(rows, s.indices)
    shown = rows[:N_ASIDE]
    return {
        "count": int(counted),
        "found": int(rows.size),
        "preset": preset,
        "rule": _rule(preset, s.params.get("min_words")),
        "kept": int(kept.sum()),
        "n_shown": int(shown.size),
        "records": [
            record_entry(inputs, r, kept=bool(k))
            for r, k in zip(shown, kept[:N_ASIDE], strict=True)
        ],
        "note": note,
    }


def _row_groups(keys: np.ndarray) -> list[np.ndarray]:
    """Rows sharing a key, for every key held by more than one row (each group increasing)."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    ends = np.r_[starts[1:], order.size]
    return [order[a:b] for a, b in zip(starts, ends, strict=True) if b - a > 1]


def _row_keys(X: np.ndarray) -> np.ndarray:
    """One opaque key per row, equal for rows equal bit for bit."""
    Xc = np.ascontiguousarray(X).reshape(X.shape[0], -1)
    return Xc.view(np.dtype((np.void, Xc.itemsize * Xc.shape[1]))).ravel()


def _chain(groups: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Edges joining the members of each group in a chain."""
    if not groups:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    a = np.concatenate([g[:-1] for g in groups])
    b = np.concatenate([g[1:] for g in groups])
    return a, b


def duplicate_groups(
    X: np.ndarray,
    digests: np.ndarray | None,
    nn: np.ndarray | None,
    threshold: float,
) -> list[np.ndarray]:
    """Groups of records with identical text or near-identical embeddings, largest first.

    Two records are joined when their texts are equal (``digests``) or their embeddings lie
    within cosine distance ``threshold``; a group is a connected set of such pairs.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    digests : ndarray of shape (n,), dtype V16, or None
        `unisel.metrics.text_digests` of the records.
    nn : ndarray of shape (n,) or None
        Exact cosine distance from each row to its nearest other row: only rows within
        ``threshold`` of another are compared. None: embeddings are joined only when equal bit
        for bit.
    threshold : float

    Returns
    -------
    list of ndarray of int64
        Member rows of each group of two or more (increasing), by size then first row.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = int(X.shape[0])
    heads: list[np.ndarray] = []
    tails: list[np.ndarray] = []
    if digests is not None:
        a, b = _chain(_row_groups(np.asarray(digests)))
        heads.append(a)
        tails.append(b)
    # bit-identical rows are joined whatever their distance (the zero vector has none)
    same = _row_groups(_row_keys(X))
    a, b = _chain(same)
    heads.append(a)
    tails.append(b)
    if nn is not None:
        # float32 distances decide which rows are compared; the comparison is in float64,
        # with one row standing for each set of bit-identical rows
        cand = np.zeros(n, dtype=bool)
        cand[np.flatnonzero(nn <= threshold + 1e-6)] = True
        for g in same:
            cand[g[1:]] = False
        rows = np.flatnonzero(cand)
        R = np.asarray(X[rows], dtype=np.float64)
        norms = np.linalg.norm(R, axis=1)
        R[norms > 0] /= norms[norms > 0, None]
        for lo in range(0, rows.size, _BLOCK):
            sims = R[lo : lo + _BLOCK] @ R.T
            i, j = np.nonzero(1.0 - sims <= threshold)
            i = i + lo
            keep = i < j
            heads.append(rows[i[keep]])
            tails.append(rows[j[keep]])
    a = np.concatenate(heads) if heads else np.empty(0, np.int64)
    b = np.concatenate(tails) if tails else np.empty(0, np.int64)
    if a.size == 0:
        return []
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    groups = _row_groups(labels)
    groups.sort(key=lambda g: (-g.size, int(g[0])))
    return groups


def _group_entry(
    inputs: ReportInputs, members: np.ndarray, subsets: Sequence[ReportSet]
) -> dict[str, Any]:
    assert inputs.text_digests is not None
    assert inputs.records is not None
    distinct = np.unique(inputs.text_digests[members]).size
    return {
        "size": int(members.size),
        "distinct_texts": int(distinct),
        "kept": [int(np.isin(members, s.indices).sum()) for s in subsets],
        "example": record_entry(inputs, members[0]),
        "members": [int(r) for r in inputs.records.source_rows(members[:N_MEMBERS])],
    }


def what_was_chosen(
    inputs: ReportInputs,
    *,
    seed: int,
    nn_full: np.ndarray | None,
    threshold: float,
) -> dict[str, Any]:
    """The content of ``report.json``'s ``chosen`` section (see the module docstring).

    Parameters
    ----------
    inputs : ReportInputs
        With its records read (else only a ``note`` is returned).
    seed : int
        Seed of the random samples of kept and dropped records (one stream per subset).
    nn_full : ndarray of shape (n,) or None
        The full set's exact nearest-neighbour cosine distances; None when they were estimated
        (near-identical then means identical embeddings).
    threshold : float
        Cosine distance at or below which two records are near-identical.

    Returns
    -------
    dict
        ``{"note", "preview_chars", "max_chars", "sets": [...], "groups": {...}}``.
    """
    out: dict[str, Any] = {
        "note": None,
        "preview_chars": PREVIEW_CHARS,
        "preview_lines": PREVIEW_LINES,
        "max_chars": MAX_CHARS,
        "sets": [],
        "groups": None,
    }
    if inputs.records is None:
        out["note"] = inputs.records_note or inputs.length_note or "the records were not read"
        return out
    n = inputs.n
    for i, s in enumerate(inputs.sets):
        rng = np.random.default_rng([seed, i])
        first: list[dict[str, Any]] | None = None
        if s.distances is not None:
            first = [
                record_entry(inputs, r, distance=float(d))
                for r, d in zip(s.indices[:N_FIRST], s.distances[:N_FIRST], strict=True)
            ]
        dropped = np.ones(n, dtype=bool)
        dropped[s.indices] = False
        out["sets"].append(
            {
                "name": s.name,
                "size": int(s.indices.size),
                "n_dropped": int(n - s.indices.size),
                "first_picks": first,
                "kept_sample": [record_entry(inputs, r) for r in _sample(s.indices, N_SAMPLE, rng)],
                "dropped_sample": [
                    record_entry(inputs, r) for r in _sample(np.flatnonzero(dropped), N_SAMPLE, rng)
                ],
                "set_aside": _set_aside(inputs, s),
            }
        )
    groups = duplicate_groups(inputs.X, inputs.text_digests, nn_full, threshold)
    out["groups"] = {
        "threshold": float(threshold),
        "embeddings_compared": "pairs" if nn_full is not None else "identical",
        "count": len(groups),
        "n_records": int(sum(g.size for g in groups)),
        "shown": [_group_entry(inputs, g, inputs.sets) for g in groups[:N_GROUPS]],
    }
    return out
