"""Importing the optional packages of the transformer embedders, with a one-line hint if missing."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from types import ModuleType

from unisel._progress import bars_enabled
from unisel.errors import ParameterError


def require(module: str, embedder: str, install: str = "pip install 'unisel[embed]'") -> ModuleType:
    """Import ``module`` or raise a :class:`ParameterError` that says what to install.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"sentence_transformers"``.
    embedder : str
        The embedder that needs it (named in the message).
    install : str
        The command that installs it (ends the message).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ParameterError(
            f"the {embedder} embedder needs the Python package {module!r} ({exc.msg}); "
            f"install it with: {install}"
        ) from None


@contextlib.contextmanager
def transformers_progress(enabled: bool) -> Iterator[None]:
    """Show or hide the progress bars transformers draws while loading weights, then restore.

    ``enabled`` is the caller's wish (not quiet); the bars are shown only where unisel's own
    are (:func:`unisel._progress.bars_enabled`: a terminal, a notebook, or
    ``UNISEL_PROGRESS=always``).
    """
    enabled = bars_enabled(quiet=not enabled)
    logging = importlib.import_module("transformers.utils.logging")
    was = logging.is_progress_bar_enabled()
    (logging.enable_progress_bar if enabled else logging.disable_progress_bar)()
    try:
        yield
    finally:
        (logging.enable_progress_bar if was else logging.disable_progress_bar)()
