"""``tfidf``: TF-IDF word weights reduced by a truncated SVD (latent semantic analysis)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from unisel.embed.base import EMBEDDERS, Embedder, check_at_least
from unisel.errors import InputError, ParameterError


@EMBEDDERS.register("tfidf")
class TfidfEmbedder(Embedder):
    """scikit-learn ``TfidfVectorizer`` then ``TruncatedSVD``; deterministic for a given seed.

    Parameters
    ----------
    n_components : int
        Output dimension. When the data has fewer records or distinct words than that, it is
        lowered to ``min(n_records, n_words) - 1`` (at least 1), the most an SVD can give.
    min_df : int
        Ignore words found in fewer records.
    max_features : int or None
        Keep only the most frequent words (None: all).
    sublinear_tf : bool
        Use ``1 + log(tf)`` instead of the raw term count.
    seed : int
        ``random_state`` of the randomised SVD.

    Notes
    -----
    A record with no word in the vocabulary (e.g. only punctuation) gets the zero vector.
    `embed` fits on the texts it embeds; `fit` then `transform` fit once and embed any texts
    with that model (the distributed run's way, see `unisel.distributed.embed_partitions`).
    """

    def __init__(
        self,
        *,
        n_components: int = 256,
        min_df: int = 1,
        max_features: int | None = None,
        sublinear_tf: bool = True,
        seed: int = 0,
    ) -> None:
        check_at_least("tfidf", n_components=n_components, min_df=min_df, max_features=max_features)
        self.n_components = int(n_components)
        self.min_df = int(min_df)
        self.max_features = None if max_features is None else int(max_features)
        self.sublinear_tf = bool(sublinear_tf)
        self.seed = int(seed)
        # The fitted model (`fit`): the vectorizer, and the SVD (None when nothing to reduce).
        self._vectorizer: Any = None
        self._svd: Any = None

    def config(self) -> dict[str, Any]:
        return {
            "n_components": self.n_components,
            "min_df": self.min_df,
            "max_features": self.max_features,
            "sublinear_tf": self.sublinear_tf,
            "seed": self.seed,
        }

    def embed(self, texts: Sequence[str], *, progress: bool = True) -> np.ndarray:
        """Fit TF-IDF and the SVD on ``texts`` and return the reduced vectors.

        The same vectors as ``fit(texts).transform(texts)`` up to float rounding (the SVD's
        ``fit_transform`` scales the left singular vectors instead of projecting), without
        keeping the model.

        Parameters
        ----------
        texts : sequence of str, length n
        progress : bool
            Unused (both steps are single scikit-learn calls).

        Returns
        -------
        ndarray of shape (n, d), float32, with ``d = min(n_components, min(n, n_words) - 1)``.
        """
        return self._fit(texts)[2]

    def fit(self, texts: Sequence[str], *, progress: bool = False) -> TfidfEmbedder:
        """Learn the vocabulary, the idf weights and the SVD from ``texts``; keep them.

        With `transform` this is the corpus-fitted form of the embedder: fitted once (on a
        sample, or on all records), then applied to any texts, e.g. every partition of a
        distributed run (`unisel.distributed.embed_partitions`), so that all of them share one
        vocabulary and one projection.

        Parameters
        ----------
        texts : sequence of str, length n
            The corpus the vocabulary, the weights and the projection are learnt from.
        progress : bool
            Unused.

        Returns
        -------
        TfidfEmbedder
            ``self``, fitted.
        """
        self._vectorizer, self._svd, _ = self._fit(texts)
        return self

    def transform(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Vectors of ``texts`` under the model learnt by `fit`.

        Parameters
        ----------
        texts : sequence of str, length m
        progress : bool
            Unused.

        Returns
        -------
        ndarray of shape (m, d), float32, ``d`` as fixed by `fit`; the zero vector for a text
        with no word of the fitted vocabulary.

        Raises
        ------
        ParameterError
            `fit` was not called.
        """
        if self._vectorizer is None:
            raise ParameterError("tfidf: transform needs a fitted model; call fit first")
        tfidf = self._vectorizer.transform(list(texts))
        if self._svd is None:
            return np.ascontiguousarray(tfidf.toarray(), dtype=np.float32)
        return np.ascontiguousarray(self._svd.transform(tfidf), dtype=np.float32)

    def _fit(self, texts: Sequence[str]) -> tuple[Any, Any, np.ndarray]:
        """The fitted vectorizer, the fitted SVD (None: nothing to reduce) and the vectors of
        ``texts``, shape (n, d), float32."""
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=self.sublinear_tf,
            dtype=np.float32,
        )
        try:
            tfidf = vectorizer.fit_transform(list(texts))
        except ValueError as exc:  # "empty vocabulary": no record has a word
            raise InputError(f"tfidf: no usable word in the {len(texts)} records ({exc})") from None
        n_components = min(self.n_components, min(tfidf.shape) - 1)
        if n_components < 1:  # one record or one word: nothing to reduce
            return vectorizer, None, np.ascontiguousarray(tfidf.toarray(), dtype=np.float32)
        svd = TruncatedSVD(n_components=n_components, random_state=self.seed)
        # Identical records leave no variance: scikit-learn's explained_variance_ratio_ (unused
        # here) is then 0 / 0, and numpy would print its raw "invalid value" warning.
        with np.errstate(divide="ignore", invalid="ignore"):
            reduced = svd.fit_transform(tfidf)
        vectors = np.ascontiguousarray(reduced, dtype=np.float32)
        return vectorizer, svd, vectors
