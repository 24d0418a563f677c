"""Atomic file replacement for writers that insist on a path of their own (safetensors, ONNX, TorchScript)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds, rename it over ``path``.

    A crash or an error inside the block leaves ``path`` as it was and no
    temporary file behind. OSError from creating the temporary file
    propagates for the caller to word.
    """
    path = Path(path)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
    handle.close()
    temp = Path(handle.name)
    try:
        yield temp
        os.chmod(temp, 0o644)  # temporary files are private; a model file is not
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
