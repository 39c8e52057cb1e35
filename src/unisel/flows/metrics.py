"""The metrics flow behind ``unisel metrics``: read -> embed (or the cache a manifest names) ->
subsets -> `unisel.metrics.uniformity_report`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from unisel.embed import Embeddings
from unisel.flows.stages import load_embeddings
from unisel.flows.subsets import named_subsets
from unisel.flows.timing import StageTimer
from unisel.io import RecordSet, read_records
from unisel.manifest import (
    load_manifest,
    manifest_path_for,
)
from unisel.metrics import (
    DEFAULT_EXACT_LIMIT,
    DEFAULT_SAMPLE_SIZE,
    NEAR_DUPLICATE_THRESHOLD,
    UniformityReport,
    uniformity_report,
)
from unisel.options import check_seed


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
