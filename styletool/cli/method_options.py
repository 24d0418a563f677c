"""Method options as the command's own parameters: one parser, one ``--help``, one check.

A method declares its options as a dataclass (``styletool.option``, one
dataclass each for stylize, train and adapt). ``stylize``, ``train``,
``adapt`` and ``grid`` take the options of the method named by ``--method``:
their command class, :func:`method_command`, adds that method's options to
the command's parameters for the invocation. Typer then parses the photos,
the command's flags and the method's flags in one pass (so a photo is never
mistaken for an option value), suggests a close flag for a mistyped one, and
lists the method's options in ``--help``; each value given is converted and
checked once, by the option's declaration
(:func:`styletool.framework.options.convert_value`), and the command reads
the options object with :func:`method_options`.

Why this is the simplest design that works: Typer makes a command's
parameters from its function's signature when the app is built, before
``--method`` is known, so a method's options can only join per invocation.
The command class peeks ``--method`` from the words and has Typer itself
build the method's parameters, from a signature made of the options'
declarations (``typer.Option``, Typer's public API); the parser, the help
page and the errors stay Typer's. Nothing depends on which copy of click
Typer carries (recent Typer vendors its own).
"""

from __future__ import annotations

import inspect
from dataclasses import MISSING
from typing import Any

import typer
from typer.core import TyperCommand

from styletool.errors import UsageError
from styletool.framework.options import OptionInfo, convert_value, option_infos

# Global options belong before the command; given after it, they get a hint rather than "no such option".
GLOBAL_OPTIONS = {"-q", "--quiet", "--debug", "--device", "--precision", "--seed"}
# Method options are named apart from the command's own parameters (a method may have a --style-dir too).
_PREFIX = "method__"
_PARAMS, _OPTIONS, _OWN_ONLY = "styletool.method_params", "styletool.method_options", "styletool.own_params"

# Typer's parser errors: click's ClickException, or the copy of it recent Typer carries (either has
# exit_code and format_message; typed Any, as the two classes share no declared type).
PARSER_ERROR: Any = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def method_command(kind: str, *, default_method: str | None = None) -> type[TyperCommand]:
    """A Typer command class that takes the ``kind`` options (stylize, train, adapt) of the ``--method`` named."""

    class MethodCommand(TyperCommand):
        def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
            methods = methods_named(args) or ([default_method] if default_method else [])
            own = {flag for param in super().get_params(ctx) for flag in (*param.opts, *param.secondary_opts)}
            _refuse_misplaced(args, methods, kind, own)
            ctx.meta[_PARAMS] = _typer_params(kind, methods[0], own) if len(methods) == 1 else []
            ctx.meta["styletool.method"] = methods[0] if len(methods) == 1 else None
            return super().parse_args(ctx, args)

        def get_params(self, ctx: Any) -> list:
            own = super().get_params(ctx)
            if ctx.meta.get(_OWN_ONLY):
                return own
            return own + [info_param for _, info_param in ctx.meta.get(_PARAMS, [])]

        def invoke(self, ctx: Any) -> Any:
            values = {}
            for info, param in ctx.meta.get(_PARAMS, []):
                raw = ctx.params.pop(param.name, None)
                if ctx.get_parameter_source(param.name).name == "COMMANDLINE":
                    values[info.name] = _converted(info, raw)
            method = ctx.meta.get("styletool.method")
            if method is not None:
                ctx.meta[_OPTIONS] = _options_of(kind, method, values)
            return super().invoke(ctx)

        def format_options(self, ctx: Any, formatter: Any) -> None:
            ctx.meta[_OWN_ONLY] = True
            try:
                super().format_options(ctx, formatter)
            finally:
                del ctx.meta[_OWN_ONLY]
            _help_section(kind, ctx, formatter)

    return MethodCommand


def method_options(ctx: typer.Context) -> Any:
    """The options object of the method the command runs, from its flags (None for a method without options)."""
    return ctx.meta.get(_OPTIONS)


def methods_named(args: list[str]) -> list[str]:
    """The values of every ``--method``/``-m`` among the command's words, in order."""
    found = []
    for index, word in enumerate(args):
        if word in ("--method", "-m") and index + 1 < len(args):
            found.append(args[index + 1])
        elif word.startswith("--method="):
            found.append(word.partition("=")[2])
    return found


def _refuse_misplaced(args: list[str], methods: list[str], kind: str, own: set[str]) -> None:
    """A global option after the command, or a method option when several methods are compared: say what to do."""
    for word in args:
        flag = word.partition("=")[0]
        if flag in GLOBAL_OPTIONS and flag not in own:
            raise UsageError(f"{flag} is a global option: put it before the command (styletool {flag} {kind} ...)")
    if len(methods) > 1:
        flags = {info.flag for method in methods for info in _infos(kind, method)}
        given = [word.partition("=")[0] for word in args if word.partition("=")[0] in flags - own]
        if given:
            raise UsageError(
                f"method options such as {given[0]} apply to one --method; compare methods at their defaults"
            )


def _infos(kind: str, method: str) -> list[OptionInfo]:
    from styletool.framework.plugins import get_registry

    spec = get_registry().methods.get(method)
    options_cls = spec.options_class(kind) if spec is not None else None
    return option_infos(options_cls) if options_cls is not None else []


def _typer_params(kind: str, method: str, own: set[str]) -> list[tuple[OptionInfo, Any]]:
    """The method's options as Typer parameters, each beside its declaration; the command's own flags win.

    An unknown method has none here: the command reports it, with suggestions.
    """
    infos = [info for info in _infos(kind, method) if info.flag not in own]
    if not infos:
        return []
    parameters = [
        inspect.Parameter(
            _PREFIX + info.name, inspect.Parameter.KEYWORD_ONLY, default=_declared(info), annotation=_raw_type(info)
        )
        for info in infos
    ]

    def collect(**values: Any) -> None:
        """Only its signature is used: Typer makes the parameters from it."""

    collect.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    collect.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    app = typer.Typer()
    app.command()(collect)
    params = {param.name: param for param in typer.main.get_command(app).params}
    return [(info, params[_PREFIX + info.name]) for info in infos]


def _raw_type(info: OptionInfo) -> Any:
    """What Typer hands over: the words as given (converted and checked by the declaration), or a switch."""
    if info.is_flag:
        return bool
    return list[str] | None if info.is_list else str | None


def _declared(info: OptionInfo) -> Any:
    help_text = info.help
    limits = info.describe_range()
    if limits and not info.choices:
        help_text += f" [{limits}]"
    if info.default is not MISSING:
        help_text += f"  [default: {info.describe_default()}]"
    if info.is_flag:
        name = info.flag[2:]
        return typer.Option(bool(info.default is True), f"--{name}/--no-{name}", help=help_text, show_default=False)
    metavar = "[" + "|".join(info.choices) + "]" if info.choices else info.type_name.upper().replace(" ", "_")
    required = info.default is MISSING
    return typer.Option(... if required else None, info.flag, help=help_text, metavar=metavar, show_default=False)


def _converted(info: OptionInfo, raw: Any) -> Any:
    """A value from the command line, converted and checked by the option's declaration."""
    if info.is_flag:
        return bool(raw)
    if not info.is_list:
        return convert_value(info, raw)
    # A list is given comma-separated, by repeating the flag, or both: --style-blend 0.7,0.3.
    parts = [convert_value(info, word) for word in raw]
    return None if any(part is None for part in parts) else [item for part in parts for item in part]


def _options_of(kind: str, method: str, values: dict[str, Any]) -> Any:
    from styletool.framework.plugins import get_registry

    options_cls = get_registry().method(method).options_class(kind)
    if options_cls is None:
        return None
    try:
        return options_cls(**values)
    except TypeError as error:  # a required option left out
        raise UsageError(str(error)) from None


def _help_section(kind: str, ctx: Any, formatter: Any) -> None:
    """The options of ``--method``'s method, in a section of their own after the command's."""
    method = ctx.meta.get("styletool.method")
    formatter.write_paragraph()
    if method is None:
        formatter.write_text("Method options: add --method NAME to this --help to list them (`styletool methods`).")
        return
    from styletool.framework.plugins import get_registry

    if method not in get_registry().methods:
        formatter.write_text(f"Method options: no method named '{method}' is installed (`styletool methods`).")
        return
    params = [param for _, param in ctx.meta.get(_PARAMS, [])]
    if not params:
        formatter.write_text(f"Method '{method}' has no {kind} options.")
        return
    with formatter.section(f"Options of method '{method}'"):
        records = [param.get_help_record(ctx) for param in params]
        formatter.write_dl([record for record in records if record is not None])
