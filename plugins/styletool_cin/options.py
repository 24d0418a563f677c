"""Options of the cin method (no torch here: `methods show cin` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass

from styletool import FeedForwardOptions, StyleNetworkOptions, option


@dataclass
class CinOptions(FeedForwardOptions):
    """Which of the model's styles to paint with (the model is given with --model; default: the shipped cin model)."""

    style_index: str | None = option(
        None,
        help="The style to use, by index (0, 1, ...) or name; default the first. `styletool models info MODEL` lists them.",
    )
    style_name: str | None = option(
        None,
        help="The style to use, by name, e.g. starry_night (the same as --style-index NAME). `styletool models` lists the shipped model's styles.",
    )
    style_mix: str | None = option(
        None, help="A blend of styles, e.g. 0=0.5,3=0.5 or starry_night=2,the_scream=1 (weights are normalized)."
    )
    all_styles: bool = option(
        False, help="Write a contact sheet: the photo, then every style of the model, in one image."
    )

    def output_label(self) -> str:
        """The style or blend chosen and the strength, for output names: photo_paintings-the_scream_cin.png."""
        if self.all_styles:
            chosen = "all-styles"
        elif self.style_mix is not None:
            chosen = "+".join(part.strip() for part in self.style_mix.split(",") if part.strip())
        else:
            chosen = self.style_name or self.style_index or ""
        return "-".join(part for part in (chosen, super().output_label()) if part)


@dataclass
class CinTrainOptions(StyleNetworkOptions):
    """The perceptual loss a cin network is trained with, its style-neutral start, and how many paintings each step trains."""

    painting_weight: list[str] = option(
        [],
        help="A painting's own style weight, NAME=WEIGHT (comma-separated or repeated; NAME is the file's stem): replaces --style-weight for that painting. Lower for a painting that covers the photo at the common weight, higher for one that stays too far from it (recipes/cin_paintings.sh).",
    )
    add_style: list[str] = option(
        [],
        help="Paintings to add to --model: only their new style rows train, the model's styles stay as they were.",
    )
    styles_per_step: int = option(
        0,
        help="Paintings trained in each step, drawn at random; the batch's photos are shared among them, one painting per photo. 0 (the default): a different painting for every photo, which gives every painting the most updates in the same time (docs/training.md).",
        min=0,
    )
