"""The built-in loss terms: content, Gram, mean/std, histogram and total variation.

Each is a :class:`styletool.FeatureLoss` or :class:`styletool.ImageLoss`
registered by name (``styletool losses`` lists them); a third-party plugin
adds its own the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from styletool import FeatureLoss, ImageLoss, at_least_fp32, gram_matrix, mean_std

# ---------------------------------------------------------------------------
# The maths
# ---------------------------------------------------------------------------


def content_loss(features: Tensor, target: Tensor) -> Tensor:
    """Mean squared error between features and their target (scalar)."""
    return _mse(features, target)


def total_variation(image: Tensor, *, p: int = 1) -> Tensor:
    """Total variation of an ``[N, C, H, W]`` image (scalar).

    With ``dx`` and ``dy`` the differences between horizontal and vertical
    neighbours, ``p=1`` gives ``mean(|dx|) + mean(|dy|)`` and ``p=2`` gives
    ``mean(dx^2) + mean(dy^2)``; each mean is over all its differences, so the
    value does not grow with the image size or the batch.
    """
    _check_tv_power(p)
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    if p == 1:
        return dx.abs().mean() + dy.abs().mean()
    return dx.square().mean() + dy.square().mean()


def match_histogram(features: Tensor, target_sorted: Tensor) -> Tensor:
    """Features with each channel's values replaced by the target's values of the same rank.

    Sort-based histogram matching (Risser et al. 2017, "Stable and
    controllable neural texture synthesis and style transfer using histogram
    losses"): ``features`` is ``[N, C, H, W]``, ``target_sorted`` holds each
    channel's target values in ascending order, ``[C, K]``. When ``K`` differs
    from ``H*W`` the target's quantile function is linearly interpolated to
    ``H*W`` points (first and last values kept). Every sample of the batch is
    matched separately. The result is detached: it serves as a fixed target.
    """
    n, c, h, w = features.shape
    flat = features.detach().reshape(n, c, h * w)
    values = _resample_sorted(target_sorted.to(flat), h * w).expand(n, c, h * w)
    # The element of rank j receives the target's j-th smallest value.
    ranks = flat.argsort(dim=-1)
    matched = torch.empty_like(flat).scatter_(-1, ranks, values)
    return matched.reshape(features.shape)


def _mse(input: Tensor, target: Tensor) -> Tensor:
    # Unlike F.mse_loss this broadcasts without a warning, so a target from a
    # single style image serves a whole batch; the mean is over the
    # broadcast shape, i.e. the average of the per-sample losses.
    return (at_least_fp32(input) - at_least_fp32(target)).square().mean()


def _resample_sorted(values: Tensor, length: int) -> Tensor:
    """Resample sorted ``[C, K]`` rows to ``[C, length]`` by linear interpolation."""
    if values.shape[-1] == length:
        return values
    # align_corners=True maps the first and last values onto the ends, which
    # is linear interpolation of the quantile function (as torch.quantile does).
    return F.interpolate(values[None], size=length, mode="linear", align_corners=True)[0]


def _check_tv_power(p: int) -> None:
    if p not in (1, 2):
        raise ValueError(f"total variation power p must be 1 or 2, got {p!r}")


# ---------------------------------------------------------------------------
# The losses
# ---------------------------------------------------------------------------


class ContentLoss(FeatureLoss):
    """Feature reconstruction: mean squared error between features (Gatys et al. 2016).

    ``L = mean((F - P)^2)`` with ``F`` the features of the generated image and
    ``P`` those of the content image ("Image style transfer using
    convolutional neural networks", CVPR 2016). The paper uses ``1/2 * sum``;
    the mean keeps layer weights independent of the layer's size.
    """

    role = "content"

    def layer_target(self, features: Tensor) -> Tensor:
        return features

    def layer_loss(self, features: Tensor, target: Tensor) -> Tensor:
        return content_loss(features, target)


class GramLoss(FeatureLoss):
    """Style as feature correlations: MSE between Gram matrices (Gatys et al. 2016).

    ``L = mean((G(F) - G(S))^2)`` with ``G`` the :func:`gram_matrix`
    normalized by ``C*H*W`` ("Image style transfer using convolutional neural
    networks", CVPR 2016, which instead divides the sum by ``4 C^2 (H W)^2``;
    the two differ by a constant per layer). ``shift`` adds the activation
    shift of Novak & Nikulin 2016 ("Improving the neural algorithm of artistic
    style") to the features before the product.
    """

    role = "style"

    def __init__(self, layers: Mapping[str, float] | Sequence[str], *, shift: float = 0.0) -> None:
        super().__init__(layers)
        self.shift = float(shift)

    def layer_target(self, features: Tensor) -> Tensor:
        return gram_matrix(features, shift=self.shift)

    def layer_loss(self, features: Tensor, target: Tensor) -> Tensor:
        return _mse(gram_matrix(features, shift=self.shift), target)


class MeanStdLoss(FeatureLoss):
    """Style as channel statistics: MSE of per-channel mean and std (Huang & Belongie 2017).

    ``L = mean((mu(F) - mu(S))^2) + mean((sigma(F) - sigma(S))^2)`` over
    channels, with :func:`mean_std` over the spatial dims ("Arbitrary style
    transfer in real-time with adaptive instance normalization", ICCV 2017).
    The paper writes unsquared L2 norms; the squared mean is what its
    reference implementations train with.
    """

    role = "style"

    def layer_target(self, features: Tensor) -> tuple[Tensor, Tensor]:
        return mean_std(features)

    def layer_loss(self, features: Tensor, target: tuple[Tensor, Tensor]) -> Tensor:
        mean, std = mean_std(features)
        target_mean, target_std = target
        return _mse(mean, target_mean) + _mse(std, target_std)

    def layer_blend(self, targets: Sequence[tuple[Tensor, Tensor]], weights: Sequence[float]) -> tuple[Tensor, Tensor]:
        # Averaging means and stds separately is also the Wasserstein-2
        # barycenter of the per-channel Gaussians these statistics describe.
        means, stds = zip(*targets)
        return super().layer_blend(means, weights), super().layer_blend(stds, weights)


class HistogramLoss(FeatureLoss):
    """Style as per-channel histograms: MSE to the histogram-matched features (Risser et al. 2017).

    ``L = mean((F - R)^2)`` with ``R = match_histogram(F, sorted(S))`` held
    fixed: each channel of ``F`` remapped, rank for rank, onto the style's
    values ("Stable and controllable neural texture synthesis and style
    transfer using histogram losses", 2017). The target is each channel's
    sorted values, ``[C, K]``; a style batch of several images is pooled into
    one distribution. Blending averages the sorted values (resampled to a
    common length), the 1-D Wasserstein barycenter of the histograms.
    """

    role = "style"

    def layer_target(self, features: Tensor) -> Tensor:
        channels = features.shape[1]
        return features.transpose(0, 1).reshape(channels, -1).sort(dim=-1).values

    def layer_loss(self, features: Tensor, target: Tensor) -> Tensor:
        return _mse(features, match_histogram(features, target))

    def layer_blend(self, targets: Sequence[Tensor], weights: Sequence[float]) -> Tensor:
        length = max(target.shape[-1] for target in targets)
        resampled = [_resample_sorted(target, length) for target in targets]
        return super().layer_blend(resampled, weights)


class TotalVariationLoss(ImageLoss):
    """Smoothness prior: total variation of the image (Mahendran & Vedaldi 2015).

    ``p=1``: ``mean(|dx|) + mean(|dy|)``; ``p=2``: ``mean(dx^2) + mean(dy^2)``,
    with ``dx``, ``dy`` the differences between neighbouring pixels (see
    :func:`total_variation`). From "Understanding deep image representations by
    inverting them", CVPR 2015, whose ``beta=2`` is ``p=2``; ``p=1`` is the
    anisotropic form ``|dx| + |dy|``, which keeps edges sharper.
    """

    def __init__(self, *, p: int = 1) -> None:
        _check_tv_power(p)
        self.p = p

    def __call__(self, image: Tensor) -> Tensor:
        return total_variation(image, p=self.p)
