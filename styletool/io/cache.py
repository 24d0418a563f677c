"""The user cache folder, for results worth keeping between runs (adapted models).

``STYLETOOL_CACHE_DIR`` overrides it; otherwise the platform's user cache
folder (platformdirs: ``$XDG_CACHE_HOME/styletool`` or ``~/.cache/styletool``
on Linux, ``~/Library/Caches/styletool`` on macOS, ``%LOCALAPPDATA%`` on
Windows). Everything in it can be deleted at any time.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import platformdirs


def cache_dir(*parts: str) -> Path:
    """``<user cache>/styletool/<parts...>`` (not created)."""
    root = os.environ.get("STYLETOOL_CACHE_DIR")
    base = Path(root) if root else platformdirs.user_cache_path("styletool", appauthor=False)
    return base.joinpath(*parts)


def file_digest(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (read in chunks: memory stays flat for large files)."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
