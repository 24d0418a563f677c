"""A painting's style predicted from its statistics: the first picture of any painting, at once.

A style-conditional network (:class:`styletool.TransformerNet`) paints each
painting it learned through one *row*: a scale and a shift for each of its
normalization layers; its convolutions are shared by every painting. The
:class:`StylePredictor` reads a new painting's feature statistics in the
loss network (the mean and spread of every channel of the style layers,
which the style loss computes anyway) and answers with a blend of the
learned paintings' rows: weights that sum to 1. A blend of rows is a row
the network already knows how to use, so the prediction can be wrong but
never wild. An unseen painting gets a picture from one pass of the loss
network and one of the predictor, with no training; adaptation then starts
from the predicted row instead of from the average one.

The predictor is small (one hidden layer) because it learns from few
paintings; :func:`vary_painting` makes many more "paintings" out of them
(crops, mirrored, recoloured) so it learns which learned painting a new one
is like, and how much, rather than the training paintings by heart.
"""

from __future__ import annotations

import math
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from styletool import ModelFile, ModelFileError, PerceptualLoss, TransformerNet, load_model, network_from

# Channels' spreads below this are treated as this (dead channels of small paintings).
_MIN_SPREAD = 1e-3
# How many spreads from the training paintings' mean a statistic may lie (StylePredictor.forward).
_MAX_STANDARD = 4.0


def style_tables(net: TransformerNet) -> list[tuple[str, Tensor]]:
    """The network's per-style tables by parameter name, in the order a row lists them."""
    return [(name, value) for name, value in net.named_parameters() if name.endswith((".norm.scale", ".norm.shift"))]


def style_row(net: TransformerNet, index: int = 0) -> Tensor:
    """Row ``index`` of every table, as one vector (what :class:`StylePredictor` predicts)."""
    return torch.cat([table[index].detach() for _, table in style_tables(net)])


def tables_with_row(net: TransformerNet, row: Tensor, index: int = 0) -> dict[str, Tensor]:
    """The tables with row ``index`` replaced by ``row``, for ``torch.func.functional_call`` (keeps ``row``'s gradient)."""
    tables, start = {}, 0
    for name, table in style_tables(net):
        piece = row[start : start + table.shape[1]].to(table.dtype)
        start += table.shape[1]
        tables[name] = torch.cat([table[:index].detach(), piece[None], table[index + 1 :].detach()])
    return tables


def feature_statistics(features: dict[str, Tensor]) -> Tensor:
    """``[1, features]``: the mean and log spread of every channel of a painting's style-layer features."""
    parts = []
    for values in features.values():
        flat = values.float().flatten(2)
        parts += [flat.mean(2), flat.std(2).clamp_min(_MIN_SPREAD).log()]
    return torch.cat(parts, 1)


def painting_statistics(perceptual: PerceptualLoss, painting: Tensor, *, size: int) -> Tensor:
    """What the predictor reads: :func:`feature_statistics` of the painting as the style loss sees it."""
    return feature_statistics(perceptual.style_features(painting, size=size))


class StylePredictor(nn.Module):
    """Statistics -> weights over the network's painting rows (non-negative, summing to 1).

    ``center`` and ``spread`` standardize the statistics (fitted to the
    training paintings); the last layer starts at zero, so an untrained
    predictor gives the plain mean of the rows, the network's average painting.
    """

    center: Tensor
    spread: Tensor

    def __init__(self, inputs: int, rows: int, hidden: int = 64):
        super().__init__()
        self.register_buffer("center", torch.zeros(inputs))
        self.register_buffer("spread", torch.ones(inputs))
        self.hidden = nn.Linear(inputs, hidden)
        self.out = nn.Linear(hidden, rows)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @property
    def sizes(self) -> tuple[int, int, int]:
        """(inputs, rows, hidden): what a model file's metadata rebuilds it from."""
        return self.hidden.in_features, self.out.out_features, self.hidden.out_features

    def fit_inputs(self, statistics: Tensor) -> None:
        """Standardize inputs by these statistics (``[paintings, features]``)."""
        self.center.copy_(statistics.mean(0))
        spread = statistics.std(0).clamp_min(_MIN_SPREAD) if len(statistics) > 1 else torch.ones_like(self.spread)
        self.spread.copy_(spread)

    def forward(self, statistics: Tensor) -> Tensor:
        # A painting far outside the training paintings' range is read as one at its edge.
        standard = ((statistics - self.center) / self.spread).clamp(-_MAX_STANDARD, _MAX_STANDARD)
        return F.softmax(self.out(F.relu(self.hidden(standard))), dim=-1)


def fit_choices(
    predictor: StylePredictor, statistics: Tensor, rows: Tensor, *, steps: int = 200, lr: float = 1e-3
) -> float:
    """Teach the predictor that each training painting is its own row (``rows``: their indices): a warm start.

    Returns the mean weight the predictor then gives each painting's own row.
    """
    optimizer = torch.optim.Adam(predictor.parameters(), lr=lr)
    for _ in range(steps):
        loss = -predictor(statistics).gather(1, rows[:, None]).clamp_min(1e-12).log().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return float(predictor(statistics).gather(1, rows[:, None]).mean())


def vary_painting(painting: Tensor, generator: torch.Generator) -> Tensor:
    """A new "painting" made from ``painting`` (``[1, 3, H, W]``): a crop, maybe mirrored, maybe recoloured.

    Half the variants keep the painting's colours; the others turn its hues
    (a rotation about the grey axis) and scale its saturation, so the
    predictor sees palettes no training painting has.
    """

    def uniform(low: float, high: float) -> float:
        return low + (high - low) * float(torch.rand((), generator=generator))

    height, width = painting.shape[-2:]
    crop_h, crop_w = max(16, round(height * uniform(0.5, 1.0))), max(16, round(width * uniform(0.5, 1.0)))
    top = int(torch.randint(0, height - crop_h + 1, (), generator=generator))
    left = int(torch.randint(0, width - crop_w + 1, (), generator=generator))
    varied = painting[..., top : top + crop_h, left : left + crop_w]
    if uniform(0, 1) < 0.5:
        varied = varied.flip(-1)
    if uniform(0, 1) < 0.5:
        varied = recolour(varied, hue=uniform(-math.pi, math.pi), saturation=uniform(0.5, 1.5))
    return varied.contiguous()


def recolour(image: Tensor, *, hue: float, saturation: float) -> Tensor:
    """Rotate hues by ``hue`` radians about the grey axis and scale saturation; each pixel's grey level is kept (up to clipping)."""
    grey = image.mean(1, keepdim=True)
    chroma = image - grey
    axis = torch.ones(3, dtype=image.dtype) / math.sqrt(3)
    cos, sin = math.cos(hue), math.sin(hue)
    cross = torch.tensor([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]], dtype=image.dtype)
    rotation = cos * torch.eye(3, dtype=image.dtype) + sin * cross + (1 - cos) * torch.outer(axis, axis)
    turned = torch.einsum("ij,njhw->nihw", rotation, chroma) * saturation
    return (grey + turned).clamp(0, 1)


# Predictor tensors sit in the meta-model's file beside the network's, under this prefix.
PREDICTOR_PREFIX = "predictor."


def one_style_network(net: TransformerNet, weights: Tensor | None = None) -> TransformerNet:
    """A network with one painting row, the blend ``weights`` of ``net``'s painting rows, and ``net``'s neutral row.

    The shape of every model adapted from a meta-model with a predictor: row
    0 is the painting (predicted, then adapted), row 1 the photo given back,
    so ``--strength`` works on all of them. ``weights`` default to the plain
    mean (the average painting).
    """
    if not (net.conditional and net.neutral):
        raise ValueError("only a conditional network with a neutral row has rows to blend")
    count = cast(int, net.num_styles)
    weights = torch.full((count,), 1 / count) if weights is None else weights.detach().float().cpu()
    single = TransformerNet(num_styles=1, architecture=net.architecture, neutral=True)
    state = {}
    for name, value in net.state_dict().items():
        if name.endswith((".norm.scale", ".norm.shift")):
            state[name] = torch.stack([weights @ value[:count].float(), value[count].float()])
        else:
            state[name] = value
    single.load_state_dict(state)
    return single


def blended_row(net: TransformerNet, weights: Tensor) -> Tensor:
    """The row vector (as :func:`style_row` lists it) of a blend of ``net``'s painting rows (keeps the gradient)."""
    count = cast(int, net.num_styles)
    return torch.cat([weights @ table[:count] for _, table in style_tables(net)])


def meta_tensors(net: TransformerNet, predictor: StylePredictor) -> dict[str, Tensor]:
    """What a meta-model file holds: the network's tensors and the predictor's, prefixed."""
    tensors = dict(net.state_dict())
    tensors.update({PREDICTOR_PREFIX + name: value for name, value in predictor.state_dict().items()})
    return tensors


def load_meta_model(path, *, method: str) -> tuple[TransformerNet, StylePredictor | None, ModelFile]:
    """A metastyle model file: its network, its predictor (None if it has none) and the file itself."""
    model = load_model(path, method=method)
    own = {name: value for name, value in model.tensors.items() if not name.startswith(PREDICTOR_PREFIX)}
    net = network_from(ModelFile(own, model.metadata), where=path, what="the metastyle network")
    sizes = model.metadata.get("predictor")
    if sizes is None:
        return net, None, model
    try:
        predictor = StylePredictor(int(sizes["inputs"]), int(sizes["rows"]), int(sizes["hidden"]))
        predictor.load_state_dict(
            {
                name.removeprefix(PREDICTOR_PREFIX): value.float()
                for name, value in model.tensors.items()
                if name.startswith(PREDICTOR_PREFIX)
            }
        )
    except (KeyError, TypeError, ValueError, RuntimeError):
        raise ModelFileError("the style predictor's weights do not fit its description", where=path) from None
    if predictor.sizes[1] != net.num_styles:
        raise ModelFileError("the style predictor's rows do not fit the network", where=path)
    return net, predictor.eval(), model
