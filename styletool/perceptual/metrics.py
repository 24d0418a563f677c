"""Image-quality measures used by tests and benchmarks to judge stylization."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from styletool.perceptual.color import rgb_to_ycbcr


def psnr(a: Tensor, b: Tensor) -> float:
    """Peak signal-to-noise ratio in dB of two images in [0, 1] (``inf`` when they are identical)."""
    mse = float((a.float() - b.float()).square().mean())
    return math.inf if mse == 0 else -10 * math.log10(mse)


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


class FlickerMeter:
    """Temporal flicker of a stylized clip, fed frames in order, a batch at a time.

    Flicker is the mean absolute change between consecutive output frames
    divided by the same for the input frames: 1 means the output changes
    from frame to frame as much as the input does; independent stylization
    of each frame usually gives more, because every frame's normalization
    statistics differ a little.
    """

    def __init__(self):
        self.previous: tuple[Tensor, Tensor] | None = None
        self.output_change = 0.0
        self.input_change = 0.0

    def add(self, inputs: Tensor, outputs: Tensor) -> None:
        """Consecutive frames ``[N, 3, H, W]`` in [0, 1], following those added before."""
        inputs, outputs = inputs.detach().float(), outputs.detach().float()
        if self.previous is not None and self.previous[0].shape == inputs.shape[1:]:
            inputs = torch.cat([self.previous[0][None], inputs])
            outputs = torch.cat([self.previous[1][None], outputs])
        if inputs.shape[0] > 1:
            self.input_change += float((inputs[1:] - inputs[:-1]).abs().mean(dim=(1, 2, 3)).sum())
            self.output_change += float((outputs[1:] - outputs[:-1]).abs().mean(dim=(1, 2, 3)).sum())
        self.previous = (inputs[-1], outputs[-1])

    @property
    def value(self) -> float | None:
        """The flicker ratio so far; None before two frames, or when the input never changes."""
        return self.output_change / self.input_change if self.input_change > 0 else None


def flicker(inputs: Tensor, outputs: Tensor) -> float | None:
    """Flicker of a whole clip (``[T, 3, H, W]`` input and output frames); see :class:`FlickerMeter`."""
    meter = FlickerMeter()
    meter.add(inputs, outputs)
    return meter.value


def style_distance(judge, layers: list[str], image: Tensor, painting: Tensor, *, size: int = 256) -> float:
    """Gram-matrix distance between ``image`` and ``painting`` as seen by the backbone ``judge``.

    Both are ``[1, 3, H, W]`` in [0, 1]; the painting is resized so its
    longest side is ``size``. Judged through another network than the one a
    model was trained with (SqueezeNet for VGG-trained models), this says
    how far a result moved toward the painting without rewarding the
    training loss's own blind spots. Compare it with the photo's distance.
    """
    from styletool.io.images import resize_longest
    from styletool.perceptual.losses import gram_matrix

    with torch.no_grad():
        ours, theirs = judge(image, layers), judge(resize_longest(painting, size), layers)
        # The Gram loss's own definition (mean squared difference per layer, summed), fixed here so the
        # measure does not change with whichever loss plugin is installed.
        return float(sum((gram_matrix(ours[layer]) - gram_matrix(theirs[layer])).square().mean() for layer in layers))
