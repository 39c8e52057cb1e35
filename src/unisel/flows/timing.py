"""Seconds per stage of a run (the manifest's ``timings``, the report's extra)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class StageTimer:
    """Seconds spent in each named stage, in order."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0

    def rounded(self) -> dict[str, float]:
        """The seconds per stage to the millisecond, as the manifest and reports store them."""
        return {key: round(v, 3) for key, v in self.seconds.items()}

    def summary(self) -> str:
        parts = [f"{name} {sec:.1f}s" for name, sec in self.seconds.items()]
        return ", ".join(parts) + f" (total {sum(self.seconds.values()):.1f}s)"
