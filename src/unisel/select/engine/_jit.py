"""How the project compiles its numba kernels: one decorator, a cache folder that always works.

Every kernel of the engine and of the metrics is compiled by numba the first time a process
calls it with new argument types (seconds per kernel family: docs/performance.md, "Cold
start") and cached on disk, so later processes load it in milliseconds. numba looks for a
cache folder in this order: ``NUMBA_CACHE_DIR`` when set, ``__pycache__`` beside the source
when that is writable, the user's cache folder (``~/.cache/numba`` on Linux). Where none of
them is writable (a read-only install run by a user without a writable home: a container
started with an arbitrary ``--user``) ``numba.njit(cache=True)`` raises ``RuntimeError`` when
the module is imported. :func:`njit` adds one more place, a private folder of the current
user under the system's temporary folder, and where even that fails it compiles without a
cache (with one warning) instead of failing.

Usage (the project's policy; the keyword arguments are numba's)::

    from unisel.select.engine._jit import njit

    @njit(nogil=True)
    def kernel(...): ...

No explicit signatures: they would compile every variant at import time (``unisel --help``
imports no numba), where a call compiles only the argument types it uses.

**The install-time bundle.** Compiling takes 10-15 s per process on a cold cache, which every
first-time user, fresh container and fresh Dask worker would pay. So ``pip install`` compiles
the kernels ahead of time: the build (``setup.py``) runs ``python -m unisel.warm --bundle
unisel/_kernels`` in a fresh interpreter, which sets :data:`BUILD_ENV` so that every kernel
lands in that folder inside the package, next to the code. At run time each kernel looks in the
bundle first (read only; the install folder may be read-only) and then in the cache above. A
bundle entry is used only when everything it was compiled from matches: the same numba version
(numba's own index check), the same CPU name and features (part of numba's index key), the same
bytecode of the kernel, and the same text of every source file of :mod:`unisel.select` and
:mod:`unisel.metrics` (:func:`sources_stamp`: a kernel's callees live in other files, which
numba's per-file stamp would not see). Anything else (an edited source tree, another numba, a
wheel copied to another CPU) falls back to compiling, as without a bundle.
``UNISEL_KERNEL_BUNDLE`` names another bundle folder, or ``off`` for none.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
from numba.core import caching

_BaseImpl: Any = caching.CompileResultCacheImpl
_Mixin: Any = caching._SourceFileBackedLocatorMixin
_Locator: Any = caching._CacheLocator
_warned = False

BUNDLE_ENV = "UNISEL_KERNEL_BUNDLE"  # the bundle to read: a folder, or "off"
BUILD_ENV = "UNISEL_KERNEL_BUNDLE_BUILD"  # set by ``unisel.warm --bundle``: write kernels there
PACKAGE_DIR = Path(__file__).resolve().parents[2]  # the ``unisel`` package folder
INSTALLED_BUNDLE = PACKAGE_DIR / "_kernels"
BUNDLE_INFO = "bundle.json"  # what a bundle was compiled with, written last by its build
_STAMPED_PACKAGES = ("select", "metrics")  # every kernel and everything a kernel calls


def temp_cache_root() -> str | None:
    """This user's private cache folder under the temporary folder, or None where it cannot be
    used safely (no user id, or a folder owned by someone else or writable by others: cache
    files are pickles, so a folder another user can write into is never read)."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # pragma: no cover - Windows always has a writable user cache folder
        return None
    uid = getuid()
    root = os.path.join(tempfile.gettempdir(), f"unisel-numba-{uid}")
    try:
        os.makedirs(root, mode=0o700, exist_ok=True)
        st = os.stat(root, follow_symlinks=False)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o022:
        return None
    return root


class TempDirCacheLocator(_Mixin, _Locator):  # type: ignore[misc]
    """numba cache locator: :func:`temp_cache_root`, one sub-folder per source folder."""

    def __init__(self, py_func: Callable[..., Any], py_file: str) -> None:
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        root = temp_cache_root()
        if root is None:  # from_function checked it; a folder that went bad since: no cache
            raise OSError("no private temporary cache folder")
        self._cache_path = os.path.join(root, self.get_suitable_cache_subpath(py_file))

    def get_cache_path(self) -> str:
        return self._cache_path

    @classmethod
    def from_function(cls, py_func: Callable[..., Any], py_file: str) -> Any:
        if temp_cache_root() is None:
            return None
        try:
            return super().from_function(py_func, py_file)
        except OSError:
            return None


class _CacheImpl(_BaseImpl):  # type: ignore[misc]
    _locator_classes = [*_BaseImpl._locator_classes, TempDirCacheLocator]


@functools.lru_cache(maxsize=1)
def sources_stamp() -> str:
    """sha256 (hex) of the path and text of every ``.py`` file of :mod:`unisel.select` and
    :mod:`unisel.metrics`: the source stamp of every bundle entry."""
    digest = hashlib.sha256()
    for package in _STAMPED_PACKAGES:
        for path in sorted((PACKAGE_DIR / package).rglob("*.py")):
            digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def bundle_root() -> Path | None:
    """The bundle folder to read kernels from (``UNISEL_KERNEL_BUNDLE``, else the installed
    one), or None where there is none or it is switched off."""
    value = os.environ.get(BUNDLE_ENV, "")
    if value.lower() == "off":
        return None
    root = Path(value) if value else INSTALLED_BUNDLE
    return root if root.is_dir() else None


class _BundleLocator(_Locator):  # type: ignore[misc]
    """numba cache locator for a bundle: ``<root>/<the source's folder inside unisel>``, the
    stamp :func:`sources_stamp`. Paths are relative to the package, so a bundle built in a
    build folder serves the installed copy of the same files."""

    def __init__(self, py_func: Callable[..., Any], py_file: str, root: Path) -> None:
        self._lineno = py_func.__code__.co_firstlineno
        inside = Path(py_file).resolve().parent.relative_to(PACKAGE_DIR)
        self._cache_path = str(root / inside)

    def get_cache_path(self) -> str:
        return self._cache_path

    def get_source_stamp(self) -> str:
        return sources_stamp()

    def get_disambiguator(self) -> str:
        return str(self._lineno)

    @classmethod
    def _root(cls) -> Path | None:
        raise NotImplementedError

    @classmethod
    def from_function(cls, py_func: Callable[..., Any], py_file: str) -> Any:
        root = cls._root()
        if root is None or not Path(py_file).resolve().is_relative_to(PACKAGE_DIR):
            return None
        return cls(py_func, py_file, root)


class _ReadLocator(_BundleLocator):
    @classmethod
    def _root(cls) -> Path | None:
        return bundle_root()

    def ensure_cache_path(self) -> None:  # never written: the install folder may be read-only
        raise OSError("the kernel bundle is read-only")


class _BuildLocator(_BundleLocator):
    @classmethod
    def _root(cls) -> Path | None:
        value = os.environ.get(BUILD_ENV)
        return Path(value) if value else None


class _ReadImpl(_BaseImpl):  # type: ignore[misc]
    _locator_classes = [_ReadLocator]


class _BuildImpl(_BaseImpl):  # type: ignore[misc]
    _locator_classes = [_BuildLocator]


class _BundleReader(caching.FunctionCache):  # type: ignore[misc]
    """Reads the bundle, saves nothing (a kernel compiled here goes to :class:`KernelCache`'s
    folder, or nowhere when no folder is writable)."""

    _impl_class = _ReadImpl

    def save_overload(self, sig: Any, data: Any) -> None:
        return None


class BundleWriter(caching.FunctionCache):  # type: ignore[misc]
    """The cache of every kernel while ``unisel.warm --bundle`` builds a bundle."""

    _impl_class = _BuildImpl


class KernelCache(caching.FunctionCache):  # type: ignore[misc]
    """numba's function cache with :class:`TempDirCacheLocator` as the last resort, read after
    the install-time bundle (module docstring)."""

    _impl_class = _CacheImpl

    def __init__(self, py_func: Callable[..., Any]) -> None:
        super().__init__(py_func)
        try:
            self._bundle: Any = _BundleReader(py_func)
        except RuntimeError:  # no bundle, switched off, or a function outside the package
            self._bundle = None

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        if self._bundle is not None:
            try:
                found = self._bundle.load_overload(sig, target_context)
            except Exception:  # a damaged bundle file: compile, as without a bundle
                found = None
            if found is not None:
                return found
        return super().load_overload(sig, target_context)


def njit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(**options)`` with the project's cache (see the module docstring).

    ``cache`` is not an option here: every kernel is cached where a cache folder can be found.
    """
    if "cache" in options:
        raise TypeError("njit: the cache is the policy of unisel.select.engine._jit, not an option")

    def decorate(fn: Callable[..., Any]) -> Any:
        dispatcher = numba.njit(**options)(fn)
        cache: Any
        try:
            cache = BundleWriter(fn) if os.environ.get(BUILD_ENV) else KernelCache(fn)
        except RuntimeError:  # no folder at all: compile in every process rather than fail
            try:
                cache = _BundleReader(fn)  # but still load what the install compiled
            except RuntimeError:
                _warn_uncached(fn)
                return dispatcher
        dispatcher._cache = cache  # what Dispatcher.enable_caching() does
        return dispatcher

    return decorate


def host_key() -> list[str]:
    """What numba keys a compiled kernel by besides its code: the numba version, the target
    triple, the CPU name and its features (``codegen.magic_tuple()``)."""
    from numba.core.registry import cpu_target

    return [numba.__version__, *map(str, cpu_target.target_context.codegen().magic_tuple())]


def bundle_info(root: Path | None = None) -> dict[str, Any] | None:
    """What the bundle at ``root`` (default: :func:`bundle_root`) was built with, and whether
    it serves this process: ``{"sources", "host", "seconds", "current"}``; None where there is
    no bundle (never built, switched off, or a build that did not finish)."""
    root = bundle_root() if root is None else root
    if root is None or not (root / BUNDLE_INFO).is_file():
        return None
    info: dict[str, Any] = json.loads((root / BUNDLE_INFO).read_text())
    info["current"] = info.get("sources") == sources_stamp() and info.get("host") == host_key()
    return info


def _warn_uncached(fn: Callable[..., Any]) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            f"unisel: no writable folder for numba's cache ({fn.__module__}); the kernels are "
            "compiled again in every process (seconds each run); set NUMBA_CACHE_DIR to a "
            "writable folder",
            RuntimeWarning,
            stacklevel=3,
        )
