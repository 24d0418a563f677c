"""`--preview`, `--port`, `--host`: the live preview page shared by `stylize` and `train`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from styletool.errors import UsageError

if TYPE_CHECKING:
    from styletool.preview import PreviewServer

LOOPBACK = {"127.0.0.1", "localhost", "::1"}

PREVIEW_HELP = (
    "Serve a live page with the current picture and the loss curves while the run lasts (address printed on start)."
)
PORT_HELP = "Port of the --preview page (default: a free one)."
HOST_HELP = "Address the --preview page listens on; anything but 127.0.0.1 lets other machines watch."


def tee(*callbacks):
    """One progress callback that calls each of ``callbacks`` (None entries skipped)."""
    live = [callback for callback in callbacks if callback is not None]

    def report(event) -> None:
        for callback in live:
            callback(event)

    return report


@contextmanager
def preview_page(
    enabled: bool, *, title: str, host: str, port: int, main: bool = True
) -> Iterator[PreviewServer | None]:
    """A running :class:`styletool.preview.PreviewServer` for the block (None when not asked, or not rank 0)."""
    if not enabled:
        if port or host != "127.0.0.1":
            raise UsageError("--port and --host set up the --preview page; add --preview")
        yield None
        return
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, not {port}")
    if not main:  # under torchrun, rank 0 serves the page
        yield None
        return
    from styletool.preview import PreviewServer

    with PreviewServer(title=title, host=host, port=port) as server:
        exposed = "" if host in LOOPBACK else " (reachable from other machines)"
        typer.echo(f"preview: {server.url}{exposed}", err=True)
        yield server
