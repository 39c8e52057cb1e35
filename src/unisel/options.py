"""Defaults and names of the options the stages share (ground floor: imports nothing heavy).

The command line builds its ``--help`` from these without importing the stages (numba, torch),
and the stages take their defaults from here, so a default is written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

#: Sets above this many rows get estimated nearest-neighbour distributions in the metrics.
DEFAULT_EXACT_LIMIT = 200_000
#: Rows of the metrics' sample (or of the HNSW recall queries) above the exact limit.
DEFAULT_SAMPLE_SIZE = 10_000
#: How the metrics estimate nearest-neighbour distances above the exact limit.
APPROXIMATE_METHODS = ("sample", "hnsw")
#: The largest seed: every random generator a run seeds (numpy's legacy ``RandomState``,
#: scikit-learn, gensim) takes 32-bit seeds.
MAX_SEED = 2**32 - 1


def check_seed(seed: object, name: str = "seed") -> int:
    """``seed`` as an int, checked once before any work instead of deep in a generator.

    Parameters
    ----------
    seed : int
        An integer (Python or numpy) in ``0..MAX_SEED``.
    name : str
        What the message calls it (``"--seed"`` on the command line).

    Returns
    -------
    int

    Raises
    ------
    ParameterError
        ``seed`` is not an integer, or out of range.
    """
    import numbers

    from unisel.errors import ParameterError

    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ParameterError(f"{name} must be an integer in 0..{MAX_SEED}, got {seed!r}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ParameterError(f"{name} must be in 0..{MAX_SEED}, got {seed}")
    return int(seed)


#: ``m`` of the isolation score of max-min's outlier rule (distance to the m-th neighbour).
DEFAULT_OUTLIER_NEIGHBORS = 10
#: The isolation score is measured against at most this many (sampled) records.
DEFAULT_OUTLIER_SAMPLE_SIZE = 20_000


# ---------------------------------------------------------------- typed options of one run
# Frozen dataclasses, one per concern, validated once in __post_init__. The command line, the
# Python API (unisel.pipeline), the experiment config and the distributed layer all build these
# and hand them to unisel.flows; nothing forwards options by name lists.

DEFAULT_EMBEDDER = "word2vec"
#: The registered selectors, for ``--help`` without importing them (a test keeps this equal to
#: `unisel.select.SELECTORS.names()`).
SELECTOR_NAMES = ("clustered", "first", "kmeans", "maxmin", "random")
ORDERS = ("input", "selection")
MODES = ("exact", "two-round")
METRIC_NAMES = ("cosine", "euclidean")


@dataclass(frozen=True)
class Preset:
    """What a preset sets when the user leaves it open.

    Attributes
    ----------
    pooling : str
        word2vec's pooling (``"mean"``: the paper's; ``"sif"``: smooth inverse frequency).
    min_words : int
        Records with fewer words (:func:`unisel.tokens.content_words`) are set aside: not
        max-min candidates (0: none).
    aside_zero : bool
        Records whose embedding is the zero vector (nothing the embedder knows) are set aside.
    outliers : float
        Fraction of the records left out of the max-min candidates as isolated.
    length_buckets : int or None
        max-min per length bucket (word counts), so the subset keeps the input's length
        distribution; off where buckets cannot run (``start``, ``extend``, ``checkpoint``, a
        Dask cluster).
    """

    pooling: str
    min_words: int
    aside_zero: bool
    outliers: float
    length_buckets: int | None = None


#: ``paper``: the paper's recipe as published (word2vec mean pooling, plain greedy, every record
#: a candidate). ``default``: chosen from benchmarks/bench_quality.py (docs/quality.md).
PRESETS: dict[str, Preset] = {
    "paper": Preset(pooling="mean", min_words=0, aside_zero=False, outliers=0.0),
    "default": Preset(pooling="sif", min_words=4, aside_zero=True, outliers=0.10, length_buckets=4),
}
DEFAULT_PRESET = "default"


def _error(message: str) -> Exception:
    from unisel.errors import ParameterError

    return ParameterError(message)


@dataclass(frozen=True)
class ReadOptions:
    """What to read: the schema, the text field, the split, and whether empty records are
    skipped (None: only for ``example:`` data)."""

    schema: str | None = None
    text_field: str | None = None
    split: str = "train"
    skip_empty: bool | None = None


@dataclass(frozen=True)
class EmbedOptions:
    """How to embed: the embedder spec (None: ``word2vec``, or with ``--extend`` the
    manifest's), its settings, and the cache folder (None: the default, False: off)."""

    embedder: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    cache_dir: Any = None

    def spec(self) -> str:
        return DEFAULT_EMBEDDER if self.embedder is None else self.embedder


@dataclass(frozen=True)
class SelectOptions:
    """What to select.

    Attributes
    ----------
    method : str
        Selector name (``maxmin``, ``random``, ``first``, ``clustered``, ``kmeans``).
    k, fraction, tokens : optional
        The size: exactly one (with ``extend``, ``k``/``fraction`` is the number to add).
    tokenizer : str or None
        What counts tokens (None: whitespace words).
    length_buckets : int or None
        maxmin per length bucket, at least 2.
    seed : int
        Seed of every random choice, 0..2**32-1.
    start : int or None
        Input record number of the first maxmin record.
    metric : {"cosine", "euclidean"}
    device : str
        Where the maxmin engine runs.
    checkpoint, extend : path or None
        maxmin state to resume from; a manifest whose selection is continued.
    selector_params : dict
        Further settings of the selector (``--select-opt KEY=VALUE``), checked against it.
    scheduler, workers, mode : optional
        Run maxmin on a Dask cluster (address, or local worker count) in ``mode``.
    preset : {"default", "paper"}
        Which records are max-min candidates and how word2vec pools, where the user leaves it
        open (see `PRESETS`); ``paper`` is the published recipe.
    outliers, min_words : optional
        Override the preset's outlier fraction and set-aside word minimum.
    """

    method: str = "maxmin"
    k: int | None = None
    fraction: float | None = None
    tokens: int | None = None
    tokenizer: str | None = None
    length_buckets: int | None = None
    seed: int = 0
    start: int | None = None
    metric: str = "cosine"
    device: str = "cpu"
    checkpoint: Any = None
    extend: Any = None
    selector_params: dict[str, Any] = field(default_factory=dict)
    scheduler: str | None = None
    workers: int | None = None
    mode: str = "exact"
    preset: str = DEFAULT_PRESET
    outliers: float | None = None
    min_words: int | None = None

    def __post_init__(self) -> None:
        check_seed(self.seed)
        if self.metric not in METRIC_NAMES:
            raise _error(f"metric must be one of {', '.join(METRIC_NAMES)}, got {self.metric!r}")
        if self.mode not in MODES:
            raise _error(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.preset not in PRESETS:
            raise _error(f"preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
        if self.outliers is not None and not 0.0 <= self.outliers < 1.0:
            raise _error(f"outliers must be a fraction in [0, 1), got {self.outliers}")
        if self.min_words is not None and self.min_words < 0:
            raise _error(f"min_words must be >= 0, got {self.min_words}")
        if self.length_buckets is not None:
            if isinstance(self.length_buckets, bool) or not isinstance(self.length_buckets, int):
                raise _error(f"length_buckets must be an integer, got {self.length_buckets!r}")
            if self.length_buckets < 2:
                raise _error(
                    f"length_buckets must be at least 2, got {self.length_buckets} (without "
                    "buckets, leave --length-buckets out)"
                )

    @property
    def resolved(self) -> Preset:
        """The preset with this run's overrides."""
        base = PRESETS[self.preset]
        return replace(
            base,
            outliers=base.outliers if self.outliers is None else float(self.outliers),
            min_words=base.min_words if self.min_words is None else int(self.min_words),
        )

    def effective_length_buckets(self) -> tuple[int | None, str | None]:
        """The buckets this run uses (the flag's, else the preset's for maxmin), and why the
        preset's are off when they are (``start``, ``extend``, ``checkpoint``, a cluster)."""
        if self.length_buckets is not None or self.method != "maxmin":
            return self.length_buckets, None
        buckets = PRESETS[self.preset].length_buckets
        if buckets is None:
            return None, None
        clash = [
            flag
            for flag, given in (
                ("--start", self.start is not None),
                ("--extend", self.extend is not None),
                ("--checkpoint", self.checkpoint is not None),
                ("--workers/--scheduler", self.workers is not None or self.scheduler is not None),
            )
            if given
        ]
        if clash:
            return None, f"the {self.preset} preset's length buckets are off with {clash[0]}"
        return buckets, None

    @property
    def robust(self) -> bool:
        """Whether some records may be kept out of the max-min candidates."""
        p = self.resolved
        return self.method == "maxmin" and (p.outliers > 0 or p.min_words > 0 or p.aside_zero)


@dataclass(frozen=True)
class OutputOptions:
    """Where to write: the subset path (its manifest goes beside it) and the record order."""

    path: Any = None
    order: str = "input"

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise _error(f"order must be one of {', '.join(ORDERS)}, got {self.order!r}")


@dataclass(frozen=True)
class MetricsOptions:
    """How the metrics are computed.

    Attributes
    ----------
    near_duplicate_threshold : float
        Nearest-neighbour distance at or below which a record counts as a near duplicate
        (None: the metrics module's default).
    exact_limit : int or None
        Sets above this many rows get estimated nearest-neighbour distributions (None: always
        exact).
    approximate : {"sample", "hnsw"}
        How they are estimated.
    sample_size : int
        Rows of the sample (or HNSW recall queries).
    seed : int
        Seed of the sample and of the embedder.
    """

    near_duplicate_threshold: float | None = None
    exact_limit: int | None = DEFAULT_EXACT_LIMIT
    approximate: str = "sample"
    sample_size: int = DEFAULT_SAMPLE_SIZE
    seed: int = 0

    def __post_init__(self) -> None:
        check_seed(self.seed)
        if self.approximate not in APPROXIMATE_METHODS:
            raise _error(
                f"approximate must be one of {', '.join(APPROXIMATE_METHODS)}, "
                f"got {self.approximate!r}"
            )
