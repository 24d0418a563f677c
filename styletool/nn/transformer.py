"""The image transformation network of Johnson et al. (2016), plain or style-conditional.

Johnson, Alahi, Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution" (ECCV 2016), with the changes that became standard since:
instance normalization instead of batch normalization (Ulyanov et al. 2016)
and nearest-neighbour upsampling followed by a convolution instead of
transposed convolutions, which leave checkerboard artefacts (Odena et al.
2016).

The conditional variant replaces every normalization's scale and shift by a
row of a per-style table (Dumoulin, Shlens, Kudlur, "A Learned Representation
for Artistic Style", ICLR 2017): one network holds many styles, and a blend
of styles is a weighted mix of rows.

A conditional network may also hold a *neutral* row, trained to give the
photo back: the style-neutral end of the strength dial. ``strength`` mixes
the chosen style's rows with it, so 0.5 is a lighter version of the same
painting computed by the same convolutions (not a blend of pixels).

Images are RGB in [0, 1], ``[N, 3, H, W]``, of any size: the input is padded
by reflection to a multiple of 4 (two stride-2 stages) and the output cropped
back. The output is not clamped, so training sees honest gradients; clamp it
before saving.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# The "network" entry of a model file: a single-style or a conditional (multi-style) transformer network.
NETWORK_TAG = "transformer"
CONDITIONAL_NETWORK_TAG = "transformer-cin"

# Widths of the stages (stem, the two downsampling convolutions, the
# residual trunk) and the number of residual blocks, per architecture.
# "full" is Johnson et al.'s network. "light" halves every width: a quarter
# of the arithmetic, 2.2x faster to stylize a 512x384 photo on a CPU and
# 4-6x faster to train, and as good a picture after the same training
# (measured: docs/training.md, docs/performance.md).
ARCHITECTURES: dict[str, tuple[int, int, int, int]] = {
    "full": (32, 64, 128, 5),
    "light": (16, 32, 64, 5),
}
STEM, MID, TRUNK, RESIDUAL_BLOCKS = ARCHITECTURES["full"]


class ConditionalInstanceNorm2d(nn.Module):
    """Instance normalization whose scale and shift are chosen per image from a style table.

    ``style`` is ``[N, rows]``: one-hot rows pick a style, other rows
    (non-negative, summing to 1) blend styles.
    """

    def __init__(self, channels: int, num_styles: int):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(num_styles, channels))
        self.shift = nn.Parameter(torch.zeros(num_styles, channels))

    @property
    def rows(self) -> int:
        return self.scale.shape[0]

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        normalized = F.instance_norm(x)
        scale = (style @ self.scale)[:, :, None, None]
        shift = (style @ self.shift)[:, :, None, None]
        return normalized * scale + shift


class _Norm(nn.Module):
    """Plain affine instance norm, or the conditional one; same call either way."""

    def __init__(self, channels: int, num_styles: int | None):
        super().__init__()
        self.norm: nn.InstanceNorm2d | ConditionalInstanceNorm2d
        if num_styles is None:
            self.norm = nn.InstanceNorm2d(channels, affine=True)
        else:
            self.norm = ConditionalInstanceNorm2d(channels, num_styles)

    def forward(self, x: Tensor, style: Tensor | None) -> Tensor:
        if isinstance(self.norm, ConditionalInstanceNorm2d):
            return self.norm(x, style)
        return self.norm(x)


class _ConvNorm(nn.Module):
    """Reflection-padded convolution, optional 2x nearest upsampling before it, then norm and ReLU."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int,
        *,
        stride: int = 1,
        upsample: bool = False,
        num_styles: int | None = None,
        relu: bool = True,
    ):
        super().__init__()
        self.upsample = upsample
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride)
        self.norm = _Norm(cout, num_styles)
        self.relu = relu

    def forward(self, x: Tensor, style: Tensor | None) -> Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.norm(self.conv(self.pad(x)), style)
        return F.relu(x) if self.relu else x


class _Residual(nn.Module):
    def __init__(self, channels: int, num_styles: int | None):
        super().__init__()
        self.first = _ConvNorm(channels, channels, 3, num_styles=num_styles)
        self.second = _ConvNorm(channels, channels, 3, num_styles=num_styles, relu=False)

    def forward(self, x: Tensor, style: Tensor | None) -> Tensor:
        return x + self.second(self.first(x, style), style)


def pad_to_multiple_of_4(image: Tensor) -> Tensor:
    """Pad the bottom and right so both sides are multiples of 4 (two stride-2 stages, two upsamplings).

    Always pads, by zero when the size already fits: a branch on the size
    would stop exported graphs (ONNX, TorchScript) from taking any size.
    """
    height, width = image.shape[-2:]
    mode = "reflect" if min(height, width) > 3 else "replicate"  # reflect needs pad < size; pads are <= 3
    return F.pad(image, (0, (4 - width % 4) % 4, 0, (4 - height % 4) % 4), mode=mode)


# ``style=NEUTRAL`` picks a network's neutral row (the photo given back).
NEUTRAL = "neutral"


class TransformerNet(nn.Module):
    """Johnson et al.'s feed-forward stylization network (about 1.68 M parameters; 0.42 M when light).

    ``num_styles=None`` builds the single-style network; an integer builds the
    conditional (CIN) network, whose ``forward`` takes ``style``: an int
    index, a ``[num_styles]`` weight vector for the whole batch, or
    ``[N, num_styles]`` weights per image. ``neutral=True`` (conditional
    only) adds a last table row that is no painting's: the style-neutral
    setting ``strength`` mixes toward, picked alone with ``style=NEUTRAL``;
    weights may then also be given over all ``num_styles + 1`` rows.
    ``architecture`` is a key of :data:`ARCHITECTURES`.
    """

    def __init__(self, *, num_styles: int | None = None, architecture: str = "full", neutral: bool = False):
        super().__init__()
        if num_styles is not None and num_styles < 1:
            raise ValueError(f"num_styles must be at least 1, got {num_styles}")
        if architecture not in ARCHITECTURES:
            raise ValueError(f"unknown architecture '{architecture}'; use {', '.join(ARCHITECTURES)}")
        if neutral and num_styles is None:
            raise ValueError("only a conditional network (num_styles) can hold a neutral row")
        self.num_styles = num_styles
        self.neutral = neutral
        self.architecture = architecture
        stem, mid, trunk, blocks = ARCHITECTURES[architecture]
        n = None if num_styles is None else num_styles + int(neutral)
        self.encoder = nn.ModuleList(
            [
                _ConvNorm(3, stem, 9, num_styles=n),
                _ConvNorm(stem, mid, 3, stride=2, num_styles=n),
                _ConvNorm(mid, trunk, 3, stride=2, num_styles=n),
            ]
        )
        self.residuals = nn.ModuleList([_Residual(trunk, n) for _ in range(blocks)])
        self.decoder = nn.ModuleList(
            [
                _ConvNorm(trunk, mid, 3, upsample=True, num_styles=n),
                _ConvNorm(mid, stem, 3, upsample=True, num_styles=n),
            ]
        )
        self.head = nn.Sequential(nn.ReflectionPad2d(4), nn.Conv2d(stem, 3, 9))

    @property
    def conditional(self) -> bool:
        return self.num_styles is not None

    @property
    def rows(self) -> int:
        """Rows of every style table: the styles, and the neutral row if there is one (0: a plain network)."""
        return (self.num_styles or 0) + int(self.neutral)

    def style_weights(
        self, style: int | str | Tensor | None, batch: int, *, like: Tensor, strength: float = 1.0
    ) -> Tensor | None:
        """Normalize ``style`` to ``[batch, rows]`` weights (None for the plain network).

        ``strength`` below 1 moves the weights toward the neutral row: 0 is the
        neutral row alone.
        """
        if not self.conditional:
            if style is not None:
                raise ValueError("this network holds one style; do not pass style=")
            if strength != 1.0:
                raise ValueError("this network has no neutral row to weaken its style toward")
            return None
        if style is None:
            raise ValueError(f"this network holds {self.num_styles} styles; pass style= (an index or weights)")
        num_styles = self.rows - int(self.neutral)
        if isinstance(style, str):
            if style != NEUTRAL or not self.neutral:
                raise ValueError(f"style {style!r}: only a network with a neutral row takes style={NEUTRAL!r}")
            style = num_styles
        if isinstance(style, int):
            if not 0 <= style < self.rows:
                raise ValueError(f"style index {style} out of range 0..{num_styles - 1}")
            weights = F.one_hot(torch.full((batch,), style, device=like.device), self.rows).to(like.dtype)
        else:
            weights = style.to(device=like.device, dtype=like.dtype)
            if weights.dim() == 1:
                weights = weights.expand(batch, -1)
            if self.neutral and weights.shape == (batch, num_styles):
                weights = F.pad(weights, (0, 1))  # weights over the styles only: none on the neutral row
            if weights.shape != (batch, self.rows):
                raise ValueError(f"style weights must be [{batch}, {num_styles}], got {list(weights.shape)}")
        if strength != 1.0:
            if not self.neutral:
                raise ValueError("this network has no neutral row to weaken its style toward")
            neutral = torch.zeros(self.rows, device=like.device, dtype=like.dtype)
            neutral[-1] = 1.0
            weights = strength * weights + (1.0 - strength) * neutral
        return weights

    def forward(self, image: Tensor, style: int | str | Tensor | None = None, *, strength: float = 1.0) -> Tensor:
        weights = self.style_weights(style, image.shape[0], like=image, strength=strength)
        height, width = image.shape[-2:]
        x = pad_to_multiple_of_4(image)
        for layer in self.encoder:
            x = layer(x, weights)
        for block in self.residuals:
            x = block(x, weights)
        for layer in self.decoder:
            x = layer(x, weights)
        x = self.head(x)
        return x[..., :height, :width]

    def add_style(self, *, copy_from: int | str | None = None) -> int:
        """Grow every style table by one style row; return its index.

        The new row is a copy of ``copy_from`` (a style index, or ``NEUTRAL``)
        or the mean of the styles' rows. It goes after the styles, before the
        neutral row.
        """
        if self.num_styles is None:
            raise ValueError("only a conditional network can take more styles")
        source = self.num_styles if copy_from == NEUTRAL and self.neutral else copy_from
        for module in self.modules():
            if isinstance(module, ConditionalInstanceNorm2d):
                for name in ("scale", "shift"):
                    table = getattr(module, name).data
                    styles, rest = table[: self.num_styles], table[self.num_styles :]
                    row = table[source] if source is not None else styles.mean(0)
                    setattr(module, name, nn.Parameter(torch.cat([styles, row[None], rest], 0)))
        self.num_styles += 1
        return self.num_styles - 1

    def single_style(self, style: Tensor | None = None) -> TransformerNet:
        """The plain network that computes this conditional one for one fixed blend of its styles.

        ``style`` is ``[num_styles]`` (or ``[rows]``) weights; the default is the
        plain mean of the styles, the network's "average painting". metastyle
        starts meta-training from this: the shared convolutions of a network
        trained on many paintings already paint, and the averaged norms sit
        among the styles.
        """
        if self.num_styles is None:
            raise ValueError("only a conditional network has styles to fix")
        weights = torch.full((self.num_styles,), 1 / self.num_styles) if style is None else style.float().cpu()
        if self.neutral and weights.shape[0] == self.num_styles:
            weights = F.pad(weights, (0, 1))
        plain = TransformerNet(architecture=self.architecture)
        state = {}
        for name, value in self.state_dict().items():
            if name.endswith(".norm.scale"):
                state[name.removesuffix("scale") + "weight"] = weights @ value.float().cpu()
            elif name.endswith(".norm.shift"):
                state[name.removesuffix("shift") + "bias"] = weights @ value.float().cpu()
            else:
                state[name] = value.float().cpu()
        plain.load_state_dict(state)
        return plain

    def style_parameters(self) -> list[nn.Parameter]:
        """The per-style tables of a conditional network (what training a new style changes)."""
        return [p for m in self.modules() if isinstance(m, ConditionalInstanceNorm2d) for p in (m.scale, m.shift)]


def transformer_metadata(*, architecture: str, num_styles: int | None = None, neutral: bool = False) -> dict[str, Any]:
    """The model-file metadata that :func:`network_from` rebuilds a network from (methods add their own)."""
    if num_styles is None:
        return {"network": NETWORK_TAG, "architecture": architecture}
    metadata = {"network": CONDITIONAL_NETWORK_TAG, "architecture": architecture, "num_styles": num_styles}
    if neutral:
        metadata["neutral"] = True
    return metadata


def is_transformer_model(metadata: dict[str, Any]) -> bool:
    """Whether a model file holds a transformer network (any feed-forward method's)."""
    return metadata.get("network") in (NETWORK_TAG, CONDITIONAL_NETWORK_TAG)


def check_strength(net: TransformerNet, strength: float, where) -> None:
    """Refuse ``--strength`` below 1 for a model without a style-neutral row, naming the file."""
    from styletool.errors import UsageError

    if strength != 1.0 and not net.neutral:
        raise UsageError(
            "--strength needs a model with a style-neutral row, and this one has none "
            "(trained before styletool's models had one: retrain it to use the dial)",
            where=where,
        )


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def load_transformer(path, *, method: str | None):
    """Load a transformer-network model file made by ``method`` (None: by any method): ``(network, ModelFile)``, on the CPU.

    The number of styles comes from the metadata (none for a single-style
    model); weights that do not fit give a one-line :class:`ModelFileError`.
    """
    from styletool.io.modelfile import ModelFileError, load_model

    model = load_model(path, method=method)
    if method is None and not is_transformer_model(model.metadata):
        raise ModelFileError(f"a '{model.metadata.get('method')}' model without a feed-forward network", where=path)
    return network_from(model, where=path, what=f"the {method or 'transformer'} network"), model


def network_from(model, *, where, what: str = "the transformer network") -> TransformerNet:
    """The eval-mode network a loaded :class:`ModelFile` describes (styles and architecture from its metadata).

    Weights are cast to float32: shipped models are stored in float16 to stay small.
    """
    from styletool.io.modelfile import ModelFileError

    num_styles = model.metadata.get("num_styles")
    architecture = model.metadata.get("architecture", "full")
    neutral = model.metadata.get("neutral", False) is True
    try:
        net = TransformerNet(num_styles=num_styles, architecture=architecture, neutral=neutral)
        net.load_state_dict({name: value.float() for name, value in model.tensors.items()})
    except (RuntimeError, ValueError, TypeError):
        raise ModelFileError(f"weights do not fit {what}", where=where) from None
    return net.eval()
