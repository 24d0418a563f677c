"""Hook specifications: what a styletool plugin may implement.

Each collection hook receives a ``register`` callable and calls it once per
thing it provides, with a spec from :mod:`styletool.framework.specs`.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("styletool")
hookimpl = pluggy.HookimplMarker("styletool")


@hookspec
def register_methods(register):
    """Register stylization methods: ``register(MethodSpec(...))``."""


@hookspec
def register_losses(register):
    """Register loss terms: ``register(LossSpec(...))``."""


@hookspec
def register_backbones(register):
    """Register feature-extraction backbones: ``register(BackboneSpec(...))``."""


@hookspec
def register_models(register):
    """Register model files the plugin ships: ``register(ModelSpec(...))``."""


@hookspec
def register_commands(app):
    """Add Typer commands or sub-apps to the ``styletool`` CLI."""
