"""Progress events: library code reports through callbacks, the CLI renders them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Progress:
    """One progress report from a long-running method.

    ``step`` counts from 1 to ``total`` within ``stage`` (for example
    "scale 2/3"); ``losses`` holds the current value of each loss term.
    ``image`` optionally carries the current result (``[1, 3, H, W]`` in
    [0, 1]) for callers that save snapshots while the work goes on.
    ``rate`` and ``unit`` let a method report its own throughput (training:
    images per second); without them a display shows steps per second.
    ``preview`` carries a picture for live displays only (``--preview``):
    unlike ``image`` it is never written to disk.
    """

    stage: str
    step: int
    total: int
    losses: dict[str, float] = field(default_factory=dict)
    image: Any = None
    rate: float | None = None
    unit: str = "it/s"
    preview: Any = None


ProgressCallback = Callable[[Progress], None]


def ignore_progress(event: Progress) -> None:
    """The default callback: report nothing."""
