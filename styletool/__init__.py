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
    describe,
)
from styletool.hookspecs import hookimpl
from styletool.options import blend_weights, option
from styletool.perceptual_options import FeedForwardOptions, PerceptualOptions
from styletool.specs import BackboneSpec, LossSpec, MethodSpec

__version__ = "0.1.0"

# name -> module that defines it; imported lazily by __getattr__.
_LAZY = {
    "Runtime": "styletool.runtime",
    "Backbone": "styletool.backbones",
    "IMAGENET_MEAN": "styletool.backbones",
    "IMAGENET_STD": "styletool.backbones",
    "check_backbone_options": "styletool.backbones",
    "FeatureLoss": "styletool.losses",
    "ImageLoss": "styletool.losses",
    "at_least_fp32": "styletool.losses",
    "gram_matrix": "styletool.losses",
    "mean_std": "styletool.losses",
    "Method": "styletool.methods",
    "StylizeRequest": "styletool.methods",
    "TrainRequest": "styletool.methods",
    "AdaptRequest": "styletool.methods",
    "TransformerNet": "styletool.nn.transformer",
    "load_transformer": "styletool.nn.transformer",
    "transformer_metadata": "styletool.nn.transformer",
    "for_inference": "styletool.nn.inference",
    "fast_network": "styletool.nn.inference",
    "run_network": "styletool.nn.tiling",
    "stylize_tiled": "styletool.nn.tiling",
    "available_memory": "styletool.nn.tiling",
    "PerceptualLoss": "styletool.perceptual",
    "PerceptualWeights": "styletool.perceptual",
    "TrainSettings": "styletool.training",
    "run_training": "styletool.training",
    "TrainResult": "styletool.training",
    "BasicTask": "styletool.training",
    "PhotoFolder": "styletool.training",
    "lr_factor": "styletool.training",
    "loader_workers": "styletool.training",
    "save_model": "styletool.modelfile",
    "load_model": "styletool.modelfile",
    "ModelFileError": "styletool.modelfile",
    "preserve_colors": "styletool.color",
    "contact_sheet": "styletool.grid",
    "labelled_grid": "styletool.grid",
    "cache_dir": "styletool.cache",
    "file_digest": "styletool.cache",
    "Progress": "styletool.events",
    "ignore_progress": "styletool.events",
    "Image": "styletool.images",
    "load_image": "styletool.images",
    "save_image": "styletool.images",
    "resize_longest": "styletool.images",
    "match_color": "styletool.color",
    "transfer_luminance": "styletool.color",
    "luminance_ssim": "styletool.metrics",
}

__all__ = [
    "BackboneSpec",
    "DeviceError",
    "FeedForwardOptions",
    "ImageError",
    "LossSpec",
    "MethodSpec",
    "PerceptualOptions",
    "StyletoolError",
    "UnknownNameError",
    "UsageError",
    "WeightsNotFoundError",
    "__version__",
    "blend_weights",
    "describe",
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
    from styletool.backbones import IMAGENET_MEAN, IMAGENET_STD, Backbone, check_backbone_options
    from styletool.cache import cache_dir, file_digest
    from styletool.color import match_color, preserve_colors, transfer_luminance
    from styletool.events import Progress, ignore_progress
    from styletool.grid import contact_sheet, labelled_grid
    from styletool.images import Image, load_image, resize_longest, save_image
    from styletool.losses import FeatureLoss, ImageLoss, at_least_fp32, gram_matrix, mean_std
    from styletool.methods import AdaptRequest, Method, StylizeRequest, TrainRequest
    from styletool.metrics import luminance_ssim
    from styletool.modelfile import ModelFileError, load_model, save_model
    from styletool.nn.inference import fast_network, for_inference
    from styletool.nn.tiling import available_memory, run_network, stylize_tiled
    from styletool.nn.transformer import TransformerNet, load_transformer, transformer_metadata
    from styletool.perceptual import PerceptualLoss, PerceptualWeights
    from styletool.runtime import Runtime
    from styletool.training import (
        BasicTask,
        PhotoFolder,
        TrainResult,
        TrainSettings,
        loader_workers,
        lr_factor,
        run_training,
    )
