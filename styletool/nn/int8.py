"""8-bit integer convolutions for the fast network on x86 CPUs (the ``--int8`` option).

x86 CPUs with VNNI instructions multiply-add 8-bit integers at about four
times the rate of 32-bit floats, and oneDNN (inside PyTorch) has integer
convolutions that use them. Each convolution of the fast network becomes
one:

* weights: rounded to int8 once, with one scale per output channel (the
  largest weight of the channel maps to 127);
* input: rounded to uint8 on every call, with one scale and zero point for
  the whole map, from its own minimum and maximum (so nothing is calibrated
  in advance and every image uses its full range);
* output: the integer sums, rescaled, come back as fp32; instance
  normalization, ReLU and the residual sums stay in floating point.

Only the encoder and the residual blocks, most of the arithmetic, run in
integers: the upsampling decoder and the final layer, whose rounding errors
reach the pixels almost directly, stay in floating point. It is not exact:
on a trained network the output is about 49 dB PSNR from the fp32 network's
(docs/performance.md gives the measured figures), invisible in a photo but
not bit-for-bit the same picture.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from styletool.errors import UsageError
from styletool.nn.kernels import pad2d


def int8_unavailable(device: torch.device) -> str | None:
    """Why 8-bit convolutions cannot run on ``device``, or None when they can."""
    if device.type != "cpu":
        return f"--int8 runs on the CPU only (this run is on {device}); on a GPU use --precision bf16 or fp16"
    if not torch.backends.mkldnn.is_available() or not hasattr(torch.ops.onednn, "qconv2d_pointwise"):
        return "--int8 needs a PyTorch build with oneDNN integer convolutions (x86 CPUs); this one has none"
    return None


def require_int8(device: torch.device) -> None:
    reason = int8_unavailable(device)
    if reason is not None:
        raise UsageError(reason)


class Int8Conv2d(nn.Module):
    """A convolution (no padding of its own) with int8 weights, applied to uint8-quantized input; fp32 out."""

    def __init__(self, weight: Tensor, bias: Tensor, stride: int):
        super().__init__()
        weight = weight.detach().float().cpu()
        scales = (weight.abs().amax(dim=(1, 2, 3)) / 127).clamp_min(1e-12)
        quantized = (weight / scales[:, None, None, None]).round_().clamp_(-127, 127).to(torch.int8)
        self.stride = [stride, stride]
        self.register_buffer("weight_scales", scales)
        self.register_buffer("weight_zero_points", torch.zeros(len(scales), dtype=torch.long))
        self.register_buffer("bias", bias.detach().float().cpu().clone())
        # oneDNN's own blocked layout of the weights, made once (an opaque tensor, so not a buffer:
        # it cannot move between devices or be saved). The input scale given here is only a hint:
        # each call passes the real one.
        self.packed = torch.ops.onednn.qconv_prepack(quantized, scales, 1.0, 0, self.stride, [0, 0], [1, 1], 1, None)

    def forward(self, x: Tensor, *, pad: int, mode: str) -> Tensor:
        """``conv2d(pad2d(x, pad, mode))``, computed in integers."""
        low, high = min(float(x.amin()), 0.0), max(float(x.amax()), 0.0)  # aminmax is slow channels-last
        scale = max(high - low, 1e-8) / 255
        zero_point = round(-low / scale)
        # Round half up by truncating (x / scale + zero_point + 0.5), clamped into uint8's range.
        levels = torch.add(x.new_tensor(zero_point + 0.5), x, alpha=1.0 / scale)
        quantized = pad2d(levels.clamp_(0, 255).to(torch.uint8), pad, mode)
        return torch.ops.onednn.qconv2d_pointwise(
            quantized,
            scale,
            zero_point,
            self.packed,
            self.weight_scales,
            self.weight_zero_points,
            self.bias,
            self.stride,
            [0, 0],
            [1, 1],
            1,
            1.0,
            0,
            torch.float32,
            "none",
            [],
            "",
        )
