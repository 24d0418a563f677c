"""What every loss term builds on: the base classes and the feature statistics.

A :class:`FeatureLoss` compares backbone features at named layers with target
statistics computed once from a content or style image; an :class:`ImageLoss`
regularizes the pixels themselves. Features are ``[N, C, H, W]`` tensors.

The terms themselves (content, Gram, mean/std, histogram, total variation)
are plugins' work: the built-in ones live in the ``styletool_losses`` plugin.
The Gram matrix and channel statistics stay here because measures in
:mod:`styletool.perceptual.metrics` use them too.
"""

from __future__ import annotations

import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, cast

import torch
from torch import Tensor

__all__ = ["FeatureLoss", "ImageLoss", "at_least_fp32", "gram_matrix", "mean_std"]


# ---------------------------------------------------------------------------
# Feature statistics
# ---------------------------------------------------------------------------


def gram_matrix(features: Tensor, *, shift: float = 0.0) -> Tensor:
    """Gram matrix of ``[N, C, H, W]`` features, normalized by ``C*H*W``: ``[N, C, C]``.

    ``G = (F + shift)(F + shift)^T / (C*H*W)`` with ``F`` reshaped to
    ``[N, C, H*W]``. A non-zero ``shift`` is the "activation shift" of Novak &
    Nikulin 2016: ReLU features are sparse, so many products are zero whatever
    the other channel does; shifting them makes those entries informative.
    """
    n, c, h, w = features.shape
    if _channels_last(features):
        # A channels-last map (the CPU backbones run in that layout) is already [N, H*W, C] in
        # memory: F^T F from that view is the same matrix, where reshaping to [N, C, H*W] would
        # copy the whole map first (forward and backward, on every layer, every evaluation).
        rows = features.permute(0, 2, 3, 1).reshape(n, h * w, c)
        if shift:
            rows = rows + shift
        product = rows.transpose(1, 2) @ rows
    else:
        flat = features.reshape(n, c, h * w)
        if shift:  # skip the full-size copy in the common unshifted case
            flat = flat + shift
        product = flat @ flat.transpose(1, 2)
    # Half-precision features (mixed-precision training) multiply in their own type, which is where
    # the time goes; the result is returned in fp32 so the loss compares it with full precision.
    return at_least_fp32(product) / (c * h * w)


def _channels_last(features: Tensor) -> bool:
    return not features.is_contiguous() and features.is_contiguous(memory_format=torch.channels_last)


def mean_std(features: Tensor, *, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """Per-channel mean and standard deviation over the spatial dims: two ``[N, C]``.

    ``std = sqrt(var + eps)`` with the biased variance; ``eps`` keeps the
    gradient of the square root finite on constant channels.
    """
    var, mean = torch.var_mean(at_least_fp32(features), dim=(2, 3), correction=0)
    return mean, torch.sqrt(var + eps)


def at_least_fp32(tensor: Tensor) -> Tensor:
    """Half-precision tensors (from mixed-precision passes) in fp32; fp32 and fp64 as they are."""
    return tensor.float() if tensor.dtype in (torch.float16, torch.bfloat16) else tensor


# ---------------------------------------------------------------------------
# Base classes
# ---------------------------------------------------------------------------


class FeatureLoss(ABC):
    """A loss on backbone features at named layers, with per-layer weights.

    ``layers`` is a mapping ``layer -> weight`` or a sequence of layer names
    (weight 1.0 each). Use it in two steps: :meth:`target` once per content or
    style image, then call the loss on the features of the image being
    optimized. Subclasses implement :meth:`layer_target` and :meth:`layer_loss`
    and take their options as keyword-only arguments.
    """

    role: ClassVar[str]

    def __init__(self, layers: Mapping[str, float] | Sequence[str]) -> None:
        if isinstance(layers, str):
            # A bare string is a Sequence too; read it as one layer name
            # rather than one layer per character.
            layers = [layers]
        if isinstance(layers, Mapping):
            weights = {str(name): float(weight) for name, weight in layers.items()}
        else:
            weights = {str(name): 1.0 for name in layers}
        if not weights:
            raise ValueError(f"{type(self).__name__}: at least one layer is needed")
        for name, weight in weights.items():
            if not math.isfinite(weight) or weight < 0:
                raise ValueError(f"{type(self).__name__}: weight of layer {name!r} must be >= 0, got {weight}")
        self.layers: dict[str, float] = weights

    def target(self, features: Mapping[str, Tensor]) -> dict[str, Any]:
        """Per-layer target statistics of a content or style image's features (detached)."""
        return {layer: self.layer_target(features[layer].detach()) for layer in self.layers}

    def blend(self, targets: Sequence[Mapping[str, Any]], weights: Sequence[float]) -> dict[str, Any]:
        """Combine the targets of several images into one; ``weights`` are >= 0 and sum to 1."""
        weights = [float(w) for w in weights]
        if not targets or len(targets) != len(weights):
            raise ValueError(
                f"blend needs one weight per target, got {len(targets)} targets and {len(weights)} weights"
            )
        if any(not math.isfinite(w) or w < 0 for w in weights) or not math.isclose(sum(weights), 1.0, abs_tol=1e-6):
            raise ValueError(f"blend weights must be >= 0 and sum to 1, got {weights}")
        return {layer: self.layer_blend([target[layer] for target in targets], weights) for layer in self.layers}

    def __call__(self, features: Mapping[str, Tensor], target: Mapping[str, Any]) -> Tensor:
        """Sum over layers of ``weight * layer_loss(features[layer], target[layer])``."""
        terms = (weight * self.layer_loss(features[layer], target[layer]) for layer, weight in self.layers.items())
        return cast(Tensor, sum(terms))

    def relative_to(self, target: Mapping[str, Any], features: Mapping[str, Tensor]) -> FeatureLoss:
        """A copy whose layer weights are divided by each layer's loss for blank (all-zero) features.

        For a Gram loss that divisor is the mean square of the target's Gram
        matrix, for a content loss that of the target features: each layer then
        measures its error relative to its target, whatever the size of that
        layer's activations. ``features`` gives each layer's shape.
        """
        relative = copy.copy(self)
        relative.layers = {}
        for layer, weight in self.layers.items():
            blank = float(self.layer_loss(torch.zeros_like(features[layer]), target[layer]))
            # A blank target (an all-black painting's deep layers) has no size to be relative to.
            relative.layers[layer] = weight / blank if blank > 0 else weight
        return relative

    @abstractmethod
    def layer_target(self, features: Tensor) -> Any:
        """Target statistics of one layer's (detached) features."""

    @abstractmethod
    def layer_loss(self, features: Tensor, target: Any) -> Tensor:
        """Loss of one layer's features against its target statistics (scalar)."""

    def layer_blend(self, targets: Sequence[Any], weights: Sequence[float]) -> Any:
        """Weighted average of one layer's targets; override for non-tensor targets."""
        return sum(weight * target for weight, target in zip(weights, targets))


class ImageLoss(ABC):
    """A loss on the image itself (regularizer)."""

    role: ClassVar[str] = "image"

    @abstractmethod
    def __call__(self, image: Tensor) -> Tensor:
        """Loss of an ``[N, C, H, W]`` image (scalar)."""
