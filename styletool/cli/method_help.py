"""``--help`` that shows the chosen method's own options (``styletool stylize --method cin --help``).

Method options are declared by each method as a dataclass (styletool.framework.options)
and parsed by click from the words after the command's own options; these
command classes add them to the help page of ``stylize``, ``train`` and
``adapt`` for the method named on the command line.
"""

from __future__ import annotations

from typing import Any

import click
from typer.core import TyperCommand


def _method_named(args: list[str]) -> str | None:
    for i, word in enumerate(args):
        if word in ("--method", "-m") and i + 1 < len(args):
            return args[i + 1]
        if word.startswith("--method="):
            return word.partition("=")[2]
    return None


def method_options_command(kind: str, *, default_method: str | None = None) -> type[TyperCommand]:
    """A command class whose help lists the options of ``--method``'s ``kind`` (stylize, train or adapt)."""

    class MethodOptionsCommand(TyperCommand):
        def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
            # --help is handled while parsing, before --method is known to the command: keep the words.
            ctx.meta["styletool.args"] = list(args)
            return super().parse_args(ctx, args)

        def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
            super().format_help(ctx, formatter)
            method = _method_named(ctx.meta.get("styletool.args", [])) or default_method
            _method_section(kind, method, formatter)

    return MethodOptionsCommand


def _method_section(kind: str, method: str | None, formatter: click.HelpFormatter) -> None:
    from styletool.framework.options import click_options
    from styletool.framework.plugins import get_registry
    from styletool.framework.specs import resolve

    formatter.write_paragraph()
    if method is None:
        formatter.write_text("Method options: add --method NAME to this --help to list them (`styletool methods`).")
        return
    registry = get_registry()
    if method not in registry.methods:
        formatter.write_text(f"Method options: no method named '{method}' is installed (`styletool methods`).")
        return
    # A method's stylize options are its MethodSpec.options; training and adaptation have their own.
    declared: Any = getattr(registry.method(method), "options" if kind == "stylize" else f"{kind}_options")
    if declared is None:
        formatter.write_text(f"Method '{method}' has no {kind} options.")
        return
    params = click_options(resolve(declared))
    # Typer carries its own copy of click; the method options are plain click's, rendered in a context of their own.
    own = click.Context(click.Command(method, params=params))
    with formatter.section(f"Options of method '{method}' (after the photos)"):
        records = [param.get_help_record(own) for param in params]
        formatter.write_dl([record for record in records if record is not None])
