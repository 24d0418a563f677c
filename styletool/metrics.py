"""Image-quality measures used by tests and benchmarks to judge stylization."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from styletool.color import rgb_to_ycbcr


def luminance_ssim(a: Tensor, b: Tensor, *, window: int = 11, sigma: float = 1.5) -> float:
    """Structural similarity (Wang et al. 2004) of the luma channels of two RGB images.

    Both are ``[1, 3, H, W]`` in [0, 1]; ``b`` is resized to ``a`` if needed.
    Returns the mean SSIM over the image, 1.0 for identical images.
    """
    if b.shape[-2:] != a.shape[-2:]:
        b = F.interpolate(b, size=a.shape[-2:], mode="bicubic", align_corners=False)
    x = rgb_to_ycbcr(a.double())[:, :1]
    y = rgb_to_ycbcr(b.double())[:, :1]
    coords = torch.arange(window, dtype=torch.float64) - (window - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    kernel = (g[:, None] * g[None, :]) / g.sum() ** 2
    kernel = kernel.view(1, 1, window, window).to(x)

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(t, kernel)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2  # the paper's constants for a dynamic range of 1
    ssim = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(ssim.mean())
