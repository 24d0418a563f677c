"""Light descriptions of what plugins register.

A spec names a thing and says how to load it, without importing it, so that
listing commands (`styletool methods`, `backbones`, `plugins`) never import
torch. ``load`` is either the object itself or a ``"module:attribute"`` string
resolved on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# "video": stylize takes a batch of frames fast enough for video (feed-forward networks).
CAPABILITIES = ("stylize", "train", "adapt", "video")


def resolve(target: Any) -> Any:
    """Import ``"package.module:attr"`` strings; return anything else unchanged."""
    if not isinstance(target, str):
        return target
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"expected 'module:attribute', got {target!r}")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class MethodSpec:
    """A stylization method: what it can do and where its class lives.

    ``load`` gives a :class:`styletool.Method` subclass; ``options`` gives the
    dataclass of its stylize options, ``train_options`` that of its training
    options and ``adapt_options`` that of its adaptation options (see
    :mod:`styletool.framework.options`). Keep the options module free of torch imports
    so `methods show` stays fast.
    """

    name: str
    summary: str
    load: Any
    options: Any = None
    train_options: Any = None
    adapt_options: Any = None
    capabilities: frozenset[str] = frozenset({"stylize"})
    plugin: str | None = field(default=None, compare=False)

    kind = "method"

    def __post_init__(self) -> None:
        _check_name(self.name)
        caps = frozenset(self.capabilities)
        unknown = caps - set(CAPABILITIES)
        if unknown:
            raise ValueError(f"method {self.name!r}: unknown capabilities {sorted(unknown)}")
        object.__setattr__(self, "capabilities", caps)


@dataclass(frozen=True)
class LossSpec:
    """A loss term. ``role`` is ``content``, ``style`` or ``image`` (works on pixels)."""

    name: str
    summary: str
    load: Any
    role: str = "style"
    plugin: str | None = field(default=None, compare=False)

    kind = "loss"

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.role not in ("content", "style", "image"):
            raise ValueError(f"loss {self.name!r}: role must be content, style or image")


@dataclass(frozen=True)
class BackboneSpec:
    """A feature-extraction network.

    ``load`` is a factory called as ``factory(pooling=..., padding=...,
    weights=PATH_OR_NONE)`` returning a :class:`styletool.Backbone`.
    ``weight_source`` tells the user where the weights come from;
    ``weights_available`` is a cheap check (no torch import) of whether they
    can be had right now without a download.
    """

    name: str
    summary: str
    load: Any
    weight_source: str = ""
    weights_available: Callable[[], bool] | None = None
    layers: tuple[str, ...] = ()
    plugin: str | None = field(default=None, compare=False)

    kind = "backbone"

    def __post_init__(self) -> None:
        _check_name(self.name)


def _check_name(name: str) -> None:
    if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ValueError(f"invalid name {name!r}: use letters, digits, '-', '_' and '.'")
