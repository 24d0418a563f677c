"""Options of the gatys method (no torch here: `methods show gatys` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass

from styletool import VGG_STYLE_LAYERS, option

NORMALIZATIONS = ("relative", "none")
# The style weight that balances a content weight of 1 under each normalization
# (docs/gatys.md shows how each was chosen).
DEFAULT_STYLE_WEIGHT = {"relative": 1.0, "none": 10.0}


@dataclass
class GatysOptions:
    """How the output image is optimized."""

    # Schedule
    iterations: int = option(
        150,
        help="Iterations at the first, coarsest scale; each finer scale runs 0.6 times as many, the final one at least 0.4 times --iterations (--scales 1: all at --size).",
        min=1,
    )
    scale_iterations: list[int] | None = option(
        None,
        help="Iterations per scale, coarse to fine, e.g. 100,75,50 (with --scales; overrides --iterations).",
        min=1,
    )
    scales: int | None = option(
        None,
        help="Number of scales, coarse to fine (default: sqrt(2) steps up from --min-size; 1: one scale at --size).",
        min=1,
        max=12,
    )
    min_size: int | None = option(
        None,
        help="Longest side of the coarsest scale (default 128 px; with --scales, each scale sqrt(2) larger than the last).",
        min=16,
    )
    optimizer: str = option(
        "lbfgs", help="lbfgs (best quality per step) or adam (less memory).", choices=("lbfgs", "adam")
    )
    lr: float | None = option(
        None, help="Step size; default 1.0 for lbfgs, 2.0 (pixel levels of 255) for adam.", min=0, min_exclusive=True
    )
    init: str = option("content", help="Starting image: content, noise, style, or the path of an image file.")
    # Loss
    normalize: str = option(
        "relative",
        help="Scale of each layer's loss: relative (divided by the size of its target, so every style layer counts for any painting) or none (raw feature sizes, as in the paper: relu4_1 outweighs the rest).",
        choices=NORMALIZATIONS,
    )
    content_weight: float = option(1.0, help="Weight of the content loss.", min=0)
    style_weight: float | None = option(
        None,
        help="Weight of the style loss (default 1 with --normalize relative: style and content count alike; 10 with none).",
        min=0,
    )
    tv_weight: float = option(
        0.0,
        help="Weight of the total-variation smoothness loss (with --normalize relative, relative to the photo's own roughness).",
        min=0,
    )
    content_layers: list[str] = option(["relu4_2"], help="Backbone layers whose features keep the photo's content.")
    style_layers: list[str] = option(
        VGG_STYLE_LAYERS, help="Backbone layers whose statistics carry the painting's style."
    )
    style_layer_weights: list[float] | None = option(
        None, help="Relative weight of each style layer (one per --style-layers entry).", min=0
    )
    style_layer_weight_exp: float = option(
        1.0,
        help="Geometric layer weights: layer i gets EXP**i (>1 favours deep, coarse layers).",
        min=0,
        min_exclusive=True,
    )
    style_loss: str = option("gram", help="Style loss from the losses registry: gram, meanstd, histogram, ...")
    style_shift: float = option(0.0, help="Activation shift added to features before Gram matrices (gram loss only).")
    style_blend: list[float] | None = option(
        None, help="Weights of the --style paintings, e.g. 0.7,0.3 (normalized to sum 1; default equal).", min=0
    )
    style_scale: float = option(
        1.0,
        help="Brush size: the painting's size relative to the output (longest sides); 2 paints strokes twice as large.",
        min=0,
        min_exclusive=True,
        max=16,
    )
    # Colour
    preserve_color: str = option(
        "none",
        help="Keep the photo's colours: luminance (transfer luma only, after) or histogram (recolour the painting, before).",
        choices=("none", "luminance", "histogram"),
    )
    color_strength: float = option(1.0, help="How fully --preserve-color applies: 0 (not at all) to 1.", min=0, max=1)
    # Backbone
    backbone: str = option("vgg19", help="Feature backbone (see `styletool backbones`).")
    backbone_weights: str | None = option(
        None, help="Weights file for the backbone (default: its usual place; see `styletool backbones`)."
    )
    pooling: str = option("max", help="Backbone pooling: max or avg.", choices=("max", "avg"))
    padding: str = option(
        "zero", help="Padding of the backbone's first convolution: zero or replicate.", choices=("zero", "replicate")
    )
    auto_fit: bool = option(
        False,
        help="If the size asked for would not fit in the device's memory, use the largest size that does (default: stop and name that size).",
    )
    # Output
    save_every: int = option(0, help="Save the current image every N iterations beside the output (0: never).", min=0)

    def output_label(self) -> str:
        """A blend of several paintings, for output names: photo_a+b-blend0.7+0.3_gatys.png."""
        if self.style_blend is None:
            return ""
        return "blend" + "+".join(f"{weight:g}" for weight in self.style_blend)
