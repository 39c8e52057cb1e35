"""The one jinja2 set-up of the HTML pages (the report's and the experiment's)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import Environment


def environment(folder: str | Path, **options: Any) -> Environment:
    """A jinja2 environment for the templates in ``folder``.

    HTML templates are autoescaped (a value is text unless it is ``Markup``), and block tags
    leave no blank lines behind (``trim_blocks``, ``lstrip_blocks``).

    Parameters
    ----------
    folder : path
        The templates' folder.
    **options
        More `jinja2.Environment` settings (e.g. ``undefined=StrictUndefined``).
    """
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(str(folder)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        **options,
    )
