"""Rich progress bars on stderr, fed by the library's progress events."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from styletool.events import Progress as ProgressEvent
from styletool.events import ProgressCallback, ignore_progress


def _format_losses(losses: dict[str, float]) -> str:
    return " ".join(f"{name}={value:.3g}" for name, value in losses.items())


@contextmanager
def progress_bar(label: str, *, quiet: bool) -> Iterator[ProgressCallback]:
    """Yield a progress callback that draws a bar, or ignores events when hidden.

    The bar is hidden with --quiet. When stderr is not a terminal (a log
    file, a pipe) long runs print a plain progress line every
    :data:`LOG_EVERY` seconds instead, so a training run in the background
    still says how far it is and when it will end; short runs print nothing.
    """
    console = Console(stderr=True)
    if quiet:
        yield ignore_progress
        return
    if not console.is_terminal or not sys.stderr.isatty():
        yield _log_lines(label)
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[losses]}"),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def report(event: ProgressEvent) -> None:
            task = tasks.get(event.stage)
            if task is None:
                task = bar.add_task(f"{label} {event.stage}".strip(), total=event.total, rate="", losses="")
                tasks[event.stage] = task
            speed = event.rate if event.rate is not None else bar.tasks[task].speed
            bar.update(
                task,
                completed=event.step,
                total=event.total,
                rate=f"{speed:.1f} {event.unit}" if speed else "",
                losses=_format_losses(event.losses),
            )

        yield report


# Seconds between progress lines when stderr is not a terminal (and before the first one).
LOG_EVERY = 30.0


def _log_lines(label: str) -> ProgressCallback:
    """A progress callback that prints ``label stage: step/total, rate, ETA, losses`` every LOG_EVERY seconds."""
    started: dict[str, tuple[float, int]] = {}
    last = [time.monotonic()]

    def report(event: ProgressEvent) -> None:
        now = time.monotonic()
        first_time, first_step = started.setdefault(event.stage, (now, event.step))
        done = event.total is not None and event.step >= event.total
        if now - last[0] < LOG_EVERY or done:
            return
        last[0] = now
        parts = [f"{label} {event.stage}".strip() + f": {event.step}" + (f"/{event.total}" if event.total else "")]
        if event.rate:
            parts.append(f"{event.rate:.2f} {event.unit}")
        steps_per_second = (event.step - first_step) / (now - first_time) if now > first_time else 0.0
        if event.total and steps_per_second > 0:
            parts.append(f"ETA {_clock((event.total - event.step) / steps_per_second)}")
        if event.losses:
            parts.append(_format_losses(event.losses))
        print(", ".join(parts), file=sys.stderr, flush=True)

    return report


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"
