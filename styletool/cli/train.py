"""`styletool train`: train a feed-forward model on a folder of photos."""

from __future__ import annotations

from pathlib import Path

import typer

from styletool.cli import state
from styletool.cli.method_options import method_command, method_options
from styletool.cli.output import print_json
from styletool.cli.preview_cli import HOST_HELP, PORT_HELP, PREVIEW_HELP, preview_page, tee
from styletool.errors import UsageError
from styletool.framework.plugins import get_registry
from styletool.io.formats import IMAGE_SUFFIXES
from styletool.io.shipped import resolve_model

# --preview: the network's picture of a fixed photo every this many steps.
PREVIEW_EVERY = 5

HELP = """Train a feed-forward model on a folder of photos.

Examples:

  styletool train --method johnson --content-dir photos/ --style starry.jpg -o starry.safetensors

  styletool train --method cin --content-dir photos/ --style-dir paintings/ -o multi.safetensors --steps 20000

  styletool train --method metastyle --content-dir photos/ --style-dir paintings/ -o meta.safetensors

Checkpoints go to OUT.checkpoints/ (last.pt and metrics.jsonl) every
--checkpoint-every steps and on Ctrl-C; continue with --resume. An existing
model file, or an earlier run's checkpoint, is not replaced without
--overwrite; --resume refuses a checkpoint of another model (other
paintings, network or loss settings). Under
`torchrun --nproc_per_node N -m styletool train ...` every process trains on
its own share of each batch. Method options (loss weights and layers) are
ordinary flags, listed below for --method's method.
"""


def install(app: typer.Typer) -> None:
    @app.command(
        "train",
        help=HELP,
        cls=method_command("train"),
    )
    def train(
        ctx: typer.Context,
        method: str = typer.Option(..., "--method", "-m", help="Method to train (see `styletool methods`)."),
        content_dir: Path = typer.Option(..., "--content-dir", help="Folder of training photos, read recursively."),
        style: list[Path] = typer.Option([], "--style", "-s", help="A painting to learn; repeat for several (cin)."),
        style_dir: Path | None = typer.Option(None, "--style-dir", help="A folder of paintings to learn (cin)."),
        output: Path = typer.Option(..., "--output", "-o", help="Model file to write (.safetensors)."),
        model: Path | None = typer.Option(
            None,
            "--model",
            help="An existing model to build on (cin: extended with new paintings; metastyle: the network meta-training starts from, e.g. a cin model): a file or a shipped model's name.",
        ),
        steps: int = typer.Option(
            3000,
            "--steps",
            min=1,
            help="Optimizer steps. At the defaults (3000 steps of 8 crops of 128 px) a johnson model trains in about 18 minutes on a 2-core CPU with native bf16 (docs/training.md).",
        ),
        batch_size: int = typer.Option(
            8,
            "--batch-size",
            min=1,
            help="Photos per step (per process under torchrun); johnson and cin give one of them to the style-neutral row.",
        ),
        lr: float = typer.Option(1e-3, "--lr", help="Adam learning rate."),
        lr_schedule: str = typer.Option(
            "step",
            "--lr-schedule",
            help="step (the rate a tenth for the last fifth of --steps: what brought the shipped cin model close to its paintings; docs/training.md), constant, or cosine.",
        ),
        image_size: int = typer.Option(
            256,
            "--image-size",
            min=8,
            help="Photos are resized so their shorter side is this (times a random zoom of 1-1.3): the scale at which the painting's brush marks are learned.",
        ),
        crop_size: int = typer.Option(
            128,
            "--crop-size",
            min=8,
            help="Side of the square crops cut from the resized photos (at most --image-size). Crops of 128 px from photos at 256 px learn the same brush size as whole 256 px photos, 4.5 times as fast.",
        ),
        exclude: list[str] = typer.Option(
            [],
            "--exclude",
            help="Leave out photos whose path under --content-dir matches this pattern (e.g. 'val_*'): a held-out set. Repeatable.",
        ),
        checkpoint_every: int = typer.Option(
            500, "--checkpoint-every", min=0, help="Save a checkpoint every N steps (0: only at the end and on Ctrl-C)."
        ),
        checkpoint_dir: Path | None = typer.Option(
            None, "--checkpoint-dir", help="Where checkpoints and metrics.jsonl go (default: OUT.checkpoints/)."
        ),
        resume: Path | None = typer.Option(None, "--resume", help="Continue from this checkpoint (same settings)."),
        overwrite: bool = typer.Option(
            False,
            "--overwrite",
            help="Replace an existing model file at -o, and start afresh over an earlier run's checkpoints (without it both are refused).",
        ),
        workers: int = typer.Option(
            2, "--workers", min=0, help="DataLoader worker processes (0: load in the main process)."
        ),
        tensorboard: Path | None = typer.Option(
            None, "--tensorboard", help="Also log to this TensorBoard folder (needs the tensorboard extra)."
        ),
        json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
        preview: bool = typer.Option(False, "--preview", help=PREVIEW_HELP),
        port: int = typer.Option(0, "--port", help=PORT_HELP),
        host: str = typer.Option("127.0.0.1", "--host", help=HOST_HELP),
    ) -> None:
        spec = get_registry().method_that_can(method, "train")
        options = method_options(ctx)
        if output.suffix.lower() != ".safetensors":
            raise UsageError("model files end in .safetensors", where=output)
        if not output.parent.exists():
            raise UsageError("folder does not exist", where=output.parent)
        from styletool.training import check_training_destination

        check_training_destination(output, checkpoint_dir=checkpoint_dir, resume=resume, overwrite=overwrite)
        paintings = list(style) + _paintings_in(style_dir)
        if model is not None:
            model = resolve_model(model)
        # Imported here so that `styletool --help` and the listing commands never import torch.
        from styletool.framework.methods import TrainRequest
        from styletool.io.images import load_painting
        from styletool.training import TrainSettings

        global_options = state.global_options(ctx)
        settings = TrainSettings(
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            lr_schedule=lr_schedule,
            image_size=image_size,
            crop_size=min(crop_size, image_size),
            exclude=list(exclude),
            checkpoint_every=checkpoint_every,
            workers=workers,
            seed=global_options.seed or 0,
            preview_every=PREVIEW_EVERY if preview else 0,
        )
        settings.check()
        runtime = global_options.runtime()
        request = TrainRequest(
            options=options,
            settings=settings,
            content_dir=content_dir,
            output=output,
            styles=[runtime.to_device(load_painting(path).pixels[None]) for path in paintings],
            style_names=[p.stem for p in paintings],
            model=model,
            resume=resume,
            checkpoint_dir=checkpoint_dir,
            tensorboard=tensorboard,
        )
        _run(
            runtime.method(method),
            request,
            plugin=spec.plugin,
            json=json,
            preview=(preview, host, port),
            quiet=global_options.quiet,
        )


def _paintings_in(folder: Path | None) -> list[Path]:
    if folder is None:
        return []
    if not folder.is_dir():
        raise UsageError("no such folder", where=folder)
    found = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    if not found:
        raise UsageError("no paintings (image files) in the folder", where=folder)
    return found


def _run(trainer, request, *, plugin: str | None, json: bool, preview: tuple[bool, str, int], quiet: bool) -> None:
    """Train with a progress bar and the preview page, then print the summary (exit 130 when interrupted)."""
    from styletool.cli.progress import progress_bar
    from styletool.framework.distributed import Distributed
    from styletool.pipeline.results import blamed_on

    method, output = trainer.name, request.output
    watch, host, port = preview
    with (
        preview_page(
            watch,
            title=f"train {method}: {output.name}",
            host=host,
            port=port,
            main=Distributed.from_environment().main,
        ) as page,
        progress_bar(f"train {method}", quiet=quiet) as bar,
        blamed_on(method, plugin, stage="training"),
    ):
        result = trainer.train(request, progress=tee(bar, page.update if page else None))
    summary = {
        "method": method,
        "status": "interrupted" if result.interrupted else "ok",
        "output": str(result.output) if result.output else None,
        "checkpoint": str(result.checkpoint) if result.checkpoint else None,
        "steps": result.steps,
        "seconds": round(result.seconds, 3),
        "images_per_second": round(result.images / result.seconds, 3) if result.seconds > 0 else None,
        "losses": result.final_losses,
        "unreadable": result.unreadable,
    }
    if json:
        print_json(summary)
    skipped = f"; skipped {len(result.unreadable)} unreadable files" if result.unreadable else ""
    if result.interrupted:
        typer.echo(
            f"interrupted at step {result.steps}; checkpoint {result.checkpoint}; continue with --resume {result.checkpoint}{skipped}",
            err=True,
        )
        raise typer.Exit(130)
    typer.echo(
        f"trained {result.steps} steps in {result.seconds:.1f} s ({summary['images_per_second']} img/s); model {result.output}{skipped}",
        err=True,
    )
