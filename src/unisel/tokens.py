"""Token counts per record, and the token budget a selection is cut to.

Stage-neutral: the reader's texts go in, one non-negative integer per record comes out, and the
selectors take the counts as a plain array. Two kinds of counter:

``whitespace`` (also ``None``)
    ``len(text.split())``: words separated by whitespace. No dependency.
any other name
    A Hugging Face tokenizer: a name ``unisel train --model`` understands (``smollm2-135m``,
    ``tiny-llama``, a run folder), a local tokenizer folder, or a hub name (when online). The
    count is ``len(tokenizer(text, add_special_tokens=False).input_ids)``. Needs the ``train``
    extra (transformers); it is imported only when such a name is given.

The counted text is the record as unisel renders it (``RecordSet.texts``: instruction + input +
output for Alpaca, every turn for conversations), which is what the embedder sees. It is not the
training template (chat markup, system prompt, response-only loss, truncation at
``max_length``); ``unisel experiment`` counts the training tokens itself (see
docs/experiment.md).

Budget rule (:class:`TokenBudget`): a selector produces its records in an order; the selection
is the *longest prefix of that order whose counts sum to at most the budget*. The record that
would cross the budget is not included, so the total never exceeds the budget, and falls short
of it by less than that one record's count (unless every record fits).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from unisel.errors import InputError, ParameterError

WHITESPACE = "whitespace"


@dataclass
class TokenCounts:
    """Token counts of a list of texts.

    Attributes
    ----------
    counts : ndarray of shape (n,), int64
        Tokens (or words) per text.
    tokenizer : str
        ``"whitespace"`` or the tokenizer name it was counted with.
    """

    counts: np.ndarray
    tokenizer: str

    def __len__(self) -> int:
        return int(self.counts.shape[0])


def count_tokens(
    texts: Sequence[str],
    tokenizer: str | None = None,
    *,
    batch_size: int = 512,
    quiet: bool = True,
) -> TokenCounts:
    """Count the tokens of each text.

    Parameters
    ----------
    texts : sequence of str, length n
    tokenizer : str or None
        ``None`` or ``"whitespace"`` for a whitespace word count, else a tokenizer name or path
        (see the module docstring).
    batch_size : int
        Texts per tokenizer call.
    quiet : bool
        No progress bar when True.

    Returns
    -------
    TokenCounts with ``counts`` of shape (n,).

    Raises
    ------
    InputError
        When the tokenizer cannot be loaded (unknown name, missing files).
    """
    name = WHITESPACE if tokenizer in (None, "", WHITESPACE) else str(tokenizer)
    if name == WHITESPACE:
        counts = np.fromiter((len(t.split()) for t in texts), dtype=np.int64, count=len(texts))
        return TokenCounts(counts, WHITESPACE)
    tok = load_tokenizer(name)
    counts = np.empty(len(texts), dtype=np.int64)
    from tqdm.auto import tqdm

    with tqdm(total=len(texts), desc="counting tokens", unit="rec", disable=quiet) as bar:
        for lo in range(0, len(texts), batch_size):
            part = list(texts[lo : lo + batch_size])
            ids = tok(part, add_special_tokens=False)["input_ids"]
            counts[lo : lo + len(part)] = [len(x) for x in ids]
            bar.update(len(part))
    return TokenCounts(counts, name)


def load_tokenizer(name: str) -> Any:
    """A Hugging Face tokenizer by model name, run folder, tokenizer folder or hub name.

    Raises InputError (one line) when it cannot be loaded, ParameterError when transformers is
    not installed.
    """
    try:
        import transformers  # noqa: F401
    except ImportError:
        raise ParameterError(
            f"tokenizer {name!r} needs transformers (pip install 'unisel[train]'); "
            "or count words with --tokenizer whitespace"
        ) from None
    # The model names of `unisel train` (smollm2-135m, tiny-llama, run folders) resolve there.
    from unisel.train import models

    try:
        if name == "smollm2-135m" and models.smollm2_gguf_path() is not None:
            # the tokenizer alone: no de-quantisation of the model's weights
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(str(models._smollm2_tokenizer_dir()))
        return models.load_tokenizer(name)
    except (OSError, ValueError) as exc:  # what from_pretrained raises outside InputError
        raise InputError(f"{name}: cannot load a tokenizer ({exc})") from None
    except ParameterError as exc:
        raise InputError(f"tokenizer {name!r}: {exc}") from None


@dataclass
class TokenBudget:
    """A token budget over ``n`` records: the longest prefix of an order within ``budget``.

    Parameters
    ----------
    budget : int
        Most tokens the selection may hold, >= 1.
    counts : ndarray of shape (n,)
        Non-negative token count of every record.
    tokenizer : str
        Name of the counter (for the manifest).
    """

    budget: int
    counts: np.ndarray
    tokenizer: str = WHITESPACE

    def __post_init__(self) -> None:
        if isinstance(self.budget, bool) or not isinstance(self.budget, (int, np.integer)):
            raise ParameterError(f"token budget must be an integer, got {self.budget!r}")
        if self.budget < 1:
            raise ParameterError(f"token budget must be at least 1, got {self.budget}")
        self.budget = int(self.budget)
        counts = np.asarray(self.counts)
        if counts.ndim != 1 or not np.issubdtype(counts.dtype, np.integer):
            raise ParameterError("token counts must be a 1-D array of integers, one per record")
        if counts.size and counts.min() < 0:
            raise ParameterError(f"token count of record {int(np.argmin(counts))} is negative")
        self.counts = counts.astype(np.int64, copy=False)

    @property
    def n(self) -> int:
        return int(self.counts.shape[0])

    def max_records(self) -> int:
        """Most records any selection within the budget can hold (the shortest ones), >= 1.

        Raises ParameterError when not even the shortest record fits.
        """
        if self.n == 0:
            raise ParameterError("no records to select from")
        smallest = np.sort(self.counts)
        fits = int(np.searchsorted(np.cumsum(smallest), self.budget, side="right"))
        if fits == 0:
            raise ParameterError(
                f"token budget {self.budget} is smaller than the shortest record "
                f"({int(smallest[0])} tokens)"
            )
        return fits

    def prefix_length(self, order: np.ndarray) -> int:
        """Length of the longest prefix of ``order`` whose counts sum to at most the budget.

        Raises ParameterError when the first record alone exceeds the budget.
        """
        order = np.asarray(order, dtype=np.int64)
        if order.size == 0:
            return 0
        total = np.cumsum(self.counts[order])
        m = int(np.searchsorted(total, self.budget, side="right"))
        if m == 0:
            raise ParameterError(
                f"token budget {self.budget} is smaller than the first selected record "
                f"(record {int(order[0])}, {int(total[0])} tokens)"
            )
        return m

    def check_counts(self, n: int) -> None:
        """Raise ParameterError unless there is one count per record of ``n``."""
        if self.n != n:
            raise ParameterError(f"{self.n} token counts for {n} records; give one per record")

    def describe(self, indices: np.ndarray) -> dict[str, Any]:
        """The manifest entry of a selection ``indices`` made under this budget."""
        per = self.counts[np.asarray(indices, dtype=np.int64)]
        return {
            "tokenizer": self.tokenizer,
            "budget": self.budget,
            "total": int(per.sum()),
            "per_record": [int(c) for c in per],
        }


def length_summary(counts: np.ndarray) -> dict[str, float]:
    """Mean, median, quantiles (10, 25, 75, 90 %), min, max and total of a count array."""
    c = np.asarray(counts, dtype=np.float64)
    if c.size == 0:
        return {"n": 0}
    q = np.quantile(c, [0.1, 0.25, 0.5, 0.75, 0.9])
    return {
        "n": int(c.size),
        "total": float(c.sum()),
        "mean": float(c.mean()),
        "min": float(c.min()),
        "q10": float(q[0]),
        "q25": float(q[1]),
        "median": float(q[2]),
        "q75": float(q[3]),
        "q90": float(q[4]),
        "max": float(c.max()),
    }
