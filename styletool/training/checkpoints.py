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


def default_checkpoint_dir(output: Path) -> Path:
    """Where a run writing the model ``output`` keeps its checkpoints and metrics: ``OUT.checkpoints/`` beside it."""
    return output.parent / f"{output.stem}.checkpoints"


def check_training_destination(
    output: Path, *, checkpoint_dir: Path | None, resume: Path | None, overwrite: bool
) -> None:
    """Refuse, before any work, a run that would replace a model file or start over an earlier run unasked.

    A model can be hours of training: an existing file at ``output`` is kept
    unless ``overwrite``. A checkpoint left in the checkpoint folder by an
    earlier run means that run can be continued; starting afresh over it
    (which replaces it) also needs ``overwrite``.
    """
    if output.exists() and not overwrite:
        raise TrainingError("model file already exists; pass --overwrite to replace it", where=output)
    last = (checkpoint_dir or default_checkpoint_dir(output)) / "last.pt"
    if resume is None and last.is_file() and not overwrite:
        raise TrainingError(
            f"an earlier run left a checkpoint here: continue it with --resume {last}, "
            "or pass --overwrite to start afresh (its checkpoints are replaced)",
            where=last.parent,
        )


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
