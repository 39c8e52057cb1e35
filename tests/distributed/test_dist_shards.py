"""The shard store: round trips, array-like indexing, atomic creation, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unisel.distributed import load_embeddings, load_sharded, open_sharded, save_sharded
from unisel.distributed.shards import INDEX_NAME, partial_dir, split_rows
from unisel.errors import InputError, ParameterError


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), parts=st.integers(1, 9), data=st.data())
def test_store_indexes_like_the_array(tmp_path_factory, n, parts, data):
    X = np.random.default_rng(n * 31 + parts).standard_normal((n, 3)).astype(np.float32)
    path = tmp_path_factory.mktemp("s") / "store"
    save_sharded(X, path, n_shards=parts)
    A = open_sharded(path)
    assert A.shape == X.shape and A.dtype == X.dtype and len(A) == n
    assert A.n_shards == min(parts, n)
    np.testing.assert_array_equal(np.asarray(A), X)  # stored and read back: the same bytes
    np.testing.assert_array_equal(load_sharded(path), X)
    lo = data.draw(st.integers(-n, n))
    hi = data.draw(st.integers(-n, n))
    step = data.draw(st.integers(1, 3))
    np.testing.assert_array_equal(A[lo:hi:step], X[lo:hi:step])
    idx = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=20)), dtype=np.int64)
    np.testing.assert_array_equal(A[idx], X[idx])
    i = data.draw(st.integers(-n, n - 1))
    np.testing.assert_array_equal(A[i], X[i])


def test_split_rows_covers_in_order():
    for n, p in [(10, 3), (2, 5), (0, 2), (7, 7)]:
        r = split_rows(n, p)
        assert [i for lo, hi in r for i in range(lo, hi)] == list(range(n))
        assert all(hi > lo for lo, hi in r)
        if r:
            sizes = [hi - lo for lo, hi in r]
            assert max(sizes) - min(sizes) <= 1
    with pytest.raises(ParameterError):
        split_rows(3, 0)


def test_existing_output_is_kept_unless_overwrite(tmp_path):
    X = np.ones((4, 2), dtype=np.float32)
    save_sharded(X, tmp_path / "s", n_shards=2)
    with pytest.raises(ParameterError, match="exists"):
        save_sharded(2 * X, tmp_path / "s", n_shards=2)
    np.testing.assert_array_equal(load_sharded(tmp_path / "s"), X)
    save_sharded(2 * X, tmp_path / "s", n_shards=1, overwrite=True)
    np.testing.assert_array_equal(load_sharded(tmp_path / "s"), 2 * X)
    assert not partial_dir(tmp_path / "s").exists()


def test_bad_stores_give_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="no index.json"):
        open_sharded(tmp_path)
    X = np.zeros((5, 2), dtype=np.float32)
    save_sharded(X, tmp_path / "s", n_shards=2)
    index = json.loads((tmp_path / "s" / INDEX_NAME).read_text())
    index["n"] = 6
    (tmp_path / "s" / INDEX_NAME).write_text(json.dumps(index))
    with pytest.raises(InputError, match="'n' says 6"):
        open_sharded(tmp_path / "s")
    index["n"] = 5
    (tmp_path / "s" / INDEX_NAME).write_text(json.dumps(index))
    np.save(tmp_path / "s" / index["shards"][0]["file"], np.zeros((1, 2), dtype=np.float32))
    with pytest.raises(InputError, match="shard has shape"):
        np.asarray(open_sharded(tmp_path / "s"))


def test_load_embeddings_reads_npy_and_stores(tmp_path):
    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / "x.npy", X)
    np.testing.assert_array_equal(load_embeddings(tmp_path / "x.npy"), X)
    save_sharded(X, tmp_path / "s", rows_per_shard=3)
    np.testing.assert_array_equal(np.asarray(load_embeddings(tmp_path / "s")), X)
    (tmp_path / "bad.npy").write_text("nope")
    with pytest.raises(InputError):
        load_embeddings(tmp_path / "bad.npy")
