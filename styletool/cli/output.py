"""Shared output helpers: tables on stdout, JSON lines, a stderr console."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table


def stdout_console() -> Console:
    # Wide enough that piped output is not wrapped mid-cell.
    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    stdout_console().print(table)


def print_json(record: dict) -> None:
    """One JSON object on one line of stdout, flushed for scripts reading a pipe."""
    sys.stdout.write(json.dumps(record, default=str) + "\n")
    sys.stdout.flush()
