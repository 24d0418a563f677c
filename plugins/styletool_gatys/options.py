"""Options of the gatys method (no torch here: `methods show gatys` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass

from styletool import option

VGG_STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


@dataclass
class GatysOptions:
    """How the output image is optimized."""

    iterations: int = option(300, help="Optimizer steps (L-BFGS: function evaluations).", min=1)
    optimizer: str = option("lbfgs", help="lbfgs (best quality per step) or adam (less memory).", choices=("lbfgs", "adam"))
    lr: float | None = option(None, help="Step size; default 1.0 for lbfgs, 2.0 (pixel levels of 255) for adam.", min=0, min_exclusive=True)
    content_weight: float = option(1.0, help="Weight of the content loss.", min=0)
    style_weight: float = option(20.0, help="Weight of the style loss.", min=0)
    tv_weight: float = option(0.0, help="Weight of the total-variation smoothness loss.", min=0)
    content_layers: list[str] = option(["relu4_2"], help="Backbone layers whose features keep the photo's content.")
    style_layers: list[str] = option(VGG_STYLE_LAYERS, help="Backbone layers whose statistics carry the painting's style.")
    style_loss: str = option("gram", help="Style loss from the losses registry (see `styletool losses`).")
    init: str = option("content", help="Starting image: content, noise or style.", choices=("content", "noise", "style"))
    style_scale: float = option(1.0, help="Size of the painting relative to the output (longest sides).", min=0, min_exclusive=True)
    backbone: str = option("vgg19", help="Feature backbone (see `styletool backbones`).")
    backbone_weights: str | None = option(None, help="Weights file for the backbone (default: its usual place; see `styletool backbones`).")
    pooling: str = option("max", help="Backbone pooling: max or avg.", choices=("max", "avg"))
    padding: str = option("zero", help="Padding of the backbone's first convolution: zero or replicate.", choices=("zero", "replicate"))
