"""A batch job: many photos and videos stylized by one method in one run, as `styletool stylize` does it.

    from pathlib import Path
    from styletool.pipeline import StylizeJob, expand_inputs, output_paths, run_job

    photos = expand_inputs(["holiday/"])
    job = StylizeJob(
        inputs=photos,
        outputs=output_paths(photos, output_dir=Path("out"), method="johnson", style_label="starry"),
        method="johnson",
        models=[Path("starry.safetensors")],
        create_folders=True,
    )
    tally = run_job(job)  # a Tally: done, skipped, failed

The run checks every destination before any long work, prepares the
method once (a :class:`styletool.Stylizer`: paintings read, models and
options resolved, the method's per-run work done), then goes through the
inputs in order: photos decode in a background thread while the
previous ones are stylized, same-size photos go through the method together
(up to ``batch_size``, when the method can batch), videos frame by frame.
Each output is written atomically; a failed input is reported and the run
goes on (unless ``fail_fast``). Under torchrun every process takes its share
of the inputs (:mod:`styletool.pipeline.shards`).

What happens is told to a :class:`JobListener`: progress of each input, and
an :class:`InputResult` per input. The command line's listener draws bars
and prints errors and JSON lines; the default listener stays silent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from styletool.errors import StyletoolError, UsageError, describe
from styletool.events import ProgressCallback, ignore_progress
from styletool.pipeline.shards import Tally
from styletool.pipeline.stylizer import Stylizer
from styletool.video import (
    FrameRange,
    StillRegionBlend,
    check_video_output,
    is_video,
    require_av,
    stylize_video,
)

if TYPE_CHECKING:
    from torch import Tensor

    from styletool.framework.distributed import Distributed
    from styletool.framework.registry import Registry
    from styletool.framework.runtime import Runtime

EXISTING = ("refuse", "skip", "overwrite")


@dataclass
class StylizeJob:
    """What to stylize, how, and where the results go: everything `styletool stylize` is asked, checked.

    ``inputs`` and ``outputs`` pair up (see :func:`output_paths`). ``models``
    are model files or shipped models' names (none: the method's shipped
    model, if it has one). ``options``
    are the method's options: its options dataclass, or a mapping of their
    Python names (``{"iterations": 300}``), checked as the command line
    checks them. ``existing``
    says what to do with an output that already exists: ``refuse`` (the input
    fails), ``skip`` it, or ``overwrite`` it. ``frames`` and
    ``temporal_smoothing`` apply to videos (docs/video.md). ``skipped`` are
    files found beside the inputs that styletool cannot read, reported as
    skipped (``InputResult.error`` says why). With
    ``create_folders`` missing output folders are made (``--output-dir``);
    otherwise an output in a missing folder is refused before the run starts.
    """

    inputs: list[Path]
    outputs: list[Path]
    method: str = "gatys"
    styles: list[Path] = field(default_factory=list)
    models: list[Path] = field(default_factory=list)
    options: Any = None
    size: int | None = None
    format: str | None = None
    bit_depth: int = 8
    existing: str = "refuse"
    create_folders: bool = False
    fail_fast: bool = False
    batch_size: int = 4
    frames: FrameRange | None = None
    temporal_smoothing: float = 0.0
    # --preview: ask the method for a picture every this many steps (0: nobody is watching).
    preview_every: int = 0
    # Files of the input folders that are not images styletool reads (expand_inputs' ``skipped``):
    # each is reported as skipped, with the reason, and counted.
    skipped: list[Path] = field(default_factory=list)

    def check(self, registry: Registry) -> None:
        """Refuse, before any model loads, what this job cannot do."""
        if len(self.inputs) != len(self.outputs):
            raise UsageError(f"{len(self.inputs)} inputs but {len(self.outputs)} outputs")
        if self.bit_depth not in (8, 16):
            raise UsageError(f"--bit-depth must be 8 or 16, not {self.bit_depth}")
        if self.existing not in EXISTING:
            raise UsageError(f"existing outputs: '{self.existing}' is not one of {', '.join(EXISTING)}")
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be at least 1, not {self.batch_size}")
        spec = registry.method_that_can(self.method, "stylize")
        if not any(is_video(path) for path in self.inputs):
            if self.frames is not None or self.temporal_smoothing:
                raise UsageError("--frames and --temporal-smoothing apply to videos, and no input is a video")
            return
        if "video" not in spec.capabilities:
            can = ", ".join(registry.methods_that_can("video")) or "none installed"
            # Gatys, for one, optimizes every picture for minutes: hours for a few seconds of video.
            raise UsageError(f"method '{self.method}' cannot stylize video at a useful speed; methods that can: {can}")
        if not 0 <= self.temporal_smoothing < 1:
            raise UsageError(f"--temporal-smoothing must be at least 0 and below 1, not {self.temporal_smoothing}")
        require_av()


@dataclass
class InputResult:
    """What became of one input: ``status`` is ``ok``, ``skipped`` or ``failed``.

    ``losses`` are the method's last reported loss values; ``extra`` holds
    what a video adds (``frames``, ``flicker``); ``picture`` is the saved
    result (``[1, 3, H, W]``) of a photo that is done.
    """

    input: Path
    output: Path | None
    status: str
    error: StyletoolError | None = None
    seconds: float | None = None
    losses: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    picture: Tensor | None = None


class JobListener:
    """Hears what a job does. Every method does nothing here; a caller overrides what it wants."""

    def progress(self, label: str) -> AbstractContextManager[ProgressCallback]:
        """A progress callback for one stage of the run (``prepare``, then each input), open while it lasts."""
        return nullcontext(ignore_progress)

    def finished(self, result: InputResult) -> None:
        """One input is done, skipped or failed (in input order, within each process)."""


def run_job(
    job: StylizeJob,
    *,
    runtime: Runtime | None = None,
    listener: JobListener | None = None,
    dist: Distributed | None = None,
) -> Tally:
    """Run ``job`` and return the whole run's tally (across processes under torchrun).

    Errors that concern the whole run (an unknown method, a destination that
    cannot be written, a painting that cannot be read) are raised before any
    input is stylized; errors of one input are reported to ``listener`` and
    counted. With ``fail_fast`` the run stops at the first failed input.
    """
    from styletool.framework.distributed import Distributed
    from styletool.framework.runtime import Runtime
    from styletool.pipeline.shards import GATHER_TIMEOUT, gather_tally

    runtime = runtime or Runtime()
    job.check(runtime.registry)
    dist = dist or Distributed.from_environment()
    runtime.device = dist.process_device(runtime.device)
    dist.setup(runtime.device, timeout=GATHER_TIMEOUT)  # no-op in a single process
    try:
        run = _Run(job, runtime, listener or JobListener(), dist)
        try:
            run.go()
        except _Stopped:
            pass
        return gather_tally(run.tally, dist)
    finally:
        dist.teardown()


class _Stopped(Exception):
    """--fail-fast: an input failed, stop the run."""


@dataclass
class _Input:
    """One input on its way through the run."""

    path: Path
    out: Path
    started: float = 0.0
    image: Any = None
    video: bool = False


class _Run:
    """One process's share of a job."""

    def __init__(self, job: StylizeJob, runtime: Runtime, listener: JobListener, dist: Distributed):
        self.job, self.runtime, self.listener, self.dist = job, runtime, listener, dist
        self.tally = Tally()

    def go(self) -> None:
        from styletool.pipeline.shards import my_share

        job = self.job
        self._check_destinations()
        if self.dist.main:  # every process found them; one reports them
            self._unreadable(job.skipped)
        todo = []
        for path, out in my_share(list(zip(job.inputs, job.outputs)), self.dist):
            if out.exists() and job.existing != "overwrite":
                if job.existing == "skip":
                    self.tally.skipped += 1
                    self.listener.finished(InputResult(path, out, "skipped"))
                    continue
                exists = StyletoolError(
                    "output already exists; pass --overwrite to replace it (or --skip-existing)", where=out
                )
                if len(job.inputs) == 1:
                    raise exists
                self._fail(_Input(path, out, time.perf_counter()), exists)
                continue
            todo.append(_Input(path, out, video=is_video(path)))
        if not todo:
            return

        with self.listener.progress("prepare") as progress:
            stylizer = Stylizer.load(
                job.method,
                styles=job.styles,
                models=job.models,
                options=job.options,
                runtime=self.runtime,
                # every process sees the same photos (metastyle adapts on them, identically everywhere)
                photos=[item.path for item in todo] if self.dist.world == 1 else job.inputs,
                preview_every=job.preview_every,
                progress=progress,
            )
        if stylizer.variants is not None and any(item.video for item in todo):
            stylizer.video()  # refuses, saying why
        batch = job.batch_size if stylizer.can_batch else 1
        group: list[_Input] = []
        # Photos decode in a background thread while the previous ones are stylized.
        for item, error in _prefetched(lambda item: self._load(item, stylizer), todo, ahead=max(2, batch)):
            if error is not None:
                self._photos(group, stylizer)  # results are reported in input order
                self._fail(item, error)
                continue
            if group and (item.video or len(group) == batch or item.image.pixels.shape != group[0].image.pixels.shape):
                self._photos(group, stylizer)
            if item.video:
                self._video(item, stylizer, batch)
            else:
                group.append(item)
        self._photos(group, stylizer)

    def _unreadable(self, paths: list[Path]) -> None:
        from styletool.pipeline.files import unreadable_reason

        for path in paths:
            self.tally.skipped += 1
            self.tally.unreadable.append(str(path))
            reason = StyletoolError(unreadable_reason(path), where=path)
            self.listener.finished(InputResult(path, None, "skipped", error=reason))

    def _check_destinations(self) -> None:
        """Every destination checked before any long work starts."""
        from styletool.io.images import check_output_path, output_format

        job = self.job
        for folder in sorted({out.parent for out in job.outputs}) if job.create_folders else []:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StyletoolError(f"cannot create output folder: {describe(exc)}", where=folder) from None
        for path, out in zip(job.inputs, job.outputs):
            if is_video(path):
                check_video_output(out, source=path)
                continue
            check_output_path(out, inputs=job.inputs, format=job.format)
            kind = output_format(out, job.format)
            if job.bit_depth == 16 and kind not in ("PNG", "TIFF"):
                raise UsageError(f"--bit-depth 16 needs a PNG or TIFF output, not {kind}", where=out)

    def _load(self, item: _Input, stylizer: Stylizer) -> _Input:
        item.started = time.perf_counter()
        if not item.video:  # videos are decoded as they are stylized
            item.image = stylizer.read_photo(item.path, size=self.job.size)
        return item

    def _photos(self, group: list[_Input], stylizer: Stylizer) -> None:
        """Stylize the same-size photos waiting in ``group`` in one call, save each, and empty the group."""
        import torch

        from styletool.io.images import save_image
        from styletool.pipeline.results import MethodError

        if not group:
            return
        waiting = list(group)
        group.clear()
        label = waiting[0].path.name if len(waiting) == 1 else f"{waiting[0].path.name} (+{len(waiting) - 1})"
        snapshots = Snapshots(waiting[0].out, fmt=self.job.format)
        try:
            photos = torch.cat([item.image.pixels[None] for item in waiting])
            with self.listener.progress(label) as progress:
                # Nothing is written that is not a picture: a NaN, a wrong shape or a 0-255 result is the method's error.
                results = stylizer.stylize(photos, progress=snapshots.wrap(progress))
        except StyletoolError as exc:
            if isinstance(exc, MethodError) and len(waiting) > 1:
                # One photo of the batch may be the cause: each on its own says which, and the others get done.
                for item in waiting:
                    self._photos([item], stylizer)
                return
            for item in waiting:
                self._fail(item, exc)
            return
        finally:
            snapshots.remove()
        for index, item in enumerate(waiting):
            result = results[index : index + 1]
            try:
                # A sheet of variants is not the photo: the photo's transparency does not apply to it.
                save_image(
                    result,
                    item.out,
                    alpha=_alpha_for(item.image.alpha, result) if stylizer.variants is None else None,
                    format=self.job.format,
                    bits=self.job.bit_depth,
                )
            except StyletoolError as exc:
                self._fail(item, exc)
                continue
            except Exception as exc:  # an encoder's surprise is still this one output's failure
                failure = StyletoolError(f"cannot write: {describe(exc, with_type=True)}", where=item.out)
                failure.__cause__ = exc
                self._fail(item, failure)
                continue
            seconds = (time.perf_counter() - item.started) / len(waiting)
            self._done(item, seconds, losses=snapshots.last_losses, picture=result)

    def _video(self, item: _Input, stylizer: Stylizer, batch: int) -> None:
        """Stylize one video, ``batch`` frames at a time, with the method's per-video state."""
        job = self.job
        try:
            frames = stylizer.video()
            steady = StillRegionBlend(job.temporal_smoothing) if job.temporal_smoothing else None
            with self.listener.progress(item.path.name) as progress:
                result = stylize_video(
                    item.path,
                    item.out,
                    frames,
                    device=self.runtime.device,
                    batch_size=batch,
                    frames=job.frames or FrameRange(),
                    size=job.size,
                    progress=progress,
                    steady=steady,
                )
        except StyletoolError as exc:
            self._fail(item, exc)
            return
        except Exception as exc:  # a decoder's or encoder's surprise is still this one video's failure
            failure = StyletoolError(f"cannot stylize this video: {describe(exc, with_type=True)}")
            failure.__cause__ = exc
            self._fail(item, failure)
            return
        flicker = None if result.flicker is None else round(result.flicker, 4)
        self._done(item, time.perf_counter() - item.started, extra={"frames": result.frames, "flicker": flicker})

    def _done(self, item: _Input, seconds: float, *, losses=None, extra=None, picture=None) -> None:
        self.tally.done += 1
        self.listener.finished(
            InputResult(
                item.path,
                item.out,
                "ok",
                seconds=round(seconds, 3),
                losses=dict(losses or {}),
                extra=extra or {},
                picture=picture,
            )
        )

    def _fail(self, item: _Input, exc: StyletoolError) -> None:
        if exc.where is None:
            exc.where = str(item.path)
        self.tally.failed.append(str(item.path))
        seconds = round(time.perf_counter() - item.started, 3)
        self.listener.finished(InputResult(item.path, None, "failed", error=exc, seconds=seconds))
        if self.job.fail_fast:
            raise _Stopped


def _alpha_for(alpha: Tensor | None, picture: Tensor) -> Tensor | None:
    """The photo's transparency at the picture's size (a method may return a smaller picture: gatys --auto-fit)."""
    if alpha is None or alpha.shape[-2:] == picture.shape[-2:]:
        return alpha
    import torch.nn.functional as F

    return F.interpolate(alpha[None], size=picture.shape[-2:], mode="bilinear", antialias=True)[0].clamp(0, 1)


def _prefetched(load, items, *, ahead) -> Iterator[tuple[Any, StyletoolError | None]]:
    """Yield ``(item, None)`` for each item loaded by ``load`` in a worker thread, or ``(item, error)``."""
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="styletool-load") as pool:
        pending: deque[tuple[Any, Future]] = deque()
        queue = iter(items)
        for item in queue:
            pending.append((item, pool.submit(load, item)))
            if len(pending) >= ahead:
                break
        while pending:
            item, future = pending.popleft()
            following = next(queue, None)
            if following is not None:
                pending.append((following, pool.submit(load, following)))
            try:
                yield future.result(), None
            except StyletoolError as error:
                yield item, error
            except Exception as error:  # a reader's bug still belongs to this one file, not to the whole run
                failure = StyletoolError(
                    f"cannot read: {describe(error, with_type=True)}", where=getattr(item, "path", None)
                )
                failure.__cause__ = error
                yield item, failure


class Snapshots:
    """Pass progress on, keep the last losses, and save intermediate images.

    A method attaches the current image to some progress events (gatys:
    --save-every N). It is written atomically to ``NAME.progress.EXT`` beside
    the output, so a viewer can watch it, and removed when the input is done:
    only the final output remains.
    """

    def __init__(self, out: Path, *, fmt: str | None):
        self.path = out.with_name(f"{out.stem}.progress{out.suffix}")
        self.fmt = fmt
        self.last_losses: dict[str, float] = {}

    def wrap(self, report: ProgressCallback) -> ProgressCallback:
        def handle(event):
            self.last_losses = dict(event.losses)
            if event.image is not None:
                from styletool.io.images import save_image

                save_image(event.image, self.path, format=self.fmt)
            report(event)

        return handle

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
