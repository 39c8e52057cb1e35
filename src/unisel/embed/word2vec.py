"""``word2vec``: the paper's embedder, a Word2Vec model trained on the corpus itself.

A record's vector is the mean of the vectors of its words. Words are lowercase runs of letters,
digits and underscores (``\\w+``, Unicode-aware), so text in any script is kept. Words seen fewer
than ``min_count`` times in the corpus have no vector; a record with no word that has one (for
example only punctuation or emoji) gets the zero vector, which `unisel.embed.embed_texts` then
lifts into a dimension of its own (see `unisel.embed.base.lift_zero_rows`).

Reproducibility: gensim is run with one worker thread (several threads interleave updates in a
different order on each run) and with a hash function that does not depend on ``PYTHONHASHSEED``,
so the same texts and settings give the same bytes in every process.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from unisel._progress import progress_bar
from unisel.embed.base import EMBEDDERS, Embedder
from unisel.errors import InputError, ParameterError

_WORD = re.compile(r"\w+")
# gensim's Cython loop ignores words past this position in one sentence; longer records are
# fed to training in pieces of this length so none of their words is dropped silently.
_GENSIM_MAX_SENTENCE = 10_000


def tokenize(text: str) -> list[str]:
    """The words of ``text``: lowercase ``\\w+`` runs, in order."""
    return _WORD.findall(text.lower())


def stable_hash(text: str) -> int:
    """A hash of ``text`` that is the same in every process (CRC-32 of its UTF-8 bytes).

    gensim's default, the builtin ``hash``, is salted per process.
    """
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


class _Corpus:
    """Re-iterable training corpus: tokenizes the texts afresh on each pass (saves memory)."""

    def __init__(self, texts: Sequence[str], max_tokens: int | None) -> None:
        self.texts = texts
        self.max_tokens = max_tokens

    def __iter__(self) -> Iterator[list[str]]:
        for text in self.texts:
            words = tokenize(text)
            if self.max_tokens is not None:
                words = words[: self.max_tokens]
            for i in range(0, len(words), _GENSIM_MAX_SENTENCE):
                yield words[i : i + _GENSIM_MAX_SENTENCE]


@EMBEDDERS.register("word2vec")
class Word2VecEmbedder(Embedder):
    """Word2Vec (gensim, CBOW with negative sampling) trained on the texts; record = mean word vector.

    Parameters
    ----------
    vector_size : int
        Dimension of the word and record vectors.
    window : int
        Context words on each side.
    min_count : int
        Words seen fewer times in the corpus are dropped (gensim's default, 5).
    epochs : int
        Passes over the corpus.
    sg : bool
        Skip-gram instead of CBOW (the gensim default, CBOW, is used unless asked).
    max_train_tokens : int or None
        Train on at most this many words of each record (None: all). Only training is capped;
        each record's vector still averages all of its words. Lowers training time on corpora
        of very long records. For scale: the ShareGPT dump (17.7k conversations, 17.8M words)
        trains in about 2.5 CPU minutes with the defaults and one worker.
    workers : int
        gensim worker threads. Only ``workers=1`` is reproducible run to run.
    seed : int
        Seeds the initial vectors and the sampling.
    """

    def __init__(
        self,
        *,
        vector_size: int = 100,
        window: int = 5,
        min_count: int = 5,
        epochs: int = 5,
        sg: bool = False,
        max_train_tokens: int | None = None,
        workers: int = 1,
        seed: int = 0,
    ) -> None:
        for field, value, low in (
            ("vector_size", vector_size, 1),
            ("window", window, 1),
            ("min_count", min_count, 1),
            ("epochs", epochs, 1),
            ("workers", workers, 1),
        ):
            if int(value) < low:
                raise ParameterError(f"word2vec: {field} must be >= {low}, got {value}")
        if max_train_tokens is not None and max_train_tokens < 1:
            raise ParameterError(f"word2vec: max_train_tokens must be >= 1, got {max_train_tokens}")
        self.vector_size = int(vector_size)
        self.window = int(window)
        self.min_count = int(min_count)
        self.epochs = int(epochs)
        self.sg = bool(sg)
        self.max_train_tokens = None if max_train_tokens is None else int(max_train_tokens)
        self.workers = int(workers)
        self.seed = int(seed)

    def config(self) -> dict[str, Any]:
        return {
            "vector_size": self.vector_size,
            "window": self.window,
            "min_count": self.min_count,
            "epochs": self.epochs,
            "sg": self.sg,
            "max_train_tokens": self.max_train_tokens,
            "workers": self.workers,
            "seed": self.seed,
            "tokenizer": r"lower \w+",
        }

    def embed(self, texts: Sequence[str], *, progress: bool = True) -> np.ndarray:
        """Train on ``texts`` and return their mean word vectors.

        Parameters
        ----------
        texts : sequence of str, length n
        progress : bool
            Show progress bars (epochs, then records) on stderr.

        Returns
        -------
        ndarray of shape (n, vector_size), float32; zero rows for records without known words.
        """
        from gensim.models import Word2Vec

        model = Word2Vec(
            vector_size=self.vector_size,
            window=self.window,
            min_count=self.min_count,
            sg=int(self.sg),
            workers=self.workers,
            seed=self.seed,
            hashfxn=stable_hash,
        )
        corpus = _Corpus(texts, self.max_train_tokens)
        model.build_vocab(corpus)
        if len(model.wv) == 0:
            raise InputError(
                f"word2vec: no word occurs at least min_count={self.min_count} times in the "
                f"{len(texts)} records; lower min_count or use another embedder"
            )
        with progress_bar(
            total=self.epochs, desc="word2vec epochs", unit="epoch", quiet=not progress
        ) as bar:
            model.train(
                corpus,
                total_examples=model.corpus_count,
                epochs=self.epochs,
                callbacks=[_epoch_progress(bar)],
            )
        return mean_word_vectors(texts, model.wv.key_to_index, model.wv.vectors, progress=progress)


def mean_word_vectors(
    texts: Sequence[str],
    key_to_index: dict[str, int],
    word_vectors: np.ndarray,
    *,
    progress: bool = False,
) -> np.ndarray:
    """Mean of the known word vectors of each text.

    Parameters
    ----------
    texts : sequence of str, length n
    key_to_index : dict
        Word -> row of ``word_vectors``; words not in it are skipped.
    word_vectors : ndarray of shape (vocab, dim)
    progress : bool
        Show a progress bar over the records.

    Returns
    -------
    ndarray of shape (n, dim), float32; the zero vector for a text with no known word.
    """
    out = np.zeros((len(texts), word_vectors.shape[1]), dtype=np.float32)
    for i, text in enumerate(
        progress_bar(texts, desc="word2vec vectors", unit="rec", quiet=not progress)
    ):
        rows = [j for j in map(key_to_index.get, tokenize(text)) if j is not None]
        if rows:
            out[i] = word_vectors[rows].mean(axis=0, dtype=np.float64)
    return out


def _epoch_progress(bar: tqdm) -> Any:
    """A gensim callback that advances ``bar`` at the end of each epoch (gensim imported lazily)."""
    from gensim.models.callbacks import CallbackAny2Vec

    class EpochProgress(CallbackAny2Vec):  # type: ignore[misc]
        def on_epoch_end(self, model: Any) -> None:
            bar.update(1)

    return EpochProgress()
