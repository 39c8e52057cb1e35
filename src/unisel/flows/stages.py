"""The stages of a selection, each callable on its own: embeddings, token counts, the selector
(in this process or on a Dask cluster), the subset's h_min, the manifest."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unisel import __version__
from unisel.embed import Embeddings, embed_texts
from unisel.errors import InputError, ParameterError
from unisel.flows.timing import StageTimer
from unisel.io import RecordSet, read_records
from unisel.manifest import (
    Manifest,
    distances_to_json,
    library_versions,
)
from unisel.metrics import (
    count_exact_duplicates,
)
from unisel.metrics.neighbors import h_min
from unisel.options import ReadOptions, SelectOptions
from unisel.select import Selection, select
from unisel.select.engine import check_metric
from unisel.tokens import TokenCounts, count_tokens


def load_embeddings(
    records: RecordSet,
    embedder: str = "word2vec",
    *,
    cache_dir: str | Path | None | bool = None,
    seed: int = 0,
    quiet: bool = False,
    embedder_params: dict[str, Any] | None = None,
) -> Embeddings:
    """Embed the texts of ``records`` (from the cache when it has them).

    Returns
    -------
    Embeddings with ``vectors`` of shape (len(records), dim).
    """
    return embed_texts(
        records.texts,
        embedder,
        cache_dir=cache_dir,
        seed=seed,
        quiet=quiet,
        **(embedder_params or {}),
    )


def record_tokens(
    records: RecordSet, tokenizer: str | None = None, *, quiet: bool = False
) -> TokenCounts:
    """Token count of every record's rendered text (``records.texts``).

    Parameters
    ----------
    records : RecordSet
    tokenizer : str or None
        ``None``/``"whitespace"`` (words) or a tokenizer name (see `unisel.tokens`).

    Returns
    -------
    TokenCounts with ``counts`` of shape (len(records),).

    Raises
    ------
    InputError
        The tokenizer cannot be loaded.
    """
    return count_tokens(records.texts, tokenizer, quiet=quiet)


def check_embeddings(emb: Embeddings, n: int, embedder: str) -> None:
    """Raise `InputError` unless ``emb`` holds one row per record (``n`` rows)."""
    if emb.n != n:
        raise InputError(f"{embedder}: {emb.n} embeddings for {n} records")


def run_selector(
    X: np.ndarray,
    total: int,
    options: SelectOptions,
    *,
    start_row: int | None = None,
    initial: list[int] | None = None,
    token_counts: TokenCounts | None = None,
    set_aside: np.ndarray | None = None,
    quiet: bool = False,
) -> Selection:
    """Run the selector of ``options`` on the embedding rows, in this process or on Dask.

    Parameters
    ----------
    X : ndarray of shape (n, dim)
        The embeddings.
    total : int
        Number of rows to select (the ``initial`` ones included).
    options : SelectOptions
        The method, seed, metric, device, checkpoint, token budget, length buckets, selector
        settings, cluster and the preset's outlier rule.
    start_row : int or None
        Embedding row of the first maxmin record (``options.start`` is an input record number).
    initial : list of int or None
        Embedding rows of a selection to continue.
    token_counts : TokenCounts or None
        Counts of every row: the budget's (``options.tokens``), the buckets' lengths, or only
        recorded in ``Selection.tokens``.
    set_aside : ndarray of int or None
        Rows that are not maxmin candidates (what the embedding cannot see).

    Returns
    -------
    Selection
        ``total`` row indices into ``X`` (or as many as the budget holds), in selection order.
    """
    o = options
    method, metric = o.method, o.metric
    check_metric(metric)
    if metric != "cosine" and method != "maxmin":
        raise ParameterError(f"--metric {metric} applies to --method maxmin only, not {method!r}")
    on_cluster = o.scheduler is not None or o.workers is not None
    if (o.tokens is not None or o.length_buckets is not None) and on_cluster:
        raise ParameterError(
            "--tokens and --length-buckets run in one process; drop --scheduler/--workers"
        )
    if o.length_buckets is not None and method != "maxmin":
        raise ParameterError(f"--length-buckets applies to --method maxmin only, not {method!r}")
    if on_cluster:
        return _select_on_cluster(X, total, o, start_row=start_row, initial=initial, quiet=quiet)
    params: dict[str, Any] = check_selector_params(method, o.selector_params)
    if initial is not None:
        params.update(initial=initial)
    if method == "maxmin":
        params.update(
            start=start_row, device=o.device, checkpoint=o.checkpoint, metric=metric, quiet=quiet
        )
        if o.robust:
            rule = o.resolved
            params.setdefault("outliers", rule.outliers)
            if set_aside is not None and set_aside.size:
                params.setdefault("set_aside", set_aside.tolist())
    if o.length_buckets is not None:
        params.update(length_buckets=o.length_buckets)
    if o.tokens is not None:
        return select(
            X,
            method=method,
            random_state=o.seed,
            token_budget=o.tokens,
            token_counts=token_counts,
            **params,
        )
    if o.length_buckets is not None:
        params.update(token_counts=token_counts)
    selection = select(X, total, method, random_state=o.seed, **params)
    if token_counts is not None:  # counted but not budgeted: record the counts
        per = token_counts.counts[selection.indices]
        selection.tokens = {
            "tokenizer": token_counts.tokenizer,
            "budget": None,
            "total": int(per.sum()),
            "per_record": [int(c) for c in per],
        }
    return selection


def subset_h_min(X: np.ndarray, indices: Sequence[int] | np.ndarray) -> dict[str, float | None]:
    """h_min of the rows ``indices`` of ``X``, in cosine and Euclidean distance.

    Returns
    -------
    dict
        ``{"cosine": float | None, "euclidean": float | None}``; None where h_min is not finite
        (fewer than two rows), as the manifest stores it.
    """
    sub = np.asarray(X[np.sort(np.asarray(indices, dtype=np.int64))])
    out: dict[str, float | None] = {}
    for metric in ("cosine", "euclidean"):
        value = h_min(sub, metric=metric)
        out[metric] = float(value) if np.isfinite(value) else None
    return out


def selection_manifest(
    records: RecordSet,
    emb: Embeddings,
    selection: Selection,
    *,
    output: str | Path | None,
    order: str = "input",
    seed: int = 0,
    h_min: dict[str, float | None] | None = None,
) -> Manifest:
    """The manifest of a selection: input, output, embedder, selector, indices, h_min.

    Parameters
    ----------
    records : RecordSet
        The input the selection was made from.
    emb : Embeddings
        Its embeddings.
    selection : Selection
        Row indices into ``records`` (positions into ``records.texts``).
    output : path or None
        Where the subset is written (stored resolved); None when it is returned in memory.
    order : {"input", "selection"}
        Record order of the written subset.
    seed : int
        The run's seed.
    h_min : dict or None
        As `subset_h_min` returns it.

    Returns
    -------
    Manifest
        Without timings (`write_selection` adds them).
    """
    source: dict[str, Any] = {
        "source": records.source,
        "format": records.format,
        "schema": records.schema,
        "text_field": records.text_field,
        "n_records": len(records),
        "n_dropped": records.n_dropped,
        "n_skipped": records.n_skipped,
        "sha256": records.content_hash,
    }
    if records.in_memory:
        source["in_memory"] = True
    params = _jsonable(selection.params)
    if params.get("start") is not None:  # one numbering in the manifest: input records
        params["start"] = int(records.source_rows([params["start"]])[0])
    path = None if output is None else str(Path(output).resolve())
    return Manifest(
        input=source,
        output={"path": path, "format": records.format, "order": order},
        embedder={
            "method": emb.method,
            "params": emb.params,
            "dim": emb.dim,
            "cache_path": None if emb.cache_path is None else str(emb.cache_path),
        },
        selector={"method": selection.method, "params": params},
        k=selection.k,
        seed=seed,
        indices=[int(i) for i in records.source_rows(selection.indices)],
        embedding_indices=None
        if records.source_index is None
        else [int(i) for i in selection.indices],
        distances=distances_to_json(selection.distances),
        tokens=selection.tokens,
        h_min=dict(h_min or {}),  # type: ignore[arg-type]
        versions=library_versions(),
        unisel_version=__version__,
    )


def _warn_repeats(X: np.ndarray, indices: Sequence[int] | np.ndarray, method: str) -> None:
    """One warning line when selected records repeat an embedding (their h_min is then 0)."""
    k = len(indices)
    copies = count_exact_duplicates(np.asarray(X[np.sort(np.asarray(indices, dtype=np.int64))]))
    if copies == 0:
        return
    if copies == k - 1:
        what = f"all {k:,} selected records have one and the same embedding (h_min 0)"
    else:
        what = (
            f"{copies:,} of the {k:,} selected records repeat the embedding of another selected "
            "record (h_min 0)"
        )
    if method == "maxmin":  # it repeats an embedding only once every distinct one is taken
        distinct = int(X.shape[0]) - count_exact_duplicates(np.asarray(X))
        if distinct < k:
            what += (
                f": the input has only {distinct:,} distinct "
                f"embedding{'s' if distinct != 1 else ''} for {k:,} records"
            )
    warnings.warn(what, stacklevel=3)


# Set by the flow from other options; --select-opt may not set them behind their flags' back.
_FLOW_OWNED = (
    "n_samples",
    "random_state",
    "start",
    "initial",
    "device",
    "checkpoint",
    "metric",
    "quiet",
    "length_buckets",
    "lengths",
    "set_aside",
    "token_counts",
)


def check_selector_params(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` (``--select-opt``) checked against the selector's own settings.

    Raises
    ------
    ParameterError
        One line naming the unknown (or flag-owned) setting and the ones the selector has.
    """
    import inspect

    from unisel.select import SELECTORS

    known = [
        name
        for name in inspect.signature(SELECTORS.get(method).__init__).parameters
        if name != "self" and name not in _FLOW_OWNED
    ]
    for key in params:
        if key not in known:
            raise ParameterError(
                f"--select-opt {key}: not a setting of {method}"
                + (f"; its settings: {', '.join(known)}" if known else " (it has none)")
            )
    return dict(params)


def read_input(source: Any, read: ReadOptions, timer: StageTimer, quiet: bool) -> RecordSet:
    """The read stage: `unisel.io.read_records` with the settings of ``read``, timed as
    ``"read"``."""
    with timer("read"):
        return read_records(
            source,
            schema=read.schema,
            text_field=read.text_field,
            split=read.split,
            skip_empty=read.skip_empty,
            quiet=quiet,
        )


def _select_on_cluster(
    X: np.ndarray,
    k: int,
    options: SelectOptions,
    *,
    start_row: int | None,
    initial: list[int] | None,
    quiet: bool,
) -> Selection:
    """Greedy max-min on a Dask cluster, as a `Selection` like the single-process one: the
    same candidates (the preset's admission) and the same start rule."""
    from unisel.distributed import dask_client, select_distributed

    o = options
    if o.method != "maxmin":
        raise ParameterError(f"--scheduler/--workers run maxmin only, not {o.method!r}")
    if o.metric != "cosine":  # before a cluster is started for nothing
        raise ParameterError(
            f"--scheduler/--workers run metric cosine only, not {o.metric!r}; "
            "run --metric euclidean without them"
        )
    if o.mode != "exact" and (initial or o.checkpoint is not None):
        raise ParameterError("--extend and --checkpoint need --mode exact")
    n = int(X.shape[0])
    named = [*(initial or []), *([] if start_row is None else [start_row])]
    rows, extra = _cluster_candidates(X, k, o, named)
    local = np.full(n, -1, dtype=np.int64)
    local[rows] = np.arange(rows.size)
    if initial:
        first = initial[0]
    elif start_row is not None:
        first = start_row
    else:  # the single-process rule: the seed draws among the candidates
        first = int(rows[np.random.default_rng(o.seed).integers(rows.size)])
    params: dict[str, Any] = {"client": None, "start": int(local[first]), "metric": o.metric}
    if o.mode == "exact":
        params.update(
            initial=None if not initial else local[initial].tolist(), checkpoint=o.checkpoint
        )
    with dask_client(o.scheduler, o.workers, quiet=quiet) as client:
        params["client"] = client
        candidates = X if rows.size == n else np.ascontiguousarray(X[rows])
        result = select_distributed(candidates, k, mode=o.mode, **params)
    return Selection(
        indices=rows[np.asarray(result.indices, dtype=np.int64)],
        method="maxmin",
        params={
            "n_samples": k,
            "random_state": o.seed,
            "start": first,
            "mode": o.mode,
            "n_partitions": result.n_partitions,
            "rounds": result.rounds,
            **extra,
        },
        n_total=n,
        distances=np.asarray(result.distances, dtype=np.float64),
    )


def _cluster_candidates(
    X: np.ndarray, k: int, options: SelectOptions, named: list[int]
) -> tuple[np.ndarray, dict[str, Any]]:
    """The rows the cluster selects from: the preset's admission, computed on the driver (the
    same rule as the single-process selector), with the ``named`` rows (the rows to extend,
    the start row) always among them; and its parameters for the manifest."""
    n = int(X.shape[0])
    aside = options.selector_params.get("set_aside")
    if not options.robust:
        return np.arange(n, dtype=np.int64), {}
    from unisel.select.admission import admit

    adm = admit(
        X,
        outliers=float(options.selector_params.get("outliers", options.resolved.outliers)),
        set_aside=None if aside is None else np.asarray(aside, dtype=np.int64),
        metric=options.metric,
        random_state=options.seed,
    )
    rows = np.union1d(adm.rows, np.asarray(named, dtype=np.int64))
    if k > rows.size:
        raise ParameterError(
            f"k={k} is more than the {rows.size} max-min candidates; on a cluster lower k or "
            "run with --outliers 0 --min-words 0"
        )
    return rows, dict(adm.params)


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key == "initial":
            continue
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, np.integer):
            value = int(value)
        out[key] = value
    return out
