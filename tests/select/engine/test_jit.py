"""How the kernels compile: a cache folder that always works, one compilation per kernel.

The subprocess tests start fresh interpreters with an empty ``NUMBA_CACHE_DIR`` (or none) under
``tmp_path``: the user's numba cache is never touched. The install-time kernel bundle is
switched off in them unless the test builds one under ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

SRC = str(Path(__file__).resolve().parents[3] / "src")


def _run(code: str, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    # numba's own cache is under test: the install's kernel bundle is off unless a test names one
    full = {
        **os.environ,
        "UNISEL_KERNEL_BUNDLE": "off",
        **env,
        "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=timeout
    )


# every locator numba has refuses (a read-only install, no writable home): what a container
# started with an arbitrary --user sees
_NO_NUMBA_LOCATOR = """
from numba.core import caching
for cls in list(caching.CompileResultCacheImpl._locator_classes):
    if cls.__module__ == "numba.core.caching":
        cls.from_function = classmethod(lambda cls, py_func, py_file: None)
"""


def test_no_writable_package_or_home_caches_in_a_private_temp_folder(tmp_path):
    code = (
        _NO_NUMBA_LOCATOR
        + """
import numpy as np
from unisel.select.engine import maxmin
X = np.random.default_rng(0).normal(size=(300, 8))
print(maxmin(X, 40)[0].tolist())
"""
    )
    env = {"TMPDIR": str(tmp_path)}
    first = _run(code, env)
    assert first.returncode == 0, first.stderr  # was: RuntimeError at import
    folder = tmp_path / f"unisel-numba-{os.getuid()}"
    assert any(folder.rglob("*.nbi")) and any(folder.rglob("*.nbc"))
    assert folder.stat().st_mode & 0o077 == 0  # private: cache files are pickles
    again = _run(code, env)
    assert again.returncode == 0 and again.stdout == first.stdout


def test_temp_folder_of_someone_else_or_writable_by_others_is_not_used(tmp_path, monkeypatch):
    from unisel.select.engine import _jit

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    folder = tmp_path / f"unisel-numba-{os.getuid()}"
    assert _jit.temp_cache_root() == str(folder)
    folder.chmod(0o777)
    assert _jit.temp_cache_root() is None
    folder.chmod(0o700)
    assert _jit.temp_cache_root() == str(folder)
    folder.rmdir()
    folder.symlink_to(tmp_path)  # a link planted where the folder should be
    assert _jit.temp_cache_root() is None


def test_without_any_cache_folder_kernels_compile_with_one_warning(monkeypatch):
    from unisel.select.engine import _jit

    for cls in _jit._CacheImpl._locator_classes:
        monkeypatch.setattr(cls, "from_function", classmethod(lambda cls, f, p: None))
    monkeypatch.setattr(_jit, "_warned", False)

    def twice(x):
        return 2 * x

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        kernel = _jit.njit(nogil=True)(twice)
        other = _jit.njit()(lambda x: x + 1)
    assert kernel(21) == 42 and other(1) == 2
    assert [w.category for w in seen] == [RuntimeWarning]
    assert "NUMBA_CACHE_DIR" in str(seen[0].message)
    with pytest.raises(TypeError, match="policy"):
        _jit.njit(cache=False)


def test_kernels_use_the_project_cache():
    from numba.core import caching

    from unisel.metrics import _pruned as metrics_pruned
    from unisel.select.engine import _canonical, _jit, _kernels, _pruned

    dispatchers = [
        obj
        for mod in (_canonical, _kernels, _pruned, metrics_pruned)
        for obj in vars(mod).values()
        if hasattr(obj, "py_func") and obj.py_func.__module__ == mod.__name__
    ]
    assert len(dispatchers) > 20
    for disp in dispatchers:
        assert isinstance(disp._cache, _jit.KernelCache), disp.py_func.__name__
        # threads, not numba's parallel=True (seconds more to compile each)
        assert not disp.targetoptions.get("parallel"), disp.py_func.__name__
    assert _jit.TempDirCacheLocator in _jit._CacheImpl._locator_classes
    assert caching.FunctionCache not in (type(d._cache) for d in dispatchers)


_COUNT_COMPILES = """
import json, sys
import numpy as np
from numba.core import event
rec = event.RecordingListener()
event.register("numba:compile", rec)
from unisel.select.engine import fast, maxmin
X = np.random.default_rng(1).normal(size=(9000, 12)).astype(np.float32)
X[100:140] = X[3]
got = [maxmin(X, 600, prune=pr)[0].tolist() for pr in (None, False)]
fast.BATCH_MIN_STALE = 1
got.append(maxmin(X[:3000], 900, prune=False, refresh_every=64)[0].tolist())
sigs = {}
for _, ev in rec.buffer:
    f = ev.data["dispatcher"].py_func
    if ev.is_start and f.__module__.startswith("unisel"):
        sigs.setdefault(f.__module__ + "." + f.__name__, []).append(str(ev.data["args"]))
print(json.dumps({"sigs": sigs, "got": got}))
"""


def test_one_compilation_per_kernel_and_the_cache_serves_the_next_process(tmp_path):
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    cold = _run(_COUNT_COMPILES, env)
    assert cold.returncode == 0, cold.stderr
    first = json.loads(cold.stdout.strip().splitlines()[-1])
    sigs = first["sigs"]
    assert "unisel.select.engine._kernels.lazy_steps" in sigs  # every path ran
    assert "unisel.select.engine._pruned.pruned_steps" in sigs
    assert "unisel.select.engine._kernels.eager_refresh" in sigs
    # one signature per kernel for one input dtype: no literal-argument specialisations
    # (a constant argument compiles the callee once more), no parallel variants
    twice = {name: s for name, s in sigs.items() if len(s) > 1}
    assert not twice, twice
    warm = _run(_COUNT_COMPILES, env)
    assert warm.returncode == 0, warm.stderr
    second = json.loads(warm.stdout.strip().splitlines()[-1])
    assert second["sigs"] == {}  # everything came from the cache
    assert second["got"] == first["got"]
    X = np.random.default_rng(1).normal(size=(9000, 12)).astype(np.float32)
    X[100:140] = X[3]
    from unisel.select.engine import maxmin_reference

    assert first["got"][0] == maxmin_reference(X, 600)[0].tolist() == first["got"][1]


def test_warm_up_reaches_the_kernels_of_a_call(tmp_path):
    # after the warm-up, the calls of _COUNT_COMPILES (float32) compile nothing
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    warm = _run("from unisel.warm import warm_up; warm_up(('float32',), metrics=False)", env)
    assert warm.returncode == 0, warm.stderr
    after = _run(_COUNT_COMPILES, env)
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout.strip().splitlines()[-1])["sigs"] == {}
    # and the default preset's isolation scores (`unisel select` compiled 58 functions for
    # them on an empty cache before the warm-up reached them)
    scores = _run(_COUNT_ADMISSION, env)
    assert scores.returncode == 0, scores.stderr
    assert json.loads(scores.stdout.strip().splitlines()[-1]) == []


_COUNT_ADMISSION = """
import json
import numpy as np
from numba.core import event
rec = event.RecordingListener()
event.register("numba:compile", rec)
from unisel.select.admission import admit
X = np.random.default_rng(3).normal(size=(5000, 16)).astype(np.float32)
X[4000:4100] = X[:100]
for metric in ("cosine", "euclidean"):
    admit(X, outliers=0.1, metric=metric, sample_size=2000)
print(json.dumps(sorted({ev.data["dispatcher"].py_func.__name__ for _, ev in rec.buffer})))
"""


_SMALL_CALL = """
import json
import numpy as np
from numba.core import event
rec = event.RecordingListener()
event.register("numba:compile", rec)
from unisel.select.engine import maxmin
X = np.random.default_rng(2).normal(size=(300, 8)).astype(np.float32)
got = maxmin(X, 40, prune=False)[0].tolist()
names = sorted({ev.data["dispatcher"].py_func.__name__ for _, ev in rec.buffer if ev.is_start})
print(json.dumps({"compiled": names, "got": got}))
"""


def _last_json(out: subprocess.CompletedProcess) -> dict:
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_bundle_serves_a_fresh_read_only_process_and_a_stale_one_is_ignored(tmp_path):
    from unisel.select.engine import _jit, maxmin_reference

    bundle = tmp_path / "site" / "_kernels"
    build = f"from unisel.warm import build_bundle; build_bundle({str(bundle)!r}, dtypes=('float32',), metrics=False)"
    built = _run(build, {"NUMBA_CACHE_DIR": str(tmp_path / "build-cache")})
    assert built.returncode == 0, built.stderr
    info = _jit.bundle_info(bundle)
    assert info is not None and info["current"], info
    assert not list(bundle.parent.glob("*.partial-*"))
    # an install folder the user cannot write to
    for path in [bundle, *bundle.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        env = {"UNISEL_KERNEL_BUNDLE": str(bundle), "NUMBA_CACHE_DIR": str(tmp_path / "empty")}
        served = _last_json(_run(_COUNT_COMPILES, env))
        assert served["sigs"] == {}  # nothing compiled: every kernel came from the bundle
        assert not list((tmp_path / "empty").rglob("*.nbc"))
        X = np.random.default_rng(1).normal(size=(9000, 12)).astype(np.float32)
        X[100:140] = X[3]
        assert served["got"][0] == maxmin_reference(X, 600)[0].tolist() == served["got"][1]
        # one source file edited since the build: the bundle is not used
        edited = "import unisel.select.engine._jit as j\nj.sources_stamp = lambda: 'edited'\n"
        stale = _last_json(_run(edited + _SMALL_CALL, env))
        fresh = _last_json(_run(_SMALL_CALL, env))
        assert "lazy_steps" in stale["compiled"] and fresh["compiled"] == []
        assert stale["got"] == fresh["got"]
        check = _run("from unisel.warm import main; raise SystemExit(main(['--check']))", env)
        assert check.returncode == 0 and "serves this interpreter" in check.stdout
    finally:
        for path in [bundle, *bundle.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    off = _run("from unisel.warm import main; raise SystemExit(main(['--check']))", {})
    assert off.returncode == 1 and "no kernel bundle" in off.stdout


def test_an_interrupted_bundle_build_leaves_the_old_bundle(tmp_path):
    bundle = tmp_path / "_kernels"
    bundle.mkdir()
    (bundle / "bundle.json").write_text("{}")
    code = f"""
import os
from pathlib import Path
import unisel.warm as w
def interrupted(*args, **options):
    staging = Path(os.environ["UNISEL_KERNEL_BUNDLE_BUILD"])
    staging.mkdir(parents=True)
    (staging / "half.nbi").write_bytes(b"")
    raise KeyboardInterrupt
w.warm_up = interrupted
w.build_bundle({str(bundle)!r})
"""
    out = _run(code, {})
    assert out.returncode != 0 and "KeyboardInterrupt" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_kernels"]
    assert [p.name for p in bundle.iterdir()] == ["bundle.json"]


def test_build_bundle_refuses_a_process_that_imported_the_engine(tmp_path):
    from unisel.select.engine import maxmin  # noqa: F401
    from unisel.warm import build_bundle

    with pytest.raises(RuntimeError, match="new process"):
        build_bundle(tmp_path / "b")
    assert not (tmp_path / "b").exists()


@pytest.mark.skipif(
    not os.environ.get("CI"), reason="checks what `pip install` built; CI installs afresh"
)
def test_the_install_compiled_a_bundle_that_serves_this_interpreter():
    # CI installs with `pip install -e .`, whose build (setup.py) compiles the kernels
    from unisel.select.engine import _jit

    info = _jit.bundle_info(_jit.INSTALLED_BUNDLE)
    assert info is not None, f"no kernel bundle at {_jit.INSTALLED_BUNDLE}"
    assert info["current"], info
