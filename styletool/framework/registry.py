"""Name -> spec lookups for methods, losses, backbones and shipped models, with conflicts and suggestions."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from styletool.errors import UnknownNameError, UsageError
from styletool.framework.specs import BackboneSpec, LossSpec, MethodSpec, ModelSpec

SPEC_TYPES = {"method": MethodSpec, "loss": LossSpec, "backbone": BackboneSpec, "model": ModelSpec}
PLURALS = {"method": "methods", "loss": "losses", "backbone": "backbones", "model": "models"}


@dataclass(frozen=True)
class Conflict:
    """Two plugins registered the same name: ``kept`` has it (None: nobody, until the user chooses)."""

    kind: str
    name: str
    kept: str | None
    rejected: str

    def __str__(self) -> str:
        holder = f"plugin '{self.kept}' has it" if self.kept else "no plugin has it until one is chosen"
        return f"{self.kind} '{self.name}' of plugin '{self.rejected}' is not used: {holder}"


@dataclass
class Registry:
    """Everything the loaded plugins registered, by kind and name."""

    methods: dict[str, MethodSpec] = field(default_factory=dict)
    losses: dict[str, LossSpec] = field(default_factory=dict)
    backbones: dict[str, BackboneSpec] = field(default_factory=dict)
    models: dict[str, ModelSpec] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    # Names several third-party plugins registered, none chosen: (kind, name) -> the plugins, with how to choose.
    contested: dict[tuple[str, str], str] = field(default_factory=dict)

    def table(self, kind: str) -> dict:
        return getattr(self, PLURALS[kind])

    def add(self, spec, *, plugin: str) -> Conflict | None:
        """Add a spec on behalf of ``plugin``; a taken name is a conflict, never an overwrite."""
        table = self.table(spec.kind)
        existing = table.get(spec.name)
        if existing is not None:
            conflict = Conflict(spec.kind, spec.name, existing.plugin or "?", plugin)
            self.conflicts.append(conflict)
            return conflict
        object.__setattr__(spec, "plugin", plugin)
        table[spec.name] = spec
        return None

    def get(self, kind: str, name: str):
        """The spec registered as ``name``, or an error that suggests a close name."""
        table = self.table(kind)
        spec = table.get(name)
        if spec is None:
            if (kind, name) in self.contested:
                raise UsageError(self.contested[(kind, name)])
            raise UnknownNameError(unknown_name_message(kind, name, table))
        return spec

    def method(self, name: str) -> MethodSpec:
        return self.get("method", name)

    def loss(self, name: str) -> LossSpec:
        return self.get("loss", name)

    def backbone(self, name: str) -> BackboneSpec:
        return self.get("backbone", name)

    def model(self, name: str) -> ModelSpec:
        return self.get("model", name)

    def default_model(self, method: str) -> ModelSpec | None:
        """The shipped model ``method`` uses when no ``--model`` is given (its spec's ``default_model``), if any."""
        name = self.method(method).default_model
        if name is None:
            return None
        model = self.models.get(name)
        if model is None or model.method != method:
            raise UsageError(
                f"method '{method}' uses the shipped model '{name}' by default, but no plugin ships a {method} "
                f"model of that name; give --model FILE (`styletool plugins` shows what failed to load)"
            )
        return model

    def method_that_can(self, name: str, capability: str) -> MethodSpec:
        """The method ``name``, or an error naming the methods that can do ``capability`` (stylize, train, ...)."""
        spec = self.method(name)
        if capability not in spec.capabilities:
            can = ", ".join(self.methods_that_can(capability)) or "none installed"
            raise UsageError(f"method '{name}' cannot {capability}; methods that can: {can}")
        return spec

    def methods_that_can(self, capability: str) -> list[str]:
        return sorted(n for n, s in self.methods.items() if capability in s.capabilities)


def unknown_name_message(kind: str, name: str, known) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    available = f" (available: {', '.join(names)})" if names else f" (no {PLURALS[kind]} are installed)"
    return f"unknown {kind} '{name}'{hint}{available}"
