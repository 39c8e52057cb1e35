"""Errors that unisel reports to the user as one line."""

from __future__ import annotations


class UniselError(Exception):
    """A problem with the user's input or parameters.

    The command-line interface prints ``str(error)`` as one line on stderr and exits with
    status 2. The message must name the file, line, record or field at fault.
    """


class InputError(UniselError):
    """The input file or data set cannot be read, or a record in it is unusable."""


class ParameterError(UniselError):
    """A parameter is out of range or inconsistent with the data (k, fraction, paths)."""
