"""A faster, inference-only form of :class:`TransformerNet` with the same outputs.

Stylizing needs no gradients, so the trained network can be rewritten into
an equivalent one that does less work. Each rewrite is exact in real
arithmetic; in floating point the outputs agree with the plain network to
about 1e-5 (tests check it):

* Upsample-then-convolve as a sub-pixel convolution. A 3x3 convolution of a
  2x nearest-upsampled image only ever sees each input pixel two or three
  times along each axis, so each of the four output phases is a 2x2
  convolution of the *un-upsampled* input with summed taps. That is 16
  instead of 36 multiply-adds per input pixel, and the four-times-larger
  upsampled tensor is never built. Reflection padding of the upsampled image
  equals replication padding of the small one, so borders stay exact.
* The 9x9 output convolution has only 3 output channels, which convolution
  libraries run far below their speed. It is computed as a 9x1 convolution
  to 27 channels (one group of 3 per column offset), then 9 shifted sums.
* Normalization and ReLU run in place; a style (or blend of styles) of a
  conditional network is folded into plain per-channel scale and shift.
* On the CPU everything runs channels-last, the layout oneDNN's convolutions
  work in (the plain network pays a layout conversion around every
  convolution), with padding and normalization statistics written for that
  layout (:mod:`styletool.nn.kernels`).

Optionally (``int8=True``, the ``--int8`` option) the convolutions run in
8-bit integers on x86 CPUs (:mod:`styletool.nn.int8`); that is not exact.

Measured speeds are in docs/performance.md (``python -m benchmarks --only feedforward``).
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from styletool.errors import UsageError
from styletool.events import Progress, ProgressCallback
from styletool.nn.int8 import Int8Conv2d, require_int8
from styletool.nn.kernels import channel_moments, memory_format, pad2d
from styletool.nn.transformer import (
    ConditionalInstanceNorm2d,
    TransformerNet,
    _ConvNorm,
    check_strength,
    pad_to_multiple_of_4,
)


class _FastLayer(nn.Module):
    """Convolution (plain, strided or sub-pixel upsampling), instance norm with fixed affine, optional ReLU."""

    weight: Tensor
    bias: Tensor
    scale: Tensor
    shift: Tensor

    def __init__(self, layer: nn.Module, style: Tensor | None, *, int8: bool = False):
        super().__init__()
        if not isinstance(layer, _ConvNorm):
            raise TypeError(f"not a layer of a TransformerNet: {type(layer).__name__}")
        conv = layer.conv
        if int8 and layer.upsample:
            raise ValueError("upsampling layers stay in floating point")
        self.upsample = layer.upsample
        self.stride = conv.stride[0]
        self.pad = conv.kernel_size[0] // 2
        self.relu = layer.relu
        self.out_channels = conv.out_channels
        weight, bias = conv.weight.detach(), _bias(conv).detach()
        if self.upsample:
            weight, bias = subpixel_weights(weight), bias.repeat(4)
        self.register_buffer("weight", weight.clone())
        self.register_buffer("bias", bias.clone())
        self.int8: Int8Conv2d | None = Int8Conv2d(weight, bias, self.stride) if int8 else None
        scale, shift = _norm_affine(layer.norm.norm, style)
        self.register_buffer("scale", scale)
        self.register_buffer("shift", shift)
        self.eps = 1e-5
        # Tiled stylizing (styletool.nn.tiling) normalizes every tile with statistics of the whole
        # image, folded into a per-channel scale and shift.
        self.frozen: tuple[Tensor, Tensor] | None = None

    def convolve(self, x: Tensor) -> Tensor:
        if self.upsample:
            return subpixel_upsample_conv(x, self.weight, self.bias, self.out_channels)
        if self.int8 is not None:
            return self.int8(x, pad=self.pad, mode="reflect")
        return F.conv2d(pad2d(x, self.pad, "reflect"), self.weight, self.bias, stride=self.stride)

    def normalize(self, x: Tensor) -> Tensor:
        if self.frozen is not None:
            scale, shift = self.frozen
            x = x.mul_(scale[:, None, None]).add_(shift[:, None, None])
        elif x.device.type == "cpu" and not torch.compiler.is_compiling():
            # On the CPU PyTorch's own instance norm computes its statistics in a slow single pass
            # (torch.compile generates its own code for it, which is fast).
            mean, var = (moment.flatten(1) for moment in channel_moments(x))
            scale = self.scale.float() * torch.rsqrt(var + self.eps)
            shift = self.shift.float() - mean * scale
            x = x.mul_(scale[:, :, None, None].to(x.dtype)).add_(shift[:, :, None, None].to(x.dtype))
        else:
            x = F.instance_norm(x, weight=self.scale, bias=self.shift, eps=self.eps)
        return x.relu_() if self.relu else x

    def forward(self, x: Tensor) -> Tensor:
        return self.normalize(self.convolve(x))


class _FastHead(nn.Module):
    """The final 9x9 convolution to RGB, as a 9x1 convolution to 27 channels and 9 shifted sums."""

    columns: Tensor
    bias: Tensor

    def __init__(self, conv: nn.Module):
        super().__init__()
        if not isinstance(conv, nn.Conv2d):
            raise TypeError(f"not the head convolution of a TransformerNet: {type(conv).__name__}")
        out, cin, kh, kw = conv.weight.shape
        self.out, self.kw = out, kw
        # Column offset j of the kernel becomes output group j: [kw * out, cin, kh, 1].
        columns = conv.weight.detach().permute(3, 0, 1, 2).reshape(kw * out, cin, kh, 1)
        self.register_buffer("columns", columns.contiguous())
        self.register_buffer("bias", _bias(conv).detach().clone()[:, None, None])

    def forward(self, x: Tensor) -> Tensor:
        pad = self.kw // 2
        x = pad2d(x, pad, "reflect")
        partial = F.conv2d(x, self.columns)  # [N, kw*out, H, W + kw - 1]
        width = partial.shape[-1] - self.kw + 1
        out = partial[:, : self.out, :, :width] + self.bias
        for j in range(1, self.kw):
            out += partial[:, j * self.out : (j + 1) * self.out, :, j : j + width]
        return out


class InferenceTransformer(nn.Module):
    """The same function as a trained :class:`TransformerNet` (one style fixed), computed faster.

    Build it with :func:`for_inference`; it holds no trainable parameters.
    ``channels_last`` runs every layer in that memory layout (what the CPU
    wants); ``int8`` runs the encoder's and the residual blocks'
    convolutions in 8-bit integers (x86 CPUs).
    """

    def __init__(
        self, net: TransformerNet, style: Tensor | None = None, *, channels_last: bool = False, int8: bool = False
    ):
        super().__init__()
        self.channels_last = channels_last or int8  # oneDNN's integer convolutions work channels-last
        self.encoder = nn.ModuleList([_FastLayer(layer, style, int8=int8) for layer in net.encoder])
        # Each residual block's two layers (first, second), in the order the block registered them.
        self.residuals = nn.ModuleList(
            [
                nn.ModuleList([_FastLayer(layer, style, int8=int8) for layer in block.children()])
                for block in net.residuals
            ]
        )
        # The upsampling decoder and the head stay in floating point even with int8: their rounding
        # errors reach the pixels almost directly (in int8 they alone take the output from about 49 dB
        # to 39 dB PSNR against fp32), and they are a small part of the work.
        self.decoder = nn.ModuleList([_FastLayer(layer, style) for layer in net.decoder])
        self.head = _FastHead(net.head[1])

    def to_layout(self, x: Tensor) -> Tensor:
        """``x`` in the memory layout the layers run in (they keep whatever layout they are given)."""
        return x.contiguous(memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)

    def forward(self, image: Tensor, progress: ProgressCallback | None = None) -> Tensor:
        """The stylized ``image``; ``progress`` (a big photo, uncompiled) hears each layer as a step."""
        height, width = image.shape[-2:]
        x = pad_to_multiple_of_4(image)
        if min(x.shape[-2:]) < 8:  # the 9x9 and strided layers need room: tiny images are replicated out to 8 px
            x = F.pad(x, (0, max(0, 8 - x.shape[-1]), 0, max(0, 8 - x.shape[-2])), mode="replicate")
        x = self.to_layout(x)
        stages = [*self.encoder, *self.residuals, *self.decoder]
        for step, stage in enumerate(stages, 1):
            if isinstance(stage, nn.ModuleList):  # a residual block
                first, second = stage
                x = x + second(first(x))
            else:
                x = stage(x)
            if progress is not None:
                progress(Progress(stage="network", step=step, total=len(stages) + 1, unit="layers/s"))
        x = self.head(x)[..., :height, :width].contiguous()
        if progress is not None:
            progress(Progress(stage="network", step=len(stages) + 1, total=len(stages) + 1, unit="layers/s"))
        return x


def for_inference(
    net: TransformerNet,
    style: int | str | Tensor | None = None,
    *,
    strength: float = 1.0,
    int8: bool = False,
    channels_last: bool | None = None,
) -> InferenceTransformer:
    """The fast inference form of ``net``; a conditional network needs ``style`` (an index or ``[num_styles]`` weights).

    ``strength`` below 1 mixes the style toward the network's neutral row
    (see :class:`TransformerNet`); a network without one refuses it.

    ``channels_last`` picks the memory layout; by default channels-last on
    the CPU (measured faster there) and PyTorch's default elsewhere. ``int8``
    runs most convolutions in 8-bit integers (x86 CPUs only; raises
    :class:`styletool.UsageError` elsewhere).
    """
    weights = None
    if net.conditional:
        if style is None:
            raise ValueError(f"this network holds {net.num_styles} styles; pass style= (an index or weights)")
        weights = net.style_weights(style, 1, like=_head(net).weight, strength=strength)
        weights = None if weights is None else weights[0]
    elif style is not None:
        raise ValueError("this network holds one style; do not pass style=")
    elif strength != 1.0:
        raise ValueError("this network has no neutral row to weaken its style toward")
    device = _head(net).weight.device
    if int8:
        require_int8(device)
    if channels_last is None:
        channels_last = device.type == "cpu"
    fast = InferenceTransformer(net, weights, channels_last=channels_last, int8=int8)
    return fast.to(device).eval()


def fast_network(
    net: TransformerNet,
    *,
    device: torch.device,
    style: int | str | Tensor | None = None,
    strength: float = 1.0,
    compile: bool = False,
    int8: bool = False,
) -> nn.Module:
    """What feed-forward methods stylize with: :func:`for_inference` on ``device``, optionally compiled.

    ``torch.compile`` fuses the padding, normalization and activation passes
    around the convolutions. It costs seconds to minutes of compiling on the
    first image, and once more on the first image of a second size (after
    which the compiled code takes any size), so it is the user's choice
    (``--compile``).
    """
    if compile and int8:
        # Each call picks its own integer scales, which the compiler would specialize on and recompile for.
        raise UsageError("--int8 and --compile do not combine; pick one (--int8 is the faster on a CPU)")
    fast = for_inference(net.to(device), style, strength=strength, int8=int8)
    return cast(nn.Module, torch.compile(fast)) if compile else fast


def painting_network(
    net: TransformerNet, *, device: torch.device, strength: float, compile: bool, int8: bool, where
) -> nn.Module:
    """:func:`fast_network` for a model of one painting: a plain network, or the painting (row 0) beside a neutral row.

    ``--strength`` below 1 needs the neutral row; ``where`` names the model file in that error.
    """
    check_strength(net, strength, where)
    style = 0 if net.conditional else None
    return fast_network(net, device=device, style=style, strength=strength, compile=compile, int8=int8)


def subpixel_weights(weight: Tensor) -> Tensor:
    """Fold a 3x3 kernel applied after 2x nearest upsampling into four 2x2 phase kernels ``[4*out, in, 2, 2]``.

    Along one axis, output pixel 2i sees input pixels (i-1, i, i) through
    taps (w0, w1, w2), and output pixel 2i+1 sees (i, i, i+1): phase 0 uses
    taps [w0, w1+w2] on inputs (i-1, i), phase 1 uses [w0+w1, w2] on (i, i+1).
    Phases are ordered (row phase, column phase) = (0,0), (0,1), (1,0), (1,1).
    """

    def fold(w: Tensor, axis: int, phase: int) -> Tensor:
        first, middle, last = w.unbind(axis)
        pair = (first, middle + last) if phase == 0 else (first + middle, last)
        return torch.stack(pair, axis)

    phases = [fold(fold(weight, 2, row), 3, col) for row in (0, 1) for col in (0, 1)]
    return torch.cat(phases, 0)


def subpixel_upsample_conv(x: Tensor, weight: Tensor, bias: Tensor, out_channels: int) -> Tensor:
    """``conv3x3(reflect_pad(upsample2x(x)))`` from the phase kernels of :func:`subpixel_weights`, in ``x``'s layout."""
    n, _, h, w = x.shape
    # Each phase's 2x2 window starts one pixel up/left (phase 0) or at the pixel (phase 1):
    # one convolution over the replicate-padded input gives both, offset by one.
    phases = F.conv2d(pad2d(x, 1, "replicate"), weight, bias)  # [n, 4*out, h+1, w+1]
    out = torch.empty(
        (n, out_channels, 2 * h, 2 * w), dtype=phases.dtype, device=x.device, memory_format=memory_format(x)
    )
    for row in (0, 1):
        for col in (0, 1):
            k = (2 * row + col) * out_channels
            out[:, :, row::2, col::2] = phases[:, k : k + out_channels, row : row + h, col : col + w]
    return out


def _norm_affine(norm: nn.Module, style: Tensor | None) -> tuple[Tensor, Tensor]:
    """Per-channel scale and shift of a plain or conditional instance norm (the style folded in)."""
    if isinstance(norm, ConditionalInstanceNorm2d):
        if style is None:
            raise ValueError("a conditional network needs the style's weights")
        return (style @ norm.scale).detach().clone(), (style @ norm.shift).detach().clone()
    if not isinstance(norm, nn.InstanceNorm2d) or norm.weight is None or norm.bias is None:
        raise TypeError(f"not an affine instance norm: {type(norm).__name__}")
    return norm.weight.detach().clone(), norm.bias.detach().clone()


def _bias(conv: nn.Conv2d) -> Tensor:
    if conv.bias is None:  # every convolution of a TransformerNet has one
        raise TypeError("a convolution without a bias")
    return conv.bias


def _head(net: TransformerNet) -> nn.Conv2d:
    """The network's last convolution (after its padding)."""
    head = net.head[1]
    if not isinstance(head, nn.Conv2d):
        raise TypeError(f"not a TransformerNet head: {type(head).__name__}")
    return head
