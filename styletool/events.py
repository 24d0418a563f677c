"""Progress events: library code reports through callbacks, the CLI renders them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Progress:
    """One progress report from a long-running method.

    ``step`` counts from 1 to ``total`` within ``stage`` (for example
    "scale 2/3"); ``losses`` holds the current value of each loss term.
    """

    stage: str
    step: int
    total: int
    losses: dict[str, float] = field(default_factory=dict)


ProgressCallback = Callable[[Progress], None]


def ignore_progress(event: Progress) -> None:
    """The default callback: report nothing."""
