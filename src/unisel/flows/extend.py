"""Sizing a selection, and continuing an earlier one (``--extend``): its embedder and distances."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unisel.embed import EMBEDDERS, get_embedder
from unisel.errors import ParameterError
from unisel.io import RecordSet
from unisel.manifest import (
    EmbedderInfo,
    InputInfo,
    Manifest,
    SelectorInfo,
    load_manifest,
)
from unisel.options import DEFAULT_EMBEDDER
from unisel.select import resolve_k


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
    made_from = previous.section(InputInfo, partial=True).sha256
    if made_from and made_from != records.content_hash:
        raise ParameterError(f"{label}: the manifest was made from different input data")
    made_with = previous.section(SelectorInfo, partial=True).metric
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
    made = previous.section(EmbedderInfo, partial=True)
    method = made.method
    if not method:  # a manifest without an embedder record: nothing to check against
        return embedder or DEFAULT_EMBEDDER, seed, dict(embedder_params or {})
    recorded = _plain_json(made.params or {})
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


def _plain_json(value: Mapping[str, Any]) -> dict[str, Any]:
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
