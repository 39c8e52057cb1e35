"""The selector base class, the selector registry and the `Selection` result."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from unisel._registry import Registry
from unisel.errors import ParameterError

if TYPE_CHECKING:
    from unisel.tokens import TokenBudget


@dataclass
class Selection:
    """A subset of records, in the order the selector chose them.

    Attributes
    ----------
    indices : ndarray of shape (k,), int64
        Row indices into the full set, in selection order.
    method : str
        Registered selector name.
    params : dict
        The selector's parameters (JSON-serialisable), including the seed.
    n_total : int
        Number of records in the full set.
    distances : ndarray of shape (k,), float64, or None
        For ``maxmin``: the distance (cosine, or Euclidean with ``metric="euclidean"``) from
        each record to the nearest record chosen before it, at the moment it was chosen (``inf`` for the first record). Non-increasing.
        ``None`` for selectors that have no such value.
    tokens : dict or None
        With a token budget: ``{"tokenizer", "budget", "total", "per_record"}`` (the count of
        each selected record, in selection order); else ``None``.
    """

    indices: np.ndarray
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    n_total: int = 0
    distances: np.ndarray | None = None
    tokens: dict[str, Any] | None = None

    @property
    def k(self) -> int:
        return int(self.indices.shape[0])


class Selector(ABC):
    """Chooses ``n_samples`` rows of an embedding matrix.

    scikit-learn style: parameters in ``__init__``, :meth:`fit` does the work and sets
    ``ranking_`` (selected row indices in selection order) and ``gains_`` (the distance at which
    each was chosen, or ``None``). Subclasses register with ``@SELECTORS.register("name")``.
    `get_params` / `set_params` follow scikit-learn's contract, so ``sklearn.base.clone`` works;
    a subclass stores each ``__init__`` parameter under its own name, converted (if at all) so
    that converting the stored value again gives the same object (see `int_list`).
    :meth:`manifest_params` is what the manifest records of a fitted selector.

    Parameters
    ----------
    n_samples : int
        Number of rows to select, 1 <= n_samples <= n.
    random_state : int or None
        Seed for every random choice the selector makes.
    """

    name: ClassVar[str] = ""

    def __init__(self, n_samples: int, *, random_state: int | None = 0) -> None:
        self.n_samples = int(n_samples)
        self.random_state = random_state
        self.ranking_: np.ndarray | None = None
        self.gains_: np.ndarray | None = None

    @classmethod
    def _param_names(cls) -> list[str]:
        """The names of ``__init__``'s parameters (scikit-learn's ``_get_param_names``)."""
        skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        params = inspect.signature(cls.__init__).parameters.values()
        return [p.name for p in params if p.name != "self" and p.kind not in skip]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The ``__init__`` parameters and their values (scikit-learn's ``get_params``).

        ``type(self)(**self.get_params())`` is an unfitted copy (what ``sklearn.base.clone``
        builds).

        Parameters
        ----------
        deep : bool
            Accepted for scikit-learn; a selector holds no nested estimators.
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Selector:
        """Set ``__init__`` parameters by name (scikit-learn's ``set_params``); returns self."""
        known = self._param_names()
        for name, value in params.items():
            if name not in known:
                raise ParameterError(
                    f"{type(self).__name__} has no parameter {name!r}; known: {', '.join(known)}"
                )
            setattr(self, name, value)
        return self

    def manifest_params(self) -> dict[str, Any]:
        """The parameters that define the selection, for the manifest (JSON-ready)."""
        return {"n_samples": self.n_samples, "random_state": self.random_state}

    def _check(self, X: np.ndarray) -> None:
        if X.ndim != 2:
            raise ParameterError(f"embeddings must be a 2-D array, got shape {X.shape}")
        n = X.shape[0]
        if not 1 <= self.n_samples <= n:
            raise ParameterError(
                f"k must be between 1 and the number of records ({n}), got {self.n_samples}"
            )

    @abstractmethod
    def _fit(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Return (ranking, gains) for X of shape (n, d)."""

    def _fit_budget(
        self, X: np.ndarray, budget: TokenBudget
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(ranking, gains) under a token budget: the longest prefix of the selector's order.

        The order is the one :meth:`_fit` gives for ``n_samples`` records (set by the caller to
        :meth:`TokenBudget.max_records`, the most that could fit). Selectors whose order does
        not depend on ``n_samples``, or that can stop early, override this.
        """
        ranking, gains = self._fit(X)
        m = budget.prefix_length(ranking)
        return ranking[:m], None if gains is None else gains[:m]

    def fit(self, X: np.ndarray, *, budget: TokenBudget | None = None) -> Selector:
        """Select rows of ``X`` (shape (n, d)); sets ``ranking_`` and ``gains_``.

        With ``budget`` (a :class:`unisel.tokens.TokenBudget` over the n rows), ``n_samples``
        is an upper bound and the ranking is the longest prefix of the selector's order whose
        token counts fit in the budget.
        """
        self._check(X)
        if budget is None:
            ranking, gains = self._fit(X)
        else:
            budget.check_counts(int(X.shape[0]))
            ranking, gains = self._fit_budget(X, budget)
        self.ranking_ = np.asarray(ranking, dtype=np.int64)
        self.gains_ = None if gains is None else np.asarray(gains, dtype=np.float64)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """The selected rows of ``X`` in selection order, shape (k, d)."""
        if self.ranking_ is None:
            raise RuntimeError("call fit() first")
        return X[self.ranking_]

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)

    def selection(self, n_total: int) -> Selection:
        """The fitted result as a :class:`Selection`."""
        if self.ranking_ is None:
            raise RuntimeError("call fit() first")
        return Selection(
            indices=self.ranking_,
            method=self.name,
            params=self.manifest_params(),
            n_total=n_total,
            distances=self.gains_,
        )


SELECTORS: Registry[Selector] = Registry("selector")


def int_list(values: Sequence[int] | np.ndarray | None) -> list[int] | None:
    """``values`` as a list of Python ints (None stays None).

    A list that already holds only Python ints is returned itself, not copied: converting a
    stored parameter again then gives the same object, which ``sklearn.base.clone`` checks.
    """
    if values is None:
        return None
    if isinstance(values, list) and all(type(v) is int for v in values):
        return values
    return [int(v) for v in values]


def resolve_k(n: int, k: int | None = None, fraction: float | None = None) -> int:
    """The subset size from ``k`` or ``fraction`` (exactly one), checked against ``n`` records.

    ``fraction`` F gives ``round(F * n)``, at least 1.
    """
    if (k is None) == (fraction is None):
        raise ParameterError("give exactly one of k (-k) and fraction (--fraction)")
    if fraction is not None:
        if not (0.0 < fraction <= 1.0):
            raise ParameterError(f"fraction must be in (0, 1], got {fraction}")
        return max(1, int(round(fraction * n)))
    assert k is not None
    if k <= 0:
        raise ParameterError(f"k must be positive, got {k}")
    if k > n:
        raise ParameterError(f"k={k} is larger than the number of records ({n})")
    return int(k)
