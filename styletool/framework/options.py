"""Typed, documented method options, parsed from ordinary ``--flags``.

A method declares its options as a dataclass whose fields are made with
:func:`option`. The CLI turns ``--style-weight 1e4`` into
``options.style_weight = 10000.0``, checking types, ranges and choices, and
``styletool methods show NAME`` prints the same table. This module does not
import torch, so it can be used in a plugin's light options module.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field
from typing import Any

import click

from styletool.errors import UsageError

_NUMERIC = (int, float)


def option(
    default: Any = MISSING,
    *,
    help: str,
    min: float | None = None,
    max: float | None = None,
    choices: Sequence[str] | None = None,
    min_exclusive: bool = False,
    metavar: str | None = None,
) -> Any:
    """Declare a method option: a dataclass field with help text and limits.

    ``min``/``max`` bound numbers (and every element of a number list);
    ``choices`` restricts strings. Lists default through a copied value.
    """
    meta = {
        "help": help,
        "min": min,
        "max": max,
        "choices": tuple(choices) if choices is not None else None,
        "min_exclusive": min_exclusive,
        "metavar": metavar,
    }
    if isinstance(default, (list, dict, set)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class OptionInfo:
    """One option as the CLI shows it."""

    name: str  # python field name
    flag: str  # --flag-name
    type: Any  # the annotation, resolved
    default: Any
    help: str
    min: float | None
    max: float | None
    choices: tuple[str, ...] | None
    min_exclusive: bool

    @property
    def type_name(self) -> str:
        return _type_name(self.type, self.choices)

    @property
    def is_flag(self) -> bool:
        return _strip_optional(self.type) is bool

    @property
    def is_list(self) -> bool:
        return typing.get_origin(_strip_optional(self.type)) in (list, tuple)

    def describe_default(self) -> str:
        if self.default is MISSING:
            return "required"
        if self.default is None:
            return "none"
        if isinstance(self.default, bool):
            return "on" if self.default else "off"
        if isinstance(self.default, (list, tuple)):
            return ",".join(str(v) for v in self.default) or "(empty)"
        return str(self.default)

    def describe_range(self) -> str:
        parts = []
        if self.choices:
            parts.append("|".join(self.choices))
        if self.min is not None:
            parts.append(f"{'>' if self.min_exclusive else '>='} {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        return ", ".join(parts)


def blend_weights(weights: Sequence[float], *, flag: str, count: int | None = None, per: str = "") -> list[float]:
    """Blend weights given with ``flag``, checked and normalized to sum 1.

    ``count`` is how many things are blended (``per`` names one of them, for
    the message); every weight must be finite and >= 0, and one positive.
    """
    weights = [float(weight) for weight in weights]
    if count is not None and len(weights) != count:
        raise UsageError(f"option {flag}: {len(weights)} weights for {count} {per}; give one weight each")
    if any(not 0 <= weight < float("inf") for weight in weights):
        raise UsageError(f"option {flag}: weights must be finite and >= 0, got {','.join(f'{w:g}' for w in weights)}")
    total = sum(weights)
    if not math.isfinite(total):
        raise UsageError(f"option {flag}: weights too large to add up; give smaller ones (they are normalized)")
    if total <= 0:
        raise UsageError(f"option {flag}: at least one weight must be positive")
    return [weight / total for weight in weights]


def option_infos(options_cls: type) -> list[OptionInfo]:
    """Describe every option of an options dataclass, in declaration order."""
    if not dataclasses.is_dataclass(options_cls):
        raise TypeError(f"{options_cls!r} is not a dataclass")
    hints = typing.get_type_hints(options_cls)
    infos = []
    for f in dataclasses.fields(options_cls):
        if f.default is not MISSING:
            default = f.default
        elif f.default_factory is not MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        else:
            default = MISSING
        meta = f.metadata
        infos.append(
            OptionInfo(
                name=f.name,
                flag="--" + f.name.replace("_", "-"),
                type=hints[f.name],
                default=default,
                help=meta.get("help", ""),
                min=meta.get("min"),
                max=meta.get("max"),
                choices=meta.get("choices"),
                min_exclusive=meta.get("min_exclusive", False),
            )
        )
    return infos


class OptionType(click.ParamType):
    """The click parameter type of one declared option: its conversion, choices and range, with styletool's messages."""

    def __init__(self, info: OptionInfo):
        self.info = info
        self.name = info.type_name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return convert_value(self.info, value) if isinstance(value, str) else value

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        # (click 8.1 calls this without ctx, 8.2 with it)
        if self.info.choices:
            return "[" + "|".join(self.info.choices) + "]"
        return self.info.type_name.upper().replace(" ", "_")


def click_options(options_cls: type) -> list[click.Option]:
    """The options of a dataclass as click options: flags, types, defaults and help, for parsing and ``--help``."""
    params = []
    for info in option_infos(options_cls):
        default = None if info.default is MISSING else info.default
        help_text = info.help
        limits = info.describe_range()
        if limits and not info.choices:
            help_text += f" [{limits}]"
        if info.is_flag:
            name = info.flag[2:]
            params.append(click.Option([f"--{name}/--no-{name}", info.name], default=default, help=help_text))
        else:
            if info.is_list:
                # A list is given comma-separated, by repeating the flag, or both: --style-blend 0.7,0.3.
                how = {"multiple": True}
                if default:
                    help_text += f"  [default: {info.describe_default()}]"
            else:
                how = {"default": default, "show_default": default is not None}
            params.append(
                click.Option(
                    [info.flag, info.name],
                    type=OptionType(info),
                    required=info.default is MISSING,
                    help=help_text,
                    **how,
                )
            )
    return params


def parse_options(options_cls: type, args: Sequence[str], *, method: str = "") -> Any:
    """Build an options instance from command-line words like ``--lr 0.1``, parsed by click.

    Raises :class:`UsageError` for unknown flags (with a suggestion), missing
    values, wrong types and out-of-range values.
    """
    infos = {info.flag: info for info in option_infos(options_cls)}
    command = click.Command(method or "options", params=click_options(options_cls), add_help_option=False)
    given = {infos[word.partition("=")[0]].name for word in args if word.partition("=")[0] in infos}
    try:
        context = command.make_context(method or "options", list(args), resilient_parsing=False)
    except click.NoSuchOption as exc:
        raise UsageError(_unknown_flag_message(exc.option_name, infos, method)) from None
    except click.MissingParameter as exc:
        raise UsageError(f"missing option {exc.param.opts[0] if exc.param else ''}".strip()) from None
    except click.BadOptionUsage as exc:
        info = infos.get(exc.option_name)
        if info is not None and info.is_flag:
            raise UsageError(
                f"option {info.flag} is a switch and takes no value (say {info.flag} or --no-{info.flag[2:]})"
            ) from None
        kind = f" ({info.type_name})" if info else ""
        raise UsageError(f"option {exc.option_name} needs a value{kind}") from None
    except click.UsageError as exc:  # a stray argument
        words = [word for word in args if not word.startswith("-")]
        raise UsageError(f"unexpected argument {words[0]!r}" if words else exc.format_message()) from None
    values = {}
    for name, value in context.params.items():
        if isinstance(value, tuple):  # a list option, once per time it was given
            if not value:
                continue
            value = None if any(part is None for part in value) else [item for part in value for item in part]
        if value is not None or name in given:
            values[name] = value

    try:
        return options_cls(**values)
    except TypeError as exc:  # a required option left out
        raise UsageError(str(exc)) from None


def make_options(options_cls: type, values: dict[str, Any] | None = None) -> Any:
    """Build options from Python values (API use), with the same validation as the CLI."""
    values = dict(values or {})
    infos = {info.name: info for info in option_infos(options_cls)}
    for name, value in values.items():
        info = infos.get(name)
        if info is None:
            close = difflib.get_close_matches(name, list(infos), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(f"unknown option {name!r}{hint}")
        if isinstance(value, str):
            values[name] = convert_value(info, value)
        else:
            check_value(info, value)
    return options_cls(**values)


def convert_value(info: OptionInfo, raw: str) -> Any:
    """Turn one command-line word into a checked value for ``info``."""
    kind = _strip_optional(info.type)
    if raw.lower() in ("none", "") and _is_optional(info.type):
        return None
    try:
        value = _convert(kind, raw)
    except _NotFinite:
        raise UsageError(f"option {info.flag}: {raw!r} is not a valid number (numbers must be finite)") from None
    except ValueError:
        raise UsageError(f"option {info.flag}: {raw!r} is not a valid {info.type_name}") from None
    check_value(info, value)
    return value


def check_value(info: OptionInfo, value: Any) -> None:
    """Check a value against the option's choices and numeric range."""
    if value is None:
        return
    items = value if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if isinstance(item, float) and not math.isfinite(item):
            # inf and NaN pass every range test; as a weight or a rate they give a black picture.
            raise UsageError(f"option {info.flag}: {item!r} is not a valid number (numbers must be finite)")
        if info.choices and item not in info.choices:
            close = difflib.get_close_matches(str(item), info.choices, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(f"option {info.flag}: {item!r} is not one of {', '.join(info.choices)}{hint}")
        if isinstance(item, _NUMERIC) and not isinstance(item, bool):
            if info.min is not None:
                too_small = item <= info.min if info.min_exclusive else item < info.min
                if too_small:
                    bound = f"greater than {info.min:g}" if info.min_exclusive else f"at least {info.min:g}"
                    raise UsageError(f"option {info.flag}: {item:g} is out of range; must be {bound}")
            if info.max is not None and item > info.max:
                raise UsageError(f"option {info.flag}: {item:g} is out of range; must be at most {info.max:g}")


def _convert(kind: Any, raw: str) -> Any:
    origin = typing.get_origin(kind)
    if origin in (list, tuple):
        (item_type, *_rest) = typing.get_args(kind) or (str,)
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        return [_convert(item_type, p) for p in parts]
    if kind is bool:
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(raw)
    if kind is int:
        return int(raw)
    if kind is float:
        value = float(raw)
        if not math.isfinite(value):  # "inf", "nan", or "1e400", which overflows to inf
            raise _NotFinite(raw)
        return value
    return str(raw)


class _NotFinite(ValueError):
    """A number word that parses to inf or NaN."""


def _is_optional(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation) and typing.get_origin(annotation) in (
        typing.Union,
        types.UnionType,
    )


def _strip_optional(annotation: Any) -> Any:
    if _is_optional(annotation):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _type_name(annotation: Any, choices: tuple[str, ...] | None = None) -> str:
    kind = _strip_optional(annotation)
    if choices:
        return "choice"
    origin = typing.get_origin(kind)
    if origin in (list, tuple):
        (item_type, *_rest) = typing.get_args(kind) or (str,)
        return f"list of {_type_name(item_type)}s"
    return {bool: "flag", int: "integer", float: "number", str: "text"}.get(kind, str(kind))


def _unknown_flag_message(flag: str, infos: dict[str, OptionInfo], method: str) -> str:
    close = difflib.get_close_matches(flag, list(infos), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    owner = f" for method '{method}'" if method else ""
    return f"no such option {flag}{owner}{hint}"
