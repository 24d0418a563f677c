"""Which files a batch job reads and where each result goes.

No torch here: expanding inputs and naming outputs happen before any model
is loaded, so a bad command line fails in milliseconds.
"""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from styletool.errors import UsageError
from styletool.framework.options import LabelledOptions
from styletool.framework.plugins import get_registry
from styletool.io.formats import IMAGE_SUFFIXES
from styletool.video import VIDEO_SUFFIXES, WRITABLE_VIDEO_SUFFIXES

_GLOB_CHARS = set("*?[")
NAME_FIELDS = ("stem", "folder", "style", "method", "ext")
DEFAULT_NAME = "{stem}_{style}_{method}.{ext}"


class Inputs(list):
    """The photo paths :func:`expand_inputs` found, in order; ``skipped`` holds the other files of the folders.

    Those are files styletool cannot read (``.heic``, ``.txt``, ...): a run
    counts them as skipped, with the reason, rather than passing over them
    in silence.
    """

    def __init__(self, paths=(), skipped=()):
        super().__init__(paths)
        self.skipped: list[Path] = list(skipped)


def expand_inputs(words: list[str], *, recursive: bool = False, stdin: TextIO | None = None) -> Inputs:
    """Turn the command line's inputs into photo paths, in order, each once.

    - ``-`` reads paths from standard input, one per line (blank lines skipped);
    - a folder gives the image and video files in it (and in its subfolders with ``recursive``);
      its other files are listed in the result's ``skipped``;
    - a pattern with ``*``, ``?`` or ``[`` that is not itself a file is expanded
      (``**`` crosses folders with ``recursive``);
    - anything else is taken as a file; a missing one fails on its own later,
      without stopping the others.
    """
    paths: list[Path] = []
    skipped: list[Path] = []
    for word in words:
        if word == "-":
            source = stdin if stdin is not None else sys.stdin
            paths += [Path(line.strip()) for line in source.read().splitlines() if line.strip()]
            continue
        path = Path(word)
        if path.is_dir():
            found = images_in(path, recursive=recursive)
            others = unreadable_in(path, recursive=recursive)
            if not found:
                raise UsageError(_no_images(path, others, recursive=recursive), where=path)
            paths += found
            skipped += others
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
    return Inputs(unique, dict.fromkeys(skipped))


def images_in(folder: Path, *, recursive: bool) -> list[Path]:
    """Image and video files (by suffix) in ``folder``, sorted; hidden files and folders skipped."""
    return [path for path in _files_in(folder, recursive=recursive) if readable_suffix(path)]


def unreadable_in(folder: Path, *, recursive: bool) -> list[Path]:
    """The other files in ``folder``: neither images nor videos styletool reads (hidden ones left out)."""
    return [path for path in _files_in(folder, recursive=recursive) if not readable_suffix(path)]


def readable_suffix(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES


def unreadable_reason(path: Path) -> str:
    """Why a file in an input folder is skipped: one line for the --json record."""
    kind = path.suffix.lower() or "a file without an extension"
    return f"{kind} is not a format styletool reads ({_READS})"


def _files_in(folder: Path, *, recursive: bool) -> list[Path]:
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        path
        for path in candidates
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


_READS = "it reads " + ", ".join(sorted(IMAGE_SUFFIXES)) + " and videos"


def _no_images(folder: Path, others: list[Path], *, recursive: bool) -> str:
    """Why a folder gave no photos, and what would help: only what is true of this folder."""
    below = "" if recursive else " itself"
    reasons = [f"no images in the folder{below}"]
    if others:
        kinds = sorted({path.suffix.lower() or "no extension" for path in others})
        count = f"{len(others)} file{'s' if len(others) != 1 else ''}"
        reasons.append(f"{count} styletool cannot read ({', '.join(kinds)}; {_READS}: convert them to JPEG or PNG)")
    if not recursive and images_in(folder, recursive=True):
        reasons.append("its subfolders hold images: add --recursive")
    return "; ".join(reasons)


def safe_name_part(text: str) -> str:
    """A template field made safe as part of one file name: no folder separators, no leading dots."""
    cleaned = "".join("_" if ch in "/\\:\0" or ord(ch) < 32 else ch for ch in text)
    cleaned = cleaned.lstrip(".") or "_"
    return cleaned


def option_label(options: Any) -> str:
    """What distinguishes a picture among those one method makes from the same paintings and models.

    A method's options declare it with an ``output_label()`` method
    (:class:`styletool.framework.options.LabelledOptions`; cin: the style or
    blend chosen, feed-forward methods: a strength other than 1). Empty when
    there is nothing to tell.
    """
    return options.output_label() if isinstance(options, LabelledOptions) else ""


def style_label(styles: list[Path], models: list[Path]) -> str:
    """``{style}`` of the output names: the paintings' stems, else the models' (``none`` without either)."""
    return "+".join(path.stem for path in styles) or "+".join(path.stem for path in models) or "none"


def output_paths(
    inputs: list[Path],
    *,
    output: Path | None = None,
    output_dir: Path | None = None,
    name: str = DEFAULT_NAME,
    fmt: str | None = None,
    method: str,
    style_label: str,
    options: Any = None,
) -> list[Path]:
    """Where each input's result goes: -o for one input, or --output-dir with a name template.

    ``{style}`` is ``style_label`` and what the method's ``options`` (its
    options object, or a mapping of their names) add to it
    (:func:`option_label`); ``{folder}`` is the input's folder below the
    folder all the inputs share, so ``-r`` over folders holding the same file
    names can keep them apart (``--name '{folder}/{stem}_{style}_{method}.{ext}'``
    mirrors the input tree). Template fields are sanitized, and a name that
    would still land outside ``output_dir`` (a template such as
    ``../{stem}``) is refused.
    """
    if output is not None and output_dir is not None:
        raise UsageError("give either -o FILE or --output-dir DIR, not both")
    if output is not None:
        if len(inputs) != 1:
            raise UsageError(f"-o takes exactly one input ({len(inputs)} given); use --output-dir DIR for several")
        _check_output_file(output, inputs[0], fmt)
        return [output]
    if output_dir is None:
        raise UsageError("no output: give -o FILE (one input) or --output-dir DIR")
    root = output_dir.resolve()
    if isinstance(options, Mapping):  # from Python, by their names: made into the method's options, checked
        options = get_registry().method(method).make_options(options)
    label = "-".join(part for part in (style_label, option_label(options)) if part)
    folders = _folders(inputs)
    paths = []
    for path, folder in zip(inputs, folders):
        fields = {"stem": path.stem, "style": label, "method": method, "ext": _extension(path, fmt)}
        try:
            file_name = name.format(
                **{key: safe_name_part(value) for key, value in fields.items()},
                folder="/".join(safe_name_part(part) for part in folder),
            )
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            raise UsageError(
                f"--name {name!r}: bad template ({exc}); fields are " + ", ".join(f"{{{f}}}" for f in NAME_FIELDS)
            ) from None
        # An empty {folder} (an input in the shared folder itself) leaves no empty path part behind.
        file_name = "/".join(part for part in file_name.split("/") if part)
        target = output_dir / file_name
        if not file_name or target.resolve().parent != root and root not in target.resolve().parents:
            raise UsageError(f"--name {name!r} puts files outside --output-dir ({file_name})")
        paths.append(target)
    _check_distinct(inputs, paths, name)
    return paths


def _folders(inputs: list[Path]) -> list[tuple[str, ...]]:
    """``{folder}`` of each input: its folder's parts below the folder all the inputs share."""
    parents = [Path(os.path.abspath(path)).parent for path in inputs]
    shared = Path(os.path.commonpath(parents)) if parents else Path()
    return [parent.relative_to(shared).parts for parent in parents]


def _check_distinct(inputs: list[Path], paths: list[Path], name: str) -> None:
    """Refuse two inputs that would be written to one file, with advice that works for those two."""
    seen: dict[Path, Path] = {}
    for source, target in zip(inputs, paths):
        first = seen.setdefault(target, source)
        if first == source:
            continue
        if first.stem != source.stem:
            hint = "add {stem} to --name"
        elif first.parent != source.parent:
            hint = f"add {{folder}} to --name to keep the input folders apart, e.g. --name '{{folder}}/{name}'"
            if "{folder}" in name:
                hint = "the two have the same folder below the shared one; stylize them in separate runs"
        else:
            hint = "the two differ only in their extension; rename one, or stylize them in separate runs"
        raise UsageError(f"{first} and {source} would both be written to {target}; {hint}")


def _check_output_file(output: Path, source: Path, fmt: str | None) -> None:
    """-o names a file: not a folder, and in the format --format asks for (never JPEG bytes in a .png)."""
    if output.is_dir() or str(output).endswith(("/", os.sep)):
        raise UsageError("is a directory; -o names a file: to write into a folder use --output-dir", where=output)
    if source.suffix.lower() in VIDEO_SUFFIXES:
        return  # a video's output is checked as a video
    suffix = output.suffix.lower().lstrip(".")
    if not suffix and fmt is None:
        raise UsageError(
            "has no file extension to choose the image format from (.png, .jpg, .webp, .tiff); "
            "to write into a folder use --output-dir",
            where=output,
        )
    asked = (fmt or "").lower().lstrip(".")
    if asked in _FORMAT_NAMES and suffix in _FORMAT_NAMES and _FORMAT_NAMES[suffix] != _FORMAT_NAMES[asked]:
        raise UsageError(
            f"--format {fmt} does not match the file name's .{suffix}; name the file {output.stem}.{asked}"
            " or drop --format",
            where=output,
        )


# The image formats a suffix or --format names (jpg and jpeg are one format, as are tif and tiff).
_FORMAT_NAMES = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp", "tif": "tiff", "tiff": "tiff"}


def _extension(path: Path, fmt: str | None) -> str:
    """{ext} of an output: --format (or png) for a photo; a video stays a video, in its own container when styletool writes it."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return suffix[1:] if suffix in WRITABLE_VIDEO_SUFFIXES else "mp4"
    return (fmt or "png").lower()
