"""The embedder base class, the embedder registry and the `Embeddings` result."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from unisel._registry import Registry
from unisel.errors import ParameterError


@dataclass
class Embeddings:
    """Vectors for a set of records, one row per record in input order.

    Attributes
    ----------
    vectors : ndarray of shape (n_records, dim), float32
        May be a read-only memory map of the cached ``.npy`` file.
    method : str
        The embedder spec that produced them (``"word2vec"``, ``"hf:PATH"``, ...).
    params : dict
        Every setting of the embedder that affects the vectors (part of the cache key).
    cache_path : Path or None
        The ``.npy`` file the vectors are cached in, when caching is on.
    """

    vectors: np.ndarray
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    cache_path: Path | None = None

    @property
    def n(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


class Embedder(ABC):
    """Turns record texts into vectors.

    Subclasses register under a name with ``@EMBEDDERS.register("name")``, take their settings as
    keyword arguments in ``__init__`` and report them from :meth:`config` so that the cache key
    changes whenever the vectors would. Embedders fitted on the corpus (``word2vec``,
    ``tfidf``) also offer ``fit(texts) -> self`` and ``transform(texts) -> ndarray``: fitted
    once, applied to any texts (`unisel.distributed.embed_partitions` relies on it).
    """

    name: ClassVar[str] = ""
    spec_argument: ClassVar[str | None] = None
    """The ``__init__`` keyword that the part after ``name:`` fills in a spec such as
    ``"hf:PATH"``; None for embedders named without an argument."""

    @property
    def spec(self) -> str:
        """The spec that names this embedder: ``name``, or ``name:ARGUMENT``."""
        if self.spec_argument is None:
            return self.name
        return f"{self.name}:{getattr(self, self.spec_argument)}"

    def precomputed_path(self) -> Path | None:
        """The file that already holds the vectors (it is their cache), or None.

        Embedders that compute vectors return None and are cached by :func:`embed_texts`.
        """
        return None

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """Every setting that affects the output, JSON-serialisable (the cache key uses it)."""

    @classmethod
    def settings_from_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword settings that rebuild an embedder whose :meth:`config` was ``config``.

        Continuing a selection (``--extend``) rebuilds the embedder its manifest records. This
        keeps the entries of ``config`` that are keyword parameters of ``__init__`` (the spec's
        argument excepted: it comes from the spec); an embedder whose config spells a setting
        differently overrides it. Callers check that the rebuilt embedder's config equals
        ``config``, so an entry this cannot map shows up as a mismatch, not a silent change.

        Parameters
        ----------
        config : mapping
            A config as :meth:`config` returned it (e.g. read back from a manifest).

        Returns
        -------
        dict
            Keyword arguments for ``get_embedder(spec, **settings)``.
        """
        accepted = {
            p.name
            for p in inspect.signature(cls.__init__).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != cls.spec_argument
        }
        return {key: value for key, value in config.items() if key in accepted}

    @abstractmethod
    def embed(self, texts: Sequence[str], *, progress: bool = True) -> np.ndarray:
        """Embed ``texts``.

        Parameters
        ----------
        texts : sequence of str, length n
        progress : bool
            Show a progress bar on stderr.

        Returns
        -------
        ndarray of shape (n, dim), float32, finite.
        """


EMBEDDERS: Registry[Embedder] = Registry("embedder")


def package_version(distribution: str) -> str | None:
    """The installed version of ``distribution`` (a PyPI name), or None when it is not
    installed; embedders record it in their config so a cache key changes with the model."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def check_at_least(owner: str, /, **values: float | None) -> None:
    """Raise `ParameterError` for the first of ``values`` (setting name -> value; None, an
    unset optional setting, passes) that is below 1.

    Parameters
    ----------
    owner : str
        The embedder the settings belong to, first in the message (``"tfidf"``, ``"hf:PATH"``).
    **values : int, float or None
        The settings to check, in the order they are reported.
    """
    for name, value in values.items():
        if value is not None and value < 1:
            raise ParameterError(f"{owner}: {name} must be >= 1, got {value}")


def lift_zero_rows(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Give all-zero rows a dimension of their own.

    An embedder returns the zero vector for a record it has nothing for (word2vec: no word of
    the vocabulary). Cosine distance is undefined there; left as is, every zero row would be at
    distance 1 from everything, including the other zero rows, and any subset that misses one
    would have covering radius 1. Appending one column, 1 for zero rows and 0 elsewhere, makes
    the zero rows identical to each other and orthogonal to every other record, while the
    distances between the other records do not change (their new coordinate is 0).

    Parameters
    ----------
    vectors : ndarray of shape (n, d), float32

    Returns
    -------
    vectors : ndarray of shape (n, d) when no row is zero (the input itself), else (n, d + 1)
    zero_rows : ndarray of shape (z,), int64
        The rows that were zero.
    """
    zero_rows = np.flatnonzero(~np.asarray(vectors).any(axis=1)).astype(np.int64)
    if zero_rows.size == 0:
        return vectors, zero_rows
    lifted = np.zeros((vectors.shape[0], vectors.shape[1] + 1), dtype=np.float32)
    lifted[:, :-1] = vectors
    lifted[zero_rows, -1] = 1.0
    return lifted, zero_rows


def zero_rows(vectors: np.ndarray) -> np.ndarray:
    """Which rows are an embedding of nothing: the zero vector, or the zero vector given a
    dimension of its own by `lift_zero_rows` (zero everywhere but a last entry of 1).

    Parameters
    ----------
    vectors : ndarray of shape (n, d)

    Returns
    -------
    ndarray of shape (n,), bool
    """
    X = np.asarray(vectors)
    n, d = X.shape
    last = X[:, -1]
    # lifted: a last column of 0s and 1s whose 1s stand alone in their row
    lifted = d > 1 and bool(np.isin(last, (0, 1)).all()) and bool((last == 1).any())
    out = np.zeros(n, dtype=bool)
    step = max(1, (1 << 24) // max(1, d * X.itemsize))  # 16 MB of rows at a time
    for lo in range(0, n, step):
        block = X[lo : lo + step]
        rest_zero = ~block[:, :-1].any(axis=1) if d > 1 else np.ones(len(block), dtype=bool)
        out[lo : lo + step] = rest_zero & ((block[:, -1] == 0) | lifted)
    return out
