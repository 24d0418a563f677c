"""SqueezeNet 1.1 backbone: torchvision's architecture and ImageNet weights, layers named after the paper."""

from __future__ import annotations

import os

import torch
import torchvision

from styletool import IMAGENET_MEAN, IMAGENET_STD, Backbone, check_backbone_options
from styletool_backbones import SQUEEZENET1_1_LAYERS
from styletool_backbones import weights as _weights

__all__ = ["squeezenet1_1"]


def squeezenet1_1(*, pooling: str = "max", padding: str = "zero", weights: str | os.PathLike | None = None) -> Backbone:
    """SqueezeNet 1.1 (Iandola et al. 2016) features with torchvision's ImageNet weights.

    Its first convolution has no padding, so ``padding="replicate"`` changes
    nothing here; ``pooling="avg"`` keeps the 3x3/2 ceil-mode windows.
    """
    check_backbone_options(pooling, padding)
    # Built on the meta device: no random initialization to pay for or to
    # disturb the global generator; the weights are copied in afterwards.
    with torch.device("meta"):
        features = torchvision.models.squeezenet1_1(weights=None).features
    features = _weights.load_torchvision_features("squeezenet1_1", features, weights=weights)
    return Backbone(
        list(zip(SQUEEZENET1_1_LAYERS, features, strict=True)),
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        name="squeezenet1_1",
        pooling=pooling,
        padding=padding,
    )
