"""A backbone built on styletool's Backbone: fixed edge filters, so it needs no weights file."""

import torch
from torch import nn

from styletool import IMAGENET_MEAN, IMAGENET_STD, Backbone


def _edge_filters(channels_in: int, channels_out: int) -> nn.Conv2d:
    conv = nn.Conv2d(channels_in, channels_out, 3, padding=1)
    sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    kernels = [sobel, sobel.t(), -sobel, -sobel.t()]
    with torch.no_grad():
        for out in range(channels_out):
            conv.weight[out] = kernels[out % 4] / channels_in
            conv.bias[out] = 0.0
    return conv


def edges_backbone(*, pooling="max", padding="zero", weights=None):
    """Called by styletool as ``factory(pooling=..., padding=..., weights=...)``; ``weights`` is not used."""
    layers = [
        ("conv1", _edge_filters(3, 8)),
        ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(2)),
        ("conv2", _edge_filters(8, 16)),
        ("relu2", nn.ReLU()),
    ]
    return Backbone(layers, mean=IMAGENET_MEAN, std=IMAGENET_STD, name="edges", pooling=pooling, padding=padding)
