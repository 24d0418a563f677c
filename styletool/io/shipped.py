"""Models that plugins ship, named on the command line without a path.

A plugin declares each model file it ships with a :class:`styletool.ModelSpec`
(the ``register_models`` hook), and a method names the one it uses when no
``--model`` is given (``MethodSpec.default_model``): the core knows no
method's models. `styletool models` lists them.

A ``--model`` value is a model file when such a file exists; otherwise a
bare name (no folder, no suffix) is looked up among the shipped models.
This module does not import torch.
"""

from __future__ import annotations

import os
from pathlib import Path

from styletool.errors import UsageError
from styletool.framework.plugins import get_registry
from styletool.framework.registry import Registry
from styletool.framework.specs import ModelSpec


def shipped_models(registry: Registry | None = None) -> dict[str, ModelSpec]:
    """Every model the loaded plugins (or ``registry``) ship, by name (empty when none do)."""
    return dict((registry or get_registry()).models)


def default_model(method: str, registry: Registry | None = None) -> ModelSpec | None:
    """The shipped model ``method`` uses when no ``--model`` is given, if there is one."""
    return (registry or get_registry()).default_model(method)


def resolve_model(value: str | os.PathLike, registry: Registry | None = None) -> Path:
    """The file a ``--model`` value names: an existing file, or the name of a shipped model.

    A file of that name in the working folder wins; a folder does not (a
    ``paintings/`` folder does not hide the model ``paintings``). A value that
    is neither is returned unchanged, so the loader reports the missing file
    in its own words; a bare name that is not shipped gets an error listing
    the shipped ones.
    """
    path = Path(value)
    if path.is_file():
        return path
    text = os.fspath(value)
    shipped = shipped_models(registry)
    if text in shipped:
        return shipped[text].file
    bare = path.suffix == "" and path.parent == Path(".")
    if bare and not path.exists():
        names = ", ".join(shipped) or "none"
        raise UsageError(
            f"no model file or shipped model named '{text}' (shipped models: {names}; `styletool models` lists them)"
        )
    return path


def model_for(method: str, given: list[Path], registry: Registry | None = None) -> list[Path]:
    """The ``--model`` values resolved to files; the method's shipped default when none was given."""
    if given:
        return [resolve_model(value, registry) for value in given]
    default = default_model(method, registry)
    return [default.file] if default is not None else []
