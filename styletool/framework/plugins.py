"""Plugin loading: entry points one at a time, failures isolated and recorded.

pluggy's own ``load_setuptools_entrypoints`` stops at the first plugin that
fails to import, and calling a hook runs every implementation in one go, so
one raising plugin would hide all the others. Here each entry point is loaded
on its own, each plugin's collection hooks are called on their own, and every
registered name is attributed to the plugin that registered it.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from styletool.errors import describe
from styletool.framework import hookspecs
from styletool.framework.registry import PLURALS, SPEC_TYPES, Conflict, Registry

ENTRY_POINT_GROUP = "styletool"
DISABLE_ENV = "STYLETOOL_DISABLE_PLUGINS"
# STYLETOOL_PREFER=gatys=broken,foo=alpha: which plugin provides a name that several register.
PREFER_ENV = "STYLETOOL_PREFER"
# The distribution of the built-in plugins (declared in styletool's own pyproject.toml).
CORE_DISTRIBUTION = "styletool"
COLLECTION_HOOKS = {
    "register_methods": "method",
    "register_losses": "loss",
    "register_backbones": "backbone",
    "register_models": "model",
}


@dataclass
class PluginRecord:
    """What styletool knows about one plugin, as `styletool plugins` shows it."""

    name: str
    distribution: str = ""
    version: str = ""
    module: str = ""
    status: str = "ok"  # ok | failed | blocked
    error: str = ""
    registered: dict[str, list[str]] = field(default_factory=dict)

    @property
    def builtin(self) -> bool:
        return self.distribution == CORE_DISTRIBUTION

    def registered_summary(self) -> str:
        return "; ".join(f"{PLURALS[kind]}: {', '.join(names)}" for kind, names in self.registered.items() if names)


def _stderr_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def preferred_plugins() -> dict[str, str]:
    """``name -> plugin`` from STYLETOOL_PREFER=name=plugin,...: the user's choice where plugins contest a name."""
    choices = {}
    for item in os.environ.get(PREFER_ENV, "").split(","):
        name, sep, plugin = item.partition("=")
        if sep and name.strip() and plugin.strip():
            choices[name.strip()] = plugin.strip()
    return choices


def disabled_plugins() -> set[str]:
    """Plugin names blocked with STYLETOOL_DISABLE_PLUGINS=a,b."""
    raw = os.environ.get(DISABLE_ENV, "")
    return {name.strip() for name in raw.split(",") if name.strip()}


class PluginManager:
    """Loads plugins and collects what they register into a :class:`Registry`."""

    def __init__(self, *, warn: Callable[[str], None] = _stderr_warning):
        self.pm = pluggy.PluginManager("styletool")
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.registry = Registry()
        self._warn = warn

    # -- loading ---------------------------------------------------------
    def load_entry_points(self, *, disabled: set[str] | None = None) -> None:
        """Import every plugin of the ``styletool`` entry-point group, one at a time."""
        disabled = disabled_plugins() if disabled is None else disabled
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            record = PluginRecord(
                name=ep.name,
                distribution=getattr(dist, "name", "") or "",
                version=getattr(dist, "version", "") or "",
                module=ep.value,
            )
            if ep.name in self.records:
                other = self.records[ep.name]
                self._warn(
                    f"plugin '{ep.name}' from {record.distribution or ep.value} ignored: "
                    f"the name is taken by {other.distribution or other.module}"
                )
                continue
            self.records[ep.name] = record
            if ep.name in disabled:
                record.status = "blocked"
                continue
            try:
                module = ep.load()
            except Exception as exc:  # any import-time failure of third-party code
                self._fail(record, f"failed to load: {describe(exc, with_type=True)}")
                continue
            self._register(module, record)

    def _register(self, module: Any, record: PluginRecord) -> None:
        try:
            self.pm.register(module, name=record.name)
        except Exception as exc:  # pluggy validation: wrong hook arguments
            self._fail(record, f"invalid plugin: {describe(exc, with_type=True)}")
            return
        unknown = _unknown_hooks(self.pm, record.name)
        if unknown:
            self.pm.unregister(name=record.name)
            self._fail(record, "; ".join(unknown))

    def _fail(self, record: PluginRecord, error: str) -> None:
        record.status = "failed"
        record.error = error
        self._warn(f"plugin '{record.name}' {error}")

    # -- collection ------------------------------------------------------
    def collect(self) -> Registry:
        """Call each plugin's collection hooks separately and fill the registry.

        A name registered by several plugins is a conflict, reported on
        stderr, and never settled by the order plugins load in: a built-in
        plugin keeps its names, and a name only third-party plugins contest
        is used by none of them; either way STYLETOOL_PREFER=name=plugin
        chooses (as the warning says).
        """
        claims: dict[tuple[str, str], list[tuple[PluginRecord, Any]]] = {}
        for record in self.records.values():
            if record.status != "ok":
                continue
            plugin = self.pm.get_plugin(record.name)
            specs: list[Any] = []
            try:
                for hook_name, kind in COLLECTION_HOOKS.items():
                    for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                        if impl.plugin is plugin:
                            impl.function(register=_Collector(kind, hook_name, specs))
            except Exception as exc:
                # Keep nothing from a plugin whose hook raised: half a plugin is worse than none.
                self._fail(record, f"raised in {hook_name}: {describe(exc, with_type=True)}")
                continue
            for spec in specs:
                claims.setdefault((spec.kind, spec.name), []).append((record, spec))
        preferred = preferred_plugins()
        for (kind, name), claimants in claims.items():
            chosen = self._choose(kind, name, claimants, preferred.get(name))
            if chosen is None:
                continue
            record, spec = chosen
            self.registry.add(spec, plugin=record.name)
            record.registered.setdefault(kind, []).append(name)
        return self.registry

    def _choose(self, kind: str, name: str, claimants: list, preferred: str | None):
        """The claim that gets ``name``: the only one, the user's choice, else a built-in's; None if undecided."""
        if len(claimants) == 1:
            return claimants[0]
        plugins = [record.name for record, _ in claimants]
        if preferred in plugins:
            chosen = claimants[plugins.index(preferred)]
        else:
            if preferred is not None:
                self._warn(f"{PREFER_ENV} chooses plugin '{preferred}' for '{name}', which it does not register")
            chosen = next(((r, s) for r, s in claimants if r.builtin), None)
        for record, _ in claimants:
            if chosen is None or record is not chosen[0]:
                self.registry.conflicts.append(Conflict(kind, name, chosen[0].name if chosen else None, record.name))
        if preferred in plugins:
            return chosen  # the user chose: nothing to warn about
        others = [plugin for plugin in plugins if chosen is None or plugin != chosen[0].name]
        if chosen is not None:
            self._warn(
                f"conflict: plugin{'s' if len(others) > 1 else ''} {_quoted(others)} also register{'' if len(others) > 1 else 's'} "
                f"{kind} '{name}', which built-in plugin '{chosen[0].name}' provides and keeps; to use another, "
                f"set {PREFER_ENV}={name}={others[0]}"
            )
        else:
            how = " or ".join(f"{PREFER_ENV}={name}={plugin}" for plugin in plugins)
            message = f"{kind} '{name}' is registered by plugins {_quoted(plugins)}; choose one: set {how}"
            self.registry.contested[(kind, name)] = message
            self._warn(f"conflict: {message} (until then it is not used)")
        return chosen

    def call_register_commands(self, app: Any) -> None:
        """Let plugins add CLI commands; a raising plugin is reported, the rest still run."""
        for impl in self.pm.hook.register_commands.get_hookimpls():
            record = self.records.get(impl.plugin_name)
            if record is not None and record.status != "ok":
                continue
            try:
                impl.function(app=app)
            except Exception as exc:
                if record is not None:
                    self._fail(record, f"raised in register_commands: {describe(exc, with_type=True)}")


class _Collector:
    """The ``register`` callable handed to one collection hook."""

    def __init__(self, kind: str, hook_name: str, sink: list):
        self.kind, self.hook_name, self.sink = kind, hook_name, sink

    def __call__(self, spec: Any) -> None:
        expected = SPEC_TYPES[self.kind]
        if not isinstance(spec, expected):
            raise TypeError(f"{self.hook_name} must register {expected.__name__} objects, got {type(spec).__name__}")
        self.sink.append(spec)


def _quoted(names: list[str]) -> str:
    return " and ".join(f"'{name}'" for name in names)


def _unknown_hooks(pm: pluggy.PluginManager, plugin_name: str) -> list[str]:
    """Hook implementations of this plugin that match no hook spec (usually a typo)."""
    plugin = pm.get_plugin(plugin_name)
    known = [name for name in dir(hookspecs) if name.startswith("register_")]
    problems = []
    for caller_name in dir(pm.hook):
        caller = getattr(pm.hook, caller_name)
        if not isinstance(caller, pluggy.HookCaller) or caller.spec is not None:
            continue
        if any(impl.plugin is plugin for impl in caller.get_hookimpls()):
            close = difflib.get_close_matches(caller_name, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"has an unknown hook '{caller_name}'{hint}")
    return problems


_MANAGER: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, loaded on first use (warnings print once)."""
    global _MANAGER
    if _MANAGER is None:
        manager = PluginManager()
        manager.load_entry_points()
        manager.collect()
        _MANAGER = manager
    return _MANAGER


def get_registry() -> Registry:
    return get_plugin_manager().registry


def reset_plugin_manager() -> None:
    """Forget the loaded plugins (tests change entry points between runs)."""
    global _MANAGER
    _MANAGER = None
