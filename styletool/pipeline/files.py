"""Which files a batch job reads and where each result goes.

No torch here: expanding inputs and naming outputs happen before any model
is loaded, so a bad command line fails in milliseconds.
"""

from __future__ import annotations

import glob
import sys
from pathlib import Path
from typing import TextIO

from styletool.errors import UsageError
from styletool.video import VIDEO_SUFFIXES, WRITABLE_VIDEO_SUFFIXES

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
_GLOB_CHARS = set("*?[")
NAME_FIELDS = ("stem", "style", "method", "ext")
DEFAULT_NAME = "{stem}_{style}_{method}.{ext}"


def expand_inputs(words: list[str], *, recursive: bool = False, stdin: TextIO | None = None) -> list[Path]:
    """Turn the command line's inputs into photo paths, in order, each once.

    - ``-`` reads paths from standard input, one per line (blank lines skipped);
    - a folder gives the image and video files in it (and in its subfolders with ``recursive``);
    - a pattern with ``*``, ``?`` or ``[`` that is not itself a file is expanded
      (``**`` crosses folders with ``recursive``);
    - anything else is taken as a file; a missing one fails on its own later,
      without stopping the others.
    """
    paths: list[Path] = []
    for word in words:
        if word == "-":
            source = stdin if stdin is not None else sys.stdin
            paths += [Path(line.strip()) for line in source.read().splitlines() if line.strip()]
            continue
        path = Path(word)
        if path.is_dir():
            found = images_in(path, recursive=recursive)
            if not found:
                hint = "" if recursive else " (add --recursive to look in subfolders)"
                raise UsageError(f"no images in the folder{hint}", where=path)
            paths += found
        elif not path.exists() and _GLOB_CHARS & set(word):
            matches = sorted(Path(m) for m in glob.glob(word, recursive=recursive) if Path(m).is_file())
            if not matches:
                raise UsageError(f"no files match the pattern '{word}'")
            paths += matches
        else:
            paths.append(path)
    unique = list(dict.fromkeys(paths))
    if not unique:
        raise UsageError("no photos given: styletool stylize PHOTO --style PAINTING -o OUT")
    return unique


def images_in(folder: Path, *, recursive: bool) -> list[Path]:
    """Image and video files (by suffix) in ``folder``, sorted; hidden files and folders skipped."""
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        path
        for path in candidates
        if path.is_file()
        and path.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def safe_name_part(text: str) -> str:
    """A template field made safe as part of one file name: no folder separators, no leading dots."""
    cleaned = "".join("_" if ch in "/\\:\0" or ord(ch) < 32 else ch for ch in text)
    cleaned = cleaned.lstrip(".") or "_"
    return cleaned


def output_paths(
    inputs: list[Path],
    *,
    output: Path | None = None,
    output_dir: Path | None = None,
    name: str = DEFAULT_NAME,
    fmt: str | None = None,
    method: str,
    style_label: str,
) -> list[Path]:
    """Where each input's result goes: -o for one input, or --output-dir with a name template.

    Template fields are sanitized, and a name that would still land outside
    ``output_dir`` (a template such as ``../{stem}``) is refused.
    """
    if output is not None and output_dir is not None:
        raise UsageError("give either -o FILE or --output-dir DIR, not both")
    if output is not None:
        if len(inputs) != 1:
            raise UsageError(f"-o takes exactly one input ({len(inputs)} given); use --output-dir DIR for several")
        return [output]
    if output_dir is None:
        raise UsageError("no output: give -o FILE (one input) or --output-dir DIR")
    root = output_dir.resolve()
    paths = []
    for path in inputs:
        fields = {"stem": path.stem, "style": style_label, "method": method, "ext": _extension(path, fmt)}
        try:
            file_name = name.format(**{key: safe_name_part(value) for key, value in fields.items()})
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            raise UsageError(
                f"--name {name!r}: bad template ({exc}); fields are " + ", ".join(f"{{{f}}}" for f in NAME_FIELDS)
            ) from None
        target = output_dir / file_name
        if not file_name or target.resolve().parent != root and root not in target.resolve().parents:
            raise UsageError(f"--name {name!r} puts files outside --output-dir ({file_name})")
        paths.append(target)
    if len(set(paths)) != len(paths):
        raise UsageError("several inputs map to the same output name; add {stem} to --name")
    return paths


def _extension(path: Path, fmt: str | None) -> str:
    """{ext} of an output: --format (or png) for a photo; a video stays a video, in its own container when styletool writes it."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return suffix[1:] if suffix in WRITABLE_VIDEO_SUFFIXES else "mp4"
    return (fmt or "png").lower()
