"""``tfidf`` on degenerate input: identical records, records with no word."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from unisel.embed import embed_texts


def test_identical_records_embed_without_numpy_warnings():
    # Identical records leave the SVD no variance; scikit-learn's variance ratio is then 0 / 0,
    # which printed numpy's raw "invalid value encountered in divide".
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        emb = embed_texts(["same words here"] * 20, "tfidf", cache_dir=False, quiet=True)
    X = emb.vectors
    assert X.shape[0] == 20 and np.isfinite(X).all()
    assert (X == X[0]).all() and np.linalg.norm(X[0]) > 0


def test_identical_records_and_a_wordless_one_get_the_usual_zero_row_treatment():
    texts = ["same words here"] * 10 + ["!!!"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        emb = embed_texts(texts, "tfidf", cache_dir=False, quiet=True)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "1 records have a zero embedding (records 10)" in messages[0]
    X = emb.vectors
    assert np.isfinite(X).all() and np.linalg.norm(X[10]) > 0
    cos = X[:10] @ X[10] / (np.linalg.norm(X[:10], axis=1) * np.linalg.norm(X[10]))
    assert cos == pytest.approx(np.zeros(10), abs=1e-6)  # orthogonal to the rest
