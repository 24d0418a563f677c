"""`styletool stylize`: paint photos in the manner of paintings with any method."""

from __future__ import annotations

import os
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path

import typer

from styletool.cli import state
from styletool.cli.method_options import method_command, method_options
from styletool.cli.output import print_json
from styletool.cli.preview_cli import HOST_HELP, PORT_HELP, PREVIEW_HELP, preview_page, tee
from styletool.cli.progress import progress_bar
from styletool.errors import UsageError
from styletool.framework.plugins import get_registry
from styletool.io.shipped import model_for
from styletool.pipeline import DEFAULT_NAME, InputResult, JobListener, StylizeJob, expand_inputs, output_paths, run_job
from styletool.pipeline.files import style_label

HELP = """Stylize photos with a painting's style.

Examples:

  styletool stylize photo.jpg --style painting.jpg -o out.png

  styletool stylize a.jpg b.jpg --style painting.jpg --output-dir out/ --iterations 300

  styletool stylize clip.mp4 --method johnson --model starry.safetensors -o out.mp4 --temporal-smoothing 0.8

Method options (such as --iterations for gatys) are ordinary flags, listed
below for --method's method (`styletool stylize --method cin --help`).

Videos (.mp4, .mov, .mkv, .webm, .avi) are stylized frame by frame by the
feed-forward methods (johnson, cin, metastyle), keeping the frame rate, the
duration and the sound; this needs the video extra (pip install
'styletool[video]').
"""


def install(app: typer.Typer) -> None:
    @app.command(
        "stylize",
        help=HELP,
        cls=method_command("stylize", default_method="gatys"),
    )
    def stylize(
        ctx: typer.Context,
        words: list[str] | None = typer.Argument(
            None, metavar="PHOTO...", help="Photos, folders, glob patterns, or - to read paths from stdin."
        ),
        style: list[Path] = typer.Option(
            [], "--style", "-s", help="A painting whose style to use; repeat for several."
        ),
        output: Path | None = typer.Option(None, "--output", "-o", help="Output file (one input)."),
        output_dir: Path | None = typer.Option(
            None, "--output-dir", help="Output folder (any number of inputs); created if missing."
        ),
        name: str = typer.Option(
            DEFAULT_NAME,
            "--name",
            help="File name template in --output-dir: {stem}, {style} (the paintings or model, and the style, blend or strength chosen), {method}, {ext}, and {folder} (the input's folder below the inputs' shared one: '{folder}/{stem}_{style}_{method}.{ext}' mirrors -r's input tree).",
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
        registry.method_that_can(method, "stylize")
        options = method_options(ctx)
        raw_inputs = list(words or [])
        if overwrite and skip_existing:
            raise UsageError("give --overwrite or --skip-existing, not both")
        model = model_for(method, list(model))
        if "-" in raw_inputs and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise UsageError(
                "reading photo paths from stdin (-) does not work under torchrun; pass files, folders or patterns"
            )
        inputs = expand_inputs(raw_inputs, recursive=recursive)
        job = StylizeJob(
            inputs=inputs,
            outputs=output_paths(
                inputs,
                output=output,
                output_dir=output_dir,
                name=name,
                fmt=fmt,
                method=method,
                style_label=style_label(list(style), model),
                options=options,
            ),
            method=method,
            styles=list(style),
            models=model,
            options=options,
            size=size,
            format=fmt,
            bit_depth=bit_depth,
            existing="overwrite" if overwrite else "skip" if skip_existing else "refuse",
            create_folders=output_dir is not None,
            fail_fast=fail_fast,
            batch_size=batch_size,
            frames=_frame_range(frames),
            temporal_smoothing=temporal_smoothing,
            skipped=list(inputs.skipped),
        )
        job.check(registry)  # before torch loads: a wrong command line fails at once
        _run(job, json=json, preview=(preview, host, port), global_options=state.global_options(ctx))


def _frame_range(text: str | None):
    if text is None:
        return None
    from styletool.video import FrameRange

    return FrameRange.parse(text)


def _run(job: StylizeJob, *, json: bool, preview: tuple[bool, str, int], global_options: state.GlobalOptions) -> None:
    """Run the job with progress bars, error lines, JSON records and the preview page; exit 1 if an input failed."""
    from styletool.framework.distributed import Distributed

    runtime = global_options.runtime()
    dist = Distributed.from_environment()  # under torchrun every process runs this same command on its share
    watch, host, port = preview
    with preview_page(watch, title=f"stylize {job.method}", host=host, port=port, main=dist.main) as page:
        job.preview_every = 1 if page is not None else 0
        listener = _Reporter(
            job,
            json=json,
            page=page,
            quiet=global_options.quiet or not dist.main,  # one progress display, rank 0's
            debug=global_options.debug,
        )
        tally = run_job(job, runtime=runtime, listener=listener, dist=dist)
    if dist.main and (len(job.inputs) > 1 or tally.skipped):
        typer.echo(tally.summary(), err=True)
    if tally.failed:
        raise typer.Exit(1)


class _Reporter(JobListener):
    """The command's view of a job: progress bars, an error line per failed input, JSON lines with --json."""

    def __init__(self, job: StylizeJob, *, json: bool, page=None, quiet: bool = False, debug: bool = False):
        self.method, self.json, self.page, self.quiet, self.debug = job.method, json, page, quiet, debug
        self.settings = _settings(job)

    def progress(self, label: str):
        return _progress(label, quiet=self.quiet, page=self.page)

    def finished(self, result: InputResult) -> None:
        if result.error is not None and result.status == "failed":
            if self.debug:
                traceback.print_exception(result.error, file=sys.stderr)
            typer.echo(f"error: {result.error}", err=True)
        if result.picture is not None and result.output is not None and self.page is not None:
            self.page.show(result.picture, stage=f"done: {result.output.name}")
        if self.json:
            error = str(result.error) if result.error is not None else None
            print_json(
                {
                    "input": str(result.input),
                    "output": str(result.output) if result.output is not None else None,
                    "status": result.status,
                    "error": "output exists" if result.status == "skipped" and error is None else error,
                    "seconds": result.seconds,
                    "method": self.method,
                    "settings": self.settings,
                    "losses": result.losses,
                    **result.extra,
                }
            )


@contextmanager
def _progress(label: str, *, quiet: bool, page):
    with progress_bar(label, quiet=quiet) as bar:
        yield tee(bar, page.update if page is not None else None)


def _settings(job: StylizeJob) -> dict:
    """The run's settings for --json records."""
    import dataclasses

    options = job.options
    values = dataclasses.asdict(options) if dataclasses.is_dataclass(options) and not isinstance(options, type) else {}
    return {**values, "styles": [str(p) for p in job.styles], "models": [str(m) for m in job.models]}
