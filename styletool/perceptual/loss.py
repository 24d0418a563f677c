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
from styletool.perceptual.losses import FeatureLoss

if TYPE_CHECKING:
    from styletool.framework.runtime import Runtime
    from styletool.perceptual.backbones import Backbone
    from styletool.perceptual.losses import ImageLoss


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
    # "relative": each layer's loss divided by its loss for a blank picture (the painting's Gram
    # size per style layer, the photos' feature size for content), so every layer and every
    # painting counts alike; "none": the raw sums, where one deep layer outweighs the rest.
    normalize: str = "none"


NORMALIZATIONS = ("relative", "none")

# The pixel term of :meth:`PerceptualLoss.reconstruction`: mean absolute difference in [0, 1] units,
# weighted so that colours are given back too (content features alone let the tint drift).
RECONSTRUCTION_PIXEL_WEIGHT = 10.0


@dataclass
class StyleTarget:
    """One painting's style statistics with the style loss that compares against them.

    With relative losses the loss's layer weights are this painting's own
    (divided by its statistics' size), so a multi-style network trained on
    paintings of very different contrast asks as much of each.
    ``scale`` multiplies this painting's loss: a multi-style network may ask
    more or less of one painting than of the others (cin's --painting-weight).
    """

    statistics: Any
    loss: FeatureLoss
    scale: float = 1.0

    def __call__(self, features: dict[str, Tensor]) -> Tensor:
        return self.scale * self.loss(features, self.statistics)


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
        if weights.normalize not in NORMALIZATIONS:
            raise UsageError(f"normalize must be one of {', '.join(NORMALIZATIONS)}, not '{weights.normalize}'")
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

    def style_target(self, painting: Tensor, *, size: int) -> StyleTarget:
        """Style statistics of a painting (``[1, 3, H, W]``) resized so its longest side is ``size``."""
        return self.target_from_features(self.style_features(painting, size=size))

    def style_features(self, painting: Tensor, *, size: int) -> dict[str, Tensor]:
        """The style layers' features of a painting resized as :meth:`style_target` resizes it."""
        resized = resize_longest(
            painting, longest_keeping_depth(painting, size, self.backbone, self.weights.style_layers)
        )
        with torch.no_grad():
            return self.backbone(resized.to(self.device), self.weights.style_layers)

    def target_from_features(self, features: dict[str, Tensor]) -> StyleTarget:
        """The style target of a painting whose :meth:`style_features` are ``features``."""
        with torch.no_grad():
            statistics = self.style.target(features)
        loss = self.style
        if self.weights.normalize == "relative":
            loss = self.style.relative_to(statistics, {name: value.float() for name, value in features.items()})
        return StyleTarget(statistics, loss)

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
            return self._terms(features, output.float(), photos.float(), content_target, style_target)

    def reconstruction(self, output: Tensor, photos: Tensor) -> Tensor:
        """How far ``output`` is from giving ``photos`` back: relative content features plus pixels.

        The loss of a style-neutral network (the neutral start and the
        neutral row of feed-forward networks). The content term is relative
        to the photos' own features whatever ``normalize`` says, so it is
        about 1 for a blank picture and 0 for the photo itself.
        """
        layers = self.weights.content_layers
        with torch.no_grad():
            content_target = self.content.target(self.backbone(photos, layers))
        features = self.backbone(output, layers)
        with torch.autocast(device_type=output.device.type, enabled=False):
            content = self.content.relative_to(content_target, features)(features, content_target)
            pixels = (output.float() - photos.float()).abs().mean()
            return content + RECONSTRUCTION_PIXEL_WEIGHT * pixels

    def _terms(
        self, features: dict[str, Tensor], output: Tensor, photos: Tensor, content_target: Any, style_target: Any
    ) -> dict[str, Tensor]:
        w = self.weights
        if isinstance(style_target, list):  # one painting per image: the mean of each image's own style loss
            style = sum(
                target({name: value[i : i + 1] for name, value in features.items()})
                for i, target in enumerate(style_target)
            ) / len(style_target)
        else:
            style = style_target(features)
        content = self.content
        if w.normalize == "relative":
            # Relative to the size of these photos' own features: 1 means as far off as a blank picture.
            content = content.relative_to(content_target, features)
        terms = {
            "content": w.content_weight * content(features, content_target),
            "style": w.style_weight * style,
        }
        if w.tv_weight > 0:
            tv = self.tv(output)
            if w.normalize == "relative":  # 1 means as rough as the photos themselves
                tv = tv / self.tv(photos).clamp_min(1e-12)
            terms["tv"] = w.tv_weight * tv
        return terms
