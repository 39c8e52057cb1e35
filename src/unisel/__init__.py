"""unisel: select the most uniformly spread subset of a fine-tuning data set.

Greedy max-min (farthest-point) selection in an embedding space, with the metrics, report and
training comparison that show what it buys.
"""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("unisel")
except metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
