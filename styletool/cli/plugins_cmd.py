"""`styletool plugins`: list plugins and install new ones."""

from __future__ import annotations

import subprocess
import sys

import typer

from styletool.cli.output import print_json, print_table
from styletool.framework.plugins import get_plugin_manager


def install(app: typer.Typer) -> None:
    plugins_app = typer.Typer(help="List and install styletool plugins.")
    app.add_typer(plugins_app, name="plugins")

    @plugins_app.callback(invoke_without_command=True)
    def plugins(
        ctx: typer.Context, json: bool = typer.Option(False, "--json", help="One JSON object per plugin.")
    ) -> None:
        """List plugins: name, distribution, version, status and what each registered."""
        if ctx.invoked_subcommand is not None:
            return
        records = sorted(get_plugin_manager().records.values(), key=lambda r: r.name)
        if json:
            for r in records:
                print_json(
                    {
                        "name": r.name,
                        "distribution": r.distribution,
                        "version": r.version,
                        "status": r.status,
                        "error": r.error or None,
                        "registered": r.registered,
                    }
                )
            return
        print_table(
            "Plugins",
            ["name", "distribution", "version", "status", "registered"],
            [
                (
                    r.name,
                    r.distribution,
                    r.version,
                    r.status if not r.error else f"{r.status}: {r.error}",
                    r.registered_summary(),
                )
                for r in records
            ],
        )

    @plugins_app.command("install")
    def install_plugin(
        names: list[str] = typer.Argument(
            ..., help="Distributions to install, as pip takes them (e.g. styletool-foo)."
        ),
        upgrade: bool = typer.Option(False, "--upgrade", "-U", help="Upgrade if already installed."),
        editable: bool = typer.Option(False, "--editable", "-e", help="Install a local project in editable mode."),
    ) -> None:
        """Install plugin distributions with pip, into the Python that runs styletool."""
        command = [sys.executable, "-m", "pip", "install"]
        if upgrade:
            command.append("--upgrade")
        for name in names:
            command.extend(["-e", name] if editable else [name])
        result = subprocess.run(command)
        if result.returncode != 0:
            raise typer.Exit(result.returncode)
