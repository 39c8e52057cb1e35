"""A distributed store gives all-zero rows a dimension of their own, as `unisel select` does, so
distributed max-min does not pick every record the embedder had nothing for first."""

from __future__ import annotations

import json

import numpy as np
import pytest

from unisel.distributed import embed_partitions, load_sharded, select_exact
from unisel.embed import lift_zero_rows
from unisel.select.engine import maxmin

N = 240
EMPTY = (3, 100, 101, 230)  # records with no known word, spread over the partitions


class Hashed:
    """A stateless embedder: a fixed random vector per word, summed; zero for unknown words."""

    def embed(self, texts, progress=False):
        out = np.zeros((len(texts), 16), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.split():
                if word[0] == "w" and word[1:].isdigit():
                    out[i] += np.random.default_rng(int(word[1:])).normal(size=16)
        return out


def _input(tmp_path):
    rng = np.random.default_rng(0)
    texts = [" ".join(f"w{j}" for j in rng.integers(0, 50, 6)) for _ in range(N)]
    for i in EMPTY:
        texts[i] = "unknown words only"
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    return src, texts


def test_zero_rows_are_lifted_like_a_single_machine_run(tmp_path):
    src, texts = _input(tmp_path)
    with pytest.warns(UserWarning, match="4 records have a zero embedding"):
        store = embed_partitions(
            src, tmp_path / "store", embedder=Hashed(), n_partitions=4, quiet=True
        )
    assert store.shape == (N, 17)
    want, zero = lift_zero_rows(Hashed().embed(texts))
    assert zero.tolist() == list(EMPTY)
    X = load_sharded(tmp_path / "store")
    np.testing.assert_allclose(X, want, rtol=0, atol=1e-5)  # float32 sums, partition by partition
    # the zero records are one point now: max-min takes at most one of them early
    picks = select_exact(tmp_path / "store", 30, start=0).indices
    assert len(set(picks.tolist()) & set(EMPTY)) <= 1
    assert picks.tolist() == maxmin(want, 30, initial=[0])[0].tolist()


def test_a_store_without_zero_rows_keeps_its_dimension(tmp_path):
    src, _ = _input(tmp_path)
    text = src.read_text().replace("unknown words only", "w1 w2")
    src.write_text(text)
    store = embed_partitions(src, tmp_path / "store", embedder=Hashed(), n_partitions=4, quiet=True)
    assert store.shape == (N, 16)


def test_a_lift_stopped_halfway_is_finished_by_the_next_run(tmp_path, monkeypatch):
    src, texts = _input(tmp_path)
    from unisel.distributed import embedding

    calls = {"n": 0}
    real = embedding.write_shard

    def fail_on_second_lift(directory, i, array):
        if array.shape[1] == 17:
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt
        return real(directory, i, array)

    monkeypatch.setattr(embedding, "write_shard", fail_on_second_lift)
    with pytest.raises(KeyboardInterrupt), pytest.warns(UserWarning):
        embed_partitions(src, tmp_path / "store", embedder=Hashed(), n_partitions=4, quiet=True)
    partial = sorted((tmp_path).glob("*store*"))
    assert partial and not (tmp_path / "store").exists()
    widths = {np.load(p, mmap_mode="r").shape[1] for d in partial for p in sorted(d.glob("*.npy"))}
    assert widths == {16, 17}  # one shard lifted, the others not yet
    monkeypatch.setattr(embedding, "write_shard", real)
    with pytest.warns(UserWarning, match="4 records have a zero embedding"):
        embed_partitions(src, tmp_path / "store", embedder=Hashed(), n_partitions=4, quiet=True)
    want, _ = lift_zero_rows(Hashed().embed(texts))
    np.testing.assert_allclose(load_sharded(tmp_path / "store"), want, rtol=0, atol=1e-5)
