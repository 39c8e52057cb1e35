"""The metrics flow behind ``unisel metrics``: read -> embed (or the cache a manifest names) ->
subsets -> `unisel.metrics.uniformity_report`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from unisel.embed import Embeddings
from unisel.flows.stages import load_embeddings, read_input
from unisel.flows.subsets import named_subsets
from unisel.flows.timing import StageTimer
from unisel.io import RecordSet
from unisel.manifest import (
    load_manifest,
    manifest_path_for,
)
from unisel.metrics import (
    NEAR_DUPLICATE_THRESHOLD,
    UniformityReport,
    uniformity_report,
)
from unisel.options import EmbedOptions, MetricsOptions, ReadOptions


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
    read: ReadOptions | None = None,
    embed: EmbedOptions | None = None,
    metrics: MetricsOptions | None = None,
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
    read : ReadOptions or None
        How the data set is read.
    embed : EmbedOptions or None
        The embedder; ``embedder=None`` takes the one recorded in the first subset's manifest
        (its cached vectors), else word2vec.
    metrics : MetricsOptions or None
        Near-duplicate threshold, exact limit and estimation (see
        `unisel.metrics.uniformity_report`), seed.

    Returns
    -------
    UniformityReport
        With ``extra["timings"]`` holding the seconds per stage.
    """
    read = read if read is not None else ReadOptions()
    embed = embed if embed is not None else EmbedOptions()
    metrics = metrics if metrics is not None else MetricsOptions()
    timer = StageTimer()
    records = read_input(input, read, timer, quiet)
    # Before embedding: a subset that is not the one its manifest describes fails fast.
    named = named_subsets(subsets, records, schema=read.schema, text_field=read.text_field)
    with timer("embed"):
        emb = metrics_embeddings(
            records,
            subsets,
            embed.embedder,
            cache_dir=embed.cache_dir,
            seed=metrics.seed,
            quiet=quiet,
            embedder_params=dict(embed.params),
        )
    with timer("metrics"):
        report = uniformity_report(
            emb.vectors,
            named,
            near_duplicate_threshold=(
                NEAR_DUPLICATE_THRESHOLD
                if metrics.near_duplicate_threshold is None
                else metrics.near_duplicate_threshold
            ),
            exact_limit=metrics.exact_limit,
            approximate=metrics.approximate,
            sample_size=metrics.sample_size,
            random_state=metrics.seed,
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
