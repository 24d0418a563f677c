"""Rich progress bars on stderr, fed by the library's progress events."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from styletool.events import Progress as ProgressEvent
from styletool.events import ProgressCallback, ignore_progress


def _format_losses(losses: dict[str, float]) -> str:
    return " ".join(f"{name}={value:.3g}" for name, value in losses.items())


@contextmanager
def progress_bar(label: str, *, quiet: bool) -> Iterator[ProgressCallback]:
    """Yield a progress callback that draws a bar, or ignores events when hidden.

    The bar is hidden with --quiet and when stderr is not a terminal, so logs
    and pipes stay clean.
    """
    console = Console(stderr=True)
    if quiet or not console.is_terminal or not sys.stderr.isatty():
        yield ignore_progress
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
