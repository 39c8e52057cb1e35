"""Which records are max-min candidates: the preset's set-aside rule.

The embedding cannot see some records: a text of a word or two, or one whose embedding is the
zero vector (every word unknown to the embedder), looks the same as every other such record
and lies at the edge of the space, where max-min picks first. The robust presets keep them
out of the candidates; they are counted in the manifest and come after every admitted
record if k asks for them. The selection flow (`unisel.flows.select`) and the report's
chosen-records page (`unisel.report.chosen`) apply the same rule from here.
"""

from __future__ import annotations

import warnings

import numpy as np

from unisel.embed import zero_rows
from unisel.io import RecordSet
from unisel.options import SelectOptions
from unisel.tokens import content_words

__all__ = ["MAX_SHORT_SHARE", "candidates"]


MAX_SHORT_SHARE = 0.5
"""Above this share of short records the word minimum is not applied (only empty records)."""


def candidates(
    records: RecordSet, vectors: np.ndarray, select: SelectOptions
) -> tuple[np.ndarray, int]:
    """Rows set aside by the preset (what the embedding cannot see), as increasing int64 rows,
    and the word minimum applied (the preset's, 1 where most records are short, 0 when off).

    Records with fewer than ``min_words`` words (:func:`unisel.tokens.content_words`:
    whitespace, zero-width or punctuation-only text counts 0) and, with ``aside_zero``, records
    whose embedding is the zero vector (before `unisel.embed.lift_zero_rows`) are not max-min
    candidates; they are counted in the manifest (``selector.params.set_aside``) and come
    after every admitted record if k asks for them.
    """
    if not select.robust:
        return np.empty(0, dtype=np.int64), 0
    rule = select.resolved
    aside = np.zeros(len(records), dtype=bool)
    applied = rule.min_words
    if rule.min_words > 0:
        words = content_words(records.texts)
        few = words < rule.min_words
        if few.mean() > MAX_SHORT_SHARE:  # a corpus of short texts: short is not junk here
            warnings.warn(
                f"{few.mean():.0%} of the records have fewer than {rule.min_words} words: "
                "only empty ones are set aside (--min-words 0 to silence)",
                stacklevel=3,
            )
            applied = 1
            few = words < 1
        aside |= few
    if rule.aside_zero:
        aside |= zero_rows(vectors)
    return np.flatnonzero(aside).astype(np.int64), applied
