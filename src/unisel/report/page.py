"""The HTML page: one self-contained file (figures inlined as base64 PNG, no network).

Every number on the page is wrapped as ``<span class="num" data-json="/json/pointer">``, the
pointer naming where the value sits in ``report.json``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from unisel._templates import environment
from unisel.report.chosen import PREVIEW_CHARS, PREVIEW_LINES, preview, visible
from unisel.report.summary import Num, Part, format_number

TEMPLATES = Path(__file__).parent / "templates"

# (metrics key, column label, display kind, which value is better among subsets, tooltip)
COLUMNS: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("size", "records", "int", None, "number of records in the set"),
    (
        "h_min_cosine",
        "h_min (cosine)",
        "dist",
        "max",
        "smallest cosine distance between two records of the set: larger is more uniform",
    ),
    (
        "h_min_euclidean",
        "h_min (Euclidean)",
        "dist",
        "max",
        "smallest Euclidean distance between two embedding vectors of the set",
    ),
    (
        "nn_mean",
        "mean NN distance",
        "dist",
        "max",
        "mean cosine distance from a record to its nearest other record in the set",
    ),
    (
        "nn_median",
        "median NN distance",
        "dist",
        "max",
        "median cosine distance from a record to its nearest other record in the set",
    ),
    (
        "covering_radius",
        "covering radius",
        "dist",
        "min",
        "largest cosine distance from a record of the full set to its nearest record of the set: "
        "smaller covers better",
    ),
    (
        "n_identical_texts",
        "identical text (extra copies)",
        "int",
        "min",
        "records whose text equals that of an earlier record of the set (n/a: the records "
        "were not read)",
    ),
    (
        "n_identical_embeddings",
        "identical embedding (extra copies)",
        "int",
        "min",
        "records whose embedding equals, bit for bit, that of an earlier record of the set",
    ),
    (
        "n_near_duplicates",
        "near duplicates",
        "int",
        "min",
        "records with another record of the set at a tiny cosine distance",
    ),
)


def num_span(pointer: str, value: Any, kind: str = "dist") -> Markup:
    """A number marked with the ``report.json`` pointer it comes from."""
    return Markup('<span class="num" data-json="{}" data-kind="{}">{}</span>').format(
        pointer, kind, format_number(value, kind)
    )


def render_parts(parts: Sequence[Part]) -> Markup:
    """A summary sentence as HTML, its numbers marked."""
    html = Markup("")
    for p in parts:
        html += num_span(p.pointer, p.value, p.kind) if isinstance(p, Num) else escape(p)
    return html


def _best_rows(sets: Sequence[Mapping[str, Any]], full_name: str) -> dict[str, set[int]]:
    """For each column, the subset rows holding the best value (none when all are equal)."""
    out: dict[str, set[int]] = {}
    subs = [i for i, s in enumerate(sets) if s["name"] != full_name]
    for key, _, _, better, _ in COLUMNS:
        if better is None or len(subs) < 2:
            continue
        vals = {i: sets[i]["metrics"].get(key) for i in subs}
        finite = {i: float(v) for i, v in vals.items() if v is not None and math.isfinite(float(v))}
        if len(set(finite.values())) < 2:
            continue
        target = max(finite.values()) if better == "max" else min(finite.values())
        out[key] = {i for i, v in finite.items() if v == target}
    return out


def plural(count: Any, word: str) -> str:
    """``word`` for a count of one, else ``word + "s"``."""
    return word if count == 1 else word + "s"


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_page(
    report: Mapping[str, Any],
    summary_sentences: Sequence[Sequence[Part]],
    figures: Sequence[Mapping[str, Any]],
) -> str:
    """The report page.

    Parameters
    ----------
    report : mapping
        The content of ``report.json``.
    summary_sentences : sequence of sentences (sequences of str and Num)
    figures : sequence of mappings
        ``{"id", "title", "caption" (Markup or str), "png" (bytes), "alt"}`` in page order.

    Returns
    -------
    str
        The complete HTML document.
    """
    env = environment(TEMPLATES)
    env.globals["num"] = num_span
    env.globals["render_parts"] = render_parts
    env.globals["data_uri"] = data_uri
    env.globals["visible"] = visible
    env.globals["preview"] = preview
    env.globals["plural"] = plural
    env.globals["preview_chars"] = PREVIEW_CHARS
    env.globals["preview_lines"] = PREVIEW_LINES
    full_name = report["full_name"]
    columns = COLUMNS
    if report.get("length_unit"):
        unit = str(report["length_unit"]).split(" ")[0]
        columns = COLUMNS + (
            ("length_mean", f"mean {unit}", "ratio", None, f"mean {unit} per record"),
            ("length_median", f"median {unit}", "ratio", None, f"median {unit} per record"),
        )
    return env.get_template("page.html").render(
        report=report,
        sets=report["sets"],
        columns=columns,
        best=_best_rows(report["sets"], full_name),
        summary=summary_sentences,
        figures=figures,
        full_name=full_name,
        chosen=report.get("chosen"),
        colors={s["name"]: s["color"] for s in report["sets"]},
    )
