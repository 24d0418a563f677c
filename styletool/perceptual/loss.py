"""Perceptual loss for training feed-forward stylization networks (Johnson et al. 2016).

The network's output is compared with the input photo through backbone
features (content) and with a painting through feature statistics (style),
plus an optional total-variation term. Gatys optimizes one image with the
same terms; here they train a network over many photos.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from styletool.errors import UsageError
from styletool.io.images import resize_longest

if TYPE_CHECKING:
    from styletool.framework.runtime import Runtime
    from styletool.perceptual.backbones import Backbone
    from styletool.perceptual.losses import FeatureLoss, ImageLoss


def longest_keeping_depth(painting: Tensor, size: int, backbone: Backbone, layers: list[str]) -> int:
    """``size``, or more for a long, thin painting: its shorter side must still reach the deepest of ``layers``."""
    height, width = painting.shape[-2:]
    needed = max(backbone.min_input_size(layer) for layer in layers)
    return max(size, math.ceil(needed * max(height, width) / min(height, width)))


@dataclass
class PerceptualWeights:
    content_weight: float
    style_weight: float
    tv_weight: float
    content_layers: list[str]
    style_layers: list[str]
    backbone: str = "vgg19"
    backbone_weights: str | None = None
    # Names in the registry: the losses plugin (or a third-party one) provides the terms.
    style_loss: str = "gram"
    content_loss: str = "content"
    tv_loss: str = "tv"


class PerceptualLoss:
    """Weighted content, style and TV terms of a batch of outputs, on a shared frozen backbone.

    It is given its parts: the backbone and the three loss terms. :meth:`build`
    takes them from the registry by the names ``weights`` gives.
    """

    def __init__(
        self,
        backbone: Backbone,
        weights: PerceptualWeights,
        *,
        content: FeatureLoss,
        style: FeatureLoss,
        tv: ImageLoss,
    ):
        missing = [
            layer for layer in [*weights.content_layers, *weights.style_layers] if layer not in backbone.layer_names
        ]
        if missing:
            raise UsageError(f"backbone '{weights.backbone}' has no layer '{missing[0]}'")
        self.backbone = backbone
        self.weights = weights
        self.content, self.style, self.tv = content, style, tv
        self.layers = list(dict.fromkeys([*weights.content_layers, *weights.style_layers]))

    @classmethod
    def build(cls, runtime: Runtime, weights: PerceptualWeights) -> PerceptualLoss:
        """The loss ``weights`` describe, its backbone and terms looked up by name on ``runtime``."""
        # The losses first: an unknown name is reported before the backbone's weights are read.
        content = runtime.loss(weights.content_loss, layers=weights.content_layers)
        style = runtime.loss(weights.style_loss, layers=weights.style_layers)
        tv = runtime.loss(weights.tv_loss)
        backbone = runtime.backbone(weights.backbone, weights=weights.backbone_weights)
        return cls(backbone, weights, content=content, style=style, tv=tv)

    @property
    def device(self) -> torch.device:
        return next(self.backbone.parameters()).device

    def style_target(self, painting: Tensor, *, size: int) -> Any:
        """Style statistics of a painting (``[1, 3, H, W]``) resized so its longest side is ``size``."""
        resized = resize_longest(
            painting, longest_keeping_depth(painting, size, self.backbone, self.weights.style_layers)
        )
        with torch.no_grad():
            return self.style.target(self.backbone(resized.to(self.device), self.weights.style_layers))

    def __call__(self, output: Tensor, photos: Tensor, style_target: Any) -> dict[str, Tensor]:
        """The weighted terms for a batch of outputs of ``photos``.

        ``style_target`` is one painting's statistics (:meth:`style_target`)
        for the whole batch, or a list with one per image (a multi-style
        network trained on several paintings in one step).
        """
        w = self.weights
        with torch.no_grad():
            content_target = self.content.target(self.backbone(photos, w.content_layers))
        features = self.backbone(output, self.layers)
        # Under mixed precision the backbone runs in half precision; the loss terms take its
        # features as they are and compare them in fp32 (styletool.perceptual.losses), outside autocast.
        with torch.autocast(device_type=output.device.type, enabled=False):
            return self._terms(features, output.float(), content_target, style_target)

    def _terms(
        self, features: dict[str, Tensor], output: Tensor, content_target: Any, style_target: Any
    ) -> dict[str, Tensor]:
        w = self.weights
        if isinstance(style_target, list):  # one painting per image: the mean of each image's own style loss
            style = sum(
                self.style({name: value[i : i + 1] for name, value in features.items()}, target)
                for i, target in enumerate(style_target)
            ) / len(style_target)
        else:
            style = self.style(features, style_target)
        terms = {
            "content": w.content_weight * self.content(features, content_target),
            "style": w.style_weight * style,
        }
        if w.tv_weight > 0:
            terms["tv"] = w.tv_weight * self.tv(output)
        return terms
