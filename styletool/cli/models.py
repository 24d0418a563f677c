"""`styletool models`: inspect model files."""

from __future__ import annotations

from pathlib import Path

import typer

from styletool.cli.output import print_json, stdout_console


def install(app: typer.Typer) -> None:
    models_app = typer.Typer(help="Inspect model files.", no_args_is_help=True)
    app.add_typer(models_app, name="models")

    @models_app.command("info")
    def info(
        path: Path = typer.Argument(..., metavar="MODEL", help="A .safetensors model file."),
        json: bool = typer.Option(False, "--json", help="Print the metadata as one JSON object."),
    ) -> None:
        """Print a model file's metadata: method, styles, training settings (reads only the header)."""
        from styletool.modelfile import read_metadata

        metadata = read_metadata(path)
        if json:
            print_json(metadata)
            return
        console = stdout_console()
        console.print(f"[bold]{path}[/bold]")
        console.print(f"method: {metadata.get('method')}    format: {metadata.get('format')}    "
                      f"styletool: {metadata.get('styletool_version')}    backbone: {metadata.get('backbone')}")
        styles = metadata.get("styles", [])
        console.print(f"styles ({len(styles)}): " + ", ".join(f"{i}={name}" for i, name in enumerate(styles)))
        training = metadata.get("training", {})
        for key, value in training.items():
            if isinstance(value, dict):
                for sub, subvalue in value.items():
                    console.print(f"  {key}.{sub}: {subvalue}", highlight=False)
            else:
                console.print(f"  {key}: {value}", highlight=False)
