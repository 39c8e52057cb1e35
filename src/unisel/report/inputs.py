"""What a report is made of: the full set's embeddings and the subsets, resolved and checked.

Subsets come from the manifests that ``unisel select`` writes (or as plain ``(name, indices)``
pairs); the embeddings come from the cache file the manifests name, memory-mapped, never
recomputed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unisel.errors import InputError, ParameterError, UniselError
from unisel.io import RecordSet, resolve_source
from unisel.manifest import Manifest, load_manifest

SubsetSpec = str | Path | tuple[str, Sequence[int] | np.ndarray]
"""A manifest path, a subset file with its manifest beside it, or a ``(name, indices)`` pair."""

FULL_NAME = "full"


@dataclass
class ReportSet:
    """One subset shown in the report.

    Attributes
    ----------
    name : str
        Label used in the table, the figures and ``report.json``; unique within a report.
    indices : ndarray of shape (k,), int64
        Rows of the full set, in selection order.
    method : str or None
        Selector that made it (from the manifest), None for plain index pairs.
    manifest_path : Path or None
    distances : ndarray of shape (k,), float64, or None
        For max-min selections, the cosine distance at which each record was chosen (``inf`` for
        the first, ``nan`` for records of an initial selection); None otherwise.
    params : dict
        The manifest's ``selector.params`` (``preset``, ``set_aside`` count, ...); empty for
        plain index pairs.
    """

    name: str
    indices: np.ndarray
    method: str | None = None
    manifest_path: Path | None = None
    distances: np.ndarray | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReportInputs:
    """The resolved inputs of a report.

    Attributes
    ----------
    source : str or None
        The full data set (path or hub name) as the manifests or the caller name it.
    X : ndarray of shape (n, d)
        Embeddings of the full set (usually a read-only memory map of the cache).
    embedder : dict
        ``{"method", "params", "dim", "cache_path"}`` where known, else empty.
    sets : list of ReportSet
    lengths : ndarray of shape (n,), int64, or None
        Length of every record of the full set (words or tokens, see ``length_unit``).
    length_unit : str or None
        ``"words"`` or ``"tokens (NAME)"``.
    length_note : str or None
        Why there are no lengths (``lengths="auto"`` and the records could not be read).
    text_digests : ndarray of shape (n,), dtype V16, or None
        `unisel.metrics.text_digests` of the full set's rendered texts, for the identical-text
        counts; None when the records were not read (no ``lengths``, or they could not be).
    records : RecordSet or None
        The full set's records as read again for the report (their texts, one per embedding
        row); None when they were not read.
    words : ndarray of shape (n,), int64, or None
        `unisel.tokens.content_words` of each record, whatever ``length_unit`` is.
    turns : ndarray of shape (n,), int64, or None
        Conversation turns with text per record (``sharegpt`` and ``messages`` schemas only).
    records_note : str or None
        Why there are no records (they could not be read), when lengths were given as an array.
    """

    source: str | None
    X: np.ndarray
    embedder: dict[str, Any] = field(default_factory=dict)
    sets: list[ReportSet] = field(default_factory=list)
    lengths: np.ndarray | None = None
    length_unit: str | None = None
    length_note: str | None = None
    text_digests: np.ndarray | None = None
    records: RecordSet | None = None
    words: np.ndarray | None = None
    turns: np.ndarray | None = None
    records_note: str | None = None

    @property
    def n(self) -> int:
        return int(self.X.shape[0])


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _same_input(full: str | Path, manifest: Manifest, manifest_path: Path) -> None:
    """Raise InputError unless ``manifest`` was made from the data set ``full``."""
    full = str(resolve_source(full))
    made_from = manifest.input_info
    source = made_from.source
    full_path = Path(full)
    if full_path.exists():
        if source and Path(source).exists() and Path(source).resolve() == full_path.resolve():
            return
        digest = made_from.sha256
        if digest and full_path.is_file():
            if _sha256(full_path) == digest:
                return
            raise InputError(
                f"{manifest_path}: subset was made from {source or 'another file'} "
                f"(sha256 {digest[:12]}...), not from {full}"
            )
        if source and Path(source).resolve() != full_path.resolve():
            raise InputError(f"{manifest_path}: subset was made from {source}, not from {full}")
        return
    if source and source != str(full):
        raise InputError(f"{manifest_path}: subset was made from {source}, not from {full}")


def _cache_file(manifest: Manifest, manifest_path: Path) -> Path | None:
    raw = manifest.embedder_info.cache_path
    if not raw:
        return None
    path = Path(raw)
    if not path.is_absolute() and not path.exists():
        # A relative cache path is taken relative to the manifest when it is not under the cwd.
        beside = manifest_path.parent / path
        if beside.exists():
            return beside
    return path


def _load_embeddings(path: Path) -> np.ndarray:
    from unisel.embed.npy import is_npy_file

    try:
        if not is_npy_file(path):
            raise InputError(f"{path}: not a .npy file (embeddings saved with numpy.save)")
        X = np.load(path, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable .npy embedding file ({exc})") from None
    if X.ndim != 2 or X.shape[0] == 0:
        raise InputError(f"{path}: embeddings must be a non-empty 2-D array, got shape {X.shape}")
    return X


def _embedder_key(m: Manifest) -> tuple[str, str]:
    import json

    made = m.embedder_info
    return (made.method, json.dumps(made.params, sort_keys=True))


def _recreate_hint(manifest: Manifest) -> str:
    source = manifest.input_info.source
    method = manifest.embedder_info.method
    return (
        f"re-create it by running `unisel select {source} --embedder {method} ...` again with the "
        "same embedder settings and cache directory (it re-embeds and writes the cache), "
        "or pass the embeddings explicitly"
    )


def _check_indices(name: str, idx: np.ndarray, n: int, where: str) -> np.ndarray:
    idx = np.asarray(idx)
    if idx.ndim != 1 or idx.size == 0:
        raise InputError(f"{where}: subset {name!r} must be a non-empty list of row indices")
    if not np.issubdtype(idx.dtype, np.integer):
        raise InputError(f"{where}: subset {name!r} has non-integer indices")
    idx = idx.astype(np.int64)
    bad = (idx < 0) | (idx >= n)
    if bad.any():
        raise InputError(
            f"{where}: subset {name!r} has index {int(idx[bad][0])} outside the full set of {n} records"
        )
    if np.unique(idx).size != idx.size:
        raise InputError(f"{where}: subset {name!r} lists a record more than once")
    return idx


def _unique_names(names: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        candidate, i = name, 2
        while candidate in out or candidate == FULL_NAME:
            candidate = f"{name}-{i}"
            i += 1
        out.append(candidate)
    return out


def resolve_inputs(
    full: str | Path | None,
    subsets: Sequence[SubsetSpec],
    *,
    names: Sequence[str] | None = None,
    embeddings: np.ndarray | str | Path | None = None,
    lengths: str | np.ndarray | None = None,
) -> ReportInputs:
    """Load the manifests, check they belong together and to ``full``, and map the embeddings.

    Parameters
    ----------
    full : path or str or None
        The full data set the subsets were drawn from; None to take it from the manifests.
    subsets : sequence
        Manifest paths, subset files with their manifest beside them, or ``(name, indices)``.
    names : sequence of str, optional
        Labels for the subsets, in order (default: the selector of each manifest).
    embeddings : ndarray of shape (n, d), or path to a ``.npy``, optional
        The full set's embeddings; default: the cache file named by the manifests.
    lengths : str, ndarray of shape (n,) or None
        Length of each record, for the length distribution of every set: ``None`` (none),
        an array, ``"words"`` (whitespace words), a tokenizer name (see :mod:`unisel.tokens`),
        or ``"auto"``: the tokenizer a manifest's token budget used, else words, and nothing
        (with a note) when the records cannot be read. Counting reads the full set's records
        again (``full`` or the manifests' source, with their schema and text field).

    Raises
    ------
    ParameterError
        No subsets, wrong number of names, or subsets embedded in different ways.
    InputError
        A manifest is unreadable or belongs to another data set, the embedding cache is gone,
        or indices are out of range.
    """
    if not subsets:
        raise ParameterError("give at least one subset (--subset)")
    if names is not None and len(names) != len(subsets):
        raise ParameterError(f"got {len(names)} names for {len(subsets)} subsets")
    if names is not None and len(set(names)) != len(names):
        raise ParameterError(f"subset names must be distinct, got {list(names)}")
    if names is not None and FULL_NAME in names:
        raise ParameterError(f"{FULL_NAME!r} names the full set; choose another subset name")

    manifests: list[tuple[Path, Manifest]] = []
    raw: list[tuple[str, np.ndarray, Manifest | None, Path | None]] = []
    for spec in subsets:
        if isinstance(spec, (str, Path)):
            m = load_manifest(spec)
            mpath = Path(spec)
            manifests.append((mpath, m))
            raw.append((m.selector_info.method, m.embedding_rows(), m, mpath))
        else:
            name, idx = spec
            raw.append((str(name), np.asarray(idx), None, None))

    if manifests:
        first_path, first = manifests[0]
        for mpath, m in manifests[1:]:
            if _embedder_key(m) != _embedder_key(first):
                mine, theirs = m.embedder_info, first.embedder_info
                raise ParameterError(
                    f"{mpath}: embedded with {mine.method} {mine.params}, "
                    f"but {first_path} with {theirs.method} "
                    f"{theirs.params}; a report compares sets in one embedding space"
                )
            if m.input_info.sha256 != first.input_info.sha256:
                raise InputError(f"{mpath}: made from another input than {first_path}")
        if full is not None:
            for mpath, m in manifests:
                _same_input(full, m, mpath)

    embedder: dict[str, Any] = {}
    if embeddings is not None:
        if isinstance(embeddings, (str, Path)):
            X = _load_embeddings(Path(embeddings))
            embedder = {"cache_path": str(embeddings)}
        else:
            X = np.asarray(embeddings)
            if X.ndim != 2 or X.shape[0] == 0:
                raise ParameterError(
                    f"embeddings must be a non-empty 2-D array, got shape {X.shape}"
                )
    elif manifests:
        first_path, first = manifests[0]
        cache = None
        for mpath, m in manifests:
            candidate = _cache_file(m, mpath)
            if candidate is not None and candidate.exists():
                cache = candidate
                break
        if cache is None:
            named = first.embedder_info.cache_path
            if not named:
                raise InputError(
                    f"{first_path}: the manifest names no embedding cache (embedder.cache_path); "
                    + _recreate_hint(first)
                )
            raise InputError(
                f"{first_path}: embedding cache {named} is gone; " + _recreate_hint(first)
            )
        X = _load_embeddings(cache)
        made = first.embedder_info
        embedder = {"method": made.method, "params": made.params, "dim": made.dim}
        embedder["cache_path"] = str(cache)
    else:
        raise ParameterError(
            "no manifest among the subsets, so the embeddings are unknown: pass embeddings"
        )

    n = int(X.shape[0])
    for mpath, m in manifests:
        n_records = m.input_info.n_records
        if n_records != n:
            raise InputError(
                f"{mpath}: the input has {n_records} records but the embeddings have {n} rows"
            )

    labels = list(names) if names is not None else _unique_names([r[0] for r in raw])
    sets: list[ReportSet] = []
    for label, (_, idx, man, man_path) in zip(labels, raw, strict=True):
        where = str(man_path) if man_path is not None else "subsets"
        checked = _check_indices(label, idx, n, where)
        distances = None
        method = None
        params: dict[str, Any] = {}
        if man is not None:
            chosen_by = man.selector_info
            method = chosen_by.method or None
            params = dict(chosen_by.params or {})
            distances = man.distances_array
            if distances is not None and distances.shape[0] != checked.shape[0]:
                raise InputError(
                    f"{man_path}: {distances.shape[0]} distances for {checked.shape[0]} indices"
                )
        sets.append(ReportSet(label, checked, method, man_path, distances, params))

    if full is not None:
        source: str | None = str(full)
    elif manifests:
        source = manifests[0][1].input_info.source or None
    else:
        source = None
    inputs = ReportInputs(source=source, X=X, embedder=embedder, sets=sets)
    if lengths is not None:
        _attach_lengths(inputs, full, [m for _, m in manifests], lengths)
    return inputs


def _attach_lengths(
    inputs: ReportInputs,
    full: str | Path | None,
    manifests: list[Manifest],
    lengths: str | np.ndarray,
) -> None:
    """Set ``inputs.lengths`` (one count per embedding row) from an array or the records, and
    keep the records, their word and turn counts for the report's records section."""
    from unisel.io import read_records
    from unisel.metrics import text_digests
    from unisel.tokens import WHITESPACE, content_words, count_tokens

    n = inputs.n
    given = not isinstance(lengths, str)
    if given:
        arr = np.asarray(lengths)
        if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.integer):
            raise ParameterError(f"lengths must be {n} integers, one per record of the full set")
        inputs.lengths, inputs.length_unit = arr.astype(np.int64), "given"
    # Given lengths need no records: reading them is then only for the records section, and
    # a failure to read only leaves that section out.
    auto = given or lengths == "auto"
    tokenizer: str | None = None if given or lengths in ("auto", "words") else str(lengths)
    if not given and lengths == "auto":
        for m in manifests:
            name = (getattr(m, "tokens", None) or {}).get("tokenizer")
            if name and name not in ("given", WHITESPACE):
                tokenizer = str(name)
                break

    def skip(note: str) -> None:
        if given:
            inputs.records_note = note
        else:
            inputs.length_note = note

    first = manifests[0] if manifests else None
    made_from = first.input_info if first else None
    source = full if full is not None else (made_from.source if made_from else None)
    if not source:
        if auto:
            skip("no data set to read the records from")
            return
        raise ParameterError("record lengths need the full data set (FULL or a manifest)")
    try:
        records = read_records(
            source,
            schema=made_from.schema if made_from else None,
            text_field=made_from.text_field if made_from else None,
            skip_empty=bool(made_from and made_from.n_skipped) or None,
            quiet=True,
        )
    except UniselError as exc:
        if auto:
            skip(f"the records could not be read ({exc})")
            return
        raise
    if len(records) != n:
        msg = f"{source}: {len(records)} records but the embeddings have {n} rows"
        if auto:
            skip(msg)
            return
        raise InputError(msg)
    inputs.records = records
    inputs.text_digests = text_digests(records.texts)
    inputs.words = content_words(records.texts)
    inputs.turns = count_turns(source, records)
    if given:
        return
    counted = count_tokens(records.texts, tokenizer)
    inputs.lengths = counted.counts
    inputs.length_unit = (
        "words" if counted.tokenizer == WHITESPACE else f"tokens ({counted.tokenizer})"
    )


#: The field holding a conversation's turns, per schema that has turns.
TURN_FIELDS = {"sharegpt": "conversations", "messages": "messages"}


def _has_text(value: Any) -> bool:
    """Whether a turn's value holds text (a string, or a list of ``{"text": ...}`` parts)."""
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple)):
        return any(isinstance(p, dict) and _has_text(p.get("text")) for p in value)
    return value is not None and bool(str(value).strip())


def turn_count(turns: Any) -> int:
    """The turns with text in a conversation (a ShareGPT ``conversations`` or a ``messages``
    list); turns without text count for nothing, as the rendered text leaves them out."""
    if not isinstance(turns, (list, tuple)):
        return 0
    return sum(
        1 for t in turns if isinstance(t, dict) and _has_text(t.get("value", t.get("content")))
    )


def count_turns(source: str | Path, records: RecordSet) -> np.ndarray | None:
    """Turns per record of a conversation data set, one per entry of ``records``, or None.

    The rendered texts join the turns, so the source is streamed once more for the turn lists
    (only their column where the format allows); None for schemas without turns, or when the
    second pass does not line up with ``records``.

    Returns
    -------
    ndarray of shape (len(records),), int64, or None
    """
    from unisel.io.reader import open_source

    column = TURN_FIELDS.get(records.schema)
    if column is None:
        return None
    try:
        fmt, src = open_source(source, str(records.meta.get("split", "train")))
        src.meta.update(fmt.inspect(src))
        counts = np.fromiter(
            (turn_count(record.get(column)) for record, _ in fmt.records(src, [column])),
            dtype=np.int64,
        )
    except (UniselError, OSError):  # read once already: a second failure only loses turns
        return None
    rows = records.source_rows(np.arange(len(records)))
    if rows.size and int(rows.max()) >= counts.size:
        return None
    return counts[rows]
