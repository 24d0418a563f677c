"""styletool: plugin-based neural style transfer.

The public API for plugins and scripts. Importing this package is cheap: the
names that need torch (Runtime, Backbone, losses, Method, image I/O) are
imported on first access, so listing commands never load torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from styletool.errors import (
    DeviceError,
    ImageError,
    StyletoolError,
    UnknownNameError,
    UsageError,
    WeightsNotFoundError,
)
from styletool.hookspecs import hookimpl
from styletool.options import option
from styletool.specs import BackboneSpec, LossSpec, MethodSpec

__version__ = "0.1.0"

# name -> module that defines it; imported lazily by __getattr__.
_LAZY = {
    "Runtime": "styletool.runtime",
    "Backbone": "styletool.backbones",
    "FeatureLoss": "styletool.losses",
    "ImageLoss": "styletool.losses",
    "Method": "styletool.methods",
    "StylizeRequest": "styletool.methods",
    "Progress": "styletool.events",
    "Image": "styletool.images",
    "load_image": "styletool.images",
    "save_image": "styletool.images",
}

__all__ = [
    "BackboneSpec",
    "DeviceError",
    "ImageError",
    "LossSpec",
    "MethodSpec",
    "StyletoolError",
    "UnknownNameError",
    "UsageError",
    "WeightsNotFoundError",
    "__version__",
    "hookimpl",
    "option",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'styletool' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from styletool.backbones import Backbone
    from styletool.events import Progress
    from styletool.images import Image, load_image, save_image
    from styletool.losses import FeatureLoss, ImageLoss
    from styletool.methods import Method, StylizeRequest
    from styletool.runtime import Runtime
