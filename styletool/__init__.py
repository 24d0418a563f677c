"""styletool: plugin-based neural style transfer.

The public API: what plugins and scripts use (docs/plugins.md lists it by
purpose, docs/api.md shows the front door, :class:`Stylizer`). The modules
below ``styletool.`` are the engine and change without notice. Importing this
package is cheap: the names that need torch are imported on first access, so
listing commands never load torch.
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
from styletool.framework.hookspecs import hookimpl
from styletool.framework.options import blend_weights, option
from styletool.framework.specs import BackboneSpec, LossSpec, MethodSpec, ModelSpec
from styletool.perceptual.options import (
    VGG_STYLE_LAYERS,
    FeedForwardOptions,
    PerceptualOptions,
    StyleNetworkOptions,
)
from styletool.version import __version__

# name -> module that defines it; imported lazily by __getattr__.
_LAZY = {
    # stylizing from Python (docs/api.md)
    "Stylizer": "styletool.pipeline",
    "stylize": "styletool.pipeline",
    "StylizeJob": "styletool.pipeline",
    "run_job": "styletool.pipeline",
    "JobListener": "styletool.pipeline",
    "InputResult": "styletool.pipeline",
    "expand_inputs": "styletool.pipeline",
    "output_paths": "styletool.pipeline",
    # methods and their runtime
    "Runtime": "styletool.framework.runtime",
    "Method": "styletool.framework.methods",
    "StylizeRequest": "styletool.framework.methods",
    "TrainRequest": "styletool.framework.methods",
    "AdaptRequest": "styletool.framework.methods",
    "Variants": "styletool.framework.methods",
    "Progress": "styletool.events",
    "ignore_progress": "styletool.events",
    # losses and backbones
    "Backbone": "styletool.perceptual.backbones",
    "IMAGENET_MEAN": "styletool.perceptual.backbones",
    "IMAGENET_STD": "styletool.perceptual.backbones",
    "check_backbone_options": "styletool.perceptual.backbones",
    "FeatureLoss": "styletool.perceptual.losses",
    "ImageLoss": "styletool.perceptual.losses",
    "at_least_fp32": "styletool.perceptual.losses",
    "gram_matrix": "styletool.perceptual.losses",
    "mean_std": "styletool.perceptual.losses",
    "PerceptualLoss": "styletool.perceptual.loss",
    # images, colour and measures
    "Image": "styletool.io.images",
    "load_image": "styletool.io.images",
    "load_painting": "styletool.io.images",
    "save_image": "styletool.io.images",
    "resize_longest": "styletool.io.images",
    "preserve_colors": "styletool.perceptual.color",
    "match_color": "styletool.perceptual.color",
    "transfer_luminance": "styletool.perceptual.color",
    "luminance_ssim": "styletool.perceptual.metrics",
    "labelled_grid": "styletool.grid",
    # model files and the cache
    "save_model": "styletool.io.modelfile",
    "load_model": "styletool.io.modelfile",
    "ModelFile": "styletool.io.modelfile",
    "ModelFileError": "styletool.io.modelfile",
    "cache_dir": "styletool.io.cache",
    "file_digest": "styletool.io.cache",
    # the feed-forward network a method builds on
    "TransformerNet": "styletool.nn.transformer",
    "load_transformer": "styletool.nn.transformer",
    "network_from": "styletool.nn.transformer",
    "check_strength": "styletool.nn.transformer",
    "NEUTRAL": "styletool.nn.transformer",
    "transformer_metadata": "styletool.nn.transformer",
    "fast_network": "styletool.nn.inference",
    "painting_network": "styletool.nn.inference",
    "run_network": "styletool.nn.tiling",
    "available_memory": "styletool.nn.tiling",
    # training
    "TrainSettings": "styletool.training",
    "run_training": "styletool.training",
    "TrainResult": "styletool.training",
    "BasicTask": "styletool.training",
    "FeedForwardTask": "styletool.training",
    "as_saved": "styletool.training",
    "range_excess": "styletool.training",
    "PhotoFolder": "styletool.training",
    "lr_factor": "styletool.training",
    "loader_workers": "styletool.training",
}

__all__ = [
    "VGG_STYLE_LAYERS",
    "BackboneSpec",
    "DeviceError",
    "FeedForwardOptions",
    "ImageError",
    "LossSpec",
    "MethodSpec",
    "ModelSpec",
    "PerceptualOptions",
    "StyleNetworkOptions",
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
    from styletool.events import Progress, ignore_progress
    from styletool.framework.methods import AdaptRequest, Method, StylizeRequest, TrainRequest, Variants
    from styletool.framework.runtime import Runtime
    from styletool.grid import labelled_grid
    from styletool.io.cache import cache_dir, file_digest
    from styletool.io.images import Image, load_image, load_painting, resize_longest, save_image
    from styletool.io.modelfile import ModelFile, ModelFileError, load_model, save_model
    from styletool.nn.inference import fast_network, painting_network
    from styletool.nn.tiling import available_memory, run_network
    from styletool.nn.transformer import (
        NEUTRAL,
        TransformerNet,
        check_strength,
        load_transformer,
        network_from,
        transformer_metadata,
    )
    from styletool.perceptual.backbones import IMAGENET_MEAN, IMAGENET_STD, Backbone, check_backbone_options
    from styletool.perceptual.color import match_color, preserve_colors, transfer_luminance
    from styletool.perceptual.loss import PerceptualLoss
    from styletool.perceptual.losses import FeatureLoss, ImageLoss, at_least_fp32, gram_matrix, mean_std
    from styletool.perceptual.metrics import luminance_ssim
    from styletool.pipeline import (
        InputResult,
        JobListener,
        StylizeJob,
        Stylizer,
        expand_inputs,
        output_paths,
        run_job,
        stylize,
    )
    from styletool.training import (
        BasicTask,
        FeedForwardTask,
        PhotoFolder,
        TrainResult,
        TrainSettings,
        as_saved,
        loader_workers,
        lr_factor,
        range_excess,
        run_training,
    )
