"""End to end through the command line: every format, schema, embedder, selector and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests._data import EXTENSION, make_records, write_records
from unisel.cli import main
from unisel.io import read_records
from unisel.manifest import load_manifest

FLAT = ("alpaca", "text")  # schemas a CSV can hold


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def data_file(tmp_path: Path, schema: str, fmt: str, n: int = 60) -> Path:
    return write_records(make_records(schema, n), tmp_path / f"data{EXTENSION[fmt]}", fmt)


CASES = [
    (s, f)
    for s in ("alpaca", "sharegpt", "messages", "text")
    for f in EXTENSION
    if f != "csv" or s in FLAT
]


@pytest.mark.parametrize(("schema", "fmt"), CASES)
def test_select_every_format_and_schema(tmp_path, capsys, cache, schema, fmt):
    src = data_file(tmp_path, schema, fmt)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    out = tmp_path / f"subset{EXTENSION[fmt]}"
    extra = ["--text-field", "body"] if schema == "text" else []
    code, stdout, err = run(
        capsys,
        "select",
        src,
        "-k",
        12,
        "-o",
        out,
        "--cache-dir",
        cache,
        "--embedder",
        "tfidf",
        "-q",
        "--preset",  # every record a candidate, one greedy: the distances' invariants below
        "paper",
        *extra,
    )
    assert code == 0, err
    assert "selected 12 of 60" in stdout
    manifest = load_manifest(out)
    assert manifest.k == 12 and len(manifest.indices) == 12
    assert manifest.input["format"] == fmt and manifest.input["schema"] == schema
    assert manifest.distances[0] is None and all(d is not None for d in manifest.distances[1:])
    # The subset is in the input's format and holds exactly the chosen records, in input order.
    full = read_records(src, text_field="body" if schema == "text" else None)
    sub = read_records(out, text_field="body" if schema == "text" else None)
    assert sub.format == fmt
    assert sub.texts == [full.texts[i] for i in sorted(manifest.indices)]
    # Nothing of the user's was modified.
    assert all(p.read_bytes() == content for p, content in before.items())


def test_field_order_and_json_style_kept(tmp_path, capsys, cache):
    records = [
        {
            "output": f"answer {i} " * (i + 1),
            "instruction": f"question {i}",
            "input": "",
            "extra": i,
        }
        for i in range(20)
    ]
    src = write_records(records, tmp_path / "d.jsonl", "jsonl")
    out = tmp_path / "s.jsonl"
    assert (
        run(
            capsys,
            "select",
            src,
            "-k",
            5,
            "-o",
            out,
            "--cache-dir",
            cache,
            "--embedder",
            "tfidf",
            "-q",
        )[0]
        == 0
    )
    lines = src.read_text().splitlines()
    chosen = sorted(load_manifest(out).indices)
    assert out.read_text().splitlines() == [lines[i] for i in chosen]  # byte for byte


@pytest.mark.parametrize("method", ["maxmin", "random", "first", "clustered", "kmeans"])
def test_every_selector(tmp_path, capsys, cache, method):
    src = data_file(tmp_path, "alpaca", "jsonl")
    out = tmp_path / "s.jsonl"
    code, _, err = run(
        capsys,
        "select",
        src,
        "--fraction",
        0.25,
        "--method",
        method,
        "-o",
        out,
        "--cache-dir",
        cache,
        "--embedder",
        "tfidf",
        "-q",
    )
    assert code == 0, err
    m = load_manifest(out)
    assert m.k == 15 and m.selector["method"] == method
    assert (m.distances is not None) == (method == "maxmin")
    if method == "first":
        assert m.indices == list(range(15))


@pytest.mark.parametrize("embedder", ["word2vec", "tfidf", "minilm", "npy", "hf"])
def test_every_offline_embedder(tmp_path, capsys, cache, embedder, tiny_bert):
    src = data_file(tmp_path, "sharegpt", "json", n=30)
    spec = {"npy": f"npy:{tmp_path / 'e.npy'}", "hf": f"hf:{tiny_bert}"}.get(embedder, embedder)
    if embedder == "npy":
        np.save(
            tmp_path / "e.npy", np.random.default_rng(0).normal(size=(30, 5)).astype(np.float32)
        )
    out = tmp_path / "s.json"
    code, _, err = run(
        capsys, "select", src, "-k", 6, "-o", out, "--cache-dir", cache, "--embedder", spec, "-q"
    )
    assert code == 0, err
    m = load_manifest(out)
    assert m.embedder["method"] == spec
    vectors = np.load(m.embedder["cache_path"], mmap_mode="r")
    assert vectors.shape[0] == 30
    if embedder == "minilm":
        assert m.embedder["dim"] == 384


def test_same_output_every_run_and_cache_reused(tmp_path, capsys, cache):
    src = data_file(tmp_path, "alpaca", "jsonl")
    outs = []
    for i in range(2):
        out = tmp_path / f"s{i}.jsonl"
        assert (
            run(
                capsys, "select", src, "-k", 20, "-o", out, "--cache-dir", cache, "--seed", 3, "-q"
            )[0]
            == 0
        )
        outs.append(out)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    m0, m1 = load_manifest(outs[0]), load_manifest(outs[1])
    assert m0.indices == m1.indices and m0.distances == m1.distances
    assert m1.timings["embed"] < max(1.0, m0.timings["embed"])  # second run read the cache
    assert len(list(cache.rglob("*.npy"))) == 1


def test_extend_equals_longer_selection(tmp_path, capsys, cache):
    src = data_file(tmp_path, "alpaca", "jsonl")
    common = ["--cache-dir", cache, "--embedder", "tfidf", "-q", "--start", 4]
    assert run(capsys, "select", src, "-k", 10, "-o", tmp_path / "a.jsonl", *common)[0] == 0
    assert run(capsys, "select", src, "-k", 25, "-o", tmp_path / "b.jsonl", *common)[0] == 0
    assert (
        run(
            capsys,
            "select",
            src,
            "-k",
            15,
            "-o",
            tmp_path / "c.jsonl",
            "--extend",
            tmp_path / "a.jsonl",
            *common,
        )[0]
        == 0
    )
    assert (
        load_manifest(tmp_path / "c.jsonl").indices == load_manifest(tmp_path / "b.jsonl").indices
    )


def test_select_euclidean_metric_writes_it_to_the_manifest(tmp_path, capsys, cache):
    from unisel.select.engine import maxmin_reference

    src = data_file(tmp_path, "alpaca", "jsonl", n=80)
    rng = np.random.default_rng(0)  # unnormalised rows: Euclidean and cosine orders differ
    emb = rng.normal(size=(80, 6)) * np.exp(rng.normal(size=(80, 1)))
    np.save(tmp_path / "emb.npy", emb.astype(np.float32))
    common = ["--cache-dir", cache, "--embedder", f"npy:{tmp_path / 'emb.npy'}", "-q", "--start", 3]
    common += ["--preset", "paper"]  # every record a candidate: the reference's sequence
    out = tmp_path / "e.jsonl"
    code, stdout, _ = run(
        capsys, "select", src, "-k", 20, "-o", out, "--metric", "euclidean", *common
    )
    assert code == 0, stdout
    m = load_manifest(out)
    assert m.selector["params"]["metric"] == "euclidean"
    X = np.load(m.embedder["cache_path"])
    idx, dist = maxmin_reference(X, 20, start=3, metric="euclidean")
    assert m.indices == idx.tolist()
    assert m.distances[1:] == dist[1:].tolist()
    assert m.indices != maxmin_reference(X, 20, start=3)[0].tolist()  # not the cosine order
    assert run(capsys, "select", src, "-k", 20, "-o", tmp_path / "c.jsonl", *common)[0] == 0
    assert load_manifest(tmp_path / "c.jsonl").selector["params"]["metric"] == "cosine"
    # extending keeps the metric: the same metric continues, the other one is refused
    longer = tmp_path / "l.jsonl"
    assert (
        run(capsys, "select", src, "-k", 30, "-o", longer, "--metric", "euclidean", *common)[0] == 0
    )
    ext = tmp_path / "x.jsonl"
    argv = ["select", src, "-k", 10, "-o", ext, "--extend", out, *common]
    assert run(capsys, *argv, "--metric", "euclidean")[0] == 0
    assert load_manifest(ext).indices == load_manifest(longer).indices
    code, _, err = run(capsys, *argv[:5], tmp_path / "y.jsonl", *argv[6:])
    assert code == 2 and "made with metric 'euclidean', this run uses 'cosine'" in err
    assert not (tmp_path / "y.jsonl").exists()
    code, _, err = run(
        capsys,
        *argv[:5],
        tmp_path / "z.jsonl",
        "--extend",
        tmp_path / "c.jsonl",
        *common,
        "--metric",
        "euclidean",
    )
    assert code == 2 and "pass --metric cosine" in err
    bad = ["select", src, "-k", 5, "-o", tmp_path / "r.jsonl", "--metric", "euclidean", *common]
    code, _, err = run(capsys, *bad, "--method", "random")
    assert code == 2 and "--method maxmin only" in err
    code, _, err = run(capsys, *bad, "--workers", 2)
    assert code == 2 and "metric cosine only" in err
    with pytest.raises(SystemExit):
        main(["select", str(src), "-k", "5", "-o", str(tmp_path / "m.jsonl"), "--metric", "l1"])


def test_metrics_side_by_side(tmp_path, capsys, cache):
    src = data_file(tmp_path, "alpaca", "jsonl", n=80)
    for method in ("maxmin", "random"):
        assert (
            run(
                capsys,
                "select",
                src,
                "-k",
                20,
                "--method",
                method,
                "-o",
                tmp_path / f"{method}.jsonl",
                "--cache-dir",
                cache,
                "-q",
            )[0]
            == 0
        )
    # A subset file without a manifest is matched to the full set by its records.
    lines = src.read_text().splitlines()
    (tmp_path / "hand.jsonl").write_text("\n".join(lines[:20]) + "\n")
    code, out, err = run(
        capsys,
        "metrics",
        src,
        "--subset",
        tmp_path / "maxmin.jsonl",
        "--subset",
        tmp_path / "random.jsonl.manifest.json",
        "--subset",
        tmp_path / "hand.jsonl",
        "--cache-dir",
        cache,
        "--json",
        "-q",
    )
    assert code == 0, err
    sets = {s["name"]: s for s in json.loads(out)["sets"]}
    assert list(sets) == ["full", "maxmin", "random", "hand"]
    assert sets["maxmin"]["h_min_cosine"] >= sets["random"]["h_min_cosine"]
    assert sets["maxmin"]["covering_radius"] <= sets["random"]["covering_radius"]
    assert sets["hand"]["size"] == 20
    code, table, _ = run(
        capsys, "metrics", src, "--subset", tmp_path / "maxmin.jsonl", "--cache-dir", cache, "-q"
    )
    assert code == 0 and "covering radius" in table and "maxmin" in table


def test_duplicates_are_legal(tmp_path, capsys, cache):
    records = make_records("alpaca", 20) * 2
    src = write_records(records, tmp_path / "d.json", "json")
    out = tmp_path / "s.json"
    assert run(capsys, "select", src, "-k", 30, "-o", out, "--cache-dir", cache, "-q")[0] == 0
    assert load_manifest(out).h_min["cosine"] == 0.0


@pytest.mark.parametrize("k", [1, 7])
def test_select_prints_the_subsets_h_min_short(tmp_path, capsys, cache, k):
    src = data_file(tmp_path, "alpaca", "jsonl", n=20)
    out = tmp_path / "s.jsonl"
    code, stdout, err = run(capsys, "select", src, "-k", k, "-o", out, "--cache-dir", cache, "-q")
    assert code == 0, err
    h = load_manifest(out).h_min
    line = next(x for x in stdout.splitlines() if x.startswith("h_min of the subset"))
    if k == 1:
        assert h == {"cosine": None, "euclidean": None}
        assert line == "h_min of the subset: undefined (fewer than 2 records)"
    else:
        assert line == (
            f"h_min of the subset: cosine {h['cosine']:.6g}, Euclidean {h['euclidean']:.6g}"
        )


# ------------------------------------------------------------------ bad input
def bad(tmp_path, capsys, *argv) -> str:
    out = tmp_path / "out.jsonl"
    code, _, err = run(capsys, "select", *argv, "-o", out, "--cache-dir", tmp_path / "c", "-q")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert not out.exists() and not Path(str(out) + ".manifest.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(("out", ".out"))]
    return lines[0]


def test_missing_file(tmp_path, capsys):
    assert "nope.jsonl" in bad(tmp_path, capsys, tmp_path / "nope.jsonl", "-k", 1)


def test_malformed_json_line(tmp_path, capsys):
    src = data_file(tmp_path, "alpaca", "jsonl", n=10)
    lines = src.read_text().splitlines()
    lines[6] = lines[6][:-3]
    src.write_text("\n".join(lines) + "\n")
    msg = bad(tmp_path, capsys, src, "-k", 2)
    assert "data.jsonl" in msg and "7" in msg


def test_record_without_text(tmp_path, capsys):
    records = make_records("alpaca", 10)
    records[4] = {"instruction": "", "input": "", "output": ""}
    src = write_records(records, tmp_path / "d.json", "json")
    msg = bad(tmp_path, capsys, src, "-k", 2)
    assert "d.json" in msg and "4" in msg


def test_unknown_schema(tmp_path, capsys):
    src = write_records([{"a": 1, "b": 2}] * 5, tmp_path / "d.jsonl", "jsonl")
    msg = bad(tmp_path, capsys, src, "-k", 2)
    assert "d.jsonl" in msg and "schema" in msg


@pytest.mark.parametrize(
    ("size", "needle"),
    [
        (["-k", "0"], "positive"),
        (["-k", "61"], "larger"),
        (["--fraction", "0"], "fraction"),
        (["--fraction", "1.5"], "fraction"),
    ],
)
def test_bad_sizes(tmp_path, capsys, size, needle):
    src = data_file(tmp_path, "alpaca", "jsonl")
    assert needle in bad(tmp_path, capsys, src, *size)


def test_npy_wrong_rows_and_nan(tmp_path, capsys):
    src = data_file(tmp_path, "alpaca", "jsonl")
    np.save(tmp_path / "short.npy", np.zeros((59, 4), dtype=np.float32))
    assert "short.npy" in bad(
        tmp_path, capsys, src, "-k", 3, "--embedder", f"npy:{tmp_path / 'short.npy'}"
    )
    arr = np.ones((60, 4), dtype=np.float32)
    arr[17, 2] = np.nan
    np.save(tmp_path / "nan.npy", arr)
    msg = bad(tmp_path, capsys, src, "-k", 3, "--embedder", f"npy:{tmp_path / 'nan.npy'}")
    assert "nan.npy" in msg and "17" in msg


def test_output_equal_to_input_refused(tmp_path, capsys):
    src = data_file(tmp_path, "alpaca", "jsonl")
    before = src.read_bytes()
    code, _, err = run(capsys, "select", src, "-k", 3, "-o", src, "-q")
    assert code == 2 and "input" in err and len(err.strip().splitlines()) == 1
    assert src.read_bytes() == before


def test_skipped_records_keep_input_numbering(tmp_path, capsys, cache):
    records = make_records("sharegpt", 40)
    for i in (3, 17):
        records[i]["conversations"] = []
    src = write_records(records, tmp_path / "d.json", "json")
    out = tmp_path / "s.json"
    assert (
        run(
            capsys,
            "select",
            src,
            "-k",
            38,
            "-o",
            out,
            "--skip-empty",
            "--cache-dir",
            cache,
            "--embedder",
            "tfidf",
            "-q",
        )[0]
        == 0
    )
    m = load_manifest(out)
    assert sorted(m.indices) == [i for i in range(40) if i not in (3, 17)]  # input record numbers
    assert sorted(m.embedding_indices) == list(range(38))  # rows of the embedding matrix
    code, stdout, err = run(
        capsys,
        "metrics",
        src,
        "--skip-empty",
        "--subset",
        out,
        "--cache-dir",
        cache,
        "--json",
        "-q",
    )
    assert code == 0, err
    assert json.loads(stdout)["sets"][1]["size"] == 38
    code, _, err = run(
        capsys, "select", src, "-k", 5, "-o", tmp_path / "t.json", "--cache-dir", cache, "-q"
    )
    assert code == 2 and "record 3" in err


def test_select_on_a_local_dask_cluster_equals_one_process(tmp_path, capsys, cache):
    src = data_file(tmp_path, "alpaca", "jsonl", n=80)
    common = ["-k", 25, "--cache-dir", cache, "--embedder", "tfidf", "-q", "--seed", 2]
    common += ["--preset", "paper"]  # the default's length buckets run in one process only
    assert run(capsys, "select", src, "-o", tmp_path / "one.jsonl", *common)[0] == 0
    code, _, err = run(
        capsys, "select", src, "-o", tmp_path / "dask.jsonl", "--workers", 2, *common
    )
    assert code == 0, err
    one, dask = load_manifest(tmp_path / "one.jsonl"), load_manifest(tmp_path / "dask.jsonl")
    assert dask.indices == one.indices
    # Distributed exact mode sums dot products with BLAS: keys may differ in the last ulp.
    assert dask.distances[1:] == pytest.approx(one.distances[1:], abs=1e-12, rel=0)
    assert dask.selector["params"]["mode"] == "exact"
    code, _, err = run(
        capsys,
        "select",
        src,
        "-o",
        tmp_path / "r.jsonl",
        "--workers",
        2,
        "--method",
        "random",
        *common,
    )
    assert code == 2 and "maxmin only" in err
