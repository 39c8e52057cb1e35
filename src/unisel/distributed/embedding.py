"""Reading and embedding an input on the cluster, written as a shard store.

Embedders come in two kinds, told apart by their methods:

- corpus-fitted (``fit(texts)`` and ``transform(texts)``: the registry's ``tfidf`` and
  ``word2vec``, see `unisel.embed`): fitted **once** on the driver, on a sample of every
  partition (``fit_on="sample"``) or on the whole corpus (``fit_on="all"``), then broadcast to
  every worker, which only transforms its partitions. All partitions therefore share one
  vocabulary and one projection (one word table): a record gets the same vector in whichever
  partition it lies, and with ``fit_on="all"`` the vectors of the single-machine run.
- stateless (``embed(texts)``, e.g. MiniLM or any Hugging Face encoder): given as a spec
  string, the model is built **once per worker process** and reused for every partition that
  worker embeds; given as an object, it is pickled and broadcast once.

Each partition becomes one ``.npy`` shard (see `unisel.distributed.shards`); the store appears
under its final name only when every shard is written, and a rerun after a failure reuses the
shards already written by a run with the same input, partitions and embedder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from unisel._progress import progress_bar
from unisel.distributed._atomic import atomic_write_json
from unisel.distributed.partitions import (
    Partition,
    describe,
    input_fingerprint,
    plan_partitions,
    read_partition_texts,
)
from unisel.distributed.shards import (
    ShardedArray,
    check_output_free,
    finalize_store,
    open_sharded,
    partial_dir,
    shard_name,
    write_index,
    write_shard,
)
from unisel.embed import get_embedder
from unisel.embed.tfidf import TfidfEmbedder
from unisel.errors import InputError, ParameterError
from unisel.options import ReadOptions, check_seed

if TYPE_CHECKING:
    from distributed import Client


class Shard(NamedTuple):
    """A written shard of the store being built: file name, rows, dimension (-1 when empty),
    and how many of its rows are all zero."""

    name: str
    rows: int
    dim: int
    zero: int


PLAN_NAME = "plan.json"
#: Where a corpus-fitted embedder takes its fit texts from (see `FitOptions`).
FIT_ON = ("sample", "all")
_WORKER_MODELS: dict[str, Any] = {}


@dataclass(frozen=True)
class FitOptions:
    """How `embed_partitions` fits a corpus-fitted embedder, and the seed of the run.

    Attributes
    ----------
    on : {"sample", "all"}
        Fit on up to ``sample`` records drawn evenly from every partition (seeded), or on
        every record (all texts pass through the driver). Ignored by stateless embedders.
    sample : int
        Records in the fit sample for ``on="sample"``, at least 1.
    seed : int
        Seed of the fit sample and of the embedder, 0..2**32-1.
    """

    on: str = "sample"
    sample: int = 100_000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.on not in FIT_ON:
            raise ParameterError(f"fit_on must be 'sample' or 'all', got {self.on!r}")
        if self.sample < 1:
            raise ParameterError(f"fit_sample must be positive, got {self.sample}")
        check_seed(self.seed)


# ------------------------------------------------------------------ embedders
def tfidf_svd(dim: int = 384, *, seed: int = 0, max_features: int = 2**18) -> TfidfEmbedder:
    """The registry's ``tfidf`` embedder with ``dim`` components and a capped vocabulary.

    ``fit`` learns the vocabulary, the idf weights and the SVD; ``transform`` maps texts to
    dense (n, d) float32 vectors, ``d = dim`` unless the fitted texts allow fewer (see
    `unisel.embed.tfidf.TfidfEmbedder`).

    Parameters
    ----------
    dim : int
        SVD components.
    seed : int
        Seed of the randomised SVD.
    max_features : int
        Keep only this many most frequent words.

    Returns
    -------
    TfidfEmbedder
        Not fitted yet.
    """
    return TfidfEmbedder(n_components=dim, seed=seed, max_features=max_features)


def resolve_embedder(embedder: str | Any, *, seed: int = 0) -> Any:
    """An embedder object from a spec string, or the object itself.

    ``"tfidf-svd"`` / ``"tfidf-svd:DIM"`` give `tfidf_svd`; any other spec goes to
    `unisel.embed.get_embedder` with ``seed`` (ignored by embedders without randomness).
    """
    if not isinstance(embedder, str):
        return embedder
    if embedder == "tfidf-svd" or embedder.startswith("tfidf-svd:"):
        _, _, dim = embedder.partition(":")
        try:
            return tfidf_svd(int(dim or 384), seed=seed)
        except ValueError:
            raise ParameterError(f"embedder {embedder!r}: dimension must be an integer") from None
    return get_embedder(embedder, seed=seed)


def is_fitted_kind(model: Any) -> bool:
    """Whether ``model`` is fitted on the corpus (has ``fit`` and ``transform``)."""
    return callable(getattr(model, "fit", None)) and callable(getattr(model, "transform", None))


def embedder_config(model: Any, spec: str | None = None) -> dict[str, Any]:
    """A JSON-serialisable description of the embedder (part of the store's fingerprint)."""
    if callable(getattr(model, "config", None)):
        cfg = model.config()
    elif callable(getattr(model, "get_params", None)):
        cfg = {
            k: repr(v)
            for k, v in sorted(model.get_params(deep=True).items())
            if "__" in k or k == "steps"
        }
    else:
        cfg = {"class": type(model).__qualname__}
    return {
        "spec": spec or type(model).__qualname__,
        "params": json.loads(json.dumps(cfg, default=repr)),
    }


def _vectors(model: Any, texts: list[str]) -> np.ndarray:
    if callable(getattr(model, "transform", None)):
        V = model.transform(texts)
    else:
        V = model.embed(texts, progress=False)
    if hasattr(V, "toarray"):
        V = V.toarray()
    V = np.asarray(V, dtype=np.float32)
    if V.ndim != 2 or V.shape[0] != len(texts):
        raise ValueError(f"embedder returned shape {V.shape} for {len(texts)} texts")
    return V


def _worker_model(spec: str, seed: int) -> Any:
    """The model for ``spec``, built once per worker process."""
    key = f"{spec}|{seed}"
    if key not in _WORKER_MODELS:
        _WORKER_MODELS[key] = resolve_embedder(spec, seed=seed)
    return _WORKER_MODELS[key]


# ------------------------------------------------------------------ tasks (run on workers)
def _sample_task(part: Partition, m: int, seed: int) -> list[str]:
    texts = read_partition_texts(part)
    if len(texts) <= m:
        return texts
    rng = np.random.default_rng([seed, part.index])
    return [texts[i] for i in np.sort(rng.choice(len(texts), size=m, replace=False))]


def _embed_task(part: Partition, model: Any, spec: str | None, seed: int, out_dir: str) -> Shard:
    texts = read_partition_texts(part)
    if spec is not None:
        model = _worker_model(spec, seed)
    if not texts:
        return Shard(shard_name(part.index), 0, -1, 0)
    V = _vectors(model, texts)
    if not np.isfinite(V).all():
        raise InputError(
            f"{part.path or 'texts'}: partition {part.index}: embedder returned non-finite values"
        )
    name, rows = write_shard(out_dir, part.index, V)
    # counted here, where the vectors are in memory: the driver need not read the store back
    return Shard(name, rows, int(V.shape[1]), int(np.count_nonzero(~V.any(axis=1))))


# ------------------------------------------------------------------ driver
def _existing_shard(directory: Path, part: Partition) -> Shard | None:
    path = directory / shard_name(part.index)
    if not path.is_file():
        return None
    try:
        arr = np.load(path, mmap_mode="r")  # type: ignore[no-untyped-call]
    except (OSError, ValueError):
        return None
    if arr.ndim != 2:
        return None
    rows = int(arr.shape[0])
    zero = sum(
        int(np.count_nonzero(~np.asarray(arr[a : a + 65536]).any(axis=1)))
        for a in range(0, rows, 65536)
    )
    return Shard(path.name, rows, int(arr.shape[1]) if rows else -1, zero)


def embed_partitions(
    source: str | Path | Sequence[str],
    output: str | Path,
    *,
    embedder: str | Any = "word2vec",
    client: Client | None = None,
    n_partitions: int | None = None,
    read: ReadOptions | None = None,
    fit: FitOptions | None = None,
    retries: int = 2,
    overwrite: bool = False,
    quiet: bool = False,
) -> ShardedArray:
    """Read ``source`` in partitions, embed them on the workers and write a shard store.

    Parameters
    ----------
    source : path or sequence of str
        ``.jsonl`` (byte-range partitions), ``.parquet`` (row-group partitions), a
        ``save_to_disk`` folder (contiguous shards), ``.json`` array or a list of texts (read
        on the driver, sliced).
    output : path
        The store folder to create (see `unisel.distributed.shards`).
    embedder : str or object
        A spec (``"tfidf-svd:384"``, or any spec of ``unisel.embed.get_embedder``) or an object
        with ``fit``/``transform`` (corpus-fitted: ``word2vec`` and ``tfidf`` are, and are
        fitted once for all partitions) or ``embed`` (stateless).
    client : distributed.Client, optional
        Run on this cluster; ``None`` runs every partition in this process.
    n_partitions : int, optional
        Wanted partitions (default: one per 64 MiB of input).
    read : ReadOptions, optional
        ``schema`` and ``text_field``: how records become text (detected when not given). The
        partitioned reader reads the ``train`` split and keeps every record, so ``split`` must
        be ``"train"`` and ``skip_empty`` None.
    fit : FitOptions, optional
        How a corpus-fitted embedder is fitted (default: on a 100,000-record sample) and the
        seed (default 0).
    retries : int
        Dask retries per partition task (a task whose worker dies is re-run elsewhere).
    overwrite : bool
        Replace ``output`` if it exists.
    quiet : bool
        No progress bar.

    Returns
    -------
    ShardedArray
        The finished store, memory-mapped, shape (n_records, dim), float32.
    """
    read = _partition_read(read)
    fit = fit if fit is not None else FitOptions()
    fit_on, fit_sample, seed = fit.on, fit.sample, fit.seed
    output = Path(output)
    check_output_free(output, overwrite=overwrite)
    parts = plan_partitions(
        source, n_partitions=n_partitions, schema=read.schema, text_field=read.text_field
    )
    spec = embedder if isinstance(embedder, str) else None
    model = resolve_embedder(embedder, seed=seed)
    fitted = is_fitted_kind(model)
    config = embedder_config(model, spec)
    plan = {
        "input": input_fingerprint(source),
        "partitions": describe(parts),
        "embedder": config,
        "fit_on": fit_on if fitted else None,
        "fit_sample": fit_sample if fitted else None,
        "seed": seed,
    }
    plan_key = hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()
    tmp = partial_dir(output)
    reuse = False
    if tmp.exists():
        try:
            reuse = json.loads((tmp / PLAN_NAME).read_text())["key"] == plan_key
        except (OSError, ValueError, KeyError):
            reuse = False
        if not reuse:
            shutil.rmtree(tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    atomic_write_json(tmp / PLAN_NAME, {"key": plan_key, "plan": plan})

    done: dict[int, Shard] = {}
    if reuse:
        for p in parts:
            got = _existing_shard(tmp, p)
            if got is not None:
                done[p.index] = got
    todo = [p for p in parts if p.index not in done]

    if fitted and todo:
        per_part = -(-fit_sample // len(parts)) if fit_on == "sample" else 2**62
        model = _fit_model(model, parts, per_part, seed, client, retries)
    ship_spec = spec if (spec is not None and not fitted) else None
    results = _run_embed(todo, model, ship_spec, seed, tmp, client, retries, quiet)
    done.update(results)

    dims = {shard.dim for shard in done.values() if shard.dim >= 0}
    if not dims:
        raise InputError(f"{source if isinstance(source, (str, Path)) else 'texts'}: no records")
    if len(dims) != 1 and not (len(dims) == 2 and max(dims) == min(dims) + 1):
        raise InputError(
            f"embedder returned different dimensions across partitions: {sorted(dims)}"
        )
    dim, n_zero = _lift_zero_rows(tmp, done)
    for idx, shard in list(done.items()):
        if shard.rows == 0:
            write_shard(tmp, idx, np.empty((0, dim), dtype=np.float32))
    files = [(done[p.index].name, done[p.index].rows) for p in parts]
    meta = {
        "source": str(source) if isinstance(source, (str, Path)) else "texts",
        **plan,
        "zero_rows": n_zero,
    }
    write_index(tmp, files, dim=dim, dtype="float32", meta=meta)
    (tmp / PLAN_NAME).unlink()
    finalize_store(output, overwrite=overwrite)
    return open_sharded(output)


def _lift_zero_rows(directory: Path, done: dict[int, Shard]) -> tuple[int, int]:
    """Give the store's all-zero rows a dimension of their own, as `unisel.embed.lift_zero_rows`
    does for one matrix (and `unisel select` for every embedding it selects on).

    A zero row (a record the embedder has nothing for: no word of word2vec's vocabulary) is at
    cosine distance 1 from everything, the other zero rows included, so max-min would pick
    every one of them first. With one more column, 1 for zero rows and 0 elsewhere, they are
    identical to each other and orthogonal to the rest; distances between the other rows do
    not change. Whether the column is needed is known only once every partition is embedded
    (each task counts its zero rows): the shards are rewritten then, one at a time, and only
    if some row is zero. A run stopped during the rewrite leaves shards one column wider than
    the others; those are the lifted ones, and a resumed run lifts the rest.

    Parameters
    ----------
    directory : Path
        The store being built, with every shard of ``done`` written.
    done : dict of partition -> Shard
        Updated in place with the new dimension.

    Returns
    -------
    dim : int
        The store's dimension: the embedder's, plus 1 where a row is zero.
    n_zero : int
        How many rows are zero.
    """
    dims = {shard.dim for shard in done.values() if shard.rows}
    base = min(dims)
    n_zero = sum(shard.zero for shard in done.values() if shard.rows and shard.dim == base)
    if n_zero == 0 and len(dims) == 1:
        return base, 0
    for idx, shard in list(done.items()):
        if not shard.rows:
            continue
        if shard.dim == base:
            V = np.load(directory / shard.name)  # type: ignore[no-untyped-call]
            lifted = np.zeros((shard.rows, base + 1), dtype=np.float32)
            lifted[:, :-1] = V
            lifted[~V.any(axis=1), -1] = 1.0
            write_shard(directory, idx, lifted)
        else:  # lifted by an interrupted run: the last column marks its zero rows
            X = np.load(directory / shard.name, mmap_mode="r")  # type: ignore[no-untyped-call]
            n_zero += int(np.count_nonzero(np.asarray(X[:, -1]) == 1.0))
        done[idx] = shard._replace(dim=base + 1)
    if n_zero:
        warnings.warn(
            f"{n_zero:,} records have a zero embedding; they get a dimension of their own: "
            "identical to each other, orthogonal to the rest",
            stacklevel=3,
        )
    return base + 1, n_zero


def _partition_read(read: ReadOptions | None) -> ReadOptions:
    """``read``, refused where it asks for what `plan_partitions` cannot do (the options are
    shared with the single-process reader, which can)."""
    read = read if read is not None else ReadOptions()
    if read.split != "train":
        raise ParameterError(
            f"distributed embedding reads the 'train' split only, got split {read.split!r}"
        )
    if read.skip_empty is not None:
        raise ParameterError("distributed embedding keeps every record; leave skip_empty None")
    return read


def _fit_model(
    model: Any,
    parts: list[Partition],
    per_part: int,
    seed: int,
    client: Client | None,
    retries: int,
) -> Any:
    if client is None:
        texts = [t for p in parts for t in _sample_task(p, per_part, seed)]
    else:
        futs = [
            client.submit(_sample_task, p, per_part, seed, retries=retries, pure=False)
            for p in parts
        ]
        texts = []
        for f in futs:  # partition order keeps the fit deterministic
            texts.extend(f.result())
            f.release()
    if not texts:
        raise InputError("input has no records to fit the embedder on")
    model.fit(texts)
    return model


def _run_embed(
    todo: list[Partition],
    model: Any,
    spec: str | None,
    seed: int,
    tmp: Path,
    client: Client | None,
    retries: int,
    quiet: bool,
) -> dict[int, Shard]:
    out: dict[int, Shard] = {}
    bar = progress_bar(total=len(todo), desc="embed partitions", unit="part", quiet=quiet)
    try:
        if client is None:
            for p in todo:
                out[p.index] = _embed_task(p, model, spec, seed, str(tmp))
                bar.update()
            return out
        from distributed import as_completed

        shipped = None if spec is not None else client.scatter(model, broadcast=True, hash=False)
        futs = {
            client.submit(
                _embed_task, p, shipped, spec, seed, str(tmp), retries=retries, pure=False
            ): p.index
            for p in todo
        }
        for fut in as_completed(list(futs)):
            out[futs[fut]] = fut.result()
            fut.release()
            bar.update()
        return out
    finally:
        bar.close()
