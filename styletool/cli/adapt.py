"""`styletool adapt`: adapt a meta-trained model to a new painting in a few hundred steps."""

from __future__ import annotations

from pathlib import Path

import typer

from styletool.cli import state
from styletool.cli.method_options import method_command, method_options
from styletool.cli.output import print_json
from styletool.errors import StyletoolError, UsageError
from styletool.framework.plugins import get_registry
from styletool.io.shipped import model_for

HELP = """Adapt a meta-trained model to a new painting; the result is an ordinary model file.

Examples:

  styletool adapt --method metastyle --model meta.safetensors --style wave.jpg --content-dir photos/ -o wave.safetensors

  styletool adapt --method metastyle --model meta.safetensors --style wave.jpg --content me.jpg -o wave.safetensors --steps 100

Adaptation trains on random crops of the photos in --content-dir, or of the
photos given with --content (one photo is enough). Then:

  styletool stylize photo.jpg --method metastyle --model wave.safetensors -o out.png

Method options (--steps, --lr, --only-norm, ...) are ordinary flags, listed
below for --method's method.
"""


def install(app: typer.Typer) -> None:
    @app.command(
        "adapt",
        help=HELP,
        cls=method_command("adapt"),
    )
    def adapt(
        ctx: typer.Context,
        method: str = typer.Option(
            ..., "--method", "-m", help="Method whose model to adapt (see `styletool methods`)."
        ),
        model: Path | None = typer.Option(
            None,
            "--model",
            help="The meta-trained model to start from: a file, or a shipped model's name (default: the method's shipped model; `styletool models`).",
        ),
        style: Path = typer.Option(..., "--style", "-s", help="The painting to adapt to."),
        output: Path = typer.Option(..., "--output", "-o", help="Adapted model file to write (.safetensors)."),
        content_dir: Path | None = typer.Option(
            None, "--content-dir", help="Folder of photos to adapt on, read recursively."
        ),
        content: list[Path] = typer.Option(
            [], "--content", help="A photo to adapt on; repeat for several (instead of --content-dir)."
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing model file at -o."),
        json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
    ) -> None:
        get_registry().method_that_can(method, "adapt")
        options = method_options(ctx)
        models = model_for(method, [model] if model is not None else [])
        if not models:
            raise UsageError(f"method '{method}' ships no model to adapt: give --model FILE")
        model = models[0]
        if content_dir is not None and content:
            raise UsageError("give --content-dir DIR or --content PHOTO, not both")
        # Whether photos are needed is the method's to say: metastyle's --steps 0 adapts on none.
        if content_dir is not None and not content_dir.is_dir():
            raise UsageError("no such folder" if not content_dir.exists() else "not a folder", where=content_dir)
        if output.suffix.lower() != ".safetensors":
            raise UsageError("model files end in .safetensors", where=output)
        if not output.parent.exists():
            raise UsageError("folder does not exist", where=output.parent)
        if output.exists() and not overwrite:
            raise StyletoolError("model file already exists; pass --overwrite to replace it", where=output)
        _run(
            method=method,
            options=options,
            model=model,
            style=style,
            output=output,
            content_dir=content_dir,
            content=list(content),
            json=json,
            global_options=state.global_options(ctx),
        )


def _run(*, method, options, model, style, output, content_dir, content, json, global_options) -> None:
    from styletool.cli.progress import progress_bar
    from styletool.framework.methods import AdaptRequest
    from styletool.io.images import load_painting
    from styletool.pipeline.results import blamed_on

    runtime = global_options.runtime()
    adapter = runtime.method(method)
    painting = runtime.to_device(load_painting(style).pixels[None])
    request = AdaptRequest(
        options=options,
        model=model,
        style=painting,
        style_name=style.stem,
        output=output,
        content_dir=content_dir,
        content_files=content,
    )
    with progress_bar(f"adapt {method}", quiet=global_options.quiet) as bar:
        with blamed_on(method, runtime.registry.method(method).plugin, stage="adapting"):
            result = adapter.adapt(request, progress=bar)
    if result.interrupted:
        typer.echo(f"interrupted at step {result.steps}; nothing written", err=True)
        raise typer.Exit(130)
    summary = {
        "method": method,
        "status": "ok",
        "output": str(result.output),
        "style": style.stem,
        "steps": result.steps,
        "seconds": round(result.seconds, 3),
        "losses": result.final_losses,
        "unreadable": result.unreadable,
    }
    if json:
        print_json(summary)
    skipped = f"; skipped {len(result.unreadable)} unreadable files" if result.unreadable else ""
    typer.echo(
        f"adapted to {style.stem} in {result.steps} steps, {result.seconds:.1f} s; model {result.output}{skipped}",
        err=True,
    )
