"""Contact sheets: several results of the same size laid out in one image."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def contact_sheet(images: list[Tensor], *, columns: int | None = None, gap: int = 8, background: float = 1.0) -> Tensor:
    """Lay out ``[1, 3, H, W]`` images of one size row by row, ``gap`` pixels apart.

    ``columns`` defaults to a near-square grid. Returns ``[1, 3, H', W']``.
    """
    if not images:
        raise ValueError("contact_sheet needs at least one image")
    height, width = images[0].shape[-2:]
    if any(image.shape[-2:] != (height, width) for image in images):
        raise ValueError("contact_sheet images must all have the same size")
    columns = columns or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    sheet = torch.full((1, 3, rows * height + (rows - 1) * gap, columns * width + (columns - 1) * gap), background,
                       dtype=images[0].dtype, device=images[0].device)
    for i, image in enumerate(images):
        row, column = divmod(i, columns)
        top, left = row * (height + gap), column * (width + gap)
        sheet[..., top : top + height, left : left + width] = image
    return sheet
