"""A tiny VGG-shaped backbone with fixed random weights, for fast tests of mechanics."""

from __future__ import annotations

import torch
from torch import nn

from styletool import Backbone, BackboneSpec, Runtime
from styletool.framework.plugins import get_registry
from styletool.framework.registry import Registry
from styletool.perceptual.backbones import IMAGENET_MEAN, IMAGENET_STD

LAYOUT = [  # (name, in, out) for convs; pools between blocks, like VGG
    ("1_1", 3, 8),
    "pool1",
    ("2_1", 8, 16),
    "pool2",
    ("3_1", 16, 16),
    "pool3",
    ("4_1", 16, 16),
    ("4_2", 16, 16),
    "pool4",
    ("5_1", 16, 16),
]


def tiny_random_backbone(*, pooling="max", padding="zero", weights=None):
    """A small VGG-shaped network with fixed random weights and VGG layer names."""
    gen = torch.Generator().manual_seed(1234)
    layers = []
    for item in LAYOUT:
        if isinstance(item, str):
            layers.append((item, nn.MaxPool2d(2)))
            continue
        suffix, c_in, c_out = item
        conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        with torch.no_grad():
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * (2.0 / (c_in * 9)) ** 0.5)
            conv.bias.zero_()
        layers += [(f"conv{suffix}", conv), (f"relu{suffix}", nn.ReLU())]
    return Backbone(layers, mean=IMAGENET_MEAN, std=IMAGENET_STD, name="tiny-random", pooling=pooling, padding=padding)


def tiny_runtime(*, seed: int | None = 0, precision: str = "auto") -> Runtime:
    """A CPU runtime whose registry also has the backbone ``tiny-random``."""
    base = get_registry()
    registry = Registry(methods=dict(base.methods), losses=dict(base.losses), backbones=dict(base.backbones))
    registry.add(BackboneSpec(name="tiny-random", summary="test", load=tiny_random_backbone), plugin="tests")
    return Runtime(device="cpu", seed=seed, precision=precision, registry=registry)
