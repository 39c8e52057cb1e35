"""The jobs behind ``unisel select`` and ``unisel metrics`` in keyword form.

The flows themselves live in :mod:`unisel.flows` and take typed option objects
(:mod:`unisel.options`); this module is the keyword API users call from a notebook, one keyword
per command-line flag::

    import unisel.pipeline as up
    result = up.select_file("data.jsonl", k=5000, output="subset.jsonl")   # = unisel select
    report = up.metrics_file("data.jsonl", subsets=["subset.jsonl"])        # = unisel metrics

Each keyword belongs to exactly one option object (`options_from_keywords` says which); an
unknown keyword is a TypeError, as for any Python function. The stage functions are
re-exported from :mod:`unisel.flows` so that they can be called (and tested) on their own.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from unisel.flows.extend import extension_distances, extension_embedder, selection_size
from unisel.flows.metrics import metrics_embeddings
from unisel.flows.metrics import metrics_file as _metrics_file
from unisel.flows.outputs import check_output, write_selection
from unisel.flows.select import DatasetSelection, SelectResult, candidates
from unisel.flows.select import select_dataset as _select_dataset
from unisel.flows.select import select_file as _select_file
from unisel.flows.select import select_records as _select_records
from unisel.flows.stages import (
    check_embeddings,
    load_embeddings,
    record_tokens,
    selection_manifest,
    subset_h_min,
)
from unisel.flows.stages import run_selector as _run_selector
from unisel.flows.subsets import named_subsets, record_position, subset_indices, subset_of
from unisel.flows.timing import StageTimer
from unisel.manifest import Manifest
from unisel.options import (
    DEFAULT_EMBEDDER,
    EmbedOptions,
    MetricsOptions,
    OutputOptions,
    ReadOptions,
    SelectOptions,
)
from unisel.select import Selection
from unisel.tokens import TokenCounts

# keyword -> (option class, field): the one table that maps the flat API onto the options
_RENAMED = {"embedder_params": "params", "output": "path"}
_OPTION_CLASSES = (ReadOptions, EmbedOptions, SelectOptions, OutputOptions)
_KEYWORDS: dict[str, tuple[type, str]] = {}
for _cls in _OPTION_CLASSES:
    for _f in dataclasses.fields(_cls):
        _KEYWORDS[next((k for k, v in _RENAMED.items() if v == _f.name), _f.name)] = (
            _cls,
            _f.name,
        )


def options_from_keywords(
    keywords: dict[str, Any], function: str
) -> tuple[ReadOptions, EmbedOptions, SelectOptions, OutputOptions]:
    """Split flat keywords into the four option objects (validated by their constructors).

    ``embedder_params`` is `EmbedOptions.params`, ``output`` is `OutputOptions.path`,
    ``selector_params`` is `SelectOptions.selector_params`; every other keyword has the name of
    its field. None for a dict field means empty.

    Raises
    ------
    TypeError
        A keyword that no option has.
    """
    values: dict[type, dict[str, Any]] = {cls: {} for cls in _OPTION_CLASSES}
    for key, value in keywords.items():
        if key not in _KEYWORDS:
            raise TypeError(f"{function}() got an unexpected keyword argument {key!r}")
        cls, name = _KEYWORDS[key]
        if name in ("params", "selector_params") and value is None:
            value = {}
        values[cls][name] = value
    return (
        ReadOptions(**values[ReadOptions]),
        EmbedOptions(**values[EmbedOptions]),
        SelectOptions(**values[SelectOptions]),
        OutputOptions(**values[OutputOptions]),
    )


def select_file(input: Any, *, quiet: bool = False, **keywords: Any) -> SelectResult:
    """`unisel.flows.select_file` with one keyword per ``unisel select`` flag.

    Keywords: ``output`` (required), ``k``/``fraction``/``tokens``, ``method``, ``embedder``,
    ``embedder_params``, ``seed``, ``start``, ``preset`` (``"default"`` or ``"paper"``),
    ``outliers``, ``min_words``, ``metric``, ``length_buckets``, ``tokenizer``, ``extend``,
    ``checkpoint``, ``device``, ``scheduler``/``workers``/``mode``, ``selector_params``,
    ``schema``/``text_field``/``split``/``skip_empty``, ``cache_dir``, ``order``; see
    :class:`unisel.options.SelectOptions` and the other option classes.
    """
    read, embed, select, output = options_from_keywords(keywords, "select_file")
    return _select_file(input, read=read, embed=embed, select=select, output=output, quiet=quiet)


def select_records(
    records: Any, *, timer: StageTimer | None = None, quiet: bool = False, **keywords: Any
) -> tuple[Selection, Manifest]:
    """`unisel.flows.select_records` with `select_file`'s keywords (nothing is written)."""
    _, embed, select, output = options_from_keywords(keywords, "select_records")
    return _select_records(records, embed, select, output=output, timer=timer, quiet=quiet)


def select_dataset(
    data: Any, *, order: str = "input", quiet: bool = False, **keywords: Any
) -> DatasetSelection:
    """`unisel.flows.select_dataset` with `select_file`'s keywords (no ``output``)."""
    read, embed, select, _ = options_from_keywords(keywords, "select_dataset")
    return _select_dataset(data, read=read, embed=embed, select=select, order=order, quiet=quiet)


def metrics_file(input: Any, *, subsets: Any = (), quiet: bool = False, **keywords: Any) -> Any:
    """`unisel.flows.metrics_file` with one keyword per ``unisel metrics`` flag.

    Keywords: ``embedder``, ``embedder_params``, ``cache_dir``, ``seed``, ``schema``,
    ``text_field``, ``split``, ``skip_empty``, ``near_duplicate_threshold``, ``exact_limit``,
    ``approximate``, ``sample_size``.
    """
    fields = {f.name for f in dataclasses.fields(MetricsOptions)}
    given = {k: v for k, v in keywords.items() if k in fields and k != "seed"}
    seed = keywords.pop("seed", 0)
    read, embed, _, _ = options_from_keywords(
        {k: v for k, v in keywords.items() if k not in fields}, "metrics_file"
    )
    return _metrics_file(
        input,
        subsets=subsets,
        read=read,
        embed=embed,
        metrics=MetricsOptions(**given, seed=seed),
        quiet=quiet,
    )


def run_selector(
    X: np.ndarray,
    total: int,
    method: str = "maxmin",
    *,
    start: int | None = None,
    initial: list[int] | None = None,
    token_budget: int | None = None,
    token_counts: TokenCounts | None = None,
    set_aside: np.ndarray | None = None,
    quiet: bool = False,
    **keywords: Any,
) -> Selection:
    """`unisel.flows.stages.run_selector` on embedding rows, with flat keywords.

    ``start`` and ``initial`` are embedding rows here. The stage alone runs the selector as
    given: ``preset`` defaults to ``"paper"`` (every row a candidate) unless passed.
    """
    keywords.setdefault("preset", "paper")
    _, _, select, _ = options_from_keywords(
        {**keywords, "method": method, "tokens": token_budget}, "run_selector"
    )
    return _run_selector(
        X,
        total,
        select,
        start_row=start,
        initial=initial,
        token_counts=token_counts,
        set_aside=set_aside,
        quiet=quiet,
    )


__all__ = [
    "DEFAULT_EMBEDDER",
    "DatasetSelection",
    "SelectResult",
    "StageTimer",
    "candidates",
    "check_embeddings",
    "check_output",
    "extension_distances",
    "extension_embedder",
    "load_embeddings",
    "metrics_embeddings",
    "metrics_file",
    "named_subsets",
    "options_from_keywords",
    "record_position",
    "record_tokens",
    "run_selector",
    "select_dataset",
    "select_file",
    "select_records",
    "selection_manifest",
    "selection_size",
    "subset_h_min",
    "subset_indices",
    "subset_of",
    "write_selection",
]
