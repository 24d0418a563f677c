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
    sheet = torch.full(
        (1, 3, rows * height + (rows - 1) * gap, columns * width + (columns - 1) * gap),
        background,
        dtype=images[0].dtype,
        device=images[0].device,
    )
    for i, image in enumerate(images):
        row, column = divmod(i, columns)
        top, left = row * (height + gap), column * (width + gap)
        sheet[..., top : top + height, left : left + width] = image
    return sheet


LABEL_HEIGHT = 22


def fit_in_cell(image: Tensor, cell: int, *, background: float = 1.0) -> Tensor:
    """``image`` scaled so its longest side is ``cell`` px, centred on a ``cell`` x ``cell`` square."""
    from styletool.io.images import resize_longest

    resized = resize_longest(image.float(), cell)
    size = resized.shape[-2:]
    square = torch.full((1, 3, cell, cell), background, dtype=resized.dtype, device=resized.device)
    top, left = (cell - size[0]) // 2, (cell - size[1]) // 2
    square[..., top : top + size[0], left : left + size[1]] = resized
    return square


def _label(text: str, width: int) -> Tensor:
    """A ``[1, 3, LABEL_HEIGHT, width]`` strip with ``text`` centred in dark grey (shortened to fit)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    strip = Image.new("RGB", (width, LABEL_HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(strip)
    font = ImageFont.load_default(size=14)
    while text and draw.textlength(text, font=font) > width - 4:
        text = text[:-2] + "…" if len(text) > 2 else ""
    draw.text((width / 2, LABEL_HEIGHT / 2), text, fill=(40, 40, 40), font=font, anchor="mm")
    pixels = torch.from_numpy(np.asarray(strip, dtype=np.float32) / 255.0)
    return pixels.permute(2, 0, 1)[None]


def labelled_grid(
    cells: list[list[Tensor | None]], labels: list[list[str]], *, cell: int = 256, gap: int = 8
) -> Tensor:
    """A grid of images, each fitted into a ``cell`` px square with its label beneath.

    ``cells[r][c]`` is an image (any size) or None (left blank); ``labels``
    has the same shape. Comparison grids put the originals in the first row
    and column: the photos down the left, the paintings (or methods) across
    the top. Returns ``[1, 3, H, W]`` in [0, 1].
    """
    if not cells or not cells[0]:
        raise ValueError("labelled_grid needs at least one cell")
    blank = torch.ones(1, 3, cell + LABEL_HEIGHT, cell)
    tiles = []
    for row, row_labels in zip(cells, labels):
        for image, text in zip(row, row_labels):
            if image is None:
                tiles.append(torch.cat([torch.ones(1, 3, cell, cell), _label(text, cell)], dim=2) if text else blank)
            else:
                tiles.append(torch.cat([fit_in_cell(image.cpu(), cell), _label(text, cell)], dim=2))
    return contact_sheet(tiles, columns=len(cells[0]), gap=gap)


def labelled_sheet(images: list[Tensor], labels: list[str], *, columns: int | None = None) -> Tensor:
    """``images`` (``[1, 3, H, W]``, any sizes) with ``labels`` beneath, row by row in cells of the largest side.

    ``columns`` defaults to a near-square sheet; the last row is left open
    where the images run out. Returns ``[1, 3, H', W']`` in [0, 1].
    """
    if len(images) != len(labels):
        raise ValueError("labelled_sheet needs one label per image")
    columns = columns or math.ceil(math.sqrt(len(images)))
    cell = max(max(image.shape[-2:]) for image in images)
    rows: list[list[Tensor | None]] = [list(images[i : i + columns]) for i in range(0, len(images), columns)]
    names = [list(labels[i : i + columns]) for i in range(0, len(labels), columns)]
    rows[-1] += [None] * (columns - len(rows[-1]))
    names[-1] += [""] * (columns - len(names[-1]))
    return labelled_grid(rows, names, cell=cell)
