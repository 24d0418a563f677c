"""The root callback: global options for every command."""

from __future__ import annotations

import typer

from styletool.cli import state


def _version(value: bool) -> None:
    if value:
        from styletool.version import __version__

        typer.echo(f"styletool {__version__}")
        raise typer.Exit()


def install(app: typer.Typer) -> None:
    @app.callback()
    def root(
        ctx: typer.Context,
        device: str = typer.Option(
            "auto", "--device", help="auto, cpu, cuda, cuda:N or mps (auto: CUDA when present, else CPU)."
        ),
        precision: str = typer.Option(
            "auto",
            "--precision",
            help="auto, fp32, bf16 or fp16 (mixed precision through autocast). auto: feed-forward stylizing in exact fp32; training and gatys's image optimization in bf16 where the CPU or GPU computes it natively, else fp32.",
        ),
        seed: int | None = typer.Option(
            None,
            "--seed",
            min=0,
            max=2**63 - 1,  # what every generator seeded takes (torch's are 64-bit)
            help="Seed every random generator: the same seed gives the same output on the CPU.",
        ),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
        debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ) -> None:
        """Neural style transfer: paint photos in the manner of paintings."""
        ctx.obj = state.GlobalOptions(device=device, precision=precision, seed=seed, quiet=quiet, debug=debug)
