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
"""

from __future__ import annotations

import os
import stat
import tempfile
import warnings
from collections.abc import Callable
from typing import Any

import numba
from numba.core import caching

_BaseImpl: Any = caching.CompileResultCacheImpl
_Mixin: Any = caching._SourceFileBackedLocatorMixin
_Locator: Any = caching._CacheLocator
_warned = False


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


class KernelCache(caching.FunctionCache):  # type: ignore[misc]
    """numba's function cache with :class:`TempDirCacheLocator` as the last resort."""

    _impl_class = _CacheImpl


def njit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(**options)`` with the project's cache (see the module docstring).

    ``cache`` is not an option here: every kernel is cached where a cache folder can be found.
    """
    if "cache" in options:
        raise TypeError("njit: the cache is the policy of unisel.select.engine._jit, not an option")

    def decorate(fn: Callable[..., Any]) -> Any:
        dispatcher = numba.njit(**options)(fn)
        try:
            cache = KernelCache(fn)
        except RuntimeError:  # no folder at all: compile in every process rather than fail
            _warn_uncached(fn)
        else:
            dispatcher._cache = cache  # what Dispatcher.enable_caching() does
        return dispatcher

    return decorate


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
