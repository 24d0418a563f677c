"""The shared training loop for feed-forward methods.

A method supplies a :class:`TrainingTask` (the network, its trainable
parameters, a loss on a batch of photos, and how to export the result); this
module does the rest, the same way for every method:

- data: every image under ``--content-dir`` (recursively), random-resized
  crops, DataLoader workers; unreadable files are skipped and counted;
- optimization: Adam, a learning-rate schedule, gradient steps;
- checkpoints: atomic, every N steps, on Ctrl-C, and ``--resume`` that
  continues exactly as an uninterrupted run would;
- reporting: progress events, a JSON-lines metrics log, optional TensorBoard;
- several processes: under ``torchrun`` the network is wrapped in
  DistributedDataParallel, each rank trains on its own slice of every global
  batch, and rank 0 alone writes files.

Determinism is by construction rather than by saving RNG states: which images
form step ``s``'s batch, and how each is cropped, are pure functions of
``(seed, s)``. A resumed run therefore sees exactly the batches the
uninterrupted run would have seen, whatever the number of workers.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.distributed as dist
import torch.nn.functional as F
from PIL import Image as PILImage
from torch import Tensor, nn

from styletool.errors import StyletoolError, UsageError, describe
from styletool.events import Progress, ProgressCallback, ignore_progress
from styletool.io.atomic import replacing

LR_SCHEDULES = ("constant", "cosine", "step")
CHECKPOINT_FORMAT = 1
# Crops are taken from the photo resized so its shorter side is image_size
# times a random factor in this range: some zoom variety, never upscaled crops.
ZOOM_RANGE = (1.0, 1.3)
# Up to this many photos, a run loading in the main process keeps them decoded (a few hundred MB at most).
KEEP_DECODED_UP_TO = 256


class TrainingError(StyletoolError):
    """Training cannot start or continue (bad data folder, bad checkpoint)."""


@dataclass
class TrainSettings:
    """Engine settings shared by every trainable method (CLI: `styletool train` options)."""

    steps: int = 2000
    batch_size: int = 4
    lr: float = 1e-3
    lr_schedule: str = "constant"
    image_size: int = 256
    checkpoint_every: int = 500
    workers: int = 2
    seed: int = 0
    log_every: int = 10
    # False: no checkpoint files and no metrics log (a quick adaptation, not a training run).
    save_checkpoints: bool = True
    # Every N steps, the current network's picture of a fixed photo rides on the progress event (--preview).
    preview_every: int = 0

    def check(self) -> None:
        for name in ("steps", "batch_size", "image_size"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise UsageError(f"--lr must be positive, got {self.lr}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise UsageError(f"--lr-schedule must be one of {', '.join(LR_SCHEDULES)}, not '{self.lr_schedule}'")
        if self.checkpoint_every < 0 or self.workers < 0:
            raise UsageError("--checkpoint-every and --workers must be >= 0")


class TrainingTask(Protocol):
    """What a method hands the engine."""

    model: nn.Module

    def parameters(self) -> list[nn.Parameter]:
        """The parameters to optimize (all of the model's, or a subset)."""

    def loss(self, model: nn.Module, photos: Tensor, step: int) -> dict[str, Tensor]:
        """Weighted loss terms for one batch (``model`` may be the DDP wrapper); the engine sums them."""

    def model_file(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """Tensors and metadata of the finished model."""

    def state(self) -> dict[str, Any]:
        """Extra task state for checkpoints (tensors, numbers, strings, lists, dicts)."""

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state` returned."""


class BasicTask:
    """The parts most tasks share: train every parameter, save the network with ``self.metadata``, no extra state.

    Subclasses set ``model`` and ``metadata`` and write ``loss``.
    """

    model: nn.Module
    metadata: dict[str, Any]

    def parameters(self) -> list[nn.Parameter]:
        return list(self.model.parameters())

    def model_file(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        return self.model.state_dict(), self.metadata

    def sample(self, photo: Tensor) -> Tensor:
        """The current network's picture of ``photo`` (``[1, 3, H, W]``), for the live preview."""
        return self.model(photo)

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        pass


# Two optional task attributes change how the engine takes a step:
#
# ``backward_inside = True``: ``loss()`` back-propagates its terms itself (say
# one piece at a time, so memory does not grow with the number of pieces) and
# returns them detached, for reporting only.
#
# ``parameter_groups(lr)``: the parameters as optimizer groups, each a dict
# with ``params`` and optionally its own ``lr`` (the learning-rate schedule
# scales every group alike); instead of ``parameters()`` for the optimizer.
#
# ``ddp = False``: ``loss()`` calls the network functionally (with weights it
# computed, as meta-learning does), which DistributedDataParallel cannot see.
# The engine then leaves the network unwrapped and averages the gradients
# across processes itself after the backward pass.


# -- data ---------------------------------------------------------------------
class PhotoFolder(torch.utils.data.Dataset):
    """Every image under a folder, recursively, as random-resized square crops.

    Items are addressed by ``(index, draw)``: ``draw`` numbers the sample
    within the whole run and seeds its crop, so crops do not depend on which
    worker loads them. A file that fails to decode yields ``None`` (the batch
    is collated without it) and is reported, never fatal.
    """

    def __init__(
        self,
        root: str | os.PathLike | None,
        *,
        image_size: int,
        seed: int = 0,
        files: list[str | os.PathLike] | None = None,
        keep_decoded: bool = False,
    ):
        self.image_size = image_size
        self.seed = seed
        # A few photos drawn many times (adaptation): decode each once, keep the pixels.
        self.keep_decoded = keep_decoded
        self._decoded: dict[int, Tensor] = {}
        self.files: list[Path] = []
        self.unreadable: list[Path] = []
        if files is not None:  # photos named one by one (adapting on the user's own photos)
            self.root = None
            candidates = [Path(f) for f in files]
            for path in candidates:
                if not path.is_file():
                    raise TrainingError("no such file" if not path.exists() else "not a file", where=path)
        else:
            self.root = Path(root)
            if not self.root.is_dir():
                raise TrainingError("no such folder" if not self.root.exists() else "not a folder", where=self.root)
            candidates = [
                path
                for path in sorted(self.root.rglob("*"))
                if path.is_file() and not any(part.startswith(".") for part in path.relative_to(self.root).parts)
            ]
        for path in candidates:
            try:
                with PILImage.open(path) as image:
                    image.size  # noqa: B018 - parsing the header is the check
                self.files.append(path)
            except Exception:
                self.unreadable.append(path)
        if not self.files:
            where = self.root if self.root is not None else (candidates[0] if candidates else None)
            raise TrainingError(
                f"no readable images {'in the folder' if self.root else 'among the photos'} "
                f"({len(self.unreadable)} unreadable files)",
                where=where,
            )

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, key: tuple[int, int]) -> tuple[int, Tensor | None]:
        index, draw = key
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + draw)
        pixels = self._decoded.get(index)
        if pixels is None:
            pixels = self._decode(self.files[index])
            if pixels is None:
                return index, None
            if self.keep_decoded:
                self._decoded[index] = pixels
        return index, random_resized_crop(pixels.float() / 255, self.image_size, generator)

    def step_batch(self, step: int, batch_size: int, *, seed: int) -> Tensor | None:
        """This process's photos for training step ``step``, drawn as the engine draws its own batches.

        For a task that needs a second stream of photos (metastyle's query
        photos): a pure function of ``seed`` and ``step``, so resumed and
        multi-process runs see what an uninterrupted single run would. None
        when no photo of the batch could be read.
        """
        dist = Distributed.from_environment()
        batches = StepBatches(
            len(self), batch_size=batch_size, steps=step + 1, seed=seed, rank=dist.rank, world=dist.world
        )
        photos, _ = collate([self[key] for key in batches.batch(step)])
        return photos

    def _decode(self, path: Path) -> Tensor | None:
        try:
            with PILImage.open(path) as image:
                image.draft("RGB", (self.image_size * 2, self.image_size * 2))  # fast JPEG decode at reduced size
                photo = image.convert("RGB")
                pixels = torch.frombuffer(bytearray(photo.tobytes()), dtype=torch.uint8)
                return pixels.view(photo.height, photo.width, 3).permute(2, 0, 1)
        except Exception:
            return None


def random_resized_crop(pixels: Tensor, size: int, generator: torch.Generator) -> Tensor:
    """Resize ``[3, H, W]`` so the shorter side is ``size`` x a random zoom, then crop ``size`` x ``size``."""
    zoom = ZOOM_RANGE[0] + (ZOOM_RANGE[1] - ZOOM_RANGE[0]) * float(torch.rand((), generator=generator))
    short = min(pixels.shape[-2:])
    factor = size * zoom / short
    height = max(size, round(pixels.shape[-2] * factor))
    width = max(size, round(pixels.shape[-1] * factor))
    resized = F.interpolate(pixels[None], size=(height, width), mode="bilinear", antialias=True, align_corners=False)[0]
    top = int(torch.randint(0, height - size + 1, (), generator=generator))
    left = int(torch.randint(0, width - size + 1, (), generator=generator))
    return resized[:, top : top + size, left : left + size].clamp(0, 1)


class StepBatches(torch.utils.data.Sampler):
    """Batches of ``(index, draw)`` keys for steps ``start .. steps-1``, as a pure function of the seed.

    Samples are drawn epoch by epoch through a seeded permutation of the
    files. With several processes, step ``s`` takes ``batch_size * world``
    consecutive draws and rank ``r`` keeps the ``r``-th slice, so ranks never
    see the same image in one step.
    """

    def __init__(
        self, count: int, *, batch_size: int, steps: int, start: int = 0, seed: int = 0, rank: int = 0, world: int = 1
    ):
        self.count, self.batch_size, self.steps, self.start = count, batch_size, steps, start
        self.seed, self.rank, self.world = seed, rank, world
        self._perms: dict[int, Tensor] = {}

    def _index(self, draw: int) -> int:
        epoch, position = divmod(draw, self.count)
        perm = self._perms.get(epoch)
        if perm is None:
            perm = torch.randperm(self.count, generator=torch.Generator().manual_seed(self.seed + 7919 * epoch))
            self._perms = {epoch: perm}  # keep one epoch: draws only move forward
        return int(perm[position])

    def batch(self, step: int) -> list[tuple[int, int]]:
        first = (step * self.world + self.rank) * self.batch_size
        return [(self._index(draw), draw) for draw in range(first, first + self.batch_size)]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start, self.steps):
            yield self.batch(step)

    def __len__(self) -> int:
        return max(0, self.steps - self.start)


def loader_workers(content_dir: str | os.PathLike | None) -> int:
    """Loader processes for training on ``content_dir``: none for a few photos (decoded once, kept), else 2."""
    if content_dir is None:
        return 0
    count = sum(1 for path in islice(Path(content_dir).rglob("*"), 4 * KEEP_DECODED_UP_TO) if path.is_file())
    return 0 if count <= KEEP_DECODED_UP_TO else 2


def collate(items: list[tuple[int, Tensor | None]]) -> tuple[Tensor | None, list[int]]:
    """Stack the photos that loaded; return them and the indices that failed."""
    good = [photo for _, photo in items if photo is not None]
    failed = [index for index, photo in items if photo is None]
    return (torch.stack(good) if good else None), failed


# -- learning rate ------------------------------------------------------------
def lr_factor(schedule: str, step: int, steps: int) -> float:
    """Multiplier of the base learning rate at ``step`` (0-based)."""
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * step / max(1, steps)))
    if schedule == "step":  # divide by 10 for the last fifth of training
        return 0.1 if step >= 0.8 * steps else 1.0
    return 1.0


# -- distributed --------------------------------------------------------------
@dataclass
class Distributed:
    """This process's place among torchrun's processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    opened: bool = field(default=False, repr=False, compare=False)  # this object joined the process group

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_environment(cls) -> Distributed:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        return cls(rank=int(os.environ["RANK"]), world=world, local_rank=int(os.environ.get("LOCAL_RANK", "0")))

    def setup(self, device: torch.device, *, timeout: timedelta | None = None) -> None:
        """Join the process group, unless this process is already in one (a batch stylize that adapts)."""
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo", timeout=timeout)
            self.opened = True

    def teardown(self) -> None:
        """Leave the process group if ``setup`` joined it: whoever opened a group closes it.

        (Under torchrun a group cannot be opened a second time in one process:
        the new one would find the old one's addresses in torchrun's store.)
        """
        if self.opened and dist.is_initialized():
            dist.destroy_process_group()
            self.opened = False

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


# -- checkpoints --------------------------------------------------------------
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


# -- the loop -----------------------------------------------------------------
@dataclass
class TrainResult:
    output: Path | None
    steps: int
    seconds: float
    images: int
    unreadable: list[str] = field(default_factory=list)
    final_losses: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False
    checkpoint: Path | None = None
    model: Any = None  # the trained network, for callers that go on using it


class Trainer:
    """Runs a :class:`TrainingTask` over a :class:`PhotoFolder` to a model file."""

    def __init__(
        self,
        task: TrainingTask,
        data: PhotoFolder,
        settings: TrainSettings,
        *,
        device: torch.device,
        output: Path,
        method: str,
        checkpoint_dir: Path | None = None,
        tensorboard: Path | None = None,
        progress: ProgressCallback = ignore_progress,
        distributed: Distributed | None = None,
        precision: torch.dtype | None = None,
    ):
        settings.check()
        self.task, self.data, self.settings = task, data, settings
        self.device, self.output, self.method = device, Path(output), method
        self.checkpoint_dir = (
            Path(checkpoint_dir) if checkpoint_dir else self.output.parent / f"{self.output.stem}.checkpoints"
        )
        self.tensorboard_dir = tensorboard
        self.progress = progress
        self.preview_photo: Tensor | None = None  # the first photo trained on (--preview renders it)
        self.dist = distributed or Distributed()
        self.step = 0
        self.failed: set[int] = set()
        # Mixed precision: the forward passes autocast to this type (None: fp32). fp16 needs its
        # gradients scaled to stay representable; bf16 has fp32's range and does not.
        self.precision = precision
        if precision == torch.float16 and getattr(task, "backward_inside", False):
            raise UsageError(
                "this method back-propagates inside its own loss and cannot train in fp16; use --precision bf16 or fp32"
            )
        self.scaler = torch.amp.GradScaler(device.type) if precision == torch.float16 else None
        # Mixed-precision convolutions run fastest channels-last (oneDNN and tensor cores compute in
        # that layout): measured 1.2x per step on a CPU with the light network.
        self.memory_format = torch.channels_last if precision is not None else torch.contiguous_format
        self.task.model.to(device=device, memory_format=self.memory_format)
        self.optimizer = torch.optim.Adam(self._parameter_groups(), lr=settings.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_factor(settings.lr_schedule, step, settings.steps)
        )

    def _parameter_groups(self) -> list:
        """What the optimizer trains: the task's parameters, or its groups with their own learning rates."""
        groups = getattr(self.task, "parameter_groups", None)
        return groups(self.settings.lr) if groups is not None else self.task.parameters()

    @property
    def checkpoint_path(self) -> Path:
        return self.checkpoint_dir / "last.pt"

    @property
    def metrics_path(self) -> Path:
        return self.checkpoint_dir / "metrics.jsonl"

    # -- state ----------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "method": self.method,
            "step": self.step,
            "model": self.task.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "task": self.task.state(),
            "settings": asdict(self.settings),
            "failed": sorted(self.failed),
        }

    def resume(self, path: str | os.PathLike) -> None:
        """Continue from a checkpoint: model, optimizer, schedule, step and task state."""
        state = load_checkpoint(path)
        if state.get("method") != self.method:
            raise TrainingError(f"checkpoint is from method '{state.get('method')}', not '{self.method}'", where=path)
        saved = state.get("settings", {})
        for name in ("batch_size", "image_size", "seed", "lr_schedule"):
            if name in saved and saved[name] != getattr(self.settings, name):
                raise TrainingError(
                    f"checkpoint was trained with --{name.replace('_', '-')} {saved[name]}, not "
                    f"{getattr(self.settings, name)}; resume with the same settings",
                    where=path,
                )
        if state["step"] > self.settings.steps:
            raise TrainingError(
                f"checkpoint is at step {state['step']}, past --steps {self.settings.steps}", where=path
            )
        try:
            self.task.load_state(state.get("task", {}))
            self.task.model.load_state_dict(state["model"])
            self.optimizer = torch.optim.Adam(self._parameter_groups(), lr=self.settings.lr)
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(
                self.optimizer, lambda step: lr_factor(self.settings.lr_schedule, step, self.settings.steps)
            )
            self.scheduler.load_state_dict(state["scheduler"])
        except (RuntimeError, ValueError, KeyError) as error:
            raise TrainingError(
                f"checkpoint does not fit this model ({describe(error, limit=100)})", where=path
            ) from None
        self.task.model.to(device=self.device, memory_format=self.memory_format)
        self.step = int(state["step"])
        self.failed = set(state.get("failed", []))

    def save_checkpoint(self) -> Path | None:
        if not self.dist.main or not self.settings.save_checkpoints:
            return None
        save_checkpoint(self.checkpoint_path, self.state())
        return self.checkpoint_path

    # -- running --------------------------------------------------------------
    def _check_finite(self, terms: dict[str, Tensor]) -> None:
        """Stop before a NaN or infinite loss reaches the weights; the last checkpoint stays the last good one."""
        bad = [name for name, value in terms.items() if not bool(torch.isfinite(value.detach()).all())]
        if self.dist.world > 1:  # every rank stops together, or the others would wait for it forever
            flag = torch.tensor([float(bool(bad))], device=self.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            if flag.item() and not bad:
                raise TrainingError(
                    f"another process's loss became non-finite at step {self.step + 1}: training stopped"
                )
        if not bad:
            return
        kept = f"; the last good checkpoint is {self.checkpoint_path}" if self.checkpoint_path.is_file() else ""
        raise TrainingError(
            f"the {', '.join(bad)} loss became {float(terms[bad[0]].detach())} at step {self.step + 1}: training stopped, "
            f"nothing written{kept} (try a lower --lr or smaller loss weights)"
        )

    def _average_gradients(self) -> None:
        """Mean of every gradient over the processes (what DDP does, for tasks it cannot wrap)."""
        for parameter in self.task.parameters():
            if parameter.grad is None:
                parameter.grad = torch.zeros_like(parameter)
            dist.all_reduce(parameter.grad)
            parameter.grad /= self.dist.world

    def _model_for_training(self) -> nn.Module:
        model = self.task.model
        if self.dist.world > 1 and getattr(self.task, "ddp", True):
            ids = [self.device.index] if self.device.type == "cuda" else None
            model = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        return model

    def _loader(self) -> torch.utils.data.DataLoader:
        sampler = StepBatches(
            len(self.data),
            batch_size=self.settings.batch_size,
            steps=self.settings.steps,
            start=self.step,
            seed=self.settings.seed,
            rank=self.dist.rank,
            world=self.dist.world,
        )
        workers = self.settings.workers
        return torch.utils.data.DataLoader(
            self.data,
            batch_sampler=sampler,
            collate_fn=collate,
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
            prefetch_factor=4 if workers else None,
        )

    def run(self) -> TrainResult:
        """Train to ``settings.steps``; write the model file (rank 0). Ctrl-C saves a checkpoint first."""
        settings = self.settings
        model = self._model_for_training()
        model.train()
        writer = self._tensorboard()
        started = time.perf_counter()
        images = 0
        losses: dict[str, float] = {}
        try:
            for photos, failed in self._loader():
                self.failed.update(failed)
                if photos is not None:
                    photos = photos.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
                    self.optimizer.zero_grad(set_to_none=True)
                    with self._autocast():
                        terms = self.task.loss(model, photos, self.step)
                    self._check_finite(terms)
                    if not getattr(self.task, "backward_inside", False):
                        total = sum(terms.values())
                        (self.scaler.scale(total) if self.scaler else total).backward()
                    if model is self.task.model and self.dist.world > 1:
                        self._average_gradients()
                    if self.scaler:
                        self.scaler.step(self.optimizer)
                        self.scaler.update()
                    else:
                        self.optimizer.step()
                    images += photos.shape[0] * self.dist.world
                    losses = {name: float(value.detach()) for name, value in terms.items()}
                    if self.preview_photo is None:
                        self.preview_photo = photos[:1].detach().clone()
                self.scheduler.step()
                self.step += 1
                self._report(losses, images, started, writer)
                if (
                    settings.checkpoint_every
                    and self.step % settings.checkpoint_every == 0
                    and self.step < settings.steps
                ):
                    self.save_checkpoint()
        except KeyboardInterrupt:
            checkpoint = self.save_checkpoint()
            self.dist.barrier()
            return TrainResult(
                output=None,
                steps=self.step,
                seconds=time.perf_counter() - started,
                images=images,
                unreadable=self._unreadable(),
                final_losses=losses,
                interrupted=True,
                checkpoint=checkpoint,
                model=self.task.model,
            )
        finally:
            if writer is not None:
                writer.close()
        output = None
        if self.dist.main:
            from styletool.io.modelfile import save_model

            tensors, metadata = self.task.model_file()
            precision = str(self.precision or torch.float32).removeprefix("torch.")
            metadata = {
                **metadata,
                "training": {
                    **metadata.get("training", {}),
                    **asdict(settings),
                    "steps_done": self.step,
                    "precision": precision,
                    "seconds": round(time.perf_counter() - started, 1),
                },
            }
            output = save_model(self.output, tensors, metadata)
        checkpoint = self.save_checkpoint()
        self.dist.barrier()
        return TrainResult(
            output=output,
            steps=self.step,
            seconds=time.perf_counter() - started,
            images=images,
            unreadable=self._unreadable(),
            final_losses=losses,
            checkpoint=checkpoint,
            model=self.task.model,
        )

    def _autocast(self):
        if self.precision is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.precision)

    def _unreadable(self) -> list[str]:
        return [str(p) for p in self.data.unreadable] + [str(self.data.files[i]) for i in sorted(self.failed)]

    def _preview(self) -> Tensor | None:
        """The network's picture of the first photo it trained on, every ``preview_every`` steps (rank 0)."""
        every = self.settings.preview_every
        if (
            not every
            or not self.dist.main
            or self.preview_photo is None
            or (self.step % every and self.step != self.settings.steps)
        ):
            return None
        sample = getattr(self.task, "sample", None) or self.task.model
        with torch.no_grad():
            return sample(self.preview_photo).detach().float().clamp(0, 1).cpu()

    def _report(self, losses: dict[str, float], images: int, started: float, writer) -> None:
        elapsed = time.perf_counter() - started
        rate = images / elapsed if elapsed > 0 else 0.0
        self.progress(
            Progress(
                stage="train",
                step=self.step,
                total=self.settings.steps,
                losses=losses,
                rate=rate,
                unit="img/s",
                preview=self._preview(),
            )
        )
        if not self.dist.main or not losses or not self.settings.save_checkpoints:
            return
        if self.step % self.settings.log_every == 0 or self.step == self.settings.steps:
            record = {
                "step": self.step,
                "lr": self.scheduler.get_last_lr()[0],
                "images_per_second": round(rate, 3),
                "elapsed": round(elapsed, 3),
                **losses,
            }
            self.metrics_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.metrics_path, "a") as log:
                log.write(json.dumps(record) + "\n")
            if writer is not None:
                for name, value in losses.items():
                    writer.add_scalar(f"loss/{name}", value, self.step)
                writer.add_scalar("lr", record["lr"], self.step)

    def _tensorboard(self):
        if self.tensorboard_dir is None or not self.dist.main:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UsageError(
                "--tensorboard needs the tensorboard package: pip install 'styletool[tensorboard]'"
            ) from None
        return SummaryWriter(str(self.tensorboard_dir))


def resolve_training_device(runtime_device: torch.device, dist_info: Distributed) -> torch.device:
    """Under torchrun on GPUs each process takes the GPU of its local rank."""
    if dist_info.world > 1 and runtime_device.type == "cuda":
        torch.cuda.set_device(dist_info.local_rank)
        return torch.device("cuda", dist_info.local_rank)
    return runtime_device


def run_training(
    runtime,
    task_factory: Callable[[], TrainingTask],
    request,
    *,
    method: str,
    progress: ProgressCallback = ignore_progress,
) -> TrainResult:
    """Build the task (seeded), the data and the trainer for ``request``; resume if asked; train.

    ``task_factory`` is called after seeding, so the network's initial
    weights depend only on the seed (and are the same on every rank).
    """
    settings: TrainSettings = request.settings
    settings.check()
    distributed = Distributed.from_environment()
    device = resolve_training_device(runtime.device, distributed)
    distributed.setup(device)
    try:
        files = getattr(request, "content_files", None)
        data = PhotoFolder(request.content_dir, image_size=settings.image_size, seed=settings.seed, files=files)
        # Loading in this process from a small set of photos (adaptation, quick runs): decode each photo once.
        data.keep_decoded = settings.workers == 0 and len(data) <= KEEP_DECODED_UP_TO
        torch.manual_seed(settings.seed)
        task = task_factory()
        trainer = Trainer(
            task,
            data,
            settings,
            device=device,
            output=request.output,
            method=method,
            checkpoint_dir=request.checkpoint_dir,
            tensorboard=request.tensorboard,
            progress=progress,
            distributed=distributed,
            precision=runtime.training_dtype,
        )
        if request.resume is not None:
            trainer.resume(request.resume)
        return trainer.run()
    finally:
        distributed.teardown()
