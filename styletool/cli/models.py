"""`styletool models`: the models plugins ship, and the metadata of any model file."""

from __future__ import annotations

from pathlib import Path

import typer

from styletool.cli.output import print_json, stdout_console


def install(app: typer.Typer) -> None:
    models_app = typer.Typer(
        help="List the models that ship with the installed plugins (`styletool models`), or inspect a model file (`styletool models info MODEL`)."
    )
    app.add_typer(models_app, name="models")

    @models_app.callback(invoke_without_command=True)
    def models(
        ctx: typer.Context,
        json: bool = typer.Option(False, "--json", help="Print the list as one JSON object per model."),
    ) -> None:
        """List the shipped models: name, method, styles. Name one with --model NAME, no path needed."""
        if ctx.invoked_subcommand is not None:
            return
        from styletool.framework.plugins import get_registry
        from styletool.io.modelfile import read_metadata

        registry = get_registry()
        console = stdout_console()
        if not registry.models and not json:
            console.print("no installed plugin ships a model")
        for model in registry.models.values():
            method = registry.methods.get(model.method)
            default = method is not None and method.default_model == model.name
            metadata = read_metadata(model.file)
            styles = metadata.get("styles", [])
            if json:
                print_json(
                    {
                        "name": model.name,
                        "method": model.method,
                        "default": default,
                        "plugin": model.plugin,
                        "file": str(model.file),
                        "styles": styles,
                        "architecture": metadata.get("architecture", "full"),
                        "strength": metadata.get("neutral", False) is True,
                        "summary": model.summary,
                    }
                )
                continue
            note = f" (default for --method {model.method})" if default else ""
            console.print(
                f"[bold]{model.name}[/bold]  method {model.method}{note}, plugin {model.plugin}", highlight=False
            )
            if model.summary:
                console.print(f"  {model.summary}", highlight=False)
            if metadata.get("kind") == "meta":
                # A meta-trained model paints no style of its own: it is adapted to the one given.
                console.print(
                    f"  any painting: --method {model.method} --style PAINTING "
                    f"(meta-trained on {len(styles)} paintings)",
                    highlight=False,
                )
            elif styles:
                console.print(f"  styles: {', '.join(styles)}", highlight=False)
            if metadata.get("neutral") is True:
                console.print("  --strength 0..1 paints lighter (0: the photo given back)", highlight=False)

    @models_app.command("info")
    def info(
        path: Path = typer.Argument(..., metavar="MODEL", help="A .safetensors model file, or a shipped model's name."),
        json: bool = typer.Option(False, "--json", help="Print the metadata as one JSON object."),
    ) -> None:
        """Print a model file's metadata: method, styles, training settings (reads only the header)."""
        from styletool.io.modelfile import read_metadata
        from styletool.io.shipped import resolve_model

        path = resolve_model(path)
        metadata = read_metadata(path)
        if json:
            print_json(metadata)
            return
        console = stdout_console()
        console.print(f"[bold]{path}[/bold]")
        console.print(
            f"method: {metadata.get('method')}    format: {metadata.get('format')}    "
            f"styletool: {metadata.get('styletool_version')}    backbone: {metadata.get('backbone')}"
        )
        styles = metadata.get("styles", [])
        console.print(f"styles ({len(styles)}): " + ", ".join(f"{i}={name}" for i, name in enumerate(styles)))
        if metadata.get("neutral") is True:
            console.print("style-neutral row: yes (--strength 0..1 mixes toward it)")
        training = metadata.get("training", {})
        for key, value in training.items():
            if isinstance(value, dict):
                for sub, subvalue in value.items():
                    console.print(f"  {key}.{sub}: {subvalue}", highlight=False)
            else:
                console.print(f"  {key}: {value}", highlight=False)
