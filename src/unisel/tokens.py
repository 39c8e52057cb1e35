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

import logging
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
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

    The places are tried in an order that never waits on the network for a name that is not
    there: a built-in name of :mod:`unisel.train.models` or an existing folder; then the local
    Hugging Face cache (``local_files_only``); then, unless ``HF_HUB_OFFLINE`` or
    ``TRANSFORMERS_OFFLINE`` is set, one request to the hub asking whether the name exists
    (no retries, a timeout of :data:`HUB_TIMEOUT_S`) before downloading it. The hub libraries'
    retry and warning messages are silenced: whatever fails is one line.

    Raises
    ------
    ParameterError
        The name is none of the above (unknown, a folder that does not exist, not on the hub
        or the hub cannot be reached), or transformers is not installed.
    InputError
        A folder or a cached or downloaded tokenizer that cannot be loaded.
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
        if name in models.builtin_model_names():
            return models.load_tokenizer(name)
        folder = Path(name).expanduser()
        if folder.is_dir():
            return models.load_tokenizer(str(folder))
    except (OSError, ValueError) as exc:  # what from_pretrained raises outside InputError
        raise InputError(f"{name}: cannot load a tokenizer ({_first_line(exc)})") from None
    except ParameterError as exc:
        raise InputError(f"tokenizer {name!r}: {exc}") from None
    known = ", ".join(models.builtin_model_names())
    if _looks_like_path(name):
        raise ParameterError(
            f"tokenizer {name!r}: cannot load a tokenizer: no such folder (built-in names: {known})"
        )
    with _quiet_hub():
        tokenizer = _from_pretrained(name, local_files_only=True)
        if tokenizer is not None:
            return tokenizer
        where = f"a built-in name ({known}), a folder or in the local Hugging Face cache"
        if _offline():
            raise ParameterError(
                f"tokenizer {name!r}: cannot load a tokenizer: not {where}, and the hub is not "
                "asked offline (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE is set)"
            )
        problem = _hub_problem(name)
        if problem is not None:
            raise ParameterError(
                f"tokenizer {name!r}: cannot load a tokenizer: not {where}; {problem}"
            )
        tokenizer = _from_pretrained(name, local_files_only=False)
    if tokenizer is None:
        raise InputError(f"{name}: cannot load a tokenizer from the Hugging Face hub")
    return tokenizer


#: Seconds the hub may take to say whether a tokenizer name exists.
HUB_TIMEOUT_S = 10.0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _offline() -> bool:
    """The Hugging Face libraries' offline switches, read now (they read theirs at import)."""
    return any(
        os.environ.get(var, "").strip().upper() in {"1", "ON", "YES", "TRUE"}
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _looks_like_path(name: str) -> bool:
    """A folder name rather than a hub id (``namespace/name``): no hub lookup for it."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name


def _from_pretrained(name: str, *, local_files_only: bool) -> Any:
    """``AutoTokenizer.from_pretrained(name)`` with a pad token, or None when not found.

    Raises InputError (one line) for files that are there but cannot be loaded.
    """
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=local_files_only)
    except (OSError, ValueError) as exc:
        if local_files_only:
            return None
        raise InputError(f"{name}: cannot load a tokenizer ({_first_line(exc)})") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _hub_problem(name: str) -> str | None:
    """Why the hub cannot give ``name`` (one request, no retries), or None when it has it."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        HfApi().model_info(name, timeout=HUB_TIMEOUT_S)
    except RepositoryNotFoundError:
        return "no such model on the Hugging Face hub"
    except Exception as exc:  # network, HTTP or repo-id errors: all end the same way
        return f"the Hugging Face hub could not be asked ({_first_line(exc)})"
    return None


@contextmanager
def _quiet_hub() -> Iterator[None]:
    """Silence the retry and warning messages of transformers and huggingface_hub."""
    loggers = [logging.getLogger(n) for n in ("huggingface_hub", "transformers")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


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


_WORD = re.compile(r"\w+")


def content_words(texts: Sequence[str]) -> np.ndarray:
    """The number of words of each text: runs of letters, digits or ``_`` in any script.

    Unlike the whitespace count of :func:`count_tokens`, punctuation, markup and invisible
    characters (a zero-width space, ``'|'``) count for nothing, so it says how much a text has
    for an embedding to see.

    Parameters
    ----------
    texts : sequence of str, length n

    Returns
    -------
    ndarray of shape (n,), int64
    """
    find = _WORD.findall
    return np.fromiter((len(find(t)) for t in texts), dtype=np.int64, count=len(texts))
