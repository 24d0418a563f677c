"""Model files: ``.safetensors`` weights with styletool's metadata in the header.

safetensors holds only tensors and a string-to-string header, so loading a
model never runs code (unlike pickle). styletool's metadata is one JSON
object under the header key ``styletool``:

    {"format": 1, "method": "cin", "styles": ["starry_night", ...],
     "backbone": "vgg19", "training": {...}, "styletool_version": "0.1.0", ...}

Files are written atomically: a crash mid-write leaves the old file intact.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from styletool.errors import StyletoolError, describe
from styletool.io.atomic import replacing

FORMAT_VERSION = 1
HEADER_KEY = "styletool"


class ModelFileError(StyletoolError):
    """A model file that cannot be read, or is not what the command needs."""


@dataclass
class ModelFile:
    """A loaded model: its tensors (on the CPU) and metadata."""

    tensors: dict[str, torch.Tensor]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def method(self) -> str:
        return str(self.metadata.get("method", ""))

    @property
    def styles(self) -> list[str]:
        return list(self.metadata.get("styles", []))


def save_model(path: str | os.PathLike, tensors: dict[str, torch.Tensor], metadata: dict[str, Any]) -> Path:
    """Write ``tensors`` and ``metadata`` (must name the method) to ``path`` atomically."""
    from safetensors.torch import save_file

    from styletool.version import __version__

    path = Path(path)
    if "method" not in metadata:
        raise ValueError("model metadata must name the method")
    header = {"format": FORMAT_VERSION, "styletool_version": __version__, **metadata}
    # safetensors refuses shared or non-contiguous storage; models are small, copy.
    tensors = {name: value.detach().to("cpu").contiguous().clone() for name, value in tensors.items()}
    try:
        with replacing(path) as temp:
            save_file(tensors, str(temp), metadata={HEADER_KEY: json.dumps(header, sort_keys=True)})
    except OSError as error:
        raise ModelFileError(f"cannot write model: {describe(error)}", where=path) from None
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The styletool metadata of a model file, reading only its header."""
    from safetensors import safe_open

    path = Path(path)
    _check_exists(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = handle.metadata() or {}
    except Exception as error:  # safetensors raises its own error types for bad headers
        raise ModelFileError(f"not a readable model file ({describe(error, limit=120)})", where=path) from None
    return _parse_header(raw, path)


def load_model(path: str | os.PathLike, *, method: str | None = None) -> ModelFile:
    """Load a model file; with ``method``, refuse files made for another method."""
    from safetensors.torch import load_file

    path = Path(path)
    metadata = read_metadata(path)
    if method is not None and metadata.get("method") != method:
        raise ModelFileError(
            f"this is a '{metadata.get('method')}' model, not a '{method}' model; "
            f"use --method {metadata.get('method')}",
            where=path,
        )
    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as error:
        raise ModelFileError(f"model file is damaged or truncated ({describe(error, limit=120)})", where=path) from None
    _check_finite(tensors, path)
    return ModelFile(tensors=tensors, metadata=metadata)


def _check_finite(tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Refuse weights holding NaN or infinity: such a network paints every picture black (or worse, silently)."""
    bad = [name for name, value in tensors.items() if value.is_floating_point() and not torch.isfinite(value).all()]
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise ModelFileError(
            f"the model's weights hold NaN or infinite values ('{bad[0]}'{more}): it cannot paint",
            where=path,
        )


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise ModelFileError("no such model file", where=path)
    if path.is_dir():
        raise ModelFileError("is a folder, not a model file", where=path)


def _parse_header(raw: dict[str, str], path: Path) -> dict[str, Any]:
    if HEADER_KEY not in raw:
        raise ModelFileError("a safetensors file, but not a styletool model (no styletool metadata)", where=path)
    try:
        metadata = json.loads(raw[HEADER_KEY])
    except json.JSONDecodeError:
        raise ModelFileError("styletool metadata is not valid JSON", where=path) from None
    if not isinstance(metadata, dict):
        raise ModelFileError("styletool metadata is not a JSON object", where=path)
    version = metadata.get("format")
    if not isinstance(version, int):
        raise ModelFileError("styletool metadata has no format version", where=path)
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"model format {version} is newer than this styletool reads ({FORMAT_VERSION}); upgrade styletool",
            where=path,
        )
    return metadata
