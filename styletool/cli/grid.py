"""`styletool grid`: a labelled comparison grid, photos down the side, paintings or methods across the top."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from styletool.cli import state
from styletool.cli.method_options import method_command, method_options
from styletool.cli.progress import progress_bar
from styletool.errors import StyletoolError, UsageError
from styletool.framework.plugins import get_registry
from styletool.io.shipped import model_for
from styletool.pipeline import expand_inputs

HELP = """Render a labelled comparison grid.

Rows are the photos, columns the paintings (or methods, or models); the
first row shows the paintings and the first column the photos, so every
result sits under its painting and beside its photo.

Examples:

  styletool grid a.jpg b.jpg --style starry.jpg --style scream.jpg -o grid.png

  styletool grid a.jpg --style starry.jpg --method gatys --method metastyle --model meta.safetensors -o grid.png

  styletool grid a.jpg --method johnson --model starry.safetensors --model mosaic.safetensors -o grid.png

Method options (such as --iterations) apply when one --method is given;
they are listed below for it.
"""


@dataclass
class Column:
    """One column of the grid: a method with the painting(s) and model(s) it runs with."""

    method: str
    label: str
    styles: list[Path]
    models: list[Path]


def plan_columns(
    methods: list[str], styles: list[Path], models: dict[str, list[Path]], needs_style: dict[str, bool]
) -> list[Column]:
    """The grid's columns: a column per painting for methods that paint from one, else per model.

    ``models`` are each method's: the --model files, else its shipped
    default. A method that needs a painting (gatys) gets a column per
    painting. One that runs a model gets a column per model, or, with one
    model and paintings given (metastyle adapting a meta-trained model), a
    column per painting. Labels name the method only when several are compared.
    """
    columns = []
    for method in methods:
        prefix = f"{method}: " if len(methods) > 1 else ""
        if needs_style[method] or (len(models[method]) <= 1 and styles):
            if not styles:
                raise UsageError(f"method '{method}' needs at least one --style PAINTING")
            columns += [Column(method, prefix + s.stem, [s], models[method][:1]) for s in styles]
        elif models[method]:
            columns += [Column(method, prefix + m.stem, styles, [m]) for m in models[method]]
        else:
            raise UsageError(f"method '{method}' needs a --model file")
    return columns


def install(app: typer.Typer) -> None:
    @app.command("grid", help=HELP, cls=method_command("stylize", default_method="gatys"))
    def grid(
        ctx: typer.Context,
        words: list[str] | None = typer.Argument(None, metavar="PHOTO...", help="Photos, folders or glob patterns."),
        style: list[Path] = typer.Option([], "--style", "-s", help="A painting; repeat for several (one column each)."),
        method: list[str] = typer.Option(
            [], "--method", "-m", help="Method; repeat to compare methods side by side (default: gatys)."
        ),
        model: list[Path] = typer.Option([], "--model", help="Model file; repeat to compare models (one column each)."),
        output: Path = typer.Option(..., "--output", "-o", help="The grid image (PNG, JPEG, WEBP or TIFF)."),
        size: int = typer.Option(256, "--size", min=16, help="Longest side the photos are stylized at."),
        cell: int = typer.Option(256, "--cell", min=32, help="Side of each square cell of the grid, in pixels."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace the output if it exists."),
    ) -> None:
        registry = get_registry()
        methods = list(dict.fromkeys(method or ["gatys"]))
        for name in methods:
            registry.method_that_can(name, "stylize")
        # Method options apply to one --method; several methods are compared at their defaults.
        options = {name: method_options(ctx) if len(methods) == 1 else None for name in methods}
        raw_inputs = list(words or [])
        if not raw_inputs:
            raise UsageError("give at least one PHOTO")
        photos = expand_inputs(raw_inputs)
        settings = state.global_options(ctx)
        runtime = settings.runtime()
        needs_style = {name: runtime.method(name).needs_style for name in methods}
        models = {name: model_for(name, list(model)) for name in methods}
        columns = plan_columns(methods, list(style), models, needs_style)
        _render(
            photos,
            columns,
            options,
            output=output,
            size=size,
            cell=cell,
            overwrite=overwrite,
            runtime=runtime,
            quiet=settings.quiet,
        )


def _render(photos, columns, options, *, output, size, cell, overwrite, runtime, quiet) -> None:
    from styletool.grid import labelled_grid
    from styletool.io.images import check_output_path, load_painting, save_image
    from styletool.pipeline import Stylizer, load_photo

    check_output_path(output, inputs=photos)
    if output.exists() and not overwrite:
        raise StyletoolError("output already exists; pass --overwrite to replace it", where=output)
    paintings = {path: load_painting(path).pixels for column in columns for path in column.styles}
    images = [load_photo(path, size=size, default_size=None) for path in photos]

    header = [None] + [paintings[c.styles[0]][None] if len(c.styles) == 1 else None for c in columns]
    cells, labels = [header], [[""] + [c.label for c in columns]]
    results: list[list] = [[image.pixels[None]] for image in images]
    for column in columns:
        with progress_bar(f"prepare {column.label}", quiet=quiet) as bar:
            stylizer = Stylizer.load(
                column.method,
                styles=column.styles,
                models=column.models,
                options=options[column.method],
                runtime=runtime,
                photos=photos,
                progress=bar,
            )
        for row, (path, image) in enumerate(zip(photos, images)):
            with progress_bar(f"{path.name} x {column.label}", quiet=quiet) as bar:
                try:
                    result = stylizer.stylize(image.pixels[None], progress=bar)
                except StyletoolError as exc:
                    exc.where = exc.where or str(path)
                    raise
            results[row].append(result.cpu())
    cells += results
    labels += [[path.stem] + [""] * len(columns) for path in photos]
    save_image(labelled_grid(cells, labels, cell=cell), output)
    typer.echo(f"wrote {output} ({len(photos)} photos x {len(columns)} columns)", err=True)
