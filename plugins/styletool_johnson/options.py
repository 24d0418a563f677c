"""Options of the johnson method (no torch here: `methods show johnson` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass

from styletool import PerceptualOptions, option


@dataclass
class JohnsonOptions:
    """How a trained model stylizes (the model file itself is given with --model)."""

    preserve_color: str = option("none", help="Keep the photo's colours: luminance (result's luma on the photo's chroma) or histogram (recolour the result).", choices=("none", "luminance", "histogram"))
    color_strength: float = option(1.0, help="How fully --preserve-color applies: 0 (not at all) to 1.", min=0, max=1)


@dataclass
class JohnsonTrainOptions(PerceptualOptions):
    """The perceptual loss a johnson network is trained with."""
