"""Colour maths on RGB tensors in [0, 1]: YCbCr, luminance transfer, colour matching.

Used to keep a photo's colours in a stylized result (Gatys et al., "Preserving
Color in Neural Artistic Style Transfer", 2016): either transfer only the
luminance of the result onto the photo's chroma, or recolour the painting to
the photo's colour statistics before stylizing.
"""

from __future__ import annotations

import torch
from torch import Tensor

# ITU-R BT.601 full-range (JPEG) conversion; rows give Y, Cb, Cr.
_RGB_TO_YCBCR = torch.tensor(
    [
        [0.299, 0.587, 0.114],
        [-0.168736, -0.331264, 0.5],
        [0.5, -0.418688, -0.081312],
    ]
)
_OFFSET = torch.tensor([0.0, 0.5, 0.5])


def rgb_to_ycbcr(image: Tensor) -> Tensor:
    """Convert ``[..., 3, H, W]`` RGB in [0, 1] to YCbCr with Cb and Cr centred on 0.5."""
    matrix = _RGB_TO_YCBCR.to(image)
    out = torch.einsum("ij,...jhw->...ihw", matrix, image)
    return out + _OFFSET.to(image).view(3, 1, 1)


def ycbcr_to_rgb(image: Tensor) -> Tensor:
    """Invert :func:`rgb_to_ycbcr` (values are not clamped)."""
    matrix = torch.linalg.inv(_RGB_TO_YCBCR.double()).to(image)
    centred = image - _OFFSET.to(image).view(3, 1, 1)
    return torch.einsum("ij,...jhw->...ihw", matrix, centred)


def transfer_luminance(result: Tensor, photo: Tensor, *, strength: float = 1.0) -> Tensor:
    """Keep the photo's colours: the result's luma (Y) with the photo's chroma (Cb, Cr).

    ``strength`` blends between the plain result (0) and full colour
    preservation (1). ``photo`` is resized to the result first if needed.
    """
    photo = _match_size(photo, result)
    combined = torch.cat([rgb_to_ycbcr(result)[..., :1, :, :], rgb_to_ycbcr(photo)[..., 1:, :, :]], dim=-3)
    preserved = ycbcr_to_rgb(combined).clamp(0.0, 1.0)
    return torch.lerp(result, preserved, strength)


def match_color(source: Tensor, reference: Tensor, *, strength: float = 1.0, eps: float = 1e-5) -> Tensor:
    """Recolour ``source`` so its pixel mean and covariance equal ``reference``'s.

    A linear map x -> A (x - mu_s) + mu_r with A = C_r^(1/2) C_s^(-1/2)
    (symmetric square roots), as in Gatys et al. 2016's colour-histogram
    matching. ``strength`` blends between the original (0) and the matched
    colours (1). Both are ``[1, 3, H, W]`` RGB in [0, 1].
    """
    source_pixels = source.reshape(3, -1).double()
    reference_pixels = reference.reshape(3, -1).double()
    mu_s, cov_s = _mean_cov(source_pixels, eps)
    mu_r, cov_r = _mean_cov(reference_pixels, eps)
    transform = _sqrtm(cov_r) @ torch.linalg.inv(_sqrtm(cov_s))
    matched = transform @ (source_pixels - mu_s) + mu_r
    matched = matched.reshape(source.shape).to(source.dtype).clamp(0.0, 1.0)
    return torch.lerp(source, matched, strength)


def _mean_cov(pixels: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    mean = pixels.mean(dim=1, keepdim=True)
    centred = pixels - mean
    # eps keeps flat single-colour images invertible.
    cov = centred @ centred.T / pixels.shape[1] + eps * torch.eye(3, dtype=pixels.dtype, device=pixels.device)
    return mean, cov


def _sqrtm(matrix: Tensor) -> Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T


def _match_size(image: Tensor, like: Tensor) -> Tensor:
    if image.shape[-2:] == like.shape[-2:]:
        return image
    return torch.nn.functional.interpolate(image, size=like.shape[-2:], mode="bicubic", align_corners=False).clamp(0, 1)


COLOR_MODES = ("none", "luminance", "histogram")


def preserve_colors(result: Tensor, photo: Tensor, mode: str, *, strength: float = 1.0) -> Tensor:
    """Give a finished result the photo's colours, for methods that cannot recolour the painting first.

    ``luminance`` keeps the result's luma on the photo's chroma; ``histogram``
    recolours the result to the photo's colour mean and covariance. Feed-forward
    models carry their painting inside the weights, so both act afterwards.
    """
    if mode == "none" or strength == 0:
        return result
    if result.shape[0] > 1:  # a batch of photos: each keeps its own colours
        return torch.cat([preserve_colors(r[None], p[None], mode, strength=strength) for r, p in zip(result, photo)])
    if mode == "luminance":
        return transfer_luminance(result, photo, strength=strength)
    if mode == "histogram":
        return match_color(result, _match_size(photo, result), strength=strength)
    raise ValueError(f"colour mode must be one of {', '.join(COLOR_MODES)}, not {mode!r}")
