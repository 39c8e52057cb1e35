"""Entry points: :func:`get_embedder` (spec -> embedder) and :func:`embed_texts` (cached)."""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unisel.embed import cache
from unisel.embed.base import EMBEDDERS, Embedder, Embeddings, lift_zero_rows
from unisel.errors import InputError, ParameterError


def get_embedder(spec: str, **params: Any) -> Embedder:
    """Build the embedder that ``spec`` names, with ``params`` as its settings.

    Parameters
    ----------
    spec : str
        A registered name (``"word2vec"``, ``"tfidf"``, ``"minilm"``), or ``"NAME:ARGUMENT"`` for
        embedders that take one: ``"hf:PATH"`` (model folder or hub name), ``"npy:FILE"``.
    **params
        Keyword settings of that embedder (see its class). ``seed`` is accepted by every
        embedder and ignored by those that have no randomness.

    Returns
    -------
    Embedder

    Raises
    ------
    ParameterError
        Unknown name, a missing or unexpected ``:ARGUMENT``, or an unknown setting.
    """
    name, sep, argument = spec.partition(":")
    cls = EMBEDDERS.get(name.strip().lower())
    if cls.spec_argument is not None:
        if not sep or not argument:
            raise ParameterError(f"embedder {cls.name!r} needs an argument: use {cls.name}:VALUE")
        params[cls.spec_argument] = argument
    elif sep:
        raise ParameterError(f"embedder {cls.name!r} takes no argument, got {spec!r}")
    accepted = {
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    if "seed" not in accepted:
        params.pop("seed", None)
    unknown = sorted(set(params) - accepted)
    if unknown:
        known = ", ".join(sorted(accepted - {cls.spec_argument})) or "none"
        raise ParameterError(
            f"embedder {cls.name!r}: unknown setting {unknown[0]!r}; known: {known}"
        )
    return cls(**params)


def embed_texts(
    texts: Sequence[str],
    method: str = "word2vec",
    *,
    cache_dir: str | os.PathLike[str] | bool | None = None,
    seed: int = 0,
    quiet: bool = False,
    **params: Any,
) -> Embeddings:
    """Embed record texts, reusing the on-disk cache when the same texts and settings recur.

    Parameters
    ----------
    texts : sequence of str, length n
        One text per record, in record order.
    method : str
        Embedder spec, see :func:`get_embedder`.
    cache_dir : path, None or False
        Cache folder; None uses :func:`unisel.embed.cache.default_cache_dir`
        (``$UNISEL_CACHE_DIR/embeddings`` or ``~/.cache/unisel/embeddings``); False disables
        the cache.
    seed : int
        Seed of embedders with randomness (``word2vec``, ``tfidf``).
    quiet : bool
        No progress bars.
    **params
        Settings of the embedder.

    Returns
    -------
    Embeddings
        ``vectors`` of shape (n, dim), float32, finite (a read-only memory map when loaded from
        the cache or from an ``npy:`` file); ``cache_path`` is the ``.npy`` file they live in
        (None when the cache is off).

    Raises
    ------
    InputError
        No records, or an input the embedder cannot use (e.g. a bad ``npy:`` file).
    ParameterError
        Unknown embedder or setting.
    """
    texts = texts if isinstance(texts, list) else list(texts)
    if not texts:
        raise InputError("no records to embed")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InputError(f"record {i}: text is {type(text).__name__}, not a string")
    embedder = get_embedder(method, seed=seed, **params)
    precomputed = embedder.precomputed_path()
    config = embedder.config()
    folder = _resolve_cache_dir(cache_dir)
    if precomputed is not None:
        vectors = embedder.embed(texts, progress=not quiet)
        lifted, zero_rows = lift_zero_rows(vectors)
        if zero_rows.size == 0:
            return Embeddings(vectors, embedder.spec, config, cache_path=precomputed)
        # The file's vectors are changed, so the lifted copy goes to the cache.
        _warn_zero_rows(embedder, zero_rows)
        digest = cache.texts_digest([str(precomputed), str(precomputed.stat().st_mtime_ns)])
        key = cache.cache_key(digest, embedder.name, config)
        cache_path = _store(folder, key, lifted, embedder, config) if folder else None
        return Embeddings(lifted, embedder.spec, config, cache_path=cache_path)

    key = cache.cache_key(cache.texts_digest(texts), embedder.name, config) if folder else ""
    if folder is not None:
        hit = cache.lookup(folder, key, len(texts))
        if hit is not None:
            return Embeddings(hit, embedder.spec, config, cache_path=folder / f"{key}.npy")

    vectors = embedder.embed(texts, progress=not quiet)
    _check_output(embedder, vectors, len(texts))
    vectors, zero_rows = lift_zero_rows(vectors)
    if zero_rows.size:
        _warn_zero_rows(embedder, zero_rows)
    cache_path = _store(folder, key, vectors, embedder, config) if folder is not None else None
    return Embeddings(vectors, embedder.spec, config, cache_path=cache_path)


def _store(
    folder: Path, key: str, vectors: np.ndarray, embedder: Embedder, config: dict[str, Any]
) -> Path | None:
    try:
        return cache.store(folder, key, vectors, method=embedder.spec, params=config)
    except OSError as exc:  # an unwritable cache must not cost the user the result
        warnings.warn(f"embedding cache not written to {folder}: {exc}", stacklevel=3)
        return None


def _warn_zero_rows(embedder: Embedder, zero_rows: np.ndarray) -> None:
    shown = ", ".join(str(int(i)) for i in zero_rows[:5]) + (", ..." if zero_rows.size > 5 else "")
    warnings.warn(
        f"{embedder.spec}: {zero_rows.size} records have a zero embedding (records {shown}); "
        "they get a dimension of their own: identical to each other, orthogonal to the rest",
        stacklevel=3,
    )


def _resolve_cache_dir(cache_dir: str | os.PathLike[str] | bool | None) -> Path | None:
    if cache_dir is False:
        return None
    if cache_dir is None or cache_dir is True:
        return cache.default_cache_dir()
    return Path(cache_dir).expanduser()


def _check_output(embedder: Embedder, vectors: np.ndarray, n: int) -> None:
    """Guard the contract every embedder promises: (n, dim) float32, finite."""
    if vectors.ndim != 2 or vectors.shape[0] != n or vectors.dtype != np.float32:
        raise RuntimeError(
            f"embedder {embedder.spec!r} returned {vectors.dtype} {vectors.shape}, "
            f"expected float32 ({n}, dim)"
        )
    if not np.isfinite(vectors).all():
        bad = int(np.argmin(np.isfinite(vectors).all(axis=1)))
        raise RuntimeError(
            f"embedder {embedder.spec!r} returned a non-finite vector for record {bad}"
        )
