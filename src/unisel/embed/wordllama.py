"""``wordllama``: WordLlama static token embeddings, mean-pooled; offline, no torch.

WordLlama (PyPI package ``wordllama``) is the token-embedding table of a large language model
(``l2_supercat``: Llama-2's 32,000-token BPE vocabulary) trained so that the mean of a text's
token vectors is a sentence embedding. The 256-dimensional table (float16, 16 MB) and the
tokenizer ship inside the wheel, so nothing is downloaded; the dimensions were trained
Matryoshka-style, so the first 64 or 128 columns are smaller embeddings of their own.

A record's vector is the mean of the vectors of all its tokens (no truncation: every token of a
long conversation counts, as with word2vec), computed as a sparse (records x vocabulary) count
matrix times the table, in float64, then cast to float32: the same numbers as
``WordLlamaInference.embed`` (which pads each batch to its longest text and would need
batch x longest x dim floats for one long record) in memory proportional to the tokens. A text
with no token (the empty string) gets the zero vector, which `unisel.embed.embed_texts` lifts
into a dimension of its own.

The files are read from the package folder directly, not through ``WordLlama.load``: in
wordllama 0.4 that loader looks for the bundled tokenizer under ``tokenizer/`` while the wheel
ships it under ``tokenizers/``, and then tries to download it from the Hugging Face hub. Importing
the ``wordllama`` package is avoided too (it calls ``logging.basicConfig`` on import); only its
dependencies ``tokenizers`` and ``safetensors`` are imported.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from unisel._progress import progress_bar
from unisel.embed._deps import require
from unisel.embed._pooling import mean_pool
from unisel.embed.base import EMBEDDERS, Embedder, check_at_least, package_version
from unisel.errors import InputError, ParameterError

PACKAGE = "wordllama"
CONFIG = "l2_supercat"
BUNDLED_DIM = 256
DIMS = (64, 128, 256)
"""Dimensions offered: the bundled 256 and its Matryoshka prefixes."""
_INSTALL = "pip install 'unisel[wordllama]' (or just wordllama)"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def model_files() -> tuple[Path, Path]:
    """The bundled weights and tokenizer files, or a :class:`ParameterError` saying what to install.

    Returns
    -------
    weights : Path
        ``wordllama/weights/l2_supercat_256.safetensors``.
    tokenizer : Path
        ``wordllama/tokenizers/l2_supercat_tokenizer_config.json``.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ParameterError(
            f"the wordllama embedder needs the Python package {PACKAGE!r}; install it with: "
            f"{_INSTALL}"
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    weights = root / "weights" / f"{CONFIG}_{BUNDLED_DIM}.safetensors"
    tokenizer = root / "tokenizers" / f"{CONFIG}_tokenizer_config.json"
    for path in (weights, tokenizer):
        if not path.is_file():
            raise InputError(
                f"wordllama: the bundled file {path} is missing; "
                f"reinstall it with: pip install --force-reinstall {PACKAGE}"
            )
    return weights, tokenizer


def load_model(dim: int = BUNDLED_DIM) -> tuple[np.ndarray, Any]:
    """The token table truncated to ``dim`` columns, float32, and the tokenizer (no padding).

    Returns
    -------
    table : ndarray of shape (32000, dim), float32
    tokenizer : tokenizers.Tokenizer
    """
    weights, tokenizer_file = model_files()
    safetensors = require("safetensors", "wordllama", install=_INSTALL)
    tokenizers = require("tokenizers", "wordllama", install=_INSTALL)
    try:
        with safetensors.safe_open(str(weights), framework="np", device="cpu") as f:
            table = f.get_tensor("embedding.weight")
        tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer_file))
    except Exception as exc:  # a damaged file: safetensors and tokenizers raise their own types
        raise InputError(f"wordllama: cannot load the bundled model ({exc})") from None
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return np.ascontiguousarray(table[:, :dim], dtype=np.float32), tokenizer


@EMBEDDERS.register("wordllama")
class WordLlamaEmbedder(Embedder):
    """WordLlama ``l2_supercat`` sentence embeddings: mean of the static token vectors.

    Parameters
    ----------
    dim : int
        64, 128 or 256 (default): the first ``dim`` columns of the bundled 256-d table
        (Matryoshka training makes each prefix an embedding of its own).
    batch_size : int
        Texts tokenized and pooled at a time (memory only; not part of the cache key).

    Notes
    -----
    Deterministic: tokenization and the pooled sums do not depend on threads or seeds (``seed``
    is accepted and ignored, like every embedder without randomness).
    """

    def __init__(self, *, dim: int = BUNDLED_DIM, batch_size: int = 1024) -> None:
        if isinstance(dim, bool) or int(dim) not in DIMS:
            raise ParameterError(f"wordllama: dim must be one of {list(DIMS)}, got {dim!r}")
        check_at_least("wordllama", batch_size=batch_size)
        self.dim = int(dim)
        self.batch_size = int(batch_size)

    def config(self) -> dict[str, Any]:
        version = package_version(PACKAGE)
        return {
            "model": f"wordllama/{CONFIG}_{BUNDLED_DIM}",
            "package": f"{PACKAGE}=={version}",
            "dim": self.dim,
            "pooling": "mean of all tokens",
        }

    def embed(self, texts: Sequence[str], *, progress: bool = True) -> np.ndarray:
        """Tokenize ``texts`` and average their token vectors.

        As `Embedder.embed`, ``progress`` showing a bar over the batches.

        Returns
        -------
        ndarray of shape (n, dim), float32; zero rows for texts without a token.
        """
        table, tokenizer = load_model(self.dim)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        starts = range(0, len(texts), self.batch_size)
        for start in progress_bar(
            starts, desc="wordllama", unit="batch", quiet=not progress, leave=False
        ):
            batch = list(texts[start : start + self.batch_size])
            try:
                encodings = tokenizer.encode_batch(batch, add_special_tokens=False)
            except TypeError:  # a lone surrogate (a JSON "\\ud800" escape): Rust has no str for it
                batch = [_LONE_SURROGATE.sub("\ufffd", t) for t in batch]
                encodings = tokenizer.encode_batch(batch, add_special_tokens=False)
            id_lists = [e.ids for e in encodings]
            indptr = np.zeros(len(batch) + 1, dtype=np.int64)
            np.cumsum(np.fromiter(map(len, id_lists), np.int64, len(id_lists)), out=indptr[1:])
            ids = np.fromiter(chain.from_iterable(id_lists), np.int64, int(indptr[-1]))
            # The table has exactly the tokenizer's ids; clip as WordLlamaInference does, in
            # case a tokenizer with added tokens is ever paired with it.
            np.clip(ids, 0, table.shape[0] - 1, out=ids)
            out[start : start + len(batch)] = mean_pool(ids, indptr, table)
        return out
