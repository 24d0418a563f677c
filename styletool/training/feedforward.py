"""Training a style-conditional feed-forward network: its paintings' rows and its style-neutral row.

johnson (one painting) and cin (many) train the same thing: a
:class:`styletool.TransformerNet` whose normalization layers hold one row of
scales and shifts per painting plus a *neutral* row that gives the photo
back. The run has two phases:

1. The neutral start (the first ``neutral_steps`` steps): the network learns
   to give back the photo (:meth:`styletool.PerceptualLoss.reconstruction`)
   with every row alike. Every style is then fine-tuned from a network that
   already keeps the photo's structure, instead of from noise.
2. The styles: each step draws ``styles_per_step`` paintings (0: a
   different one for every photo) and paints the batch's photos with them,
   one painting per photo, judged against that painting; ``neutral_photos``
   photos of each batch keep training the neutral row, so it still gives
   the photo back through the convolutions the styles share. That row is
   the style-neutral end of ``--strength``.

Every loss judges the picture as it will be saved, clamped to [0, 1]
(:func:`as_saved`). Judged on the raw output instead, a network trained
for long learns values far outside [0, 1] that the loss network reads as
the painting's texture but the saved picture loses: a candy model's raw
output reached -2.5 to 3.1 after 6000 steps, and its style loss fell
while that of its saved pictures rose (docs/training.md).

In phase 1 every image is computed with the mean of all rows. The rows start
equal (scale 1, shift 0), so they receive equal gradients and stay equal
under Adam, with no copying at the phase boundary: resuming anywhere gives
exactly the uninterrupted run.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from styletool.training.settings import BasicTask

# Weight of the "range" term: the mean square of the raw output's excess beyond [0, 1]. The
# straight-through clamp lets the loss see the saved picture while gradients still reach pixels
# outside the range; this term keeps such pixels from wandering off without bound.
RANGE_WEIGHT = 1.0


def as_saved(output: Tensor) -> Tensor:
    """``output`` clamped to [0, 1] as a saved picture is, with the gradient of the identity (straight-through)."""
    return output + (output.clamp(0, 1) - output).detach()


def range_excess(output: Tensor) -> Tensor:
    """Mean square of how far ``output`` lies outside [0, 1] (0 inside)."""
    return (output.float() - output.float().clamp(0, 1)).square().mean()


class FeedForwardTask(BasicTask):
    """Train a conditional network with a neutral row on paintings ``styles`` (indices into its rows).

    ``targets`` holds one style target per style index (None for styles this
    run does not train). ``only_styles`` freezes everything but the rows of
    ``styles`` (adding paintings to a finished model: its other styles and
    its neutral row stay exactly as they were); only then may the network
    lack a neutral row (models made before it existed).
    """

    # A styletool TransformerNet (rows, neutral, style_parameters); styletool.nn is a sibling layer,
    # not imported here, so the type checker takes the network's word for it.
    model: Any

    def __init__(
        self,
        net: nn.Module,
        loss,
        targets: list[Any],
        *,
        styles: list[int],
        metadata: dict[str, Any],
        seed: int,
        only_styles: bool = False,
        styles_per_step: int = 1,
        style_lr_scale: float = 1.0,
        neutral_steps: int = 0,
        neutral_photos: int = 1,
    ):
        self.model = net
        self.perceptual = loss
        self.targets = targets
        self.styles = styles
        self.metadata = metadata
        self.seed = seed
        self.only_styles = only_styles
        # 0 stays 0: as many paintings as the step paints photos (see styles_for_step).
        self.styles_per_step = min(styles_per_step, len(styles))
        self.style_lr_scale = style_lr_scale
        self.neutral_steps = 0 if only_styles else neutral_steps
        self.neutral_photos = 0 if only_styles else neutral_photos
        if (self.neutral_steps or self.neutral_photos) and not net.neutral:
            raise ValueError("a network without a neutral row cannot train one")

    # -- what trains -----------------------------------------------------------
    def parameters(self) -> list[nn.Parameter]:
        if not self.only_styles:
            return list(self.model.parameters())
        # Adding styles: everything but the style tables stays frozen, and gradients of the
        # other rows are masked, so the model's styles and neutral row are untouched.
        keep = torch.zeros(self.model.rows, 1)
        keep[self.styles] = 1
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)
        tables = self.model.style_parameters()
        for table in tables:
            table.requires_grad_(True)
            table.register_hook(lambda grad, keep=keep: grad * keep.to(grad))
        return tables

    def parameter_groups(self, lr: float) -> list[dict[str, Any]]:
        """The style tables at ``lr * style_lr_scale``, everything else at ``lr``.

        A painting's rows learn only in the steps that draw it, so with many
        paintings they lag behind the shared weights; the larger rate lets
        them keep up. Adding styles trains only the new rows, every step: one rate.
        """
        trained = self.parameters()
        if self.only_styles:
            return [{"params": trained}]
        tables = {id(p) for p in self.model.style_parameters()}
        groups: list[dict[str, Any]] = [
            {"params": [p for p in trained if id(p) not in tables]},
            {"params": [p for p in trained if id(p) in tables], "lr": lr * self.style_lr_scale},
        ]
        return [group for group in groups if group["params"]]

    # -- the steps ---------------------------------------------------------------
    def styles_for_step(self, step: int, painted: int) -> list[int]:
        """The paintings step ``step`` trains: a pure function of the seed, the step and the batch (exact resume)."""
        generator = torch.Generator().manual_seed(self.seed * 7_368_787 + step)
        order = torch.randperm(len(self.styles), generator=generator)[: self.styles_per_step or painted]
        return [self.styles[int(i)] for i in order]

    def rows_for_step(self, step: int, batch: int) -> list[int | None]:
        """The row each photo of the batch trains: a style index, or None for the neutral row."""
        neutral = min(self.neutral_photos, batch - 1) if batch > 1 else 0
        painted = batch - neutral
        chosen = self.styles_for_step(step, painted)
        return [chosen[i % len(chosen)] for i in range(painted)] + [None] * neutral

    def loss(self, model, photos: Tensor, step: int) -> dict[str, Tensor]:
        rows = self.model.rows
        if step < self.neutral_steps:
            # The neutral start: every row alike (see the module's docstring).
            weights = torch.full((photos.shape[0], rows), 1.0 / rows, device=photos.device, dtype=photos.dtype)
            output = model(photos, style=weights)
            return {
                "neutral": self.perceptual.reconstruction(as_saved(output), photos),
                "range": RANGE_WEIGHT * range_excess(output),
            }
        per_photo = self.rows_for_step(step, photos.shape[0])
        index = torch.tensor([rows - 1 if row is None else row for row in per_photo], device=photos.device)
        output = model(photos, style=F.one_hot(index, rows).to(photos.dtype))
        seen = as_saved(output)
        painted = [i for i, row in enumerate(per_photo) if row is not None]
        terms = self.perceptual(
            seen[painted], photos[painted], [self.targets[row] for row in per_photo if row is not None]
        )
        neutral = [i for i, row in enumerate(per_photo) if row is None]
        if neutral:
            # Weighted by its share of the batch, so the styles' terms keep their meaning.
            share = len(neutral) / photos.shape[0]
            terms["neutral"] = share * self.perceptual.reconstruction(seen[neutral], photos[neutral])
        terms["range"] = RANGE_WEIGHT * range_excess(output)
        return terms

    def sample(self, photo: Tensor) -> Tensor:
        """The first painting this run trains, for the live preview."""
        return self.model(photo, style=self.styles[0])
