"""The end-to-end jobs behind ``unisel select`` and ``unisel metrics``.

`select_file` and `metrics_file` are one CLI subcommand each, run as a chain of short stage
functions that can be called (and tested) on their own:

- select: `check_output` -> `unisel.io.read_records` -> `select_records` (`selection_size` ->
  `record_tokens` (with ``tokens``/``tokenizer``/``length_buckets``) -> `load_embeddings` ->
  `run_selector` -> `subset_h_min` -> `selection_manifest`) -> `write_selection`;
- `select_dataset` is the same selection of an in-memory ``datasets.Dataset`` or
  ``pandas.DataFrame``, returning ``dataset.select(indices)`` / ``df.iloc[indices]`` (`subset_of`)
  instead of writing a file;
- metrics: `unisel.io.read_records` -> `metrics_embeddings` -> `named_subsets` ->
  `unisel.metrics.uniformity_report`.

`StageTimer` records the seconds spent in each stage (in the manifest / the report's extra).
"""

from __future__ import annotations

import inspect
import json
import math
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unisel import __version__
from unisel.embed import EMBEDDERS, Embeddings, embed_texts, get_embedder
from unisel.errors import InputError, ParameterError
from unisel.io import RecordSet, atomic_output, read_records, write_subset
from unisel.io.atomic import check_writable, content_sha256, output_lock
from unisel.io.formats.hf import is_disk_dataset
from unisel.manifest import (
    Manifest,
    distances_to_json,
    library_versions,
    load_manifest,
    manifest_path_for,
)
from unisel.metrics import (
    DEFAULT_EXACT_LIMIT,
    DEFAULT_SAMPLE_SIZE,
    NEAR_DUPLICATE_THRESHOLD,
    UniformityReport,
    count_exact_duplicates,
    uniformity_report,
)
from unisel.metrics.neighbors import h_min
from unisel.options import check_seed
from unisel.select import Selection, resolve_k, select
from unisel.select.buckets import check_length_buckets
from unisel.select.engine import check_metric
from unisel.tokens import TokenCounts, count_tokens

DEFAULT_EMBEDDER = "word2vec"
"""The embedder of a selection that neither names one nor extends one (the paper's)."""


@dataclass
class StageTimer:
    """Seconds spent in each named stage, in order."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0

    def rounded(self) -> dict[str, float]:
        """The seconds per stage to the millisecond, as the manifest and reports store them."""
        return {key: round(v, 3) for key, v in self.seconds.items()}

    def summary(self) -> str:
        parts = [f"{name} {sec:.1f}s" for name, sec in self.seconds.items()]
        return ", ".join(parts) + f" (total {sum(self.seconds.values()):.1f}s)"


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


def _same_path(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.realpath(a) == os.path.realpath(b)
    except OSError:
        return False


def check_output(
    input: str | Path,
    output: str | Path,
    order: str = "input",
    *,
    checkpoint: str | Path | None = None,
) -> None:
    """Refuse, before any work, outputs that cannot or must not be written.

    Parameters
    ----------
    input : path
        The input (never overwritten).
    output : path
        The subset; its manifest is ``<output>.manifest.json``.
    order : str
        Record order of the subset.
    checkpoint : path or None
        The maxmin checkpoint file.

    Raises
    ------
    ParameterError
        ``output`` is ``input`` (after resolving links), ``order`` is not ``"input"`` or
        ``"selection"``, ``output`` is an existing folder other than an earlier ``save_to_disk``
        subset (an empty one included), or an output's folder is a file or not writable (see
        `unisel.io.atomic.check_writable`).
    """
    if _same_path(input, output):
        raise ParameterError(f"{output}: the output path is the input path; choose another")
    _check_order(order)
    check_writable(output, replace_dir=is_disk_dataset(Path(output)))
    check_writable(manifest_path_for(output), what="manifest")
    if checkpoint is not None:
        check_writable(checkpoint, what="--checkpoint")


def _check_order(order: str) -> None:
    if order not in ("input", "selection"):
        raise ParameterError(f"order must be 'input' or 'selection', got {order!r}")


def selection_size(
    records: RecordSet,
    k: int | None = None,
    fraction: float | None = None,
    *,
    method: str = "maxmin",
    extend: str | Path | Manifest | None = None,
    metric: str = "cosine",
    tokens: int | None = None,
) -> tuple[int, list[int] | None]:
    """The total subset size, and the rows an extended selection starts from.

    Parameters
    ----------
    records : RecordSet
        The input (its length and content hash).
    k, fraction : int or float
        Subset size: exactly one. With ``extend``, the number of records to *add*.
    method : str
        Selector name; ``extend`` needs ``"maxmin"``.
    extend : path, Manifest or None
        A manifest (file or object) whose selection is continued.
    metric : {"cosine", "euclidean"}
        The metric of this run; an extended selection must have been made with the same one
        (manifests without a recorded metric are cosine ones).
    tokens : int or None
        A token budget instead of ``k``/``fraction`` (not with ``extend``).

    Returns
    -------
    total : int
        Number of records in the final selection (previous ones included); with ``tokens``,
        0 (the budget decides).
    initial : list of int or None
        Embedding rows of the previous selection, in selection order (None without ``extend``).

    Raises
    ------
    ParameterError
        A bad size, ``extend`` with another method, a manifest of different input data or
        made with another metric, or a previous selection that already holds every record.
    """
    n = len(records)
    if tokens is not None:
        if k is not None or fraction is not None:
            raise ParameterError("give one of -k, --fraction and --tokens")
        if extend is not None:
            raise ParameterError("--tokens cannot extend a selection; give -k or --fraction")
        if isinstance(tokens, bool) or not isinstance(tokens, (int, np.integer)) or tokens < 1:
            raise ParameterError(f"--tokens must be a positive integer, got {tokens!r}")
        return 0, None
    if extend is None:
        if k is None and fraction is None:
            raise ParameterError("give one of -k, --fraction and --tokens")
        return resolve_k(n, k, fraction), None
    if method != "maxmin":
        raise ParameterError("--extend continues a maxmin selection; use --method maxmin")
    if isinstance(extend, Manifest):
        previous, label = extend, "extend"
    else:
        previous, label = load_manifest(extend), str(extend)
    if previous.input.get("sha256") and previous.input["sha256"] != records.content_hash:
        raise ParameterError(f"{label}: the manifest was made from different input data")
    made_with = str(previous.selector.get("params", {}).get("metric", "cosine"))
    if made_with != metric:
        raise ParameterError(
            f"{label}: the selection was made with metric {made_with!r}, this run uses "
            f"{metric!r}; pass --metric {made_with} to extend it"
        )
    initial = [int(i) for i in previous.embedding_rows()]
    add = resolve_k(n - len(initial), k, fraction) if len(initial) < n else 0
    if add == 0:
        raise ParameterError(f"{label}: the selection already holds all {n} records")
    return len(initial) + add, initial


def extension_embedder(
    previous: Manifest,
    embedder: str | None,
    *,
    seed: int = 0,
    embedder_params: dict[str, Any] | None = None,
    label: str = "extend",
) -> tuple[str, int, dict[str, Any]]:
    """The embedder that continues the selection of ``previous``: the one it was made with.

    A continuation is only the longer selection if every record is embedded as before: same
    embedder, same settings, same seed for a seeded one (a word2vec or tfidf model of another
    seed gives other vectors).

    Parameters
    ----------
    previous : Manifest
        The manifest being extended.
    embedder : str or None
        The run's embedder spec; None takes the manifest's, with its settings and seed.
    seed : int
        The run's seed (the embedder's when ``embedder`` is given).
    embedder_params : dict or None
        The run's embedder settings; with ``embedder`` None they override the manifest's.
    label : str
        How errors name the manifest.

    Returns
    -------
    spec : str
    seed : int
    settings : dict
        What `load_embeddings` takes as ``embedder``, ``seed`` and ``embedder_params``.

    Raises
    ------
    ParameterError
        The run's embedder, a setting or the seed differs from the manifest's (one line naming
        both), or the manifest's embedder cannot be rebuilt.
    """
    made = previous.embedder or {}
    method = made.get("method")
    if not method:  # a manifest without an embedder record: nothing to check against
        return embedder or DEFAULT_EMBEDDER, seed, dict(embedder_params or {})
    recorded = _plain_json(made.get("params") or {})
    if embedder is None:
        cls = EMBEDDERS.get(str(method).partition(":")[0].strip().lower())
        settings = {**cls.settings_from_config(recorded), **(embedder_params or {})}
        seed = int(settings.pop("seed", seed))
        spec = str(method)
    else:
        spec, settings = embedder, dict(embedder_params or {})
    built = get_embedder(spec, seed=seed, **settings)
    if built.name != str(method).partition(":")[0].strip().lower():
        raise ParameterError(
            f"{label}: the selection was made with embedder {method!r}, this run uses "
            f"{built.spec!r}; leave out --embedder to use the manifest's"
        )
    config = _plain_json(built.config())
    differ = sorted(
        key for key in recorded.keys() | config.keys() if recorded.get(key) != config.get(key)
    )
    if differ:
        was = ", ".join(f"{key}={recorded.get(key)!r}" for key in differ)
        now = ", ".join(f"{key}={config.get(key)!r}" for key in differ)
        hint = (
            "leave out --embedder and --embed-opt to use the manifest's"
            if embedder is not None
            else "drop the --embed-opt settings that differ"
        )
        raise ParameterError(
            f"{label}: the selection was made with embedder {method!r} ({was}), "
            f"this run uses {built.spec!r} ({now}); {hint}"
        )
    return spec, seed, settings


def _plain_json(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as it reads back from a manifest (tuples become lists, and so on)."""
    out: dict[str, Any] = json.loads(json.dumps(value, sort_keys=True, default=str))
    return out


def extension_distances(
    distances: np.ndarray | None,
    previous: Manifest,
    X: np.ndarray,
    initial: Sequence[int],
    metric: str = "cosine",
) -> np.ndarray | None:
    """The distances of an extended selection, the extended part's carried over.

    The engine continues from the ``initial`` rows without their distances (``nan`` after the
    first); they are the ones ``previous`` recorded. A distance the manifest lacks (a manifest
    of an older extension) is computed from ``X``: the row's distance to the rows before it.

    Parameters
    ----------
    distances : ndarray of shape (k,), float64, or None
        The selection's distances as the engine returned them (None: left as is).
    previous : Manifest
        The manifest whose selection was extended.
    X : ndarray of shape (n, dim)
        The embeddings.
    initial : sequence of int, length m <= k
        The extended selection's embedding rows, in selection order.
    metric : {"cosine", "euclidean"}

    Returns
    -------
    ndarray of shape (k,), float64, or None
        ``inf`` for the first record only, like a selection made in one run.
    """
    if distances is None:
        return None
    out = np.array(distances, dtype=np.float64)
    m = len(initial)
    recorded = previous.distances if previous.distances is not None else []
    if len(recorded) != m:
        recorded = [None] * m
    missing = []
    for t in range(1, m):
        value = recorded[t]
        if value is None or not math.isfinite(value):
            missing.append(t)
        else:
            out[t] = float(value)
    if missing:
        from unisel.select.engine import (
            canonical_distances,
            canonical_sq_euclidean,
            cosine_normalize,
        )

        rows = np.asarray(initial, dtype=np.int64)
        euclid = metric == "euclidean"
        P = (
            np.ascontiguousarray(X[rows], dtype=np.float64)
            if euclid
            else cosine_normalize(np.asarray(X[rows]))
        )
        keys = canonical_sq_euclidean if euclid else canonical_distances
        for t in missing:
            key = float(keys(P[:t], P[t]).min())
            out[t] = math.sqrt(key) if euclid else key
    return out


def record_position(records: RecordSet, record: int) -> int:
    """The position in ``records.texts`` (the embedding row) of input record number ``record``.

    The manifest and ``--start`` number records as the input file does (0-based, skipped
    records counted); embedders and selectors number the records with text. The two differ
    only when records were skipped (``skip_empty``).

    Parameters
    ----------
    records : RecordSet
    record : int
        0-based record number in the input.

    Returns
    -------
    int
        The record's row; ``record`` itself when nothing was skipped (the selector then checks
        the range).

    Raises
    ------
    ParameterError
        ``record`` is not a record of the input, or was skipped for having no text.
    """
    if records.source_index is None:
        return int(record)
    index = np.asarray(records.source_index, dtype=np.int64)
    pos = int(np.searchsorted(index, record))
    if pos < index.size and int(index[pos]) == record:
        return pos
    last = len(records) + records.n_skipped - 1
    if not 0 <= record <= last:
        raise ParameterError(f"start record {record} is outside 0..{last}")
    raise ParameterError(
        f"start record {record} has no text and was skipped (skip_empty); choose another"
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
    method: str = "maxmin",
    *,
    seed: int = 0,
    start: int | None = None,
    initial: list[int] | None = None,
    device: str = "cpu",
    checkpoint: str | Path | None = None,
    metric: str = "cosine",
    selector_params: dict[str, Any] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    mode: str = "exact",
    token_budget: int | None = None,
    token_counts: TokenCounts | None = None,
    length_buckets: int | None = None,
    quiet: bool = False,
) -> Selection:
    """Run selector ``method`` on the embedding rows, in this process or on a Dask cluster.

    Parameters
    ----------
    X : ndarray of shape (n, dim)
        The embeddings.
    total : int
        Number of rows to select (the ``initial`` ones included).
    method : str
        Selector name (see `unisel.select.SELECTORS`).
    seed : int
        ``random_state`` of the selector.
    start, initial, device, checkpoint : optional
        maxmin only: first row, a selection to continue, engine device, checkpoint file.
    metric : {"cosine", "euclidean"}
        maxmin's distance (another method with ``"euclidean"`` is a ParameterError; the Dask
        cluster runs cosine only and says so).
    selector_params : dict or None
        Further keyword arguments of the selector (single-process only).
    scheduler, workers, mode : optional
        Run maxmin on a Dask cluster (see `select_file`); neither: the single-process engine.
    token_budget, token_counts : optional
        Select to a token budget instead of ``total`` records (single-process only); with
        ``token_counts`` alone the selection's counts are recorded in ``Selection.tokens``.
    length_buckets : int or None
        maxmin per length bucket (the lengths are ``token_counts``); see
        `unisel.select.buckets`.

    Returns
    -------
    Selection
        ``total`` row indices into ``X`` (or as many as the budget holds), in selection order.
    """
    check_metric(metric)
    if metric != "cosine" and method != "maxmin":
        raise ParameterError(f"--metric {metric} applies to --method maxmin only, not {method!r}")
    if (token_budget is not None or length_buckets is not None) and (
        scheduler is not None or workers is not None
    ):
        raise ParameterError(
            "--tokens and --length-buckets run in one process; drop --scheduler/--workers"
        )
    if length_buckets is not None and method != "maxmin":
        raise ParameterError(f"--length-buckets applies to --method maxmin only, not {method!r}")
    if scheduler is not None or workers is not None:
        return _select_on_cluster(
            X,
            total,
            method,
            seed=seed,
            start=start,
            initial=initial,
            checkpoint=checkpoint,
            metric=metric,
            scheduler=scheduler,
            workers=workers,
            mode=mode,
            quiet=quiet,
        )
    params: dict[str, Any] = dict(selector_params or {})
    if initial is not None:
        params.update(initial=initial)
    if method == "maxmin":
        params.update(start=start, device=device, checkpoint=checkpoint, metric=metric, quiet=quiet)
    if length_buckets is not None:
        params.update(length_buckets=length_buckets)
    if token_budget is not None:
        return select(
            X,
            method=method,
            random_state=seed,
            token_budget=token_budget,
            token_counts=token_counts,
            **params,
        )
    if length_buckets is not None:
        params.update(token_counts=token_counts)
    selection = select(X, total, method, random_state=seed, **params)
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


def write_selection(
    records: RecordSet,
    selection: Selection,
    manifest: Manifest,
    output: str | Path,
    *,
    order: str = "input",
    timer: StageTimer | None = None,
    quiet: bool = False,
) -> Path:
    """Write the subset in the input's format and its manifest beside it, as one pair.

    The subset is written to a staging path first; its sha256 and size go into the manifest's
    ``output`` section. Then, holding the output's lock (`unisel.io.atomic.output_lock`, so
    that two runs writing one path cannot interleave), the manifest is renamed into place and
    the subset after it. A run killed between the two renames leaves the new manifest beside
    the old subset (or none), which `unisel.manifest.load_manifest` refuses by the hash; the
    old manifest never describes the new subset. On an error the new manifest is removed again.

    The manifest's ``timings`` are set from ``timer``: in the file, the stages before the write
    (still running when the file is written); in ``manifest``, the write stage too.

    Returns
    -------
    Path
        The manifest path, ``<output>.manifest.json``.
    """
    timer = timer if timer is not None else StageTimer()
    mpath = manifest_path_for(output)
    published: tuple[int, int] | None = None  # (device, inode) of the staged subset

    def publish_manifest(staged: Path) -> None:
        nonlocal published
        sha256, size = content_sha256(staged)
        manifest.output.update(sha256=sha256, size=size)
        manifest.timings = timer.rounded()
        held.enter_context(output_lock(output))
        with atomic_output(mpath) as tmp_manifest:
            tmp_manifest.write_text(manifest.to_json(), encoding="utf-8")
        st = staged.stat()
        published = (st.st_dev, st.st_ino)
        _pause_between_renames()

    with timer("write"), ExitStack() as held:
        try:
            write_subset(
                records,
                selection.indices,
                output,
                order=order,  # type: ignore[arg-type]
                quiet=quiet,
                before_replace=publish_manifest,
            )
        except BaseException:
            if published is not None and _identity(output) != published:
                mpath.unlink(missing_ok=True)  # it describes a subset that never appeared
            raise
    manifest.timings = timer.rounded()
    return mpath


def _identity(path: str | Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


#: Test hook (tests/cli/test_output_safety.py): when set to a file path, `write_selection`
#: creates that file between the manifest's rename and the subset's, and waits there (at most
#: a minute) until the file is deleted, so that a test can kill the run at that moment.
_PAUSE_ENV = "UNISEL_TEST_PAUSE_BETWEEN_RENAMES"


def _pause_between_renames() -> None:
    flag = os.environ.get(_PAUSE_ENV)
    if not flag:
        return
    Path(flag).write_text(str(os.getpid()), encoding="utf-8")
    deadline = time.monotonic() + 60
    while Path(flag).exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def select_file(
    input: str | Path,
    *,
    output: str | Path,
    k: int | None = None,
    fraction: float | None = None,
    method: str = "maxmin",
    embedder: str | None = None,
    seed: int = 0,
    start: int | None = None,
    schema: str | None = None,
    text_field: str | None = None,
    split: str = "train",
    skip_empty: bool | None = None,
    cache_dir: str | Path | None | bool = None,
    order: str = "input",
    device: str = "cpu",
    checkpoint: str | Path | None = None,
    extend: str | Path | None = None,
    metric: str = "cosine",
    embedder_params: dict[str, Any] | None = None,
    selector_params: dict[str, Any] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    mode: str = "exact",
    tokens: int | None = None,
    tokenizer: str | None = None,
    length_buckets: int | None = None,
    quiet: bool = False,
) -> SelectResult:
    """Select a subset of a data set and write it in the input's format, with a manifest.

    The stages, each a function of this module: `check_output`, `unisel.io.read_records`,
    `select_records` (`selection_size`, `load_embeddings`, `run_selector`, `subset_h_min`,
    `selection_manifest`), `write_selection`. For an in-memory ``datasets.Dataset`` or
    ``pandas.DataFrame``, use `select_dataset`.

    Parameters
    ----------
    input : path or str
        Data file, ``save_to_disk`` folder, hub name or ``example:sharegpt``.
    output : path
        Where the subset goes; the manifest is written to ``<output>.manifest.json``.
    k, fraction : int or float
        Subset size: exactly one of ``k``, ``fraction`` and ``tokens``. With ``extend``,
        ``k``/``fraction`` is the number to *add*.
    method : str
        Selector name (``maxmin``, ``random``, ``first``, ``clustered``, ``kmeans``).
    embedder : str or None
        Embedder spec (``word2vec``, ``tfidf``, ``minilm``, ``hf:PATH``, ``npy:FILE``). None:
        ``word2vec``, or with ``extend`` the manifest's embedder with its settings and seed;
        given with ``extend``, it must be the manifest's (same settings and seed), else a
        ParameterError names both.
    seed : int
        Seed of every random choice (the first maxmin record, random baselines, embedders).
    tokens : int or None
        Token budget: the selection is the longest prefix of the selector's order whose
        token counts sum to at most ``tokens`` (docs/token_budget.md).
    tokenizer : str or None
        What counts the tokens of each record's rendered text: a tokenizer name or path
        (``smollm2-135m``, a local folder, a hub name) or None for a whitespace word count.
        Given without ``tokens``, the counts are only recorded in the manifest.
    length_buckets : int or None
        maxmin inside this many length buckets (of the ``tokenizer``'s counts), interleaved in
        proportion to their sizes: the selection keeps the input's length distribution.
    start : int or None
        Input record number (0-based, as the manifest's ``indices`` count, skipped records
        included) of the first maxmin record; overrides the seed's draw. A record skipped by
        ``skip_empty`` is refused. With ``extend``, it must be the selection's first record.
    split : str
        Split of a hub data set or ``DatasetDict`` folder.
    skip_empty : bool or None
        Leave out records with no text instead of failing (default: only for ``example:`` data).
    order : {"input", "selection"}
        Order of the records in the written subset.
    device : {"cpu", "cuda", "auto"}
        Where the maxmin engine runs.
    checkpoint : path or None
        Periodic maxmin state, resumed from when it exists.
    extend : path or None
        A manifest whose selection is continued (maxmin only, same metric, same embedder);
        its distances are carried over, so the new manifest's are those of one longer run.
    metric : {"cosine", "euclidean"}
        maxmin's distance: cosine (default) or Euclidean on the unnormalised embeddings;
        recorded in the manifest's selector params.
    scheduler, workers : str or int, optional
        Run maxmin on a Dask cluster: the address of a running scheduler, or the number of
        worker processes of a local cluster started for the run (see `unisel.distributed`).
        Neither: the single-process engine.
    mode : {"exact", "two-round"}
        Distributed mode: ``exact`` gives the single-process engine's sequence; ``two-round`` is
        the composable coreset (a constant-factor approximation of the covering radius).

    Returns
    -------
    SelectResult
    """
    if not isinstance(input, (str, os.PathLike)):
        raise ParameterError(
            "select_file reads a path and writes a file; for an in-memory datasets.Dataset or "
            "pandas.DataFrame use unisel.pipeline.select_dataset"
        )
    arguments = dict(locals())
    timer = StageTimer()
    check_seed(seed)
    check_output(input, output, order, checkpoint=checkpoint)
    records = _read(input, arguments, timer)
    if len(records) == 0:
        raise InputError(f"{input}: no records")
    output = Path(output)
    selection, manifest = select_records(
        records, output=output, timer=timer, **_select_records_arguments(arguments)
    )
    mpath = write_selection(
        records, selection, manifest, output, order=order, timer=timer, quiet=quiet
    )
    return SelectResult(
        selection=selection, manifest=manifest, output=output, manifest_path=mpath, timings=timer
    )


def select_records(
    records: RecordSet,
    *,
    k: int | None = None,
    fraction: float | None = None,
    method: str = "maxmin",
    embedder: str | None = None,
    seed: int = 0,
    start: int | None = None,
    cache_dir: str | Path | None | bool = None,
    output: str | Path | None = None,
    order: str = "input",
    device: str = "cpu",
    checkpoint: str | Path | None = None,
    extend: str | Path | Manifest | None = None,
    metric: str = "cosine",
    embedder_params: dict[str, Any] | None = None,
    selector_params: dict[str, Any] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    mode: str = "exact",
    tokens: int | None = None,
    tokenizer: str | None = None,
    length_buckets: int | None = None,
    quiet: bool = False,
    timer: StageTimer | None = None,
) -> tuple[Selection, Manifest]:
    """Select from records already read: `selection_size` -> `record_tokens` (with ``tokens``,
    ``tokenizer`` or ``length_buckets``) -> `load_embeddings` -> `run_selector` ->
    `subset_h_min` -> `selection_manifest`.

    The middle of `select_file` and `select_dataset`; the parameters are theirs. ``output`` and
    ``order`` only go into the manifest; nothing is written. ``timer`` (a fresh one by default)
    records the ``embed``, ``select`` and ``metrics`` stages. ``start`` is an input record
    number (see `record_position`); with ``extend``, the embedder is the manifest's unless
    ``embedder`` is given, and then it must match (see `extension_embedder`).

    Returns
    -------
    selection : Selection
        Positions into ``records.texts`` (map them with ``records.source_rows``).
    manifest : Manifest
        The selection's manifest, with ``timings`` so far.
    """
    timer = timer if timer is not None else StageTimer()
    check_seed(seed)
    if length_buckets is not None:  # before the tokens are counted and the records embedded
        check_length_buckets(length_buckets)
    total, initial = selection_size(
        records, k, fraction, method=method, extend=extend, metric=metric, tokens=tokens
    )
    spec = DEFAULT_EMBEDDER if embedder is None else embedder
    embed_seed, embed_settings = seed, embedder_params
    previous: Manifest | None = None
    if extend is not None:
        previous = extend if isinstance(extend, Manifest) else load_manifest(extend)
        label = "extend" if isinstance(extend, Manifest) else str(extend)
        spec, embed_seed, embed_settings = extension_embedder(
            previous, embedder, seed=seed, embedder_params=embedder_params, label=label
        )
        first = previous.indices[0] if previous.indices else None
        if start is not None and first is not None and int(start) != int(first):
            raise ParameterError(
                f"{label}: the selection starts at record {first}, not at --start {start}; "
                "leave out --start to extend it"
            )
    start_row = None if start is None else record_position(records, start)
    counts = None
    if tokens is not None or tokenizer is not None or length_buckets is not None:
        with timer("tokens"):  # before embedding: a bad tokenizer fails fast
            counts = record_tokens(records, tokenizer, quiet=quiet)
    with timer("embed"):
        emb = load_embeddings(
            records,
            spec,
            cache_dir=cache_dir,
            seed=embed_seed,
            quiet=quiet,
            embedder_params=embed_settings,
        )
    check_embeddings(emb, len(records), spec)
    with timer("select"):
        selection = run_selector(
            emb.vectors,
            total,
            method,
            seed=seed,
            start=start_row,
            initial=initial,
            device=device,
            checkpoint=checkpoint,
            metric=metric,
            selector_params=selector_params,
            scheduler=scheduler,
            workers=workers,
            mode=mode,
            token_budget=tokens,
            token_counts=counts,
            length_buckets=length_buckets,
            quiet=quiet,
        )
        if previous is not None and initial:
            selection.distances = extension_distances(
                selection.distances, previous, emb.vectors, initial, metric
            )
    with timer("metrics"):
        hmin = subset_h_min(emb.vectors, selection.indices)
        _warn_repeats(emb.vectors, selection.indices, method)
    manifest = selection_manifest(
        records, emb, selection, output=output, order=order, seed=seed, h_min=hmin
    )
    manifest.timings = timer.rounded()
    return selection, manifest


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


# select_file and select_dataset take select_records' parameters by name and pass them on.
_SELECT_RECORDS_OWN = ("records", "output", "timer")
_READ_PARAMETERS = ("schema", "text_field", "split", "skip_empty", "quiet")


def _select_records_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """The entries of a caller's ``locals()`` that are parameters of `select_records`."""
    names = inspect.signature(select_records).parameters
    return {
        name: value
        for name, value in arguments.items()
        if name in names and name not in _SELECT_RECORDS_OWN
    }


def _read(source: Any, arguments: dict[str, Any], timer: StageTimer) -> RecordSet:
    """`unisel.io.read_records` with the reading parameters of a caller's ``locals()``."""
    with timer("read"):
        return read_records(source, **{name: arguments[name] for name in _READ_PARAMETERS})


def select_dataset(
    data: Any,
    *,
    k: int | None = None,
    fraction: float | None = None,
    method: str = "maxmin",
    embedder: str | None = None,
    seed: int = 0,
    start: int | None = None,
    schema: str | None = None,
    text_field: str | None = None,
    split: str = "train",
    skip_empty: bool | None = None,
    cache_dir: str | Path | None | bool = None,
    order: str = "input",
    device: str = "cpu",
    checkpoint: str | Path | None = None,
    extend: str | Path | Manifest | None = None,
    metric: str = "cosine",
    embedder_params: dict[str, Any] | None = None,
    selector_params: dict[str, Any] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    mode: str = "exact",
    tokens: int | None = None,
    tokenizer: str | None = None,
    length_buckets: int | None = None,
    quiet: bool = False,
) -> DatasetSelection:
    """Select a subset of an in-memory ``datasets.Dataset`` or ``pandas.DataFrame``.

    The records' schema (Alpaca, ShareGPT, messages, a text column) is detected from the first
    row as for files; the selection is the one `select_file` makes of the same records.

    Parameters
    ----------
    data : datasets.Dataset, datasets.DatasetDict or pandas.DataFrame
        One record per row; a ``DatasetDict`` gives its ``split``.
    k, fraction, method, embedder, seed, start, schema, text_field, skip_empty, cache_dir, device, checkpoint, metric, scheduler, workers, mode, tokens, tokenizer, length_buckets, quiet
        As for `select_file`.
    order : {"input", "selection"}
        Order of the rows in ``subset``.
    extend : path, Manifest or None
        A previous selection of the same data (its manifest file or object) to continue.

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
    arguments = dict(locals())
    _check_order(order)
    check_seed(seed)
    if checkpoint is not None:
        check_writable(checkpoint, what="--checkpoint")
    timer = StageTimer()
    records = _read(data, arguments, timer)
    selection, manifest = select_records(
        records, output=None, timer=timer, **_select_records_arguments(arguments)
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


def subset_of(records: RecordSet, rows: Sequence[int] | np.ndarray) -> Any:
    """The rows ``rows`` (source row numbers, in that order) of an in-memory input.

    Returns
    -------
    datasets.Dataset or pandas.DataFrame
        ``dataset.select(rows)`` or ``df.iloc[rows]``.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if records.format == "dataset":
        return records.handle.select(rows.tolist())
    if records.format == "dataframe":
        return records.handle.iloc[rows]
    raise ParameterError(f"{records.source}: not an in-memory input; write_subset writes it")


def _select_on_cluster(
    X: np.ndarray,
    k: int,
    method: str,
    *,
    seed: int,
    start: int | None,
    initial: list[int] | None,
    checkpoint: str | Path | None,
    metric: str,
    scheduler: str | None,
    workers: int | None,
    mode: str,
    quiet: bool,
) -> Selection:
    """Greedy max-min on a Dask cluster, as a `Selection` like the single-process one."""
    from unisel.distributed import dask_client, select_distributed

    if method != "maxmin":
        raise ParameterError(f"--scheduler/--workers run maxmin only, not {method!r}")
    if metric != "cosine":  # before a cluster is started for nothing
        raise ParameterError(
            f"--scheduler/--workers run metric cosine only, not {metric!r}; "
            "run --metric euclidean without them"
        )
    n = int(X.shape[0])
    first = (
        initial[0]
        if initial
        else start
        if start is not None
        else int(np.random.default_rng(seed).integers(n))
    )
    params: dict[str, Any] = {"client": None, "start": first, "metric": metric}
    if mode == "exact":
        params.update(initial=initial, checkpoint=checkpoint)
    elif initial or checkpoint is not None:
        raise ParameterError("--extend and --checkpoint need --mode exact")
    with dask_client(scheduler, workers, quiet=quiet) as client:
        params["client"] = client
        result = select_distributed(X, k, mode=mode, **params)
    return Selection(
        indices=np.asarray(result.indices, dtype=np.int64),
        method="maxmin",
        params={
            "n_samples": k,
            "random_state": seed,
            "start": first,
            "mode": mode,
            "n_partitions": result.n_partitions,
            "rounds": result.rounds,
        },
        n_total=n,
        distances=np.asarray(result.distances, dtype=np.float64),
    )


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


def subset_indices(
    spec: str | Path,
    records: RecordSet,
    *,
    schema: str | None = None,
    text_field: str | None = None,
) -> tuple[str, np.ndarray]:
    """Row indices into ``records`` of a subset given as a manifest or as a data file.

    A manifest (or a subset file with its manifest beside it) gives its indices directly, after
    checking it was made from the same input. A data file without a manifest is matched record by
    record on its rendered text (each full-set record used at most once).

    Returns
    -------
    name : str
        A short label (the selector name from the manifest, else the file stem).
    indices : ndarray of shape (k,), int64
    """
    path = Path(spec)
    mpath = path if path.name.endswith(".manifest.json") else manifest_path_for(path)
    if mpath.exists():
        manifest = load_manifest(mpath)
        if (
            manifest.input.get("sha256")
            and records.content_hash
            and manifest.input["sha256"] != records.content_hash
        ):
            raise InputError(
                f"{mpath}: the manifest was made from different input data ({manifest.input.get('source')})"
            )
        rows = manifest.embedding_rows()
        if rows.size and rows.max() >= len(records):
            raise InputError(
                f"{mpath}: index {rows.max()} is outside the {len(records)} input records"
            )
        return str(manifest.selector.get("method", path.stem)), rows
    sub = read_records(
        path,
        schema=schema or records.schema,
        text_field=text_field or records.text_field,
        quiet=True,
    )
    positions: dict[str, list[int]] = {}
    for i, text in enumerate(records.texts):
        positions.setdefault(text, []).append(i)
    for lst in positions.values():
        lst.reverse()
    indices = []
    first_of: dict[str, int] = {}  # the subset's first record of each text
    for r, text in enumerate(sub.texts):
        stack = positions.get(text)
        first = first_of.setdefault(text, r)
        if stack is None:
            raise InputError(f"{path}: record {r} is not in the full set {records.source}")
        if not stack:
            have = sum(1 for t in records.texts if t == text)
            raise InputError(
                f"{path}: record {r} repeats record {first} of the subset, and the full set "
                f"{records.source} has that record {have} time{'s' if have != 1 else ''}; a "
                "subset holds each record of the full set at most once"
            )
        indices.append(stack.pop())
    return path.name.split(".")[0], np.asarray(indices, dtype=np.int64)


def metrics_embeddings(
    records: RecordSet,
    subsets: Sequence[str | Path] = (),
    embedder: str | None = None,
    *,
    cache_dir: str | Path | None | bool = None,
    seed: int = 0,
    quiet: bool = False,
    embedder_params: dict[str, Any] | None = None,
) -> Embeddings:
    """The full set's embeddings for `metrics_file`.

    With no ``embedder``, the cached embeddings a subset's manifest names are used when they
    are there and have one row per record; otherwise ``embedder`` (default word2vec) embeds
    ``records``.

    Returns
    -------
    Embeddings with ``vectors`` of shape (len(records), dim).
    """
    cached = None if embedder is not None else _cached_from_manifests(subsets, len(records))
    if cached is not None:
        return cached
    return load_embeddings(
        records,
        embedder or "word2vec",
        cache_dir=cache_dir,
        seed=seed,
        quiet=quiet,
        embedder_params=embedder_params,
    )


def named_subsets(
    subsets: Sequence[str | Path],
    records: RecordSet,
    *,
    schema: str | None = None,
    text_field: str | None = None,
) -> dict[str, np.ndarray]:
    """The row indices of each subset under a unique name (see `subset_indices`).

    Names repeat as ``NAME-2``, ``NAME-3``...; ``full`` is reserved for the full set.

    Returns
    -------
    dict of str to ndarray of shape (k,), int64
        In the order of ``subsets``.
    """
    named: dict[str, np.ndarray] = {}
    for spec in subsets:
        name, idx = subset_indices(spec, records, schema=schema, text_field=text_field)
        base, i = name, 2
        while name in named or name == "full":
            name, i = f"{base}-{i}", i + 1
        named[name] = idx
    return named


def metrics_file(
    input: str | Path,
    *,
    subsets: Sequence[str | Path] = (),
    embedder: str | None = None,
    seed: int = 0,
    schema: str | None = None,
    text_field: str | None = None,
    split: str = "train",
    skip_empty: bool | None = None,
    cache_dir: str | Path | None | bool = None,
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD,
    embedder_params: dict[str, Any] | None = None,
    exact_limit: int | None = DEFAULT_EXACT_LIMIT,
    approximate: str = "sample",
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    quiet: bool = False,
) -> UniformityReport:
    """Uniformity metrics of a data set and of subsets of it, side by side.

    The stages: `unisel.io.read_records`, `metrics_embeddings`, `named_subsets`,
    `unisel.metrics.uniformity_report`.

    Parameters
    ----------
    input : path or str
        The full data set.
    subsets : sequence of paths
        Manifests, or subset files (with or without a manifest beside them).
    embedder : str or None
        Embedder spec; by default the one recorded in the first subset's manifest, else word2vec.
    exact_limit, approximate, sample_size
        Sets above ``exact_limit`` rows get estimated nearest-neighbour numbers, marked as
        such (see `unisel.metrics.uniformity_report`; the sample's seed is ``seed``).

    Returns
    -------
    UniformityReport
        With ``extra["timings"]`` holding the seconds per stage.
    """
    check_seed(seed)
    timer = StageTimer()
    with timer("read"):
        records = read_records(
            input,
            schema=schema,
            text_field=text_field,
            split=split,
            skip_empty=skip_empty,
            quiet=quiet,
        )
    # Before embedding: a subset that is not the one its manifest describes fails fast.
    named = named_subsets(subsets, records, schema=schema, text_field=text_field)
    with timer("embed"):
        emb = metrics_embeddings(
            records,
            subsets,
            embedder,
            cache_dir=cache_dir,
            seed=seed,
            quiet=quiet,
            embedder_params=embedder_params,
        )
    with timer("metrics"):
        report = uniformity_report(
            emb.vectors,
            named,
            near_duplicate_threshold=near_duplicate_threshold,
            exact_limit=exact_limit,
            approximate=approximate,
            sample_size=sample_size,
            random_state=seed,
            quiet=quiet,
            texts=records.texts,
        )
    report.extra["timings"] = timer.rounded()
    report.extra["embedder"] = {"method": emb.method, "params": emb.params}
    return report


def _cached_from_manifests(subsets: Sequence[str | Path], n: int) -> Embeddings | None:
    """The full set's embeddings from the cache file a subset's manifest names, if it is there
    and readable (a damaged cache entry is removed with a warning: see `read_entry`)."""
    from unisel.embed.cache import read_entry

    for spec in subsets:
        mpath = Path(spec) if str(spec).endswith(".manifest.json") else manifest_path_for(spec)
        if not mpath.exists():
            continue
        info = load_manifest(mpath).embedder
        cache_path = info.get("cache_path")
        if cache_path and Path(cache_path).exists():
            vectors = read_entry(cache_path)
            if vectors is not None and vectors.shape[0] == n:
                return Embeddings(
                    vectors=vectors,
                    method=info["method"],
                    params=info.get("params", {}),
                    cache_path=Path(cache_path),
                )
    return None
