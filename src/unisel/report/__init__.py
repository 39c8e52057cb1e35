"""The uniformity report: one self-contained HTML page, PNG figures and ``report.json``.

Public API:

- ``write_report(full, subsets, output_dir, *, names=None, embeddings=None, sample_size=20000,
  seed=0, quiet=False) -> Path``: compare subsets (manifests or ``(name, indices)``) of one set.
- ``report_selection(manifest_path, output_dir, *, sample_size=20000, seed=None, quiet=False)
  -> Path``: one selection against a random subset of the same size (``unisel select --report``).
"""

from unisel.report.build import (
    DEFAULT_SAMPLE_SIZE,
    atomic_directory,
    random_baseline,
    report_selection,
    write_report,
)
from unisel.report.inputs import ReportInputs, ReportSet, resolve_inputs
from unisel.report.summary import Summary, format_number, summarize

__all__ = [
    "DEFAULT_SAMPLE_SIZE",
    "ReportInputs",
    "ReportSet",
    "Summary",
    "atomic_directory",
    "format_number",
    "random_baseline",
    "report_selection",
    "resolve_inputs",
    "summarize",
    "write_report",
]
