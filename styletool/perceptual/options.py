"""Options shared by feed-forward methods: how they stylize, and the perceptual loss they train with (no torch here)."""

from __future__ import annotations

from dataclasses import dataclass

from styletool.framework.options import option

VGG_STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


@dataclass
class FeedForwardOptions:
    """How a trained feed-forward model stylizes; methods subclass this for their stylize options."""

    strength: float = option(
        1.0,
        help="How strongly to paint: 1 the model's full style, 0 the photo given back, 0.5 a lighter version of the same painting (the network's normalization moved toward its style-neutral row; not a blend of pixels).",
        min=0,
        max=1,
    )
    preserve_color: str = option(
        "none",
        help="Keep the photo's colours: luminance (result's luma on the photo's chroma) or histogram (recolour the result).",
        choices=("none", "luminance", "histogram"),
    )
    color_strength: float = option(1.0, help="How fully --preserve-color applies: 0 (not at all) to 1.", min=0, max=1)
    tile: int = option(
        0,
        help="Stylize in tiles of N x N pixels: same result, memory bounded by the tile. 0: only when the whole image would not fit in memory.",
        min=0,
    )
    compile: bool = option(
        False,
        help="Compile the network with torch.compile: each photo then takes 0.8-0.9 of the time, but the first photo waits for the compiler, and again the first of another size (on a 2-core CPU three photos of three sizes took 4 min 45 s, against 6 s without); pays off only for hundreds of same-size photos or long videos (README, docs/performance.md).",
    )
    int8: bool = option(
        False,
        help="Run most of the network's convolutions in 8-bit integers (x86 CPUs only): faster, and a picture the eye cannot tell from the exact one (figures: docs/performance.md).",
    )

    def output_label(self) -> str:
        """A strength other than 1, for output names: photo_starry-s0.5_johnson.png."""
        return f"s{self.strength:g}" if self.strength != 1 else ""


@dataclass
class PerceptualOptions:
    """The perceptual loss a feed-forward network is trained with.

    Methods subclass this for their training options, so every feed-forward
    method offers the same flags for the same things.
    """

    normalize: str = option(
        "relative",
        help="Scale of each layer's loss: relative (divided by its size for a blank picture, so every style layer and every painting counts alike) or none (raw sums: relu4_1 outweighs the other style layers tenfold or more, and paintings differ tenfold).",
        choices=("relative", "none"),
    )
    content_weight: float = option(1.0, help="Weight of the content loss.", min=0)
    # With relative losses at a constant rate (docs/training.md, "Balancing the painting and the
    # photo"): 2 keeps the photo plainly there (luminance SSIM about 0.5 on photos never seen). johnson
    # and cin train longer, smoothed, with the rate dropped at the end, and use 3 (StyleNetworkOptions).
    style_weight: float = option(2.0, help="Weight of the style loss.", min=0)
    tv_weight: float = option(0.0, help="Weight of the total-variation smoothness loss.", min=0)
    content_layers: list[str] = option(["relu2_2"], help="Loss-network layers whose features keep the photo's content.")
    style_layers: list[str] = option(
        VGG_STYLE_LAYERS, help="Loss-network layers whose statistics carry the painting's style."
    )
    style_loss: str = option("gram", help="Style loss from the losses registry: gram, meanstd, histogram, ...")
    style_size: int = option(
        256, help="Longest side the painting is resized to before its style statistics are taken.", min=16
    )
    backbone: str = option("vgg19", help="Loss network (see `styletool backbones`).")
    backbone_weights: str | None = option(None, help="Weights file for the loss network (default: its usual place).")
    # Not a loss setting, but every feed-forward method trains a network and offers the same choice.
    network: str = option(
        "light",
        help="The network to train: light (half the channels: trains and stylizes several times faster, equally good pictures; docs/training.md) or full (Johnson et al.'s original).",
        choices=("light", "full"),
    )

    def perceptual_weights(self):
        """These options as :class:`styletool.PerceptualWeights` (imports torch)."""
        from styletool.perceptual.loss import PerceptualWeights

        return PerceptualWeights(
            content_weight=self.content_weight,
            style_weight=self.style_weight,
            tv_weight=self.tv_weight,
            content_layers=list(self.content_layers),
            style_layers=list(self.style_layers),
            backbone=self.backbone,
            backbone_weights=self.backbone_weights,
            style_loss=self.style_loss,
            normalize=self.normalize,
        )


@dataclass
class StyleNetworkOptions(PerceptualOptions):
    """Training options of a feed-forward network with a style-neutral row (johnson, cin)."""

    # With the smoothness term and the rate dropped at the end (--lr-schedule step), 3 brought candy
    # to 0.26 of the photo's style distance at SSIM 0.42 in the default johnson run (2 at a constant
    # rate: 0.33 / 0.53), and the shipped cin model's paintings within 0.25 (a few with a weight of
    # their own; docs/models.md).
    style_weight: float = option(3.0, help="Weight of the style loss.", min=0)
    # Relative to the photos' own roughness. Without it a network trained past about 3000 steps
    # learns a pixel-fine striped pattern that VGG-19 reads as the painting's texture but that
    # another network does not (candy: style distance 0.34 -> 1.36 of the photo's from 3000 to
    # 4000 steps); 0.3 held it at 0.32-0.33 with more of the photo kept (docs/training.md).
    tv_weight: float = option(
        0.3,
        help="Weight of the total-variation smoothness loss, relative to the photos' own (1: as rough as they are). It keeps a long run from learning a pixel-fine pattern that the loss network mistakes for the painting's texture (docs/training.md).",
        min=0,
    )

    neutral_steps: int = option(
        1000,
        help="Steps at the start in which the network learns to give the photo back (cheap: no style layers); every painting is then learned from a network that already keeps the photo's structure.",
        min=0,
    )
    neutral_photos: int = option(
        1,
        help="Photos of each batch that keep training the style-neutral row (the photo given back), the 0 end of --strength.",
        min=0,
    )
    style_lr_scale: float = option(
        10.0,
        help="The per-painting (and neutral) rows learn at --lr times this while the shared weights train at --lr. A painting's rows train only in the steps that draw it, so with many paintings they lag behind the shared weights; a larger rate lets them keep up (docs/training.md). Not used by --add-style, which trains only the new rows, every step.",
        min=0,
        min_exclusive=True,
    )
