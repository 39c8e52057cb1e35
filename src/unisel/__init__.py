"""unisel: select the most uniformly spread subset of a fine-tuning data set.

Greedy max-min (farthest-point) selection in an embedding space, with the metrics, report and
training comparison that show what it buys.
"""

from __future__ import annotations

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    # Read from the installed metadata on first use: importlib.metadata costs tens of
    # milliseconds, which every command (and ``--help``) would otherwise pay at start-up.
    if name != "__version__":
        raise AttributeError(f"module 'unisel' has no attribute {name!r}")
    from importlib import metadata

    try:
        version = metadata.version("unisel")
    except metadata.PackageNotFoundError:  # running from a source tree
        version = "0.0.0+local"
    globals()["__version__"] = version
    return version
