"""Listing commands: methods, losses and backbones that the plugins registered."""

from __future__ import annotations

import typer

from styletool.cli.output import print_json, print_table, stdout_console
from styletool.framework.options import option_infos
from styletool.framework.plugins import get_registry
from styletool.framework.specs import CAPABILITIES


def install(app: typer.Typer) -> None:
    methods_app = typer.Typer(help="List stylization methods and their options.", no_args_is_help=False)
    app.add_typer(methods_app, name="methods")

    @methods_app.callback(invoke_without_command=True)
    def methods(
        ctx: typer.Context, json: bool = typer.Option(False, "--json", help="One JSON object per method.")
    ) -> None:
        """List installed stylization methods and what each can do."""
        if ctx.invoked_subcommand is not None:
            return
        registry = get_registry()
        specs = sorted(registry.methods.values(), key=lambda s: s.name)
        if json:
            for s in specs:
                print_json(
                    {"name": s.name, "summary": s.summary, "capabilities": sorted(s.capabilities), "plugin": s.plugin}
                )
            return
        print_table(
            "Methods",
            ["name", "can", "plugin", "summary"],
            [(s.name, ", ".join(c for c in CAPABILITIES if c in s.capabilities), s.plugin, s.summary) for s in specs],
        )

    @methods_app.command("show")
    def show(name: str = typer.Argument(..., help="Method name, as listed by `styletool methods`.")) -> None:
        """Show a method's capabilities and every option with its type, default and help."""
        spec = get_registry().method(name)
        console = stdout_console()
        console.print(f"[bold]{spec.name}[/bold]: {spec.summary}")
        console.print(f"can: {', '.join(sorted(spec.capabilities))}    plugin: {spec.plugin}")
        options_cls = spec.options_class("stylize")
        train_cls = spec.options_class("train")
        adapt_cls = spec.options_class("adapt")
        if options_cls is None and train_cls is None and adapt_cls is None:
            console.print("options: none")
            return
        several = train_cls is not None or adapt_cls is not None
        for title, cls in (
            ("Options (stylize)", options_cls),
            ("Training options (train)", train_cls),
            ("Adaptation options (adapt)", adapt_cls),
        ):
            if cls is None:
                continue
            print_table(
                title if several else "Options",
                ["option", "type", "default", "allowed", "help"],
                [(i.flag, i.type_name, i.describe_default(), i.describe_range(), i.help) for i in option_infos(cls)],
            )

    @app.command("losses")
    def losses(json: bool = typer.Option(False, "--json", help="One JSON object per loss.")) -> None:
        """List installed loss terms."""
        specs = sorted(get_registry().losses.values(), key=lambda s: s.name)
        if json:
            for s in specs:
                print_json({"name": s.name, "role": s.role, "summary": s.summary, "plugin": s.plugin})
            return
        print_table(
            "Losses", ["name", "role", "plugin", "summary"], [(s.name, s.role, s.plugin, s.summary) for s in specs]
        )

    @app.command("backbones")
    def backbones(json: bool = typer.Option(False, "--json", help="One JSON object per backbone.")) -> None:
        """List feature backbones, where their weights come from and whether they are available now."""
        specs = sorted(get_registry().backbones.values(), key=lambda s: s.name)
        rows = []
        for s in specs:
            available = _availability(s)
            if json:
                print_json(
                    {
                        "name": s.name,
                        "summary": s.summary,
                        "weights": s.weight_source,
                        "available": available,
                        "plugin": s.plugin,
                    }
                )
            rows.append((s.name, {True: "yes", False: "no", None: "unknown"}[available], s.weight_source, s.summary))
        if not json:
            print_table("Backbones", ["name", "weights here", "weight source", "summary"], rows)


def _availability(spec) -> bool | None:
    if spec.weights_available is None:
        return None
    try:
        return bool(spec.weights_available())
    except Exception:  # a broken check must not break the listing
        return False
