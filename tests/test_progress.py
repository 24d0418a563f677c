"""Progress bars: drawn on a terminal's stderr, hidden in pipes and with --quiet."""

from __future__ import annotations

import io
import sys

from styletool.cli.progress import progress_bar
from styletool.events import Progress, ignore_progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_hidden_when_quiet_or_not_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with progress_bar("photo.jpg", quiet=False) as report:
        assert report is ignore_progress
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
