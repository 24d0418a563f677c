"""Checkpoints: written atomically, loaded without executing code, with one-line errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from styletool.errors import describe
from styletool.io.atomic import replacing
from styletool.training.settings import TrainingError

CHECKPOINT_FORMAT = 1


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """torch.save, atomically: never a half-written checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as temp:
        torch.save(state, temp)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint without executing code (``weights_only``); one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise TrainingError("no such checkpoint", where=path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise TrainingError(f"not a readable checkpoint ({describe(error, limit=100)})", where=path) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT or "model" not in state:
        raise TrainingError("not a styletool training checkpoint", where=path)
    return state
