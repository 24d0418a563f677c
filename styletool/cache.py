"""The user cache folder, for results worth keeping between runs (adapted models).

``STYLETOOL_CACHE_DIR`` overrides it; otherwise ``$XDG_CACHE_HOME/styletool``
or ``~/.cache/styletool``. Everything in it can be deleted at any time.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """``<user cache>/styletool/<parts...>`` (not created)."""
    root = os.environ.get("STYLETOOL_CACHE_DIR")
    if root:
        base = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "styletool"
    return base.joinpath(*parts)


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
