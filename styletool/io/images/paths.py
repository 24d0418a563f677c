"""Where an image may be written: its format from the name, and the checks done before any long work."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from styletool.errors import ImageError, StyletoolError

try:
    from PIL import ImageCms
except ImportError:  # Pillow built without littleCMS: colour profiles are ignored.
    ImageCms = None  # type: ignore[assignment]


# File suffix (lowercase, no dot) -> Pillow format name.
WRITE_FORMATS = {
    "png": "PNG",
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "webp": "WEBP",
    "tif": "TIFF",
    "tiff": "TIFF",
}


def output_format(path: str | os.PathLike, format: str | None = None) -> str:
    """The Pillow format name for ``path``: from ``format`` if given, else the suffix."""
    supported = ", ".join(f".{suffix}" for suffix in WRITE_FORMATS)
    if format is not None:
        name = WRITE_FORMATS.get(format.lower().lstrip("."))
        if name is None:
            raise ImageError(f"unknown image format {format!r}; supported: {supported}", where=path)
        return name
    suffix = Path(path).suffix.lower()
    if not suffix:
        raise ImageError(f"no file extension to choose the image format from; use one of {supported}", where=path)
    name = WRITE_FORMATS.get(suffix.lstrip("."))
    if name is None:
        raise ImageError(f"unsupported image extension {suffix}; use one of {supported}", where=path)
    return name


def check_output_path(
    path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = (), format: str | None = None
) -> None:
    """Fail early, before long work, if ``path`` cannot be written as an image.

    ``format`` is the explicit output format, if any, as for :func:`save_image`.
    """
    path = Path(path)
    output_format(path, format)
    check_destination(path, inputs=inputs, error=ImageError)


def check_destination(path: Path, *, inputs: Iterable[str | os.PathLike], error: type[StyletoolError]) -> None:
    """Raise ``error`` (naming ``path``) if a file cannot be written at ``path`` without clobbering one of ``inputs``.

    Shared by images and videos; each checks its own format first.
    """
    if path.is_dir():
        raise error("is a directory", where=path)
    if not path.parent.is_dir():
        raise error(f"folder {path.parent} does not exist", where=path)
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise error(f"folder {path.parent} is not writable", where=path)
    target = path.resolve()
    for source in inputs:
        source = Path(source)
        same = source.resolve() == target
        if not same and path.exists() and source.exists():
            # Hard links and case-insensitive file systems.
            same = os.path.samefile(source, path)
        if same:
            raise error("output would overwrite the input", where=path)


def _check_folder_exists(path: Path) -> None:
    if not path.parent.is_dir():
        raise ImageError(f"folder {path.parent} does not exist", where=path)
