"""Options of the cin method (no torch here: `methods show cin` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass

from styletool import FeedForwardOptions, PerceptualOptions, option


@dataclass
class CinOptions(FeedForwardOptions):
    """Which of the model's styles to paint with (the model itself is given with --model)."""

    style_index: str | None = option(None, help="The style to use, by index (0, 1, ...) or name; default the first. `styletool models info MODEL` lists them.")
    style_mix: str | None = option(None, help="A blend of styles, e.g. 0=0.5,3=0.5 or starry_night=2,the_scream=1 (weights are normalized).")
    all_styles: bool = option(False, help="Write a contact sheet: the photo, then every style of the model, in one image.")


@dataclass
class CinTrainOptions(PerceptualOptions):
    """The perceptual loss a cin network is trained with; each step trains one randomly drawn style."""
