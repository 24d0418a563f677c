"""Options of the metastyle method (no torch here: `methods show metastyle` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass

from styletool import FeedForwardOptions, PerceptualOptions, option


@dataclass
class MetaStyleTrainOptions(PerceptualOptions):
    """Meta-training: the perceptual loss, and the inner loop that adapts to each sampled style.

    The outer (meta) optimizer is Adam at --meta-lr (default: train's --lr); the
    outer batch is split in two: the first half trains the inner steps, the
    second half scores them (unless --val-content-dir gives the scoring photos).

    The loss defaults differ from johnson's: adaptation is short (a couple of
    hundred steps), and in short runs a low style weight and the shallower
    relu2_2 content layer keep the photo recognizable (docs/metastyle.md).
    """

    style_weight: float = option(0.3, help="Weight of the style loss.", min=0)
    content_layers: list[str] = option(["relu2_2"], help="Loss-network layers whose features keep the photo's content.")
    # The inner learning rate below is sized for the raw sums' gradients.
    normalize: str = option(
        "none",
        help="Scale of each layer's loss: none (raw sums, which --inner-lr is sized for) or relative (each layer divided by its size for a blank picture).",
        choices=("relative", "none"),
    )

    meta_lr: float | None = option(
        None,
        help="Learning rate of the outer (meta) Adam optimizer; default: train's --lr.",
        min=0,
        min_exclusive=True,
    )
    meta_batch: int = option(4, help="Styles sampled per outer step; the outer loss is the mean over them.", min=1)
    inner_steps: int = option(
        1,
        help="Plain gradient steps each style takes from the shared initialization (T); 0 trains the start (or, from a --model with a neutral row, the row predictor) directly on each painting.",
        min=0,
    )
    inner_lr: float = option(
        1e-7,
        help="Learning rate of the plain gradient inner steps (decays with --lr-schedule, like the outer one). Perceptual-loss gradients are large (about 1e7 with the default loss), hence the small value.",
        min=0,
        min_exclusive=True,
    )
    inner_max_step: float = option(
        1.0,
        help="Longest inner step (norm over the fast weights); longer steps are shortened to it. Guards against the huge losses of an untrained network.",
        min=0,
        min_exclusive=True,
    )
    first_order: bool = option(
        False, help="Treat the inner gradients as constants: cheaper, drops the second-order terms."
    )
    fast_weights: str = option(
        "norm",
        help="Parameters the inner steps adapt: the instance-norm scales and shifts, or all.",
        choices=("norm", "all"),
    )
    val_content_dir: str | None = option(
        None,
        help="Folder of photos that score the adapted weights (the query batch); default: half of each --content-dir batch.",
    )


@dataclass
class MetaStyleAdaptOptions:
    """How a meta-trained model adapts to a new painting (`styletool adapt`, or on the fly in `stylize`)."""

    # The defaults are what a user waits for on a laptop CPU, measured with the shipped meta-model
    # (docs/metastyle.md): about 15 s from the command to the file on 2 cores, and the style
    # distance and SSIM of the table there. Every parameter adapts: adapting only the rows was
    # no faster (the loss network's backward pass dominates) and painted less.
    steps: int = option(
        100,
        help="Adam steps of adaptation; 0: the picture of the row the meta-model's predictor gives the painting, at once.",
        min=0,
    )
    lr: float = option(1e-3, help="Adam learning rate of adaptation.", min=0, min_exclusive=True)
    only_norm: bool = option(
        False, help="Adapt only the instance-norm scales and shifts (fewer parameters, a milder change)."
    )
    batch_size: int = option(2, help="Photos per adaptation step.", min=1)
    image_size: int = option(
        128, help="Side of the square photo crops adaptation trains on (192: a little closer, twice the time).", min=16
    )
    style_weight: float | None = option(
        3.0,
        help="Weight of the style loss: above the shipped meta-model's own (2), since a short adaptation otherwise leaves the photo barely touched. None (from Python): the meta-model's own.",
        min=0,
    )


@dataclass
class MetaStyleOptions(MetaStyleAdaptOptions, FeedForwardOptions):
    """Stylize with an adapted model, adapt a meta-model on the fly (--style), or blend adapted models (--mix)."""

    content_dir: str | None = option(
        None, help="Folder of photos to adapt on when --style is given (default: the photos being stylized)."
    )
    no_cache: bool = option(
        False, help="Adapt afresh instead of reusing (and storing) an adapted model in the user cache."
    )
    mix: list[float] | None = option(
        None, help="Weights of a blend of several --model files, e.g. 0.3,0.7 (normalized to sum 1).", min=0
    )
    interpolate_steps: int | None = option(
        None, help="With two --model files: a labelled strip of N images blending from the first to the second.", min=2
    )

    def output_label(self) -> str:
        """A blend of the --model files and the strength, for output names: photo_wave+scream-mix0.3+0.7_metastyle.png."""
        if self.interpolate_steps is not None:
            blend = f"strip{self.interpolate_steps}"
        elif self.mix is not None:
            blend = "mix" + "+".join(f"{weight:g}" for weight in self.mix)
        else:
            blend = ""
        return "-".join(part for part in (blend, super().output_label()) if part)
