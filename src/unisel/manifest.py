"""The manifest written beside every subset: how it was made, and what it contains.

A manifest is a JSON object (``<output>.manifest.json``) with these keys:

``unisel_version``  the library version.
``input``           ``{"source", "format", "schema", "text_field", "n_records", "n_dropped", "sha256"}``
``output``          ``{"path", "format", "order", "sha256", "size"}`` (``order`` is ``"input"`` or
                    ``"selection"``; ``sha256`` and ``size`` are those of the subset file, or of
                    a subset folder's files (`unisel.io.atomic.content_sha256`): `load_manifest`
                    refuses a manifest whose subset beside it has other content. Absent in
                    manifests of in-memory selections and of earlier versions).
``embedder``        ``{"method", "params", "dim", "cache_path"}``: ``cache_path`` is the ``.npy`` the
                    embeddings are cached in, so later stages (metrics, report) never re-embed.
``selector``        ``{"method", "params"}``; ``params`` holds the seed and the ``start`` record (and
                    for maxmin the ``metric``, ``"cosine"`` or ``"euclidean"``; absent in
                    manifests written before it was recorded, which are cosine).
``k``               subset size.
``seed``            the seed every random choice used.
``indices``         selected record numbers of the input (0-based, as ``datasets.Dataset.select``
                    takes them), in selection order.
``embedding_indices`` the same records as rows of the cached embedding matrix; present only when
                    records without text were skipped, so the two numberings differ.
                    Every other record number in the manifest (``indices``, the selector's
                    ``start``) is an input record number, as ``--start`` takes it; only
                    ``embedding_indices`` counts embedding rows.
``distances``       for maxmin, the distance (in the selector's ``metric``) at which each record
                    was chosen (``null`` for the first only, also after ``--extend``, which
                    carries the extended selection's distances over; the list is
                    non-increasing), else ``null``.
``h_min``           ``{"cosine", "euclidean"}`` of the subset.
``tokens``          with a token budget (``--tokens``): ``{"tokenizer", "budget", "total",
                    "per_record"}``, the counter's name (``whitespace`` or a tokenizer), the
                    budget, the selection's total and the count of each selected record in
                    selection order; ``null`` otherwise.
``timings``         seconds per stage: ``read``, ``embed``, ``select``, ``metrics``, ``write``.
``versions``        library versions (python, numpy, scipy, scikit-learn, gensim, ...).
``format_version``  the layout of the file: 2 (`FORMAT_VERSION`). Manifests without it were
                    written before it was recorded and read as version 1 (the same keys);
                    a manifest of a later version is refused with a line saying so.

The sections stay plain dicts on `Manifest` (``manifest.input["source"]``); the typed view of
each, checked when it is asked for, is `Manifest.input_info` (`InputInfo`), `output_info`
(`OutputInfo`), `embedder_info` (`EmbedderInfo`) and `selector_info` (`SelectorInfo`);
`Manifest.section` gives the same views of a cut-down manifest, whose sections lack keys.
"""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, Generic, NoReturn, TypeVar, overload

import numpy as np

from unisel.errors import InputError

MANIFEST_SUFFIX = ".manifest.json"

#: The manifest layout written now (see the module docstring); `load_manifest` reads 1 and 2.
FORMAT_VERSION = 2


@dataclass(frozen=True)
class _Section:
    """A manifest section, typed: the keys it names are fields, the rest go to ``extra``.

    Attributes
    ----------
    extra : mapping
        Keys of the section this version does not name.
    """

    #: The section's key in the manifest.
    KEY: ClassVar[str]

    extra: Mapping[str, Any] = field(default_factory=dict, kw_only=True)


@dataclass(frozen=True)
class InputInfo(_Section):
    """The ``input`` section: what the subset was selected from.

    Attributes
    ----------
    source : str
        The absolute path or hub name (``<pandas.DataFrame>`` etc. for in-memory inputs).
    format, schema : str
        As `unisel.io.RecordSet` has them.
    text_field : str or None
    n_records : int
        Records read (after ``n_dropped`` and ``n_skipped``).
    n_dropped, n_skipped : int
        Cut-off records at the end of a JSON array; records without text left out.
    sha256 : str
        The content hash of the input.
    in_memory : bool
        The input was a ``datasets.Dataset`` or ``pandas.DataFrame`` in memory.
    """

    KEY = "input"

    source: str
    format: str
    schema: str
    n_records: int
    text_field: str | None = None
    n_dropped: int = 0
    n_skipped: int = 0
    sha256: str = ""
    in_memory: bool = False


@dataclass(frozen=True)
class OutputInfo(_Section):
    """The ``output`` section: where the subset was written.

    Attributes
    ----------
    path : str or None
        The resolved subset path; None for a selection returned in memory.
    format : str
    order : {"input", "selection"}
    sha256 : str or None
        Of the subset file or folder; None in manifests of in-memory selections and of
        versions before the pair was checked.
    size : int or None
        Bytes of the subset, beside ``sha256``.
    """

    KEY = "output"

    format: str
    order: str
    path: str | None = None
    sha256: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class _Registered(_Section):
    """A section naming a registered component and its settings.

    Attributes
    ----------
    method : str
        The registered name.
    params : mapping
        Its settings, as the manifest recorded them.
    """

    method: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EmbedderInfo(_Registered):
    """The ``embedder`` section: how the records were embedded.

    Attributes
    ----------
    dim : int
        Embedding dimension.
    cache_path : str or None
        The cached ``.npy`` of the embeddings.
    """

    KEY = "embedder"

    dim: int = field(kw_only=True)
    cache_path: str | None = None


@dataclass(frozen=True)
class SelectorInfo(_Registered):
    """The ``selector`` section: which selector chose the subset; ``params`` are
    `unisel.select.Selector.manifest_params` of the fitted selector."""

    KEY = "selector"

    @property
    def start(self) -> int | None:
        """The first record (an input record number), when the selector has one."""
        start = self.params.get("start")
        return None if start is None else int(start)

    @property
    def metric(self) -> str:
        """The distance of the greedy; manifests from before it was recorded are cosine."""
        return str(self.params.get("metric", "cosine"))


_S = TypeVar("_S", bound=_Section)

#: What a cut-down section reads for a key every writer records, by the field's type.
_EMPTY: dict[str, Any] = {"str": "", "int": 0}


def _section(cls: type[_S], data: Any, *, partial: bool = False) -> _S:
    """``cls`` (a `_Section`) from a manifest section's dict.

    Keys ``cls`` does not name go to ``extra``; a missing required key or a section that is not
    an object raises `InputError` naming the section and the key. With ``partial``, a missing
    section is empty and a missing required key reads as the empty value of its type.
    """
    what = cls.KEY
    if partial and data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise InputError(f"manifest section {what!r} is not an object")
    known = {f.name for f in fields(cls)} - {"extra"}
    required = [f for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
    missing = sorted(f.name for f in required if f.name not in data)
    if missing and not partial:
        raise InputError(f"manifest section {what!r} lacks {', '.join(missing)}")
    values = {f.name: _EMPTY[str(f.type)] for f in required if f.name not in data}
    values.update((k, v) for k, v in data.items() if k in known)
    return cls(**values, extra={k: v for k, v in data.items() if k not in known})


class _SectionView(Generic[_S]):
    """A read-only `Manifest` attribute: the checked typed view of one section."""

    def __init__(self, cls: type[_S]) -> None:
        self.cls = cls

    @overload
    def __get__(self, manifest: None, owner: type) -> _SectionView[_S]: ...

    @overload
    def __get__(self, manifest: Manifest, owner: type) -> _S: ...

    def __get__(self, manifest: Manifest | None, owner: type) -> _SectionView[_S] | _S:
        return self if manifest is None else manifest.section(self.cls)

    def __set__(self, manifest: Manifest, value: Any) -> NoReturn:
        raise AttributeError(f"{self.cls.KEY}_info is read-only; change manifest.{self.cls.KEY}")


@dataclass
class Manifest:
    """In-memory form of a manifest file; see the module docstring for the keys."""

    input: dict[str, Any]
    output: dict[str, Any]
    embedder: dict[str, Any]
    selector: dict[str, Any]
    k: int
    seed: int | None
    indices: list[int]
    distances: list[float | None] | None
    h_min: dict[str, float]
    timings: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    unisel_version: str = ""
    embedding_indices: list[int] | None = None
    tokens: dict[str, Any] | None = None
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, allow_nan=False)

    def section(self, cls: type[_S], *, partial: bool = False) -> _S:
        """The typed view of the section ``cls`` stands for.

        Parameters
        ----------
        cls : type
            `InputInfo`, `OutputInfo`, `EmbedderInfo` or `SelectorInfo`.
        partial : bool
            Accept a cut-down section (hand-made or test manifests): a key every writer
            records reads as ``""`` or ``0`` where it is missing, and a missing section as
            empty. For readers that use only what such a manifest holds.

        Raises
        ------
        InputError
            Without ``partial``, the section is not an object or lacks a key every writer
            records.
        """
        return _section(cls, getattr(self, cls.KEY), partial=partial)

    #: The ``input`` section, typed.
    input_info = _SectionView(InputInfo)
    #: The ``output`` section, typed.
    output_info = _SectionView(OutputInfo)
    #: The ``embedder`` section, typed.
    embedder_info = _SectionView(EmbedderInfo)
    #: The ``selector`` section, typed.
    selector_info = _SectionView(SelectorInfo)

    @property
    def indices_array(self) -> np.ndarray:
        return np.asarray(self.indices, dtype=np.int64)

    def embedding_rows(self) -> np.ndarray:
        """Selected rows of the cached embedding matrix, in selection order, shape (k,)."""
        rows = self.indices if self.embedding_indices is None else self.embedding_indices
        return np.asarray(rows, dtype=np.int64)

    @property
    def distances_array(self) -> np.ndarray | None:
        """Distances as float64 with ``inf`` for the first record, or None."""
        if self.distances is None:
            return None
        return np.array([math.inf if d is None else d for d in self.distances], dtype=np.float64)


def manifest_path_for(output: str | Path) -> Path:
    """The manifest path that belongs to subset ``output`` (``subset.jsonl.manifest.json``)."""
    output = Path(output)
    return output.parent / (output.name.rstrip("/") + MANIFEST_SUFFIX)


def subset_path_for(manifest_path: str | Path) -> Path:
    """The subset file a manifest belongs to: its path without ``.manifest.json``."""
    manifest_path = Path(manifest_path)
    return manifest_path.parent / manifest_path.name[: -len(MANIFEST_SUFFIX)]


# (path, size, mtime, inode, ctime) -> sha256: a manifest read twice in one run (select
# --report, report inputs) hashes its subset once.
_DIGESTS: dict[tuple[str, int, int, int, int], str] = {}


def _subset_sha256(subset: Path) -> tuple[str, int]:
    from unisel.io.atomic import content_sha256

    st = subset.stat()
    if subset.is_dir():
        return content_sha256(subset)
    key = (str(subset.resolve()), st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = content_sha256(subset)[0]
    return _DIGESTS[key], st.st_size


def check_subset(manifest: Manifest, manifest_path: str | Path) -> None:
    """Raise `InputError` unless the subset beside ``manifest_path`` is the one it describes.

    `unisel.pipeline.write_selection` publishes the manifest first and the subset second, so a
    run killed between the two renames (or two runs writing one path) can leave a manifest
    beside a subset it does not describe; the subset's sha256 and size in ``output`` tell.
    Manifests without them (in-memory selections, earlier versions) and a manifest whose subset
    is not there (its indices stand alone) pass.

    Parameters
    ----------
    manifest : Manifest
    manifest_path : path
        Where ``manifest`` was read from (``<subset>.manifest.json``).

    Raises
    ------
    InputError
        The subset's size or sha256 differs from the manifest's.
    """
    expected = manifest.output.get("sha256") if isinstance(manifest.output, dict) else None
    mpath = Path(manifest_path)
    if not expected or not mpath.name.endswith(MANIFEST_SUFFIX):
        return
    subset = subset_path_for(mpath)
    if not subset.exists():
        return
    try:
        digest, size = _subset_sha256(subset)
    except OSError as exc:
        raise InputError(f"{subset}: cannot read the subset ({exc.strerror or exc})") from None
    if digest != expected or size != manifest.output.get("size", size):
        raise InputError(
            f"{mpath} does not describe {subset} (written by another run or cut off); rerun select"
        )


def distances_to_json(distances: np.ndarray | None) -> list[float | None] | None:
    """float64 distances -> JSON list, with ``None`` for ``inf``/``nan``."""
    if distances is None:
        return None
    return [float(d) if math.isfinite(d) else None for d in np.asarray(distances, dtype=np.float64)]


def library_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Versions of Python and the libraries that shape the result."""
    names = ("unisel", "numpy", "scipy", "scikit-learn", "gensim", "numba", "pyarrow", *extra)
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def load_manifest(path: str | Path, *, check: bool = True) -> Manifest:
    """Read a manifest file, or the manifest that belongs to a subset file.

    Parameters
    ----------
    path : path
        ``<subset>.manifest.json``, or ``<subset>``.
    check : bool
        Check that the subset beside the manifest is the one it describes (`check_subset`).

    Raises
    ------
    InputError
        If neither ``path`` nor ``path + ".manifest.json"`` is a readable manifest, or (with
        ``check``) the subset beside it is not the one it describes.
    """
    path = Path(path)
    if not path.name.endswith(MANIFEST_SUFFIX):
        path = manifest_path_for(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: manifest not found") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable manifest ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a unisel manifest (a JSON {type(data).__name__})")
    version = data.setdefault("format_version", 1)  # written before the version was recorded
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise InputError(
            f"{path}: manifest format_version {version!r}; this unisel reads 1 to "
            f"{FORMAT_VERSION} (a newer unisel wrote it?)"
        )
    try:
        manifest = Manifest(**data)
    except TypeError as exc:
        raise InputError(f"{path}: not a unisel manifest ({exc})") from None
    if check:
        check_subset(manifest, path)
    return manifest
