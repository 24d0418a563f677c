"""What a training run is: its settings, the task a method supplies, and the learning-rate schedules."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

from torch import Tensor, nn

from styletool.errors import StyletoolError, UsageError

LR_SCHEDULES = ("constant", "cosine", "step")
# Square crops beyond this side would not fit in any memory (and fail deep inside the data loader).
MAX_IMAGE_SIZE = 8192


class TrainingError(StyletoolError):
    """Training cannot start or continue (bad data folder, bad checkpoint)."""


@dataclass
class TrainSettings:
    """Engine settings shared by every trainable method (CLI: `styletool train` options)."""

    steps: int = 2000
    batch_size: int = 4
    lr: float = 1e-3
    # The rate a tenth for the last fifth: what turns a long feed-forward run's length into
    # quality (docs/training.md, docs/models.md).
    lr_schedule: str = "step"
    # Photos are resized so their shorter side is image_size (times a random zoom), then cropped to
    # crop_size squares (None: image_size). Smaller crops of photos at the same scale show the network
    # the same brush-stroke size for a fraction of the arithmetic.
    image_size: int = 256
    crop_size: int | None = None
    # File-name patterns (fnmatch, relative to the content folder) of photos never trained on: a held-out set.
    exclude: list[str] = field(default_factory=list)
    checkpoint_every: int = 500
    workers: int = 2
    seed: int = 0
    log_every: int = 10
    # False: no checkpoint files and no metrics log (a quick adaptation, not a training run).
    save_checkpoints: bool = True
    # Every N steps, the current network's picture of a fixed photo rides on the progress event (--preview).
    preview_every: int = 0

    @property
    def crop(self) -> int:
        """Side of the square crops the network trains on."""
        return self.crop_size or self.image_size

    def check(self) -> None:
        for name in ("steps", "batch_size", "image_size"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.image_size > MAX_IMAGE_SIZE:
            raise UsageError(f"--image-size must be at most {MAX_IMAGE_SIZE}, got {self.image_size}")
        if self.crop_size is not None and not 1 <= self.crop_size <= self.image_size:
            raise UsageError(
                f"--crop-size must be between 1 and --image-size ({self.image_size}), got {self.crop_size}"
            )
        if not 0 < self.lr < math.inf:
            raise UsageError(f"--lr must be a positive finite number, got {self.lr}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise UsageError(f"--lr-schedule must be one of {', '.join(LR_SCHEDULES)}, not '{self.lr_schedule}'")
        if self.checkpoint_every < 0 or self.workers < 0:
            raise UsageError("--checkpoint-every and --workers must be >= 0")


class TrainingTask(Protocol):
    """What a method hands the engine. :class:`BasicTask` gives every part but ``loss`` a default."""

    model: nn.Module
    # True: ``loss()`` back-propagates its terms itself (say one piece at a time, so memory does not
    # grow with the number of pieces) and returns them detached, for reporting only.
    backward_inside: bool
    # False: ``loss()`` calls the network functionally (with weights it computed, as meta-learning
    # does), which DistributedDataParallel cannot see; the engine then leaves the network unwrapped
    # and averages the gradients across processes itself after the backward pass.
    ddp: bool

    def parameters(self) -> list[nn.Parameter]:
        """The parameters to optimize (all of the model's, or a subset)."""
        ...

    def parameter_groups(self, lr: float) -> list[dict[str, Any]]:
        """What the optimizer trains: groups with ``params`` and optionally their own ``lr``.

        The learning-rate schedule scales every group alike.
        """
        ...

    def loss(self, model: nn.Module, photos: Tensor, step: int) -> dict[str, Tensor]:
        """Weighted loss terms for one batch (``model`` may be the DDP wrapper); the engine sums them."""
        ...

    def sample(self, photo: Tensor) -> Tensor:
        """The current network's picture of ``photo`` (``[1, 3, H, W]``), for the live preview."""
        ...

    def model_file(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """Tensors and metadata of the finished model."""
        ...

    def state(self) -> dict[str, Any]:
        """Extra task state for checkpoints (tensors, numbers, strings, lists, dicts)."""
        ...

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state` returned."""
        ...


class BasicTask:
    """The parts most tasks share: train every parameter in one group, back-propagate the summed loss,
    save the network with ``self.metadata``, no extra state.

    Subclasses set ``model`` and ``metadata`` and write ``loss``.
    """

    model: nn.Module
    metadata: dict[str, Any]
    backward_inside = False
    ddp = True

    def parameters(self) -> list[nn.Parameter]:
        return list(self.model.parameters())

    def parameter_groups(self, lr: float) -> list[dict[str, Any]]:
        return [{"params": self.parameters()}]

    def loss(self, model: nn.Module, photos: Tensor, step: int) -> dict[str, Tensor]:
        raise NotImplementedError(f"{type(self).__name__} has no loss")

    def model_file(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        return self.model.state_dict(), self.metadata

    def sample(self, photo: Tensor) -> Tensor:
        """The current network's picture of ``photo`` (``[1, 3, H, W]``), for the live preview."""
        return self.model(photo)

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        pass


def lr_factor(schedule: str, step: int, steps: int) -> float:
    """Multiplier of the base learning rate at ``step`` (0-based)."""
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * step / max(1, steps)))
    if schedule == "step":  # divide by 10 for the last fifth of training
        return 0.1 if step >= 0.8 * steps else 1.0
    return 1.0
