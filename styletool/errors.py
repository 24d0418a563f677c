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


def describe(error: BaseException, *, with_type: bool = False, limit: int = 200) -> str:
    """An exception as the problem part of a one-line error.

    An OSError gives its own words ("no space left on device", not the errno
    and the path, which the error line names already); any other exception the
    first line of its message, whitespace collapsed, cut to ``limit``
    characters. ``with_type`` puts the exception's class name first, for
    failures that are bugs in someone's code (a plugin that fails to import).
    """
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error).strip()
    text = " ".join(text.splitlines()[0].split()) if text else ""
    text = text.rstrip(".")
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    if with_type:
        return f"{type(error).__name__}: {text}" if text else type(error).__name__
    if not text:
        return type(error).__name__
    # "No such file" reads as "error: x.png: no such file"; keep acronyms ("CUDA", "ONNX") as they are.
    return text[:1].lower() + text[1:] if text[1:2].islower() else text
