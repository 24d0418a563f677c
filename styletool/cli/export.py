"""`styletool export`: a trained feed-forward model as ONNX or TorchScript."""

from __future__ import annotations

from pathlib import Path

import typer

from styletool.cli.output import print_json


def install(app: typer.Typer) -> None:
    @app.command("export")
    def export(
        model: Path = typer.Argument(
            ...,
            metavar="MODEL",
            help="A feed-forward .safetensors model (johnson, cin: any transformer-network model), or a shipped model's name.",
        ),
        fmt: str = typer.Option(..., "--format", "-f", help="onnx or torchscript."),
        output: Path = typer.Option(..., "--output", "-o", help="The file to write (.onnx, .pt)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file at -o."),
        json: bool = typer.Option(False, "--json", help="Print a JSON object describing the export."),
    ) -> None:
        """Export a feed-forward model for runtimes without styletool (onnxruntime, libtorch).

        The exported network takes `image` (float32 [N,3,H,W], RGB in [0,1], any
        size from 8 px) and, for cin models, `style` ([N,num_styles] weights:
        one-hot picks a style, a row summing to 1 blends), and returns the
        stylized image clamped to [0,1].
        """
        from styletool.errors import StyletoolError
        from styletool.io.shipped import resolve_model
        from styletool.nn.export import export_model

        if output.exists() and not overwrite:
            raise StyletoolError("already exists; pass --overwrite to replace it", where=output)
        model = resolve_model(model)
        written = export_model(model, output, fmt=fmt.lower())
        if json:
            print_json({"model": str(model), "format": fmt.lower(), "output": str(written)})
        else:
            typer.echo(f"wrote {written}", err=True)
