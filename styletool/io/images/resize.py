"""Resizing to a longest side: the one way styletool scales pictures."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

try:
    from PIL import ImageCms
except ImportError:  # Pillow built without littleCMS: colour profiles are ignored.
    ImageCms = None  # type: ignore[assignment]


def longest_side_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """``(height, width)`` scaled so the longest side is ``size``, the aspect kept, each side at least 1."""
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_longest(pixels: Tensor, size: int) -> Tensor:
    """Resize ``[C, H, W]`` or ``[N, C, H, W]`` so the longest side is ``size``.

    The aspect ratio is kept (each side at least 1 pixel); downscaling is
    antialiased bicubic and the result is clamped to ``[0, 1]``.
    """
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    if pixels.dim() not in (3, 4):
        raise ValueError(f"expected [C, H, W] or [N, C, H, W], got shape {tuple(pixels.shape)}")
    height, width = pixels.shape[-2:]
    new_size = longest_side_shape(height, width, size)
    if new_size == (height, width):
        return pixels
    batch = pixels if pixels.dim() == 4 else pixels.unsqueeze(0)
    resized = F.interpolate(batch, size=new_size, mode="bicubic", antialias=True, align_corners=False)
    # Bicubic overshoots at sharp edges.
    resized = resized.clamp(0, 1)
    return resized if pixels.dim() == 4 else resized[0]
