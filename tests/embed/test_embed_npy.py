"""npy:FILE: valid files are memory-mapped as their own cache; each bad file is one clear line."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from unisel.embed import embed_texts
from unisel.errors import InputError

TEXTS = [f"record {i}" for i in range(100)]


def _save(path: Path, array: np.ndarray) -> str:
    np.save(path, array)
    return str(path)


def test_valid_float32_file_is_mapped_not_copied(tmp_path: Path, _private_cache: Path) -> None:
    X = np.random.default_rng(0).normal(size=(100, 7)).astype(np.float32)
    path = _save(tmp_path / "emb.npy", X)
    before = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    emb = embed_texts(TEXTS, f"npy:{path}", quiet=True)
    assert isinstance(emb.vectors, np.memmap) and not emb.vectors.flags.writeable
    np.testing.assert_array_equal(emb.vectors, X)
    assert emb.cache_path == Path(path).resolve()
    assert emb.method == f"npy:{path}"
    assert not _private_cache.exists()  # nothing copied into the cache
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == before


def test_float64_file_is_converted(tmp_path: Path) -> None:
    X = np.random.default_rng(1).normal(size=(100, 3))
    emb = embed_texts(TEXTS, f"npy:{_save(tmp_path / 'e64.npy', X)}", quiet=True)
    assert emb.vectors.dtype == np.float32
    np.testing.assert_allclose(emb.vectors, X, rtol=1e-6)


def _error(path: str) -> str:
    with pytest.raises(InputError) as info:
        embed_texts(TEXTS, f"npy:{path}", quiet=True)
    message = str(info.value)
    assert "\n" not in message and path in message
    return message


def test_wrong_row_count(tmp_path: Path) -> None:
    path = _save(tmp_path / "emb.npy", np.zeros((99, 4), np.float32))
    assert _error(path) == f"{path} has 99 rows but the data has 100 records"


@pytest.mark.parametrize("shape", [(100,), (100, 2, 2), ()])
def test_not_two_dimensional(tmp_path: Path, shape: tuple[int, ...]) -> None:
    path = _save(tmp_path / "emb.npy", np.zeros(shape, np.float32))
    assert "expected a 2-D array" in _error(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_names_the_first_bad_row(tmp_path: Path, bad: float) -> None:
    X = np.ones((100, 4), np.float32)
    X[57, 2] = bad
    X[80, 0] = bad
    path = _save(tmp_path / "emb.npy", X)
    assert "row 57 " in _error(path)


def test_float64_beyond_float32_range_is_reported(tmp_path: Path) -> None:
    X = np.ones((100, 2))
    X[3, 1] = 1e300
    assert "row 3 " in _error(_save(tmp_path / "big.npy", X))


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "emb.npy"
    path.write_bytes(b"this is not numpy data")
    message = _error(str(path))
    assert "not a .npy file" in message and "pickle" not in message


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "emb.npy"
    np.save(path, np.ones((100, 8), np.float32))
    path.write_bytes(path.read_bytes()[:-100])
    assert "cannot read" in _error(str(path))


def test_object_array_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "obj.npy"
    np.save(path, np.array([[object()]] * 100, dtype=object), allow_pickle=True)
    assert "cannot read" in _error(str(path))


def test_non_numeric_dtype(tmp_path: Path) -> None:
    path = _save(tmp_path / "str.npy", np.full((100, 2), "x"))
    assert "not a real number type" in _error(path)


def test_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.npy")
    assert _error(path) == f"{path}: no such file"
