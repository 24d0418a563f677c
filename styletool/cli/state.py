"""The root command's global options, carried to every command in Typer's context (ctx.obj)."""

from __future__ import annotations

from dataclasses import dataclass

import typer


@dataclass
class GlobalOptions:
    """The global options; the runtime is built from them only when a command needs torch."""

    device: str = "auto"
    precision: str = "auto"
    seed: int | None = None
    quiet: bool = False
    debug: bool = False

    def runtime(self):
        from styletool.framework.runtime import Runtime

        return Runtime(device=self.device, precision=self.precision, seed=self.seed)


def global_options(ctx: typer.Context) -> GlobalOptions:
    """The options the root command stored in the context (defaults when it did not run)."""
    stored = ctx.find_root().obj
    return stored if isinstance(stored, GlobalOptions) else GlobalOptions()
