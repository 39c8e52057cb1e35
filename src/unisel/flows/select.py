"""The selection flow: read -> embed -> select -> metrics -> write, one path for every caller."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from unisel.errors import InputError, ParameterError
from unisel.flows.extend import extension_distances, extension_embedder, selection_size
from unisel.flows.outputs import check_output, write_selection
from unisel.flows.stages import (
    _warn_repeats,
    check_embeddings,
    load_embeddings,
    read_input,
    record_tokens,
    run_selector,
    selection_manifest,
    subset_h_min,
)
from unisel.flows.subsets import record_position, subset_of
from unisel.flows.timing import StageTimer
from unisel.io import RecordSet
from unisel.io.atomic import check_writable
from unisel.manifest import (
    Manifest,
    load_manifest,
)
from unisel.options import EmbedOptions, OutputOptions, ReadOptions, SelectOptions
from unisel.select import Selection
from unisel.select.candidates import candidates
from unisel.tokens import TokenCounts


@dataclass
class DatasetSelection:
    """What `select_dataset` produced.

    Attributes
    ----------
    subset : datasets.Dataset or pandas.DataFrame
        The selected records, of the input's type: ``dataset.select(indices)`` or
        ``df.iloc[indices]`` (the DataFrame's index labels are kept).
    indices : ndarray of shape (k,), int64
        Row numbers of the input (of the split, for a ``DatasetDict``) in ``subset``'s order.
    selection : Selection
        The selector's output (positions into the records with text, in selection order).
    manifest : Manifest
        As `select_file` writes it; ``input["in_memory"]`` is True, ``input["sha256"]`` is the
        hash of the rendered texts and ``output["path"]`` is None. Save it with
        ``Path(p).write_text(manifest.to_json())``.
    timings : StageTimer
    """

    subset: Any
    indices: np.ndarray
    selection: Selection
    manifest: Manifest
    timings: StageTimer


@dataclass
class SelectResult:
    """What `select_file` produced."""

    selection: Selection
    manifest: Manifest
    output: Path
    manifest_path: Path
    timings: StageTimer


def select_records(
    records: RecordSet,
    embed: EmbedOptions,
    select: SelectOptions,
    *,
    output: OutputOptions | None = None,
    token_counts: TokenCounts | None = None,
    timer: StageTimer | None = None,
    quiet: bool = False,
) -> tuple[Selection, Manifest]:
    """Select from records already read, without writing anything.

    The stages: `selection_size` -> `record_tokens` (with ``tokens``, ``tokenizer`` or
    ``length_buckets``) -> `load_embeddings` -> `candidates` -> `run_selector` ->
    `subset_h_min` -> `selection_manifest`. ``output`` only goes into the manifest. ``timer``
    (a fresh one by default) records the ``embed``, ``select`` and ``metrics`` stages.

    Parameters
    ----------
    records : RecordSet
        What `unisel.io.read_records` returned.
    embed : EmbedOptions
        The embedder; None takes ``word2vec`` (with the preset's pooling), or with
        ``select.extend`` the manifest's embedder, which a given one must match.
    select : SelectOptions
        What to select; ``select.start`` is an input record number (see `record_position`).
    output : OutputOptions or None
        Where the subset will be written (recorded in the manifest).
    token_counts : TokenCounts or None
        Counts to budget and bucket with instead of counting with ``select.tokenizer`` (the
        experiment's training tokens); one per record.

    Returns
    -------
    selection : Selection
        Positions into ``records.texts`` (map them with ``records.source_rows``).
    manifest : Manifest
        The selection's manifest, with ``timings`` so far.
    """
    timer = timer if timer is not None else StageTimer()
    buckets, why_not = select.effective_length_buckets()
    if why_not is not None:
        warnings.warn(f"{why_not}: the subset may not keep the input's lengths", stacklevel=2)
    o = replace(select, length_buckets=buckets)
    total, initial = selection_size(
        records,
        o.k,
        o.fraction,
        method=o.method,
        extend=o.extend,
        metric=o.metric,
        tokens=o.tokens,
    )
    spec, embed_seed, embed_settings = embed.spec(), o.seed, preset_embedder_params(embed, o)
    previous: Manifest | None = None
    if o.extend is not None:
        previous = o.extend if isinstance(o.extend, Manifest) else load_manifest(o.extend)
        label = "extend" if isinstance(o.extend, Manifest) else str(o.extend)
        spec, embed_seed, embed_settings = extension_embedder(
            previous, embed.embedder, seed=o.seed, embedder_params=embed_settings, label=label
        )
        first = previous.indices[0] if previous.indices else None
        if o.start is not None and first is not None and int(o.start) != int(first):
            raise ParameterError(
                f"{label}: the selection starts at record {first}, not at --start {o.start}; "
                "leave out --start to extend it"
            )
    start_row = None if o.start is None else record_position(records, o.start)
    counts = token_counts
    if counts is not None:
        if len(counts.counts) != len(records):
            raise ParameterError(f"{len(counts.counts)} token counts for {len(records)} records")
    elif o.tokens is not None or o.tokenizer is not None or o.length_buckets is not None:
        with timer("tokens"):  # before embedding: a bad tokenizer fails fast
            counts = record_tokens(records, o.tokenizer, quiet=quiet)
    with timer("embed"):
        emb = load_embeddings(
            records,
            spec,
            cache_dir=embed.cache_dir,
            seed=embed_seed,
            quiet=quiet,
            embedder_params=embed_settings,
        )
    check_embeddings(emb, len(records), spec)
    with timer("select"):
        aside, min_words = candidates(records, emb.vectors, o)
        selection = run_selector(
            emb.vectors,
            total,
            o,
            start_row=start_row,
            initial=initial,
            token_counts=counts,
            set_aside=aside,
            quiet=quiet,
        )
        if previous is not None and initial:
            selection.distances = extension_distances(
                selection.distances, previous, emb.vectors, initial, o.metric
            )
        selection.params["preset"] = o.preset
        if o.robust:  # the rule as applied, so that the report can find the records again
            selection.params.update(min_words=min_words, aside_zero=o.resolved.aside_zero)
    with timer("metrics"):
        hmin = subset_h_min(emb.vectors, selection.indices)
        _warn_repeats(emb.vectors, selection.indices, o.method)
    out = output if output is not None else OutputOptions()
    manifest = selection_manifest(
        records, emb, selection, output=out.path, order=out.order, seed=o.seed, h_min=hmin
    )
    manifest.timings = timer.rounded()
    return selection, manifest


def preset_embedder_params(embed: EmbedOptions, select: SelectOptions) -> dict[str, Any]:
    """The embedder settings with the preset's word2vec pooling where the user left it open."""
    params = dict(embed.params)
    if embed.spec() == "word2vec" and select.extend is None:
        params.setdefault("pooling", select.resolved.pooling)
        if params["pooling"] == "mean":  # the paper's vectors: the cache key they always had
            del params["pooling"]
    return params


def select_file(
    input: str | os.PathLike[str],
    *,
    read: ReadOptions,
    embed: EmbedOptions,
    select: SelectOptions,
    output: OutputOptions,
    quiet: bool = False,
) -> SelectResult:
    """Select a subset of a data set and write it in the input's format, with a manifest.

    The stages: `check_output`, `unisel.io.read_records`, `select_records`,
    `write_selection`. For an in-memory ``datasets.Dataset`` or ``pandas.DataFrame``, use
    `select_dataset`.

    Parameters
    ----------
    input : path or str
        Data file, ``save_to_disk`` folder, hub name or ``example:sharegpt``.
    read, embed, select, output : options
        What to read, how to embed, what to select, where to write (``output.path``; the
        manifest goes to ``<path>.manifest.json``).

    Returns
    -------
    SelectResult
    """
    if not isinstance(input, (str, os.PathLike)):
        raise ParameterError(
            "select_file reads a path and writes a file; for an in-memory datasets.Dataset or "
            "pandas.DataFrame use unisel.pipeline.select_dataset"
        )
    if output.path is None:
        raise ParameterError("select_file needs an output path")
    timer = StageTimer()
    check_output(Path(input), output.path, output.order, checkpoint=select.checkpoint)
    records = read_input(input, read, timer, quiet)
    if len(records) == 0:
        raise InputError(f"{input}: no records")
    path = Path(output.path)
    selection, manifest = select_records(
        records, embed, select, output=replace(output, path=path), timer=timer, quiet=quiet
    )
    mpath = write_selection(
        records, selection, manifest, path, order=output.order, timer=timer, quiet=quiet
    )
    return SelectResult(
        selection=selection, manifest=manifest, output=path, manifest_path=mpath, timings=timer
    )


def select_dataset(
    data: Any,
    *,
    read: ReadOptions,
    embed: EmbedOptions,
    select: SelectOptions,
    order: str = "input",
    quiet: bool = False,
) -> DatasetSelection:
    """Select a subset of an in-memory ``datasets.Dataset`` or ``pandas.DataFrame``.

    The same flow as `select_file` (`select_records`), returning the subset instead of
    writing it: ``dataset.select(indices)`` / ``df.iloc[indices]`` (`subset_of`) in ``order``
    (``"input"`` or ``"selection"``).

    Returns
    -------
    DatasetSelection
        ``subset`` of the input's type, the input row numbers and the manifest.

    Raises
    ------
    ParameterError
        ``data`` is not a Dataset or DataFrame (a path: use `select_file`), or a bad size.
    InputError
        No schema fits, a text field is missing, or a row has no text (see ``skip_empty``).
    """
    from unisel.io import is_in_memory

    if not is_in_memory(data):
        raise ParameterError(
            "select_dataset takes a datasets.Dataset or a pandas.DataFrame, got "
            f"{type(data).__name__}"
            + ("; for a file use select_file" if isinstance(data, (str, os.PathLike)) else "")
        )
    out = OutputOptions(order=order)
    if select.checkpoint is not None:
        check_writable(select.checkpoint, what="--checkpoint")
    timer = StageTimer()
    records = read_input(data, read, timer, quiet)
    selection, manifest = select_records(
        records, embed, select, output=out, timer=timer, quiet=quiet
    )
    with timer("subset"):
        rows = records.source_rows(selection.indices)
        if order == "input":
            rows = np.sort(rows)
        subset = subset_of(records, rows)
    manifest.timings = timer.rounded()
    return DatasetSelection(
        subset=subset, indices=rows, selection=selection, manifest=manifest, timings=timer
    )
