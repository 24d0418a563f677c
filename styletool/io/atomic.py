"""Writing files atomically: the one way styletool puts a file where a user will look for it.

Everything styletool writes (images, videos, model files, checkpoints, exports)
goes to a hidden temporary file beside the destination, is flushed to disk,
given the permissions a plainly created file would have, and renamed over the
destination. Readers never see half a file; a crash, an error or Ctrl-C leaves
the destination as it was and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for a writer that wants a path; when the block succeeds, it replaces ``path``.

    OSError from creating the temporary file propagates for the caller to word.
    """
    path = Path(path)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temp = Path(name)
    try:
        yield temp
        _sync(temp)
        # mkstemp makes the file private (0600); the result should be like any file the user creates.
        os.chmod(temp, new_file_mode(path))
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def write_atomically(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Replace ``path`` with what ``write`` writes to an open binary file."""
    with replacing(path) as temp, open(temp, "wb") as file:
        write(file)


def new_file_mode(path: Path) -> int:
    """The mode of the file being replaced, or what the umask gives a new file."""
    with contextlib.suppress(OSError):
        return path.stat().st_mode & 0o777
    # os.umask can only be read by setting it; set it straight back.
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _sync(path: Path) -> None:
    # Without this a power cut soon after the rename can leave an empty file under the final name.
    with open(path, "rb+") as file:
        os.fsync(file.fileno())
