"""Options of the johnson method (no torch here: `methods show johnson` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass

from styletool import FeedForwardOptions, StyleNetworkOptions


@dataclass
class JohnsonOptions(FeedForwardOptions):
    """How a trained model stylizes (the model file itself is given with --model)."""


@dataclass
class JohnsonTrainOptions(StyleNetworkOptions):
    """The perceptual loss a johnson network is trained with, and its style-neutral start."""
