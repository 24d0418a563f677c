"""Errors a user sees as one line: ``error: <where>: <problem>``."""

from __future__ import annotations

import os


class StyletoolError(Exception):
    """An expected failure, reported to the user without a traceback.

    ``where`` names the file, option or plugin the problem is about; the CLI
    prints ``error: <where>: <problem>`` (or ``error: <problem>`` without it).
    """

    exit_code = 1

    def __init__(self, problem: str, *, where: str | os.PathLike | None = None):
        super().__init__(problem)
        self.problem = problem
        self.where = None if where is None else os.fspath(where)

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}" if self.where else self.problem


class UsageError(StyletoolError):
    """The command line itself is wrong (unknown option, bad value): exit code 2."""

    exit_code = 2


class ImageError(StyletoolError):
    """An image file cannot be read or written."""


class WeightsNotFoundError(StyletoolError):
    """Pretrained weights for a backbone are not available locally."""


class DeviceError(StyletoolError):
    """The requested device does not exist or is not usable."""


class UnknownNameError(UsageError):
    """A method, loss or backbone name that no plugin registered."""
