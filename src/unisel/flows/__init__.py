"""The flows: the only place that strings the stages together.

`select_records` (records -> Selection and manifest), `select_file` (a file in, a subset and its
manifest out), `select_dataset` (an in-memory Dataset or DataFrame), `metrics_file`. The command
line, the keyword API (:mod:`unisel.pipeline`), the experiment arms and the distributed commands
all call these, with the option objects of :mod:`unisel.options`.
"""

from __future__ import annotations

from unisel.flows.metrics import metrics_file
from unisel.flows.select import (
    DatasetSelection,
    SelectResult,
    select_dataset,
    select_file,
    select_records,
)
from unisel.flows.timing import StageTimer

__all__ = [
    "DatasetSelection",
    "SelectResult",
    "StageTimer",
    "metrics_file",
    "select_dataset",
    "select_file",
    "select_records",
]
