"""The loop: optimizer, schedule, checkpoints, reporting and the model file at the end."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
import torch.distributed as dist
from torch import Tensor, nn

from styletool.errors import UsageError, describe
from styletool.events import Progress, ProgressCallback, ignore_progress
from styletool.framework.distributed import Distributed
from styletool.framework.methods import TrainRequest
from styletool.framework.runtime import Runtime
from styletool.training.checkpoints import (
    CHECKPOINT_FORMAT,
    default_checkpoint_dir,
    load_checkpoint,
    save_checkpoint,
)
from styletool.training.data import KEEP_DECODED_UP_TO, PhotoFolder, StepBatches, collate
from styletool.training.settings import TrainingError, TrainingTask, TrainSettings, lr_factor


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
        paintings: list[str] | None = None,
    ):
        settings.check()
        self.task, self.data, self.settings = task, data, settings
        self.device, self.output, self.method = device, Path(output), method
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else default_checkpoint_dir(self.output)
        self.tensorboard_dir = tensorboard
        self.progress = progress
        self.preview_photo: Tensor | None = None  # the first photo trained on (--preview renders it)
        self.dist = distributed or Distributed()
        self.step = 0
        self.resumed = False
        self.failed: set[int] = set()
        # What makes this model this model (method, network, style names, loss settings, the paintings'
        # pixels): kept in every checkpoint, so --resume cannot continue another model's weights.
        self.identity = {"model": _plain(task.model_file()[1]), "paintings": list(paintings or [])}
        # Mixed precision: the forward passes autocast to this type (None: fp32). fp16 needs its
        # gradients scaled to stay representable; bf16 has fp32's range and does not.
        self.precision = precision
        if precision == torch.float16 and task.backward_inside:
            raise UsageError(
                "this method back-propagates inside its own loss and cannot train in fp16; use --precision bf16 or fp32"
            )
        self.scaler = torch.amp.GradScaler(device.type) if precision == torch.float16 else None
        # Mixed-precision convolutions run fastest channels-last (oneDNN and tensor cores compute in
        # that layout): measured 1.2x per step on a CPU with the light network.
        self.memory_format = torch.channels_last if precision is not None else torch.contiguous_format
        self.task.model.to(device=device).to(memory_format=self.memory_format)
        self.optimizer = torch.optim.Adam(self._parameter_groups(), lr=settings.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_factor(settings.lr_schedule, step, settings.steps)
        )

    def _parameter_groups(self) -> list[dict[str, Any]]:
        """What the optimizer trains: the task's parameter groups, each may have its own learning rate."""
        return self.task.parameter_groups(self.settings.lr)

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
            "identity": self.identity,
        }

    def resume(self, path: str | os.PathLike) -> None:
        """Continue from a checkpoint: model, optimizer, schedule, step and task state."""
        state = load_checkpoint(path)
        if state.get("method") != self.method:
            raise TrainingError(f"checkpoint is from method '{state.get('method')}', not '{self.method}'", where=path)
        saved = state.get("settings", {})
        for name in ("batch_size", "image_size", "crop_size", "exclude", "seed", "lr_schedule"):
            if name in saved and saved[name] != getattr(self.settings, name):
                raise TrainingError(
                    f"checkpoint was trained with --{name.replace('_', '-')} {saved[name]}, not "
                    f"{getattr(self.settings, name)}; resume with the same settings",
                    where=path,
                )
        if "identity" in state:  # checkpoints written before it was kept resume on the settings alone
            differences = identity_differences(state["identity"], self.identity)
            if differences:
                raise TrainingError(
                    f"checkpoint is of another model: {'; '.join(differences)}; resume with what it was trained "
                    "with, or start a new run without --resume",
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
        self.task.model.to(device=self.device).to(memory_format=self.memory_format)
        self.step = int(state["step"])
        self.resumed = True
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
        if self.dist.world > 1 and self.task.ddp:
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
        if not self.resumed and self.dist.main and settings.save_checkpoints:
            # A fresh run owns its checkpoint folder: an earlier run's checkpoint and metrics would
            # otherwise be resumed, or read as this run's. (The command refuses to get here unasked.)
            self.checkpoint_path.unlink(missing_ok=True)
            self.metrics_path.unlink(missing_ok=True)
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
                    if not self.task.backward_inside:
                        total = cast(Tensor, sum(terms.values()))
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
            return self._result(None, started=started, images=images, losses=losses, interrupted=True)
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
        return self._result(output, started=started, images=images, losses=losses)

    def _result(self, output, *, started: float, images: int, losses: dict, interrupted: bool = False) -> TrainResult:
        """Save the last checkpoint, wait for every process, and say what the run did."""
        checkpoint = self.save_checkpoint()
        self.dist.barrier()
        return TrainResult(
            output=output,
            steps=self.step,
            seconds=time.perf_counter() - started,
            images=images,
            unreadable=self._unreadable(),
            final_losses=losses,
            interrupted=interrupted,
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
        with torch.no_grad():
            return self.task.sample(self.preview_photo).detach().float().clamp(0, 1).cpu()

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


def _plain(metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata as plain JSON values (a checkpoint loads with ``weights_only``, which takes nothing else)."""
    return json.loads(json.dumps(metadata, sort_keys=True, default=str))


def identity_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """How a checkpoint's model differs from the one a run would train, in words: ``styles: [...] then, [...] now``."""
    differences = []
    saved_model, current_model = _flattened(saved.get("model", {})), _flattened(current.get("model", {}))
    for key in sorted(set(saved_model) | set(current_model)):
        then, now = saved_model.get(key, "(none)"), current_model.get(key, "(none)")
        # An option added since the checkpoint was written, left empty now, is the run it was.
        if then != now and not (then == "(none)" and now in ([], None, "")):
            differences.append(f"{key} {then} then, {now} now")
    if not differences and saved.get("paintings") != current.get("paintings"):
        differences.append("the paintings are other pictures under the same names")
    return differences


def _flattened(values: dict[str, Any]) -> dict[str, Any]:
    """Nested metadata by the innermost names, which are the options' (``style_weight``), dotted where ambiguous."""
    paths: dict[tuple[str, ...], Any] = {}

    def walk(node: dict[str, Any], prefix: tuple[str, ...]) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, (*prefix, key))
            else:
                paths[(*prefix, key)] = value

    walk(values, ())
    last = [path[-1] for path in paths]
    return {(path[-1] if last.count(path[-1]) == 1 else ".".join(path)): value for path, value in paths.items()}


def painting_digests(styles: list[Tensor]) -> list[str]:
    """A short digest of each painting's pixels (8-bit, as read from the file): which paintings a model learns."""
    import hashlib

    digests = []
    for style in styles:
        pixels = (style.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().contiguous()
        digests.append(hashlib.sha256(pixels.numpy().tobytes() + str(tuple(pixels.shape)).encode()).hexdigest()[:16])
    return digests


def run_training(
    runtime: Runtime,
    task_factory: Callable[[], TrainingTask],
    request: TrainRequest,
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
    device = distributed.process_device(runtime.device)
    distributed.setup(device)
    try:
        data = PhotoFolder(
            request.content_dir,
            image_size=settings.image_size,
            crop_size=settings.crop,
            seed=settings.seed,
            files=request.content_files,
            exclude=settings.exclude,
        )
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
            precision=runtime.optimization_dtype,
            paintings=painting_digests(list(request.styles)),
        )
        if request.resume is not None:
            trainer.resume(request.resume)
        return trainer.run()
    finally:
        distributed.teardown()
