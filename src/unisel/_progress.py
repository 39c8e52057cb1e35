"""Progress bars that draw only where someone watches them: a terminal or a notebook.

A bar redraws itself with carriage returns; in a pipe or a log file each redraw is one more
frame of noise (``unisel metrics ... | tail`` would show a line of ``reading ...: 12%|...``
frames). Every bar of unisel is made through :func:`progress_bar`, which draws it when

- ``quiet`` is False, and
- ``UNISEL_PROGRESS`` is ``always`` (or ``1``): on any stream, e.g. to keep bars in a CI log;
  ``never`` (or ``0``): nowhere; unset or ``auto``: only when stderr is a terminal or the code
  runs in a Jupyter notebook (whose stderr is not a terminal but shows widgets).

``quiet=True`` always wins: it hides every bar whatever ``UNISEL_PROGRESS`` says.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

ENV = "UNISEL_PROGRESS"
"""Environment variable that overrides the terminal check: ``auto``, ``always`` or ``never``."""

_MODES = {
    "": "auto",
    "auto": "auto",
    "always": "always",
    "1": "always",
    "never": "never",
    "0": "never",
}

T = TypeVar("T")


def _mode() -> str:
    raw = os.environ.get(ENV, "").strip().lower()
    mode = _MODES.get(raw)
    if mode is None:
        # A typo in an environment variable must not stop a long run half-way (bars are
        # made after reading or embedding); it is reported and treated as unset.
        warnings.warn(f"{ENV}={raw!r} ignored: expected auto, always or never", stacklevel=3)
        return "auto"
    return mode


def _in_notebook() -> bool:
    """Whether ``tqdm.auto`` picked its notebook widget (Jupyter, Colab, VS Code notebooks)."""
    from tqdm import autonotebook, std  # already imported by tqdm.auto: no warning, no cost

    return autonotebook.tqdm is not std.tqdm


def bars_enabled(quiet: bool = False) -> bool:
    """Whether a progress bar should be drawn now.

    Parameters
    ----------
    quiet : bool
        The caller's quiet flag; True always gives False.

    Returns
    -------
    bool
        False when ``quiet``; else per ``UNISEL_PROGRESS``: True for ``always``, False for
        ``never``, and for ``auto`` (the default) True only if stderr is a terminal or the code
        runs in a notebook. Another value of ``UNISEL_PROGRESS`` is warned about and treated
        as ``auto``.
    """
    if quiet:
        return False
    mode = _mode()
    if mode != "auto":
        return mode == "always"
    stream = sys.stderr
    isatty = getattr(stream, "isatty", None)
    try:
        on_terminal = bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):  # a closed or detached stream
        on_terminal = False
    return on_terminal or _in_notebook()


def progress_bar(
    iterable: Iterable[T] | None = None, *, quiet: bool = False, **kwargs: Any
) -> tqdm:
    """A ``tqdm`` bar that is drawn only when :func:`bars_enabled` says so.

    Parameters
    ----------
    iterable : iterable, optional
        What to wrap, as ``tqdm(iterable)``; omit it for a manual bar (``total=``, ``update``).
    quiet : bool
        Hide the bar whatever the stream.
    **kwargs
        Any other ``tqdm`` argument (``total``, ``desc``, ``unit``, ``leave``...); ``disable``
        is decided here and may not be passed.

    Returns
    -------
    tqdm
        A disabled bar can still be iterated, updated, given a postfix and closed; it draws
        nothing (and, as in tqdm, does not advance ``n``).
    """
    if "disable" in kwargs:
        raise TypeError("progress_bar() decides 'disable' itself; pass quiet=")
    return tqdm(iterable, disable=not bars_enabled(quiet), **kwargs)
