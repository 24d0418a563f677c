"""Stylize images of any size with a feed-forward network in bounded memory, with the untiled result.

The network's activations take about 520 bytes per input pixel on the CPU,
so a 4096x4096 photo would need about 9 GB at once. Tiling runs the
full-resolution layers piece by piece. Two things could make the pieces
show, and both are avoided exactly rather than hidden by blending:

* Instance normalization divides every feature map by statistics of the
  whole image; computed per tile, each tile would come out in its own colour
  and contrast. Here every normalization uses whole-image statistics,
  gathered over all tiles before the layer is applied (a scaled-down pass
  is not good enough: the network's features depend on the resolution).
* An output pixel depends on the pixels around it. Each tile is computed
  with ``context`` extra pixels on every side, more than the layers can
  see, and only its core is kept, so cores fit together without a seam.

The five residual blocks run at a quarter of the resolution, where the whole
image's features fit in memory (128 channels x H/4 x W/4: 0.5 GB for
4096x4096); they run untiled, with ordinary instance normalization. The
encoder before them and the decoder after them are tiled; each of their
normalization layers costs one extra pass over the tiles up to that layer
to gather its statistics, which makes a tiled run about 1.3-1.5x the work of
an untiled one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import cast

import torch
from torch import Tensor, nn

from styletool.events import Progress, ProgressCallback, ignore_progress
from styletool.nn.inference import InferenceTransformer, _FastLayer
from styletool.nn.kernels import memory_format
from styletool.nn.transformer import pad_to_multiple_of_4

BYTES_PER_PIXEL = 520  # measured peak of the fast network on a CPU (fp32), per input pixel
DEFAULT_TILE = 1024
CONTEXT = 32  # full-resolution pixels around each tile; the encoder and decoder see at most 10
# An untiled photo this large (pixels, batch included) takes seconds on a CPU (2048x1363 px: 4.4 s with
# the full network, docs/performance.md): it reports its progress layer by layer. Smaller ones say nothing,
# so a folder of ordinary photos does not flash a bar per batch.
REPORT_FROM_PIXELS = 2**21


def _cores(size: int, tile: int) -> list[tuple[int, int]]:
    return [(start, min(start + tile, size)) for start in range(0, size, tile)]


class _Moments:
    """Per-channel mean and variance accumulated over pieces of one feature map (float64)."""

    def __init__(self) -> None:
        self.count = 0
        self.total: Tensor | None = None
        self.squares: Tensor | None = None

    def add(self, x: Tensor) -> None:
        x = x.double()
        total, squares = x.sum(dim=(0, 2, 3)), (x * x).sum(dim=(0, 2, 3))
        self.total = total if self.total is None else self.total + total
        self.squares = squares if self.squares is None else self.squares + squares
        self.count += x.shape[0] * x.shape[2] * x.shape[3]

    def freeze(self, layer: _FastLayer) -> None:
        assert self.total is not None and self.squares is not None, "no pieces added"
        mean = self.total / self.count
        var = (self.squares / self.count - mean * mean).clamp_min(0)
        scale = layer.scale.double() / torch.sqrt(var + layer.eps)
        layer.frozen = (scale.to(layer.scale.dtype), (layer.shift.double() - mean * scale).to(layer.shift.dtype))


@contextlib.contextmanager
def _unfrozen_afterwards(network: InferenceTransformer) -> Iterator[None]:
    try:
        yield
    finally:
        for layer in [*network.encoder, *network.decoder]:
            layer.frozen = None


def _tiles(height: int, width: int, tile: int, context: int, unit: int):
    """``(window, core)`` slices for tiles of a ``height`` x ``width`` map; all edges multiples of ``unit``."""
    for top, bottom in _cores(height, tile):
        for left, right in _cores(width, tile):
            t0, l0 = max(0, top - context), max(0, left - context)
            t1, l1 = min(height, bottom + context), min(width, right + context)
            assert all(v % unit == 0 for v in (top, left, t0, l0)), "tiles must stay aligned to the strides"
            yield (slice(t0, t1), slice(l0, l1)), (slice(top, bottom), slice(left, right)), (t0, l0)


def _scaled(core: tuple[slice, slice], origin: tuple[int, int], factor: float) -> tuple[slice, slice]:
    """The core's position inside its window, on a map ``factor`` times the window's resolution."""
    rows, columns = core
    return (
        slice(round((rows.start - origin[0]) * factor), round((rows.stop - origin[0]) * factor)),
        slice(round((columns.start - origin[1]) * factor), round((columns.stop - origin[1]) * factor)),
    )


class _Passes:
    """Counts the tile passes of a tiled run and reports each as a step of the ``tiles`` stage."""

    def __init__(self, total: int, progress: ProgressCallback):
        self.done, self.total, self.progress = 0, total, progress

    def step(self) -> None:
        self.done += 1
        self.progress(Progress(stage="tiles", step=self.done, total=self.total, unit="tiles/s"))


def _fast_layers(modules: nn.Module) -> list[_FastLayer]:
    """The layers of an inference network's encoder, decoder or residual block, in order."""
    return [cast(_FastLayer, module) for module in modules.children()]


def _passes(network: InferenceTransformer, height: int, width: int, tile: int, context: int) -> int:
    """How many tile passes :func:`_stylize_one` makes on one image: one per tile per statistics or output pass."""
    padded_h, padded_w = height + (-height) % 4, width + (-width) % 4
    full = len(list(_tiles(padded_h, padded_w, tile, context, 4)))
    quarter = len(list(_tiles(padded_h // 4, padded_w // 4, tile // 4, context // 4, 1)))
    return (len(network.encoder) + 1) * full + 1 + (len(network.decoder) + 1) * quarter


def stylize_tiled(
    network: InferenceTransformer,
    image: Tensor,
    *,
    tile: int = DEFAULT_TILE,
    context: int = CONTEXT,
    progress: ProgressCallback | None = None,
) -> Tensor:
    """``network(image)`` computed tile by tile (``image`` is ``[N, 3, H, W]``); equal to the untiled result.

    ``tile`` is the side of a tile's core in input pixels (rounded down to a
    multiple of 4, at least 16). ``progress`` hears every tile pass (stage
    ``tiles``): a big photo takes minutes on a CPU.
    """
    tile = max(16, tile - tile % 4)
    context = max(16, context + (-context) % 4)
    height, width = image.shape[-2:]
    total = image.shape[0] * _passes(network, height, width, tile, context)
    passes = _Passes(total, progress or ignore_progress)
    return torch.cat([_stylize_one(network, single, tile, context, passes) for single in image.split(1)])


@torch.no_grad()
def _stylize_one(network: InferenceTransformer, image: Tensor, tile: int, context: int, passes: _Passes) -> Tensor:
    height, width = image.shape[-2:]
    x = network.to_layout(pad_to_multiple_of_4(image))
    full_h, full_w = x.shape[-2:]
    encoder, decoder = _fast_layers(network.encoder), _fast_layers(network.decoder)
    spans = [1, 2, 4]  # input pixels per pixel of each encoder layer's output
    with _unfrozen_afterwards(network):
        # Encoder statistics, one layer at a time, over the tiles' cores.
        for k, layer in enumerate(encoder):
            moments = _Moments()
            for window, core, origin in _tiles(full_h, full_w, tile, context, 4):
                h = x[(..., *window)]
                for earlier in encoder[:k]:
                    h = earlier(h)
                moments.add(layer.convolve(h)[(..., *_scaled(core, origin, 1 / spans[k]))])
                passes.step()
            moments.freeze(layer)
        # The quarter-resolution trunk, assembled from encoded tiles, then the residual blocks on all of it.
        trunk = torch.empty(
            (1, encoder[-1].out_channels, full_h // 4, full_w // 4),
            dtype=x.dtype,
            device=x.device,
            memory_format=memory_format(x),
        )
        for window, core, origin in _tiles(full_h, full_w, tile, context, 4):
            h = x[(..., *window)]
            for layer in encoder:
                h = layer(h)
            rows, columns = core
            trunk[..., rows.start // 4 : rows.stop // 4, columns.start // 4 : columns.stop // 4] = h[
                (..., *_scaled(core, origin, 1 / 4))
            ]
            passes.step()
        for block in network.residuals:
            first, second = _fast_layers(block)
            y = second(first(trunk))
            y += trunk
            trunk = y
        passes.step()
        # Decoder statistics, then the output, tile by tile over the trunk.
        q_tile, q_context = tile // 4, context // 4
        for k, layer in enumerate(decoder):
            moments = _Moments()
            for window, core, origin in _tiles(full_h // 4, full_w // 4, q_tile, q_context, 1):
                h = trunk[(..., *window)]
                for earlier in decoder[:k]:
                    h = earlier(h)
                moments.add(layer.convolve(h)[(..., *_scaled(core, origin, 2 ** (k + 1)))])
                passes.step()
            moments.freeze(layer)
        out = x.new_empty(1, 3, full_h, full_w)
        for window, core, origin in _tiles(full_h // 4, full_w // 4, q_tile, q_context, 1):
            h = trunk[(..., *window)]
            for layer in decoder:
                h = layer(h)
            rows, columns = core
            out[..., rows.start * 4 : rows.stop * 4, columns.start * 4 : columns.stop * 4] = network.head(h)[
                (..., *_scaled(core, origin, 4))
            ]
            passes.step()
    return out[..., :height, :width]


def available_memory(device: torch.device) -> int:
    """Bytes the device can give right now (GPU: free memory; CPU: what the system can give without swapping)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    import psutil  # the same answer on Linux (MemAvailable), macOS and Windows

    return int(psutil.virtual_memory().available)


def needs_tiling(image: Tensor, device: torch.device, *, budget_fraction: float = 0.25) -> bool:
    """Whether running ``image`` whole would take more than ``budget_fraction`` of the device's free memory."""
    pixels = image.shape[0] * image.shape[-2] * image.shape[-1]
    return pixels * BYTES_PER_PIXEL > budget_fraction * available_memory(device)


def run_network(
    network: torch.nn.Module, content: Tensor, *, tile: int = 0, progress: ProgressCallback | None = None
) -> Tensor:
    """What feed-forward methods call: ``network(content)``, tiled when asked (``tile`` > 0) or when it would not fit.

    ``network`` is the result of :func:`styletool.fast_network` (compiled or not; tiles run the plain form).
    ``progress`` hears the long runs: every tile pass of a tiled run, and every layer of an untiled
    photo of :data:`REPORT_FROM_PIXELS` or more (the compiled network runs whole, silently).
    """
    plain = getattr(network, "_orig_mod", network)
    if not isinstance(plain, InferenceTransformer):
        return network(content)
    if tile > 0:
        return stylize_tiled(plain, content, tile=tile, progress=progress)
    if needs_tiling(content, content.device):
        return stylize_tiled(plain, content, progress=progress)
    pixels = content.shape[0] * content.shape[-2] * content.shape[-1]
    if progress is not None and plain is network and pixels >= REPORT_FROM_PIXELS:
        return plain(content, progress=progress)
    return network(content)
