"""Light descriptions of what plugins register.

A spec names a thing and says how to load it, without importing it, so that
listing commands (`styletool methods`, `backbones`, `plugins`) never import
torch. ``load`` is either the object itself or a ``"module:attribute"`` string
resolved on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from styletool.errors import UsageError

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
    so `methods show` stays fast. ``default_model`` names the model (a
    :class:`ModelSpec`) the method uses when no ``--model`` is given.
    """

    name: str
    summary: str
    load: Any
    options: Any = None
    train_options: Any = None
    adapt_options: Any = None
    capabilities: AbstractSet[str] = frozenset({"stylize"})  # a frozenset once made
    default_model: str | None = None
    plugin: str | None = field(default=None, compare=False)

    kind = "method"

    def __post_init__(self) -> None:
        _check_name(self.name)
        caps = frozenset(self.capabilities)
        unknown = caps - set(CAPABILITIES)
        if unknown:
            raise ValueError(f"method {self.name!r}: unknown capabilities {sorted(unknown)}")
        object.__setattr__(self, "capabilities", caps)

    def options_class(self, kind: str = "stylize") -> type | None:
        """The options dataclass of ``kind`` (``stylize``, ``train`` or ``adapt``), or None if it has none.

        Stylize options may also be declared as the method class's ``Options``
        (which imports the method's module, and so torch).
        """
        declared = {"stylize": self.options, "train": self.train_options, "adapt": self.adapt_options}[kind]
        if declared is not None:
            return resolve(declared)
        if kind == "stylize":
            return resolve(self.load).Options
        return None

    def make_options(self, values: Mapping[str, Any] | Any = None, kind: str = "stylize") -> Any:
        """The method's ``kind`` options: an options object as given, else made from Python values and checked.

        ``values`` maps option names to values (``{"iterations": 300}``),
        checked as the command line checks them; None gives the defaults.
        A method without such options takes none.
        """
        from styletool.framework.options import make_options

        options_cls = self.options_class(kind)
        if options_cls is None:
            if values:
                raise UsageError(f"method '{self.name}' has no {kind} options")
            return None
        if values is None or isinstance(values, Mapping):
            return make_options(options_cls, dict(values or {}))
        return values


@dataclass(frozen=True)
class ModelSpec:
    """A model file a plugin ships: named on the command line without a path (``--model NAME``).

    ``file`` is the model file, usually inside the plugin's own package;
    ``method`` the method it is for; ``sha256`` (optional) the digest the
    file must have, which the test suite checks. A method uses one of these
    when no ``--model`` is given if its :class:`MethodSpec` names it as
    ``default_model``. `styletool models` lists them all.
    """

    name: str
    summary: str
    method: str
    file: Path
    sha256: str = ""
    plugin: str | None = field(default=None, compare=False)

    kind = "model"

    def __post_init__(self) -> None:
        _check_name(self.name)
        object.__setattr__(self, "file", Path(self.file))


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
