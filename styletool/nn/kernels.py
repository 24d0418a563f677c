"""Padding and instance-norm statistics that stay fast on the CPU in either memory layout.

The fast network runs channels-last on the CPU (oneDNN's convolutions take
that layout without converting it), but two of PyTorch's own building blocks
do badly there: reflection padding of a channels-last tensor, and the
single-pass (Welford) mean and variance behind ``instance_norm`` and
``var_mean``, which is slow for large maps in any layout (20 ms for one
32 x 512 x 512 map, against 0.3 ms for a plain sum; ``aminmax`` and
``vector_norm`` are similarly slow there). These replacements are
exact and keep the input's layout. They are for the CPU's eager path: on a
GPU, and under ``torch.compile`` (which fuses PyTorch's own operations
better than these), PyTorch's own are used.
"""

from __future__ import annotations

import torch
from torch import Tensor

# Elements per temporary block when summing squared deviations: small enough to stay in cache.
_CHUNK_ELEMENTS = 1 << 20


def memory_format(x: Tensor) -> torch.memory_format:
    """``torch.channels_last`` for a channels-last 4-D tensor, else the default layout."""
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def pad2d(x: Tensor, pad: int, mode: str) -> Tensor:
    """``F.pad(x, (pad,) * 4, mode=mode)`` for ``mode`` "reflect" or "replicate", in ``x``'s layout.

    The centre is copied once; each border row and column is a copy of a row
    or column already in place (rows first, then whole columns, so the
    corners come out right).
    """
    if pad == 0:
        return x
    if x.device.type != "cpu" or torch.compiler.is_compiling():
        # One kernel on a GPU; and torch.compile fuses PyTorch's own padding into its neighbours.
        return torch.nn.functional.pad(x, (pad,) * 4, mode=mode)
    n, c, h, w = x.shape
    reflect = mode == "reflect"
    if reflect and pad >= min(h, w):
        raise ValueError(f"reflection padding of {pad} needs a map larger than {h}x{w}")
    out = torch.empty((n, c, h + 2 * pad, w + 2 * pad), dtype=x.dtype, device=x.device, memory_format=memory_format(x))
    out[:, :, pad : pad + h, pad : pad + w] = x
    for i in range(pad):
        # Reflection mirrors about the edge pixel without repeating it; replication repeats the edge pixel.
        out[:, :, pad - 1 - i] = out[:, :, pad + 1 + i if reflect else pad]
        out[:, :, pad + h + i] = out[:, :, pad + h - 2 - i if reflect else pad + h - 1]
    for i in range(pad):
        out[..., pad - 1 - i] = out[..., pad + 1 + i if reflect else pad]
        out[..., pad + w + i] = out[..., pad + w - 2 - i if reflect else pad + w - 1]
    return out


def channel_moments(x: Tensor) -> tuple[Tensor, Tensor]:
    """Per-image, per-channel mean and biased variance of ``x`` ``[N, C, H, W]``, each ``[N, C, 1, 1]`` in fp32.

    Two passes: a sum for the mean, then the squared deviations from it
    (exact, unlike the one-pass sum of squares, which cancels badly when the
    mean is large), a block of rows at a time so the deviations never take
    a full-size temporary.
    """
    count = x.shape[2] * x.shape[3]
    mean = x.sum(dim=(2, 3), keepdim=True, dtype=torch.float32).div_(count)
    rows = max(1, _CHUNK_ELEMENTS // max(1, x.shape[0] * x.shape[1] * x.shape[3]))
    squares = torch.zeros_like(mean)
    for block in x.split(rows, dim=2):
        squares += (block.float() - mean).square_().sum(dim=(2, 3), keepdim=True)
    return mean, squares.div_(count)
