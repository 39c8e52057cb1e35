"""``word2vec``: the paper's embedder, a Word2Vec model trained on the corpus itself.

A record's vector is the mean of the vectors of its words. Words are lowercase runs of letters,
digits and underscores (``\\w+``, Unicode-aware), so text in any script is kept. Words seen fewer
than ``min_count`` times in the corpus have no vector; a record with no word that has one (for
example only punctuation or emoji) gets the zero vector, which `unisel.embed.embed_texts` then
lifts into a dimension of its own (see `unisel.embed.base.lift_zero_rows`).

Training (``training="file"``, the default): the texts are tokenized once; the tokens go to a
temporary one-record-per-line file that gensim trains on in its ``corpus_file`` mode (its C++
reader looks words up without the GIL and without re-tokenizing on each epoch), the word counts
seed the vocabulary directly (no second scan), and the record vectors are pooled from the same
token ids with one sparse product (:func:`unisel.embed._pooling.mean_pool`). The file holds the
corpus's words once (about the size of the text) in the system's temporary folder and is
deleted afterwards. ``training="iterable"`` is the earlier path, kept so that vectors cached by
it stay valid and for comparison: gensim reads a Python iterable that re-tokenizes every epoch.
The two paths draw gensim's random numbers in a different order, so their vectors differ for
the same seed (and so do their cache keys).

Reproducibility: gensim is run with one worker thread (several threads interleave updates in a
different order on each run; with ``corpus_file`` each thread also trains on its own slice of
the file) and with a hash function that does not depend on ``PYTHONHASHSEED``, so the same
texts and settings give the same bytes in every process.
"""

from __future__ import annotations

import re
import tempfile
import warnings
import zlib
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from tqdm.auto import tqdm

from unisel._progress import progress_bar
from unisel.embed._pooling import first_component, mean_pool, remove_component, sif_weights
from unisel.embed.base import EMBEDDERS, Embedder, check_at_least
from unisel.errors import InputError, ParameterError
from unisel.io.atomic import owner_tag, remove_stale

_WORD = re.compile(r"\w+")
# gensim's Cython loop ignores words past this position in one sentence; longer records are
# fed to training in pieces of this length so none of their words is dropped silently.
_GENSIM_MAX_SENTENCE = 10_000
#: Fewest training words times epochs for usable vectors; below it a warning. Measured on
#: ShareGPT records with the defaults (100 dimensions, window 5, min_count 5, mean pooling):
#: at 5 epochs, 62k words (2,000 records cut to 30 words) made 99.9% of the records near
#: duplicates (nearest neighbour within cosine 0.01), 249k 99%, 343k 69%, 437k 25%, 547k 18%
#: (WordLlama on the same records: 3%, 7%, 9%, 11%, 13%); 300, 500 and 1,000 whole
#: conversations (306k, 502k, 1.0M words) 94%, 64% and 18%. 40 epochs of the 62k words (2.5M
#: word passes) gave 4.6%, 10 epochs of the 249k 9.9%: it is words times epochs that counts.
MIN_WORD_PASSES = 2_500_000
TRAINING = ("file", "iterable")
POOLINGS = ("mean", "sif")
"""How gensim reads the corpus: a temporary token file (default) or a Python iterable."""
SCRATCH_PATTERN = re.compile(r"unisel-word2vec-(?P<pid>\d+)@(?P<host>[A-Za-z0-9-]*)-[a-z0-9_]+")
"""Names of the temporary token folders (``unisel-word2vec-<pid>@<host>-<random>``)."""


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
        trained in about 2.5 CPU minutes with the defaults, one worker and
        ``training="iterable"``.
    workers : int
        gensim worker threads. Only ``workers=1`` is reproducible run to run. With
        ``training="file"`` each thread trains on its own slice of the token file without the
        GIL (gensim documents near-linear scaling of that mode with threads).
    training : {"file", "iterable"}
        ``"file"`` (default): gensim's ``corpus_file`` mode on a temporary token file, one
        tokenization pass in all. ``"iterable"``: the earlier path (the corpus re-tokenized on
        every pass; the vectors of unisel versions before ``"file"`` existed). Different vectors
        for the same seed; both reproducible with ``workers=1``.
    seed : int
        Seeds the initial vectors and the sampling.
    pooling : {"mean", "sif"}
        How a record's word vectors become one vector. ``"mean"`` (the paper's): their plain
        mean. ``"sif"``: smooth-inverse-frequency weights ``a / (a + p(w))`` (``p`` the word's
        frequency in the corpus) and the first principal component of all record vectors
        removed (Arora, Liang and Ma, ICLR 2017). Mean pooling turns length into distance:
        the mean of a few frequent words is the noisiest point in the space, so max-min
        collects the shortest texts first; SIF down-weights the frequent words and removes the
        direction they share.
    sif_a : float
        The ``a`` of the SIF weights.
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
        training: str = "file",
        seed: int = 0,
        pooling: str = "mean",
        sif_a: float = 1e-3,
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
        check_at_least("word2vec", max_train_tokens=max_train_tokens)
        self.vector_size = int(vector_size)
        self.window = int(window)
        self.min_count = int(min_count)
        self.epochs = int(epochs)
        self.sg = bool(sg)
        for field, choice, choices in (
            ("training", training, TRAINING),
            ("pooling", pooling, POOLINGS),
        ):
            if choice not in choices:
                raise ParameterError(
                    f"word2vec: {field} must be one of {', '.join(choices)}, got {choice!r}"
                )
        self.max_train_tokens = None if max_train_tokens is None else int(max_train_tokens)
        self.training = str(training)
        self.workers = int(workers)
        self.seed = int(seed)
        if not sif_a > 0:
            raise ParameterError(f"word2vec: sif_a must be > 0, got {sif_a}")
        self.pooling = str(pooling)
        self.sif_a = float(sif_a)
        # The fitted SIF state: word weights (by table row) and the removed direction.
        self._word_weights: np.ndarray | None = None
        self._component: np.ndarray | None = None
        # The fitted word vectors (`fit`): word -> row of the table.
        self._vocabulary: dict[str, int] | None = None
        self._word_vectors: np.ndarray | None = None

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
            # Absent for "iterable", so that its cache entries from before this setting existed
            # are found again (the vectors are the same bytes).
            **({"training": "corpus_file"} if self.training == "file" else {}),
            # Absent for mean pooling, so that the paper's vectors keep their cache entries.
            **({"pooling": "sif", "sif_a": self.sif_a} if self.pooling == "sif" else {}),
        }

    @classmethod
    def settings_from_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        """As `Embedder.settings_from_config`, reading ``training`` the way `config` writes it
        (``"corpus_file"`` for ``"file"``, absent for ``"iterable"``)."""
        settings = super().settings_from_config(config)
        settings["training"] = "file" if config.get("training") == "corpus_file" else "iterable"
        return settings

    def embed(self, texts: Sequence[str], *, progress: bool = True) -> np.ndarray:
        """Train on ``texts`` and return their mean word vectors.

        The same vectors as ``fit(texts).transform(texts)``, with one tokenization pass fewer
        and without keeping the model.

        Parameters
        ----------
        texts : sequence of str, length n
        progress : bool
            Show progress bars (epochs, then records) on stderr.

        Returns
        -------
        ndarray of shape (n, vector_size), float32; zero rows for records without known words.
        """
        if self.training == "iterable":
            model = self._train_iterable(texts, progress)
            weights = self._fit_weights(model)
            vectors = mean_word_vectors(
                texts, model.wv.key_to_index, model.wv.vectors, weights=weights, progress=progress
            )
        else:
            model, corpus = self._train_file(texts, progress)
            weights = self._fit_weights(model)
            vectors = corpus.mean_vectors(model.wv.key_to_index, model.wv.vectors, weights)
        return self._fit_component(vectors)

    def _fit_weights(self, model: Any) -> np.ndarray | None:
        """The SIF weight of every word of ``model`` (None for mean pooling); kept for
        `transform`."""
        if self.pooling != "sif":
            return None
        counts = np.array([model.wv.get_vecattr(w, "count") for w in model.wv.index_to_key])
        self._word_weights = sif_weights(counts, self.sif_a)
        return self._word_weights

    def _fit_component(self, vectors: np.ndarray) -> np.ndarray:
        """SIF: remove (and keep, for `transform`) the first principal component."""
        if self.pooling != "sif":
            return vectors
        self._component = first_component(vectors)
        return remove_component(vectors, self._component)

    def fit(self, texts: Sequence[str], *, progress: bool = False) -> Word2VecEmbedder:
        """Train the word vectors on ``texts`` and keep them.

        With `transform` this is the corpus-fitted form of the embedder: trained once (on a
        sample, or on all records), then applied to any texts, e.g. every partition of a
        distributed run (`unisel.distributed.embed_partitions`), so that the same record gets
        the same vector wherever it is.

        Parameters
        ----------
        texts : sequence of str, length n
        progress : bool
            Show progress bars on stderr.

        Returns
        -------
        Word2VecEmbedder
            ``self``, fitted; only the word table is kept (no gensim object), so it pickles
            small.
        """
        if self.training == "iterable":
            model = self._train_iterable(texts, progress)
        else:
            model, _ = self._train_file(texts, progress)
        self._vocabulary = dict(model.wv.key_to_index)
        self._word_vectors = np.asarray(model.wv.vectors, dtype=np.float32)
        if self.pooling == "sif":  # the removed direction is the fitted texts' own
            self._fit_weights(model)
            self._component = None
            self._fit_component(self._pool(texts, progress))
        return self

    def _pool(self, texts: Sequence[str], progress: bool) -> np.ndarray:
        """The fitted word vectors of ``texts`` pooled (weighted for SIF), before the
        component removal."""
        assert self._vocabulary is not None and self._word_vectors is not None
        if self.training == "iterable":  # pooled as `embed` pools this training mode
            return mean_word_vectors(
                texts,
                self._vocabulary,
                self._word_vectors,
                weights=self._word_weights,
                progress=progress,
            )
        corpus = scan_corpus(texts, None, None, progress=progress)
        return corpus.mean_vectors(self._vocabulary, self._word_vectors, self._word_weights)

    def transform(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Mean of the fitted word vectors of each of ``texts``.

        Parameters
        ----------
        texts : sequence of str, length m
            Any texts: the fitted model is applied, not changed.
        progress : bool
            Show a progress bar on stderr.

        Returns
        -------
        ndarray of shape (m, vector_size), float32; the zero vector for a text with no word of
        the fitted vocabulary.

        Raises
        ------
        ParameterError
            `fit` was not called.
        """
        if self._vocabulary is None or self._word_vectors is None:
            raise ParameterError("word2vec: transform needs a fitted model; call fit first")
        vectors = self._pool(texts, progress)
        if self._component is not None:
            vectors = remove_component(vectors, self._component)
        return vectors

    def _model(self) -> Any:
        from gensim.models import Word2Vec

        return Word2Vec(
            vector_size=self.vector_size,
            window=self.window,
            min_count=self.min_count,
            sg=int(self.sg),
            workers=self.workers,
            seed=self.seed,
            hashfxn=stable_hash,
        )

    def _warn_small_corpus(self, words: int) -> None:
        """One warning line when ``words`` training words, ``epochs`` times over, are too few
        (see :data:`MIN_WORD_PASSES`)."""
        if words * self.epochs >= MIN_WORD_PASSES:
            return
        epochs = -(-MIN_WORD_PASSES // max(words, 1))
        # more epochs were measured to help up to 40 (see MIN_WORD_PASSES), not beyond
        more = f", or --embed-opt epochs={epochs}" if epochs <= 40 else ""
        warnings.warn(
            f"word2vec trained on only {words:,} words ({self.epochs} "
            f"epoch{'s' if self.epochs != 1 else ''}): too few for "
            "reliable vectors, most records come out near duplicates of each other; use "
            f"--embedder wordllama or tfidf{more}",
            stacklevel=4,
        )

    def _no_vocabulary(self, n: int) -> InputError:
        return InputError(
            f"word2vec: no word occurs at least min_count={self.min_count} times in the "
            f"{n} records; lower min_count or use another embedder"
        )

    def _train_file(self, texts: Sequence[str], progress: bool) -> tuple[Any, ScannedCorpus]:
        """A gensim model trained in ``corpus_file`` mode, and the scanned ``texts``."""
        model = self._model()
        try:
            # Named with the owner's pid, so that the next run removes the folder of a run
            # that was killed (the token file is about the size of the text).
            remove_stale(tempfile.gettempdir(), SCRATCH_PATTERN, "word2vec token folders")
            scratch = tempfile.TemporaryDirectory(prefix=f"unisel-word2vec-{owner_tag()}-")
        except OSError as exc:
            raise ParameterError(
                f"word2vec: cannot create the temporary token file in {tempfile.gettempdir()} "
                f"({exc.strerror or exc}); set TMPDIR to a writable folder or use "
                "training='iterable' (--embed-opt training=iterable)"
            ) from None
        with scratch as folder:
            path = Path(folder) / "corpus.txt"
            with open(path, "w", encoding="utf-8", newline="\n") as out:
                corpus = scan_corpus(texts, self.max_train_tokens, out, progress=progress)
            if not corpus.train_counts.any():
                raise self._no_vocabulary(len(texts))
            # The counts of the capped training words, in first-seen order: the vocabulary a
            # scan of the file would build, without a second pass over it.
            freq = {
                word: int(c)
                for word, c in zip(corpus.words, corpus.train_counts.tolist(), strict=True)
                if c
            }
            model.build_vocab_from_freq(freq, corpus_count=corpus.n_sentences)
            if len(model.wv) == 0:
                raise self._no_vocabulary(len(texts))
            self._warn_small_corpus(int(corpus.train_counts.sum()))
            with progress_bar(
                total=self.epochs, desc="word2vec epochs", unit="epoch", quiet=not progress
            ) as bar:
                model.train(
                    corpus_file=str(path),
                    total_words=int(corpus.train_counts.sum()),
                    epochs=self.epochs,
                    callbacks=[_epoch_progress(bar)],
                )
        return model, corpus

    def _train_iterable(self, texts: Sequence[str], progress: bool) -> Any:
        """A gensim model trained on a re-tokenizing iterable over ``texts``."""
        model = self._model()
        corpus = _Corpus(texts, self.max_train_tokens)
        model.build_vocab(corpus)
        if len(model.wv) == 0:
            raise self._no_vocabulary(len(texts))
        self._warn_small_corpus(int(model.corpus_total_words))
        with progress_bar(
            total=self.epochs, desc="word2vec epochs", unit="epoch", quiet=not progress
        ) as bar:
            model.train(
                corpus,
                total_examples=model.corpus_count,
                epochs=self.epochs,
                callbacks=[_epoch_progress(bar)],
            )
        return model


class ScannedCorpus:
    """The result of :func:`scan_corpus`: every record's words as ids into ``words``.

    Attributes
    ----------
    words : list of str
        The distinct words, in order of first occurrence.
    ids : ndarray of shape (n_tokens,), int32
        Each record's words (all of them, not only the training ones), records one after the
        other.
    indptr : ndarray of shape (n + 1,), int64
        Record ``i``'s words are ``ids[indptr[i]:indptr[i + 1]]``.
    train_counts : ndarray of shape (len(words),), int64
        How often each word occurs among the training words (the first ``max_train_tokens`` of
        each record).
    n_sentences : int
        Lines gensim will see: training words cut into pieces of at most 10,000.
    """

    def __init__(
        self,
        words: list[str],
        ids: np.ndarray,
        indptr: np.ndarray,
        train_counts: np.ndarray,
        n_sentences: int,
    ) -> None:
        self.words = words
        self.ids = ids
        self.indptr = indptr
        self.train_counts = train_counts
        self.n_sentences = n_sentences

    def mean_vectors(
        self,
        key_to_index: dict[str, int],
        word_vectors: np.ndarray,
        weights: np.ndarray | None = None,
    ) -> np.ndarray:
        """Mean of the known word vectors of each record: :func:`mean_word_vectors`, vectorised.

        Parameters
        ----------
        key_to_index : dict
            Word -> row of ``word_vectors``; words not in it are skipped.
        word_vectors : ndarray of shape (vocab, dim)
        weights : ndarray of shape (vocab,), optional
            A weight per word (SIF), see :func:`unisel.embed._pooling.mean_pool`.

        Returns
        -------
        ndarray of shape (n, dim), float32; the zero vector for a record with no known word.
        """
        get = key_to_index.get
        lookup = np.fromiter((get(w, -1) for w in self.words), np.int32, len(self.words))
        rows = lookup[self.ids]
        known = rows >= 0
        # Record i's known words are rows[known][kept[indptr[i]]:kept[indptr[i + 1]]].
        kept = np.zeros(known.size + 1, dtype=np.int64)
        np.cumsum(known, out=kept[1:])
        return mean_pool(rows[known], kept[self.indptr], word_vectors, weights)


def scan_corpus(
    texts: Sequence[str],
    max_train_tokens: int | None,
    out: TextIO | None,
    *,
    progress: bool = False,
) -> ScannedCorpus:
    """Tokenize ``texts`` once: word ids for pooling, counts for the vocabulary, a training file.

    Parameters
    ----------
    texts : sequence of str, length n
    max_train_tokens : int or None
        Only the first this many words of each record are written to ``out`` and counted in
        ``train_counts`` (None: all).
    out : text file or None
        Receives the training words, one record per line, separated by single spaces (a
        ``\\w+`` word never contains whitespace, so gensim's reader splits them back exactly).
        None: nothing is written (a scan for pooling only).
    progress : bool
        Show a progress bar over the records.

    Returns
    -------
    ScannedCorpus
    """
    # A new word gets the next id: __missing__ inserts len(index), all inside C map().
    index: defaultdict[str, int] = defaultdict()
    index.default_factory = index.__len__
    word_id = index.__getitem__
    chunks: list[np.ndarray] = []
    train_chunks: list[np.ndarray] = []
    indptr = np.zeros(len(texts) + 1, dtype=np.int64)
    n_sentences = 0
    for i, text in enumerate(
        progress_bar(texts, desc="word2vec tokens", unit="rec", quiet=not progress, leave=False)
    ):
        words = tokenize(text)
        ids = np.fromiter(map(word_id, words), np.int32, len(words))
        chunks.append(ids)
        indptr[i + 1] = indptr[i] + ids.size
        train = words if max_train_tokens is None else words[:max_train_tokens]
        train_chunks.append(ids[: len(train)])
        n_sentences += -(-len(train) // _GENSIM_MAX_SENTENCE)
        if out is not None:
            out.write(" ".join(train))
            out.write("\n")
    ids = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int32)
    train_ids = np.concatenate(train_chunks) if train_chunks else ids
    train_counts = np.bincount(train_ids, minlength=len(index)).astype(np.int64)
    return ScannedCorpus(list(index), ids, indptr, train_counts, n_sentences)


def mean_word_vectors(
    texts: Sequence[str],
    key_to_index: dict[str, int],
    word_vectors: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Mean of the known word vectors of each text (each scaled by its ``weights`` entry).

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
        if rows and weights is None:
            out[i] = word_vectors[rows].mean(axis=0, dtype=np.float64)
        elif rows:
            w = np.asarray(weights, dtype=np.float64)[rows]
            out[i] = (word_vectors[rows] * w[:, None]).sum(axis=0, dtype=np.float64) / len(rows)
    return out


def _epoch_progress(bar: tqdm) -> Any:
    """A gensim callback that advances ``bar`` at the end of each epoch (gensim imported lazily)."""
    from gensim.models.callbacks import CallbackAny2Vec

    class EpochProgress(CallbackAny2Vec):  # type: ignore[misc]
        def on_epoch_end(self, model: Any) -> None:
            bar.update(1)

    return EpochProgress()
