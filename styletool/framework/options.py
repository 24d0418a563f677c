"""Typed, documented method options, given as ordinary ``--flags`` or from Python.

A method declares its options as a dataclass whose fields are made with
:func:`option`. The command line (styletool.cli.method_options) turns
``--style-weight 1e4`` into ``options.style_weight = 10000.0`` through
:func:`convert_value`, and Python callers go through :func:`make_options`:
both check types, ranges and choices with :func:`check_value`, and
``styletool methods show NAME`` prints the same table. This module imports
neither torch nor the CLI, so it can be used in a plugin's light options module.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import math
import types
import typing
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field
from typing import Any, Protocol, runtime_checkable

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
        return field(default_factory=functools.partial(copy.copy, default), metadata=meta)
    return field(default=default, metadata=meta)


@runtime_checkable
class LabelledOptions(Protocol):
    """Options that say what distinguishes their picture among those of the same paintings and models.

    The label goes into output names (``{style}``: cin's style or blend, a
    strength other than 1); "" when there is nothing to tell.
    """

    def output_label(self) -> str: ...


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
        elif f.default_factory is not MISSING:
            default = f.default_factory()
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
