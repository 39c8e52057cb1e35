"""How the kernels compile: a cache folder that always works, one compilation per kernel.

The subprocess tests start fresh interpreters with an empty ``NUMBA_CACHE_DIR`` (or none) under
``tmp_path``: the user's numba cache is never touched.
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
    full = {**os.environ, **env, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
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
