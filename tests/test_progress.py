"""Progress bars: drawn on a terminal's stderr, hidden in pipes and with --quiet."""

from __future__ import annotations

import io
import sys

from styletool.cli.progress import progress_bar
from styletool.events import Progress, ignore_progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_pipes_get_a_plain_line_only_for_long_runs(monkeypatch):
    from styletool.cli import progress

    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    clock = [1000.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    with progress_bar("train cin", quiet=False) as report:
        report(Progress(stage="train", step=1, total=100, losses={"style": 3.0}, rate=2.0, unit="img/s"))
        clock[0] += 10
        report(Progress(stage="train", step=11, total=100, losses={"style": 2.0}, rate=2.0, unit="img/s"))
        assert log.getvalue() == ""  # a short run stays silent
        clock[0] += 25
        report(Progress(stage="train", step=21, total=100, losses={"style": 1.5}, rate=2.0, unit="img/s"))
    line = log.getvalue().strip()
    # 20 steps in 35 s: 79 steps to go take 138 s.
    assert line == "train cin train: 21/100, 2.00 img/s, ETA 0:02:18, style=1.5"


def test_hidden_when_quiet(monkeypatch):
    monkeypatch.setattr(sys, "stderr", FakeTerminal())
    with progress_bar("photo.jpg", quiet=True) as report:
        assert report is ignore_progress


def test_drawn_on_a_terminal_with_losses(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar("photo.jpg", quiet=False) as report:
        assert report is not ignore_progress
        for step in range(1, 4):
            report(Progress(stage="scale 1/2", step=step, total=3, losses={"style": 12.5}))
    text = terminal.getvalue()
    assert "photo.jpg scale 1/2" in text and "style=12.5" in text and "3/3" in text
