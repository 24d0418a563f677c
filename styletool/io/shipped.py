"""Models that ship inside the styletool package, named on the command line without a path.

The files live in ``styletool/shipped_models/`` beside ``MANIFEST.json``,
which names each model, its method, whether it is that method's default
(used when ``--model`` is not given), and the SHA-256 of its file. The recipe
that made each model is ``recipes/`` in the repository; docs/models.md says
where each came from.

A ``--model`` value is a model file when such a file exists; otherwise a
bare name (no folder, no suffix) is looked up among the shipped models.
This module does not import torch.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from styletool.errors import UsageError

SHIPPED_DIR = Path(__file__).parent.parent / "shipped_models"
MANIFEST = SHIPPED_DIR / "MANIFEST.json"


@dataclass(frozen=True)
class ShippedModel:
    name: str
    method: str
    path: Path
    sha256: str
    default: bool
    summary: str


@cache
def shipped_models() -> dict[str, ShippedModel]:
    """Every shipped model by name, in the manifest's order (empty when none ship)."""
    if not MANIFEST.is_file():
        return {}
    entries = json.loads(MANIFEST.read_text())
    return {
        entry["name"]: ShippedModel(
            name=entry["name"],
            method=entry["method"],
            path=SHIPPED_DIR / entry["file"],
            sha256=entry["sha256"],
            default=bool(entry.get("default", False)),
            summary=entry.get("summary", ""),
        )
        for entry in entries
    }


def default_model(method: str) -> ShippedModel | None:
    """The shipped model ``method`` uses when no ``--model`` is given, if there is one."""
    return next((m for m in shipped_models().values() if m.method == method and m.default), None)


def resolve_model(value: str | os.PathLike) -> Path:
    """The file a ``--model`` value names: an existing path, or the name of a shipped model.

    A value that is neither is returned unchanged, so the loader reports the
    missing file in its own words; a bare name that is not shipped gets an
    error listing the shipped ones.
    """
    path = Path(value)
    if path.exists():
        return path
    text = os.fspath(value)
    shipped = shipped_models()
    if text in shipped:
        return shipped[text].path
    bare = path.suffix == "" and path.parent == Path(".")
    if bare:
        names = ", ".join(shipped) or "none"
        raise UsageError(
            f"no model file or shipped model named '{text}' (shipped models: {names}; `styletool models` lists them)"
        )
    return path


def model_for(method: str, given: list[Path]) -> list[Path]:
    """The ``--model`` values resolved to files; the method's shipped default when none was given."""
    if given:
        return [resolve_model(value) for value in given]
    default = default_model(method)
    return [default.path] if default is not None else []
