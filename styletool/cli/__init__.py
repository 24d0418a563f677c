"""The ``styletool`` command line: a Typer app built by :func:`create_app`."""

from __future__ import annotations

import os
import sys
import traceback

import typer

from styletool.cli.method_options import PARSER_ERROR
from styletool.errors import StyletoolError


def create_app() -> typer.Typer:
    """Build the CLI: core command groups first, then commands added by plugins."""
    from styletool.cli import adapt, catalog, export, grid, models, plugins_cmd, root, stylize, train
    from styletool.framework.plugins import get_plugin_manager

    app = typer.Typer(
        name="styletool",
        help="Neural style transfer: paint photos in the manner of paintings.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    root.install(app)
    stylize.install(app)
    grid.install(app)
    train.install(app)
    adapt.install(app)
    models.install(app)
    export.install(app)
    catalog.install(app)
    plugins_cmd.install(app)
    get_plugin_manager().call_register_commands(app)
    return app


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``styletool`` console script."""
    args = sys.argv[1:] if argv is None else list(argv)
    # Known before parsing, so that a failure while parsing can show its traceback too.
    debug = "--debug" in args
    try:
        app = create_app()
        code = app(args=args, prog_name="styletool", standalone_mode=False)
    except StyletoolError as exc:
        _report(exc, exc.exit_code, debug=debug)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    except typer.Abort:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    except PARSER_ERROR as exc:
        # Usage errors from the parser itself (missing argument, unknown flag): one line, exit 2.
        _report(exc, exc.exit_code, debug=debug, message=exc.format_message())
    except Exception as exc:
        # A bug: still one line unless --debug.
        _report(
            exc, 1, debug=debug, message=f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)"
        )
    else:
        sys.exit(code if isinstance(code, int) else 0)


def run() -> None:
    """The ``styletool`` console script: :func:`main`, then a quick exit.

    Once torch is imported, Python's orderly shutdown (tearing down torch's
    modules and native libraries) takes 1-2 s on a 2-core CPU: longer than
    stylizing a photo with a light network (docs/performance.md). Everything
    styletool writes is complete and renamed into place before ``main``
    returns, so the process flushes its streams and leaves at once, unless
    it has child processes (data-loading workers), which the orderly exit
    shuts down.
    """
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int) and exc.code is not None:
            print(exc.code, file=sys.stderr)
    if "torch" in sys.modules and not _has_children():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _has_children() -> bool:
    import multiprocessing

    return bool(multiprocessing.active_children())


def _report(exc: BaseException, code: int, *, debug: bool, message: str | None = None) -> None:
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    text = " ".join((message if message is not None else str(exc)).split())
    print(f"error: {text}", file=sys.stderr)
    sys.exit(code)
