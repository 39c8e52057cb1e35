"""The paper's training comparison in one command (``unisel experiment CONFIG.yaml -o EXP/``).

From one data set: hold out a split, select a uniform (maxmin) subset and baseline subsets of the
same size (random, first, clustered, ...) plus optionally the full pool, fine-tune one run per arm
and seed, and report loss curves (raw, moving average, EMA), time to threshold, held-out loss,
per-arm selection metrics and optional lm-eval scores on an HTML page.

Public API
----------
- :class:`ExperimentConfig`, :func:`load_config`
- :func:`run_experiment` -> :class:`ExperimentResult`
- :mod:`unisel.experiment.curves`: :func:`moving_average`, :func:`ema`,
  :func:`time_to_threshold`, :func:`pick_thresholds`.
"""

from unisel.experiment.config import ExperimentConfig, load_config
from unisel.experiment.curves import (
    NOT_REACHED,
    Crossing,
    ema,
    moving_average,
    pick_thresholds,
    smooth,
    time_to_threshold,
)
from unisel.experiment.runner import ExperimentResult, build_report, run_experiment

__all__ = [
    "NOT_REACHED",
    "Crossing",
    "ExperimentConfig",
    "ExperimentResult",
    "build_report",
    "ema",
    "load_config",
    "moving_average",
    "pick_thresholds",
    "run_experiment",
    "smooth",
    "time_to_threshold",
]
