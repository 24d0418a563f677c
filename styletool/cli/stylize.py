"""`styletool stylize`: paint photos in the manner of paintings with any method."""

from __future__ import annotations

import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from styletool.cli import state
from styletool.cli.batch import Tally, expand_inputs, output_paths
from styletool.cli.catalog import method_options_class
from styletool.cli.method_help import method_options_command
from styletool.cli.output import print_json
from styletool.cli.preview_cli import HOST_HELP, PORT_HELP, PREVIEW_HELP, preview_page, tee
from styletool.cli.progress import progress_bar
from styletool.errors import StyletoolError, UsageError, describe
from styletool.framework.options import option_infos, parse_options
from styletool.framework.plugins import get_registry
from styletool.io.shipped import model_for

DEFAULT_NAME = "{stem}_{style}_{method}.{ext}"
GLOBAL_OPTIONS = {"-q", "--quiet", "--debug", "--device", "--precision", "--seed"}

HELP = """Stylize photos with a painting's style.

Examples:

  styletool stylize photo.jpg --style painting.jpg -o out.png

  styletool stylize a.jpg b.jpg --style painting.jpg --output-dir out/ --iterations 300

  styletool stylize clip.mp4 --method johnson --model starry.safetensors -o out.mp4 --temporal-smoothing 0.8

Method options (such as --iterations for gatys) are ordinary flags after the
photos; `styletool methods show METHOD` lists them.

Videos (.mp4, .mov, .mkv, .webm, .avi) are stylized frame by frame by the
feed-forward methods (johnson, cin, metastyle), keeping the frame rate, the
duration and the sound; this needs the video extra (pip install
'styletool[video]').
"""


def split_method_words(words: list[str], options_cls: type | None) -> tuple[list[str], list[str]]:
    """Separate photo paths from method option words (a flag and, if it takes one, its value)."""
    takes_value = {}
    if options_cls is not None:
        takes_value = {info.flag: not info.is_flag for info in option_infos(options_cls)}
    inputs: list[str] = []
    option_words: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-") and len(word) > 1:
            if word.split("=")[0] in GLOBAL_OPTIONS:
                raise UsageError(f"{word} is a global option: put it before the command (styletool {word} stylize ...)")
            option_words.append(word)
            if "=" not in word and takes_value.get(word, False) and i + 1 < len(words):
                option_words.append(words[i + 1])
                i += 1
        else:
            inputs.append(word)
        i += 1
    return inputs, option_words


def install(app: typer.Typer) -> None:
    @app.command(
        "stylize",
        help=HELP,
        cls=method_options_command("stylize", default_method="gatys"),
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def stylize(
        ctx: typer.Context,
        words: list[str] | None = typer.Argument(
            None,
            metavar="PHOTO... [METHOD OPTIONS]",
            help="Photos, folders, glob patterns, or - to read paths from stdin.",
        ),
        style: list[Path] = typer.Option(
            [], "--style", "-s", help="A painting whose style to use; repeat for several."
        ),
        output: Path | None = typer.Option(None, "--output", "-o", help="Output file (one input)."),
        output_dir: Path | None = typer.Option(
            None, "--output-dir", help="Output folder (any number of inputs); created if missing."
        ),
        name: str = typer.Option(
            DEFAULT_NAME, "--name", help="File name template in --output-dir: {stem}, {style}, {method}, {ext}."
        ),
        fmt: str | None = typer.Option(
            None, "--format", help="png, jpg, webp or tiff (default: from the file name, else png)."
        ),
        method: str = typer.Option("gatys", "--method", "-m", help="Stylization method (see `styletool methods`)."),
        bit_depth: int = typer.Option(8, "--bit-depth", help="8, or 16 for PNG and TIFF outputs."),
        size: int | None = typer.Option(
            None, "--size", min=1, help="Longest side of the output in pixels (default: the method's)."
        ),
        model: list[Path] = typer.Option(
            [],
            "--model",
            help="Model file or shipped model name (`styletool models`), for methods that use one; repeat to blend several (metastyle --mix). Default: the method's shipped model, if it has one.",
        ),
        recursive: bool = typer.Option(
            False,
            "--recursive",
            "-r",
            help="Look for photos in subfolders of folder inputs (and let ** in patterns cross folders).",
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace outputs that already exist."),
        skip_existing: bool = typer.Option(
            False, "--skip-existing", help="Leave inputs whose output already exists (resumable batch runs)."
        ),
        fail_fast: bool = typer.Option(
            False, "--fail-fast", help="Stop at the first input that fails (default: report it and go on)."
        ),
        batch_size: int = typer.Option(
            4, "--batch-size", min=1, help="Same-size photos run through a feed-forward network together."
        ),
        json: bool = typer.Option(False, "--json", help="Print one JSON object per input on stdout."),
        frames: str | None = typer.Option(
            None,
            "--frames",
            metavar="A:B",
            help="Videos: stylize only frames A (from 0) to B, not included, e.g. 0:48 for a preview.",
        ),
        temporal_smoothing: float = typer.Option(
            0.0,
            "--temporal-smoothing",
            min=0.0,
            max=0.99,
            help="Videos, against flicker: where the picture stands still, how much of the previous output frame each frame keeps (0 off, 0.8 steady; docs/video.md).",
        ),
        preview: bool = typer.Option(False, "--preview", help=PREVIEW_HELP),
        port: int = typer.Option(0, "--port", help=PORT_HELP),
        host: str = typer.Option("127.0.0.1", "--host", help=HOST_HELP),
    ) -> None:
        registry = get_registry()
        spec = registry.method(method)
        if "stylize" not in spec.capabilities:
            can = ", ".join(registry.methods_that_can("stylize")) or "none installed"
            raise UsageError(f"method '{method}' cannot stylize; methods that can: {can}")
        options_cls = method_options_class(spec)
        raw_inputs, option_words = split_method_words(list(words or []), options_cls)
        if options_cls is None:
            if option_words:
                raise UsageError(f"no such option {option_words[0]} (method '{method}' has no options)")
            options = None
        else:
            options = parse_options(options_cls, option_words, method=method)
        if overwrite and skip_existing:
            raise UsageError("give --overwrite or --skip-existing, not both")
        model = model_for(method, list(model))
        if "-" in raw_inputs and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise UsageError(
                "reading photo paths from stdin (-) does not work under torchrun; pass files, folders or patterns"
            )
        inputs = expand_inputs(raw_inputs, recursive=recursive)
        video = _video_settings(
            inputs,
            method=method,
            spec=spec,
            registry=registry,
            frames=frames,
            smoothing=temporal_smoothing,
            options=options,
        )
        _run(
            inputs,
            video=video,
            preview=(preview, host, port),
            style=style,
            output=output,
            output_dir=output_dir,
            name=name,
            fmt=fmt,
            method=method,
            size=size,
            bit_depth=bit_depth,
            model=model,
            json=json,
            options=options,
            existing="overwrite" if overwrite else "skip" if skip_existing else "refuse",
            fail_fast=fail_fast,
            batch_size=batch_size,
            global_options=state.global_options(ctx),
        )


@dataclass
class _VideoSettings:
    """--frames and --temporal-smoothing, checked."""

    frames: Any = None
    smoothing: float = 0.0


def _video_settings(inputs, *, method, spec, registry, frames, smoothing, options) -> _VideoSettings:
    """Check, before any model loads, that the method and options can stylize the videos among ``inputs``."""
    from styletool.video import FrameRange, is_video, require_av

    if not any(is_video(path) for path in inputs):
        if frames is not None or smoothing:
            raise UsageError("--frames and --temporal-smoothing apply to videos, and no input is a video")
        return _VideoSettings()
    if "video" not in spec.capabilities:
        can = ", ".join(registry.methods_that_can("video")) or "none installed"
        # Gatys, for one, optimizes every picture for minutes: hours for a few seconds of video.
        raise UsageError(f"method '{method}' cannot stylize video at a useful speed; methods that can: {can}")
    require_av()
    return _VideoSettings(frames=FrameRange.parse(frames), smoothing=smoothing)


@dataclass
class _Job:
    """One input on its way through the run."""

    path: Path
    out: Path
    started: float = 0.0
    image: Any = None
    video: bool = False


def _run(
    inputs,
    *,
    style,
    output,
    output_dir,
    name,
    fmt,
    method,
    size,
    bit_depth,
    model,
    json,
    options,
    existing="refuse",
    fail_fast=False,
    batch_size=1,
    video=None,
    preview=(False, "127.0.0.1", 0),
    global_options=None,
) -> None:
    # Imported here so that `styletool --help` and the listing commands never import torch.
    from styletool.cli.shard import GATHER_TIMEOUT
    from styletool.training import Distributed, resolve_training_device

    if bit_depth not in (8, 16):
        raise UsageError(f"--bit-depth must be 8 or 16, not {bit_depth}")
    global_options = global_options or state.GlobalOptions()
    runtime = global_options.runtime()
    # Under torchrun every process runs this same command on its share of the inputs.
    dist = Distributed.from_environment()
    runtime.device = resolve_training_device(runtime.device, dist)
    quiet = global_options.quiet or not dist.main  # one progress display, rank 0's
    dist.setup(runtime.device, timeout=GATHER_TIMEOUT)  # no-op in a single process
    watch, host, port = preview
    try:
        with preview_page(watch, title=f"stylize {method}", host=host, port=port, main=dist.main) as page:
            _run_share(
                inputs,
                dist,
                runtime,
                style=style,
                output=output,
                output_dir=output_dir,
                name=name,
                fmt=fmt,
                method=method,
                size=size,
                bit_depth=bit_depth,
                model=model,
                json=json,
                options=options,
                existing=existing,
                fail_fast=fail_fast,
                batch_size=batch_size,
                video=video or _VideoSettings(),
                page=page,
                quiet=quiet,
                debug=global_options.debug,
            )
    finally:
        dist.teardown()


def _run_share(
    inputs,
    dist,
    runtime,
    *,
    style,
    output,
    output_dir,
    name,
    fmt,
    method,
    size,
    bit_depth,
    model,
    json,
    options,
    existing,
    fail_fast,
    batch_size,
    video,
    page=None,
    quiet=False,
    debug=False,
) -> None:
    """Stylize this process's share of ``inputs`` (all of them without torchrun)."""
    from styletool.cli.shard import my_share
    from styletool.framework.methods import StylizeRequest
    from styletool.io.images import check_output_path, load_image, output_format
    from styletool.pipeline import load_photo
    from styletool.video import check_video_output, is_video

    stylizer = runtime.method(method)
    if stylizer.needs_style and not style:
        raise UsageError(f"method '{method}' needs at least one --style PAINTING")
    style_label = "+".join(p.stem for p in style) or ("+".join(m.stem for m in model) if model else "none")
    outputs = output_paths(
        inputs, output=output, output_dir=output_dir, name=name, fmt=fmt, method=method, style_label=style_label
    )
    if output_dir is not None:
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StyletoolError(f"cannot create output folder: {describe(exc)}", where=output_dir) from None
    # Check every destination before any long work starts.
    for path, out in zip(inputs, outputs):
        if is_video(path):
            check_video_output(out, source=path)
            continue
        check_output_path(out, inputs=inputs, format=fmt)
        if bit_depth == 16 and output_format(out, fmt) not in ("PNG", "TIFF"):
            raise UsageError(f"--bit-depth 16 needs a PNG or TIFF output, not {output_format(out, fmt)}", where=out)

    report = _Reporter(method=method, json=json, settings=_settings(options, style, model), dist=dist, debug=debug)
    jobs = []
    for path, out in my_share(list(zip(inputs, outputs)), dist):
        if out.exists() and existing != "overwrite":
            if existing == "skip":
                report.skipped(path, out)
                continue
            if len(inputs) == 1:
                raise StyletoolError(
                    "output already exists; pass --overwrite to replace it (or --skip-existing)", where=out
                )
            report.failed(
                _Job(path, out, time.perf_counter()),
                StyletoolError("output already exists; pass --overwrite to replace it (or --skip-existing)", where=out),
            )
            if fail_fast:
                report.finish(len(inputs))
            continue
        jobs.append(_Job(path, out, video=is_video(path)))
    if not jobs:
        report.finish(len(inputs))
        return

    styles = [runtime.to_device(load_image(path).pixels[None]) for path in style]
    request = StylizeRequest(
        options=options,
        styles=styles,
        style_names=[p.stem for p in style],
        model=model[0] if model else None,
        models=list(model),
        # every process sees the same photos (metastyle adapts on them, identically everywhere)
        inputs=[job.path for job in jobs] if dist.world == 1 else list(inputs),
        preview_every=1 if page is not None else 0,
    )
    with progress_bar("prepare", quiet=quiet) as bar:
        prepared = stylizer.prepare(request, progress=bar)
    batch = batch_size if stylizer.can_batch(request, prepared) else 1
    if batch == 1 and any(job.video for job in jobs):
        raise UsageError(
            f"with these options method '{method}' makes one picture from several (a grid or a strip), "
            "not one frame per frame: it cannot stylize video"
        )

    def load(job: _Job) -> _Job:
        job.started = time.perf_counter()
        if not job.video:  # videos are decoded as they are stylized
            job.image = load_photo(job.path, size=size, default_size=stylizer.default_size)
        return job

    group: list[_Job] = []

    def flush() -> None:
        """Stylize the photos waiting in the group (same size, up to --batch-size) and save them."""
        if group:
            waiting = list(group)
            group.clear()
            _stylize_group(
                waiting,
                stylizer,
                request,
                prepared,
                runtime,
                report,
                fmt,
                bit_depth,
                fail_fast,
                len(inputs),
                page,
                quiet=quiet,
            )

    # Photos decode in a background thread while the previous ones are stylized.
    for job, error in _prefetched(load, jobs, ahead=max(2, batch)):
        if error is not None:
            flush()  # results are reported in input order
            report.failed(job, error)
            if fail_fast:
                report.finish(len(inputs))
            continue
        if group and (job.video or len(group) == batch or job.image.pixels.shape != group[0].image.pixels.shape):
            flush()
        if job.video:
            _stylize_video(
                job,
                stylizer,
                request,
                prepared,
                runtime,
                report,
                video=video,
                size=size,
                batch=batch,
                fail_fast=fail_fast,
                total=len(inputs),
                quiet=quiet,
            )
            continue
        group.append(job)
    flush()
    report.finish(len(inputs))


def _stylize_group(
    group, stylizer, request, prepared, runtime, report, fmt, bit_depth, fail_fast, total, page=None, *, quiet=False
) -> None:
    """Stylize same-size photos in one call (one photo for methods that take one), then save each."""
    import torch

    from styletool.io.images import save_image

    label = group[0].path.name if len(group) == 1 else f"{group[0].path.name} (+{len(group) - 1})"
    snapshots = Snapshots(group[0].out, fmt=fmt)
    try:
        runtime.reseed()  # each output depends only on its own input and the seed
        content = runtime.to_device(torch.cat([job.image.pixels[None] for job in group]))
        with progress_bar(label, quiet=quiet) as bar:
            results = stylizer.stylize(
                content, request, prepared, progress=tee(snapshots.wrap(bar), page.update if page is not None else None)
            )
    except StyletoolError as exc:
        for job in group:
            report.failed(job, exc)
        if fail_fast:
            report.finish(total)
        return
    finally:
        snapshots.remove()
    for index, job in enumerate(group):
        result = results[index : index + 1]
        # A method may return another size (a contact sheet); the photo's alpha then does not apply.
        alpha = job.image.alpha if result.shape[-2:] == job.image.pixels.shape[-2:] else None
        try:
            save_image(result, job.out, alpha=alpha, format=fmt, bits=bit_depth)
        except StyletoolError as exc:
            report.failed(job, exc)
            if fail_fast:
                report.finish(total)
            continue
        report.done(job, losses=snapshots.last_losses, share=1 / len(group))
        if page is not None:
            page.show(result, stage=f"done: {job.out.name}")


def _stylize_video(
    job, stylizer, request, prepared, runtime, report, *, video, size, batch, fail_fast, total, quiet=False
) -> None:
    """Stylize one video, ``batch`` frames at a time, and report it like a photo (with its frame count and flicker)."""
    from styletool.video import StillRegionBlend, stylize_video

    def run(frames):
        return stylizer.stylize(frames, request, prepared)

    try:
        steady = StillRegionBlend(video.smoothing) if video.smoothing else None
        with progress_bar(job.path.name, quiet=quiet) as bar:
            result = stylize_video(
                job.path,
                job.out,
                run,
                device=runtime.device,
                batch_size=batch,
                frames=video.frames,
                size=size,
                progress=bar,
                steady=steady,
            )
    except StyletoolError as exc:
        report.failed(job, exc)
        if fail_fast:
            report.finish(total)
        return
    flicker = None if result.flicker is None else round(result.flicker, 4)
    report.done(job, losses={}, share=1, extra={"frames": result.frames, "flicker": flicker})


def _prefetched(load, jobs, *, ahead):
    """Yield ``(job, None)`` for each job loaded by ``load`` in a worker thread, or ``(job, error)``."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="styletool-load") as pool:
        pending = deque()
        queue = iter(jobs)
        for job in queue:
            pending.append((job, pool.submit(load, job)))
            if len(pending) >= ahead:
                break
        while pending:
            job, future = pending.popleft()
            following = next(queue, None)
            if following is not None:
                pending.append((following, pool.submit(load, following)))
            try:
                yield future.result(), None
            except StyletoolError as error:
                yield job, error


def _settings(options, style, model) -> dict:
    """The run's settings for --json records."""
    import dataclasses

    values = dataclasses.asdict(options) if dataclasses.is_dataclass(options) else {}
    return {**values, "styles": [str(p) for p in style], "models": [str(m) for m in model]}


class _Reporter:
    """Per-input reports (stderr for failures, stdout JSON lines with --json) and the run's summary and exit."""

    def __init__(self, *, method: str, json: bool, settings: dict, dist=None, debug: bool = False):
        from styletool.training import Distributed

        self.method, self.json, self.settings, self.debug = method, json, settings, debug
        self.dist = dist or Distributed()
        self.tally = Tally()

    def _record(self, path, out, status, *, error=None, seconds=None, losses=None, extra=None) -> None:
        if self.json:
            print_json(
                {
                    "input": str(path),
                    "output": str(out) if out is not None else None,
                    "status": status,
                    "error": error,
                    "seconds": seconds,
                    "method": self.method,
                    "settings": self.settings,
                    "losses": losses or {},
                    **(extra or {}),
                }
            )

    def done(self, job: _Job, *, losses, share: float, extra: dict | None = None) -> None:
        self.tally.done += 1
        self._record(
            job.path,
            job.out,
            "ok",
            seconds=round((time.perf_counter() - job.started) * share, 3),
            losses=losses,
            extra=extra,
        )

    def skipped(self, path: Path, out: Path) -> None:
        self.tally.skipped += 1
        self._record(path, out, "skipped", error="output exists")

    def failed(self, job: _Job, exc: StyletoolError) -> None:
        if exc.where is None:
            exc.where = str(job.path)
        if self.debug:
            traceback.print_exception(exc, file=sys.stderr)
        typer.echo(f"error: {exc}", err=True)
        self.tally.failed.append(str(job.path))
        self._record(job.path, None, "failed", error=str(exc), seconds=round(time.perf_counter() - job.started, 3))

    def finish(self, total: int) -> None:
        """Print the summary when it says something, and exit 1 if any input failed (in any process)."""
        from styletool.cli.shard import gather_tally

        tally = gather_tally(self.tally, self.dist)
        if self.dist.main and (total > 1 or tally.skipped):
            typer.echo(tally.summary(), err=True)
        if tally.failed:
            raise typer.Exit(1)


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

    def wrap(self, report):
        def handle(event):
            self.last_losses = dict(event.losses)
            if event.image is not None:
                from styletool.io.images import save_image

                save_image(event.image, self.path, format=self.fmt)
            report(event)

        return handle

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
