"""Shared pieces of the theory experiments: result type, statistics, seeding, output.

Every experiment returns a `TheoryResult` whose `checks` each state one prediction of the
paper's theory and whether the measured data agree with it. Agreement is always decided by a
statistic computed from the data (a rank correlation and its p-value, a fitted slope and its
confidence interval, a paired test), never by fixed text.
"""

from __future__ import annotations

import contextlib
import json
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from scipy import stats
from scipy.spatial import cKDTree

from unisel._json import jsonable
from unisel.io import atomic_output

#: Significance level of every test unless an experiment says otherwise.
ALPHA = 0.05

T = TypeVar("T")


# ------------------------------------------------------------------------------- result type
@dataclass(frozen=True)
class Check:
    """One prediction and the statistic that decides whether the data agree with it.

    Attributes
    ----------
    prediction : str
        The prediction in words, e.g. "steps to threshold decrease as h_min grows".
    statistic : str
        What was computed, e.g. "Spearman rho(h_min, steps)".
    value : float
        The statistic's value.
    p_value : float or None
        Its p-value where the statistic is a test.
    criterion : str
        The rule applied to ``value``/``p_value``, e.g. "rho < 0 and p < 0.05".
    agrees : bool
        Whether the rule holds.
    """

    prediction: str
    statistic: str
    value: float
    p_value: float | None
    criterion: str
    agrees: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """One human-readable line: verdict, prediction, statistic."""
        p = "" if self.p_value is None else f", p = {self.p_value:.3g}"
        verdict = "agrees   " if self.agrees else "DISAGREES"
        return (
            f"{verdict} {self.prediction}: {self.statistic} = {self.value:.4g}{p}"
            f"  [{self.criterion}]"
        )


@dataclass
class TheoryResult:
    """What one theory experiment measured.

    Attributes
    ----------
    name : str
        Experiment name ("uniformity", "convergence", "approximation").
    claim : str
        The theoretical result it tests, in words.
    checks : list of Check
        The predictions and their verdicts.
    settings : dict
        Sizes, sweeps and seed of the run.
    data : dict
        Every measured number (JSON-ready).
    json_path, figure_path : Path or None
        Where the JSON and PNG were written.
    """

    name: str
    claim: str
    checks: list[Check]
    settings: dict[str, Any]
    data: dict[str, Any]
    json_path: Path | None = None
    figure_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def agrees(self) -> bool:
        """True when every check agrees."""
        return all(c.agrees for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (no paths or timings, so two runs give identical bytes)."""
        return jsonable(
            {
                "name": self.name,
                "claim": self.claim,
                "agrees": self.agrees,
                "checks": [c.to_dict() for c in self.checks],
                "settings": self.settings,
                "data": self.data,
            }
        )

    def summary(self) -> str:
        """A few lines for the terminal: the claim and one line per check."""
        head = f"{self.name}: {self.claim}"
        return "\n".join([head, *("  " + c.line() for c in self.checks)])


# ------------------------------------------------------------------------------- statistics
def _test_check(
    prediction: str,
    statistic: str,
    value: float,
    p: float,
    *,
    rule: str,
    holds: bool,
    alpha: float,
) -> Check:
    """The `Check` of a test: agrees when ``rule`` holds and the test's p-value is below alpha.

    Parameters
    ----------
    prediction, statistic : str
        As `Check` has them.
    value, p : float
        The statistic and its p-value.
    rule : str
        The predicted direction in words, e.g. "rho < 0".
    holds : bool
        Whether ``value`` lies in that direction.
    alpha : float
        Significance level.
    """
    return Check(
        prediction=prediction,
        statistic=statistic,
        value=value,
        p_value=p,
        criterion=f"{rule} and p < {alpha:g}",
        agrees=bool(holds and p < alpha),
    )


def spearman_check(
    prediction: str,
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    sign: int,
    x_name: str,
    y_name: str,
    alpha: float = ALPHA,
) -> Check:
    """Spearman rank correlation of ``x`` and ``y``; agrees when its sign is ``sign`` and p < alpha.

    Parameters
    ----------
    x, y : array-like of shape (m,)
        Paired observations (m >= 3).
    sign : {+1, -1}
        Predicted direction.
    """
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    res = stats.spearmanr(xa, ya)
    rho, p = float(res.statistic), float(res.pvalue)
    rel = ">" if sign > 0 else "<"
    return _test_check(
        prediction,
        f"Spearman rho({x_name}, {y_name}) over {xa.size} points",
        rho,
        p,
        rule=f"rho {rel} 0",
        holds=bool(np.isfinite(rho) and np.sign(rho) == sign),
        alpha=alpha,
    )


@dataclass(frozen=True)
class SlopeFit:
    """Least-squares line y = slope * x + intercept with a 95% interval on the slope."""

    slope: float
    intercept: float
    stderr: float
    low: float
    high: float
    r: float

    def to_dict(self) -> dict[str, float]:
        return {
            "slope": self.slope,
            "intercept": self.intercept,
            "stderr": self.stderr,
            "ci95_low": self.low,
            "ci95_high": self.high,
            "pearson_r": self.r,
        }


def fit_line(x: np.ndarray, y: np.ndarray) -> SlopeFit:
    """Ordinary least squares of ``y`` on ``x`` (shape (m,), m >= 3) with a t-based 95% CI."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    res = stats.linregress(x, y)
    t = float(stats.t.ppf(0.975, max(x.size - 2, 1)))
    se = float(res.stderr)
    return SlopeFit(
        slope=float(res.slope),
        intercept=float(res.intercept),
        stderr=se,
        low=float(res.slope) - t * se,
        high=float(res.slope) + t * se,
        r=float(res.rvalue),
    )


def slope_check(
    prediction: str, fit: SlopeFit, *, target: float, tolerance: float, what: str
) -> Check:
    """Agrees when the fitted slope is within ``tolerance`` of ``target``.

    A band rather than "the CI contains the target": the theory gives a rate up to
    finite-size corrections, and a large sweep makes the CI narrow enough to reject a
    harmless 3% deviation.
    """
    ok = bool(abs(fit.slope - target) <= tolerance)
    return Check(
        prediction=prediction,
        statistic=f"fitted slope of {what} (95% CI {fit.low:.3f} .. {fit.high:.3f})",
        value=fit.slope,
        p_value=None,
        criterion=f"|slope - {target:g}| <= {tolerance:g}",
        agrees=ok,
    )


def paired_check(
    prediction: str,
    better: np.ndarray,
    worse: np.ndarray,
    *,
    larger_is_better: bool,
    what: str,
    alpha: float = ALPHA,
) -> Check:
    """One-sided Wilcoxon signed-rank test that ``better`` beats ``worse`` pair by pair.

    Tied pairs count half for each side (``zero_method="zsplit"``); when every pair ties there
    is nothing to test and p is 1.

    Parameters
    ----------
    better, worse : ndarray of shape (m,)
        Paired measurements (same seed / same pool) of the two designs.
    larger_is_better : bool
        Direction of "beats".
    """
    b, w = np.asarray(better, dtype=np.float64), np.asarray(worse, dtype=np.float64)
    diff = b - w if larger_is_better else w - b
    wins = float(np.mean(diff > 0))
    if np.all(diff == 0):
        p = 1.0
    else:
        p = float(stats.wilcoxon(diff, alternative="greater", zero_method="zsplit").pvalue)
    return _test_check(
        prediction,
        f"fraction of {diff.size} pairs where it holds ({what}); one-sided Wilcoxon",
        wins,
        p,
        rule="fraction > 0.5",
        holds=wins > 0.5,
        alpha=alpha,
    )


# ------------------------------------------------------------------------------- geometry
def euclidean_h_min(X: np.ndarray) -> float:
    """Smallest Euclidean distance between two rows of ``X`` (shape (n, d), n >= 2).

    Uses a k-d tree on coordinate differences; the Gram-matrix expansion used by the blocked
    kernels in `unisel.metrics.neighbors` loses about sqrt(machine epsilon) ~ 1e-8 to
    cancellation, which is the size of h_min for peaked densities here.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.shape[0] < 2:
        return float("nan")
    d, _ = cKDTree(X).query(X, k=2)
    return float(d[:, 1].min())


def euclidean_maxmin(
    X: np.ndarray, k: int, *, start: int = 0, initial: Sequence[int] | None = None
) -> np.ndarray:
    """Greedy max-min (farthest-point) selection under plain Euclidean distance.

    The engine that ships (`unisel.select.engine.maxmin`) with ``metric="euclidean"``: the
    distance on the raw coordinates, not the cosine distance of unit-normalised rows. Theorems
    1 and 3 are stated for points in a cube with the Euclidean distance; normalising such points
    to the unit sphere would merge every ray from the origin into one point. On rows of unit
    length the order is that of the cosine greedy (``|u - v|^2 = 2 (1 - cos)``), which the
    tests check against the reference.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    k : int
        Number of rows to return, including ``initial``; 1 <= k <= n.
    start : int
        First row when ``initial`` is empty.
    initial : sequence of int, optional
        Rows already chosen (the prefix).

    Returns
    -------
    ndarray of shape (k,), int64
        Selected rows in selection order; ties go to the lowest index.
    """
    from unisel.select.engine import maxmin

    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    prefix = [int(i) for i in initial] if initial is not None and len(initial) else [int(start)]
    if not 1 <= k <= n or len(prefix) > k:
        raise ValueError(f"need len(initial) <= k <= n, got k={k}, n={n}, initial={len(prefix)}")
    order, _ = maxmin(
        X, k, start=prefix[0], initial=prefix if len(prefix) > 1 else None, metric="euclidean"
    )
    return np.asarray(order, dtype=np.int64)


# ------------------------------------------------------------------------------- seeding
def rng_for(seed: int, *keys: str | int) -> np.random.Generator:
    """A NumPy generator derived from the run's ``seed`` and a path of keys.

    Each experiment cell (e.g. ``("uniformity", "beta", n, d, a, rep)``) gets its own stream,
    so adding a cell or changing the loop order never shifts the others.
    """
    words = [int(seed)]
    for k in keys:
        words.append(int(k) if isinstance(k, int) else zlib.crc32(str(k).encode()))
    return np.random.default_rng(np.random.SeedSequence(words))


@contextlib.contextmanager
def deterministic(threads: int = 1) -> Iterator[None]:
    """Fix thread counts and ask torch for deterministic kernels; restore on exit.

    Reductions split over a varying number of threads can round differently, which would
    break the byte-identical JSON of two runs with the same seed.
    """
    from threadpoolctl import threadpool_limits

    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency of the theory extra
        torch = None  # type: ignore[assignment]
    saved = None
    if torch is not None:
        saved = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        if torch is not None and saved is not None:
            torch.set_num_threads(saved[0])
            torch.use_deterministic_algorithms(saved[1])


# ------------------------------------------------------------------------------- running
def measure(
    name: str, total: int, quiet: bool, *parts: Callable[[Callable[[], None]], T]
) -> list[T]:
    """Run the measuring ``parts`` of an experiment in order under one progress bar.

    Parameters
    ----------
    name : str
        The experiment, the bar's label.
    total : int
        Steps of all parts together.
    quiet : bool
        No progress bar.
    *parts : callable
        ``part(step)``, which calls ``step()`` once a step.

    Returns
    -------
    list
        What each part returned, in order.
    """
    from unisel._progress import progress_bar

    with progress_bar(total=total, desc=name, quiet=quiet, leave=False) as bar:
        return [part(lambda: bar.update()) for part in parts]


def run_settings(config: Any, *, quick: bool, seed: int, **extra: Any) -> dict[str, Any]:
    """The ``settings`` of a result: ``quick``, ``seed``, ``extra``, then the config's fields.

    The order is the JSON's, which two runs of one version must write byte for byte alike.
    """
    return {"quick": quick, "seed": seed, **extra, **asdict(config)}


def with_figure(
    result: TheoryResult, output_dir: Path, draw: Callable[[Path], None]
) -> TheoryResult:
    """``result`` with its figure, ``draw(path)``, at ``output_dir / "<name>.png"``."""
    result.figure_path = output_dir / f"{result.name}.png"
    draw(result.figure_path)
    return result


# ------------------------------------------------------------------------------- output
def _atomic_write(path: Path, write: Any) -> None:
    with atomic_output(path) as tmp:
        write(tmp)


def write_json(obj: dict[str, Any], path: Path) -> None:
    """Write ``obj`` as indented JSON via a temporary file renamed into place."""
    text = json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n"
    _atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def new_figure(ncols: int, nrows: int = 1, *, width: float = 4.2, height: float = 3.6) -> Any:
    """A matplotlib Figure drawn with Agg, with no pyplot state (safe inside a library)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    fig.subplots(nrows, ncols, squeeze=False)
    return fig


def save_figure(fig: Any, path: Path) -> None:
    """Save ``fig`` as PNG (Agg), without a timestamp/version stamp, atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    _atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=90, metadata={"Software": None}))


def verdict_title(result_checks: Sequence[Check]) -> str:
    """Short figure subtitle: how many predictions agree."""
    ok = sum(c.agrees for c in result_checks)
    return f"{ok}/{len(result_checks)} predictions agree"
