"""How much memory a gatys scale needs, and the largest size that fits.

Optimizing an image keeps, per output pixel: the backbone activations saved
for the backward pass (which dominate: VGG-19 to relu5_1 keeps about 4.7 KB per
pixel), their gradients while the backward pass runs, and the optimizer's
state (L-BFGS keeps 100 pairs of image-sized vectors, 2.4 KB per pixel).
All of it grows with the pixel count, so one probe at a small size gives the
cost per pixel, and the largest side that fits follows from the free memory.
"""

from __future__ import annotations

import math

import torch

from styletool import available_memory

PROBE_SIDE = 128
# Share of the free memory a run may plan to use: allocators fragment, and the
# machine (or other processes on the GPU) needs some too.
BUDGET_FRACTION = 0.8
# The saved activations overstate the peak a little (some are freed as the
# backward pass goes, before the largest gradients exist), which covers the
# gradients: on the CPU with VGG-19, the estimate is 7.2 KB per pixel with
# L-BFGS, the measured peak 5.7 KB at 512 px and 8.8 KB at 256 px (where the
# fixed costs weigh more); the budget fraction covers the rest.
BACKWARD_FACTOR = 1.0
LBFGS_HISTORY = 100
FLOAT_BYTES = 4


def saved_bytes_per_pixel(backbone, layers: list[str], device: torch.device) -> float:
    """Bytes autograd keeps for the backward pass of ``backbone`` to ``layers``, per input pixel."""
    seen: dict[tuple[int, int], int] = {}

    def pack(tensor: torch.Tensor):
        if tensor.device.type != "meta":
            key = (tensor.untyped_storage().data_ptr(), tensor.untyped_storage().nbytes())
            seen[key] = tensor.untyped_storage().nbytes()
        return tensor

    side = max(PROBE_SIDE, *(backbone.min_input_size(layer) for layer in layers))
    probe = torch.zeros(1, 3, side, side, device=device, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        features = backbone(probe, layers)
    del features
    return sum(seen.values()) / side**2


def bytes_per_pixel(backbone, layers: list[str], optimizer: str, device: torch.device) -> float:
    """Estimated peak bytes per output pixel of one gatys scale."""
    optimizer_floats = (2 * LBFGS_HISTORY + 4) * 3 if optimizer == "lbfgs" else 4 * 3
    image_floats = 8 * 3  # canvas, its gradient, the clamped copy, the photo, the start, ...
    return BACKWARD_FACTOR * saved_bytes_per_pixel(backbone, layers, device) + FLOAT_BYTES * (
        optimizer_floats + image_floats
    )


def largest_fitting_side(height: int, width: int, per_pixel: float, budget: float) -> int:
    """The longest side of the largest image with ``height:width`` proportions whose pixels fit ``budget`` bytes."""
    longest, shortest = max(height, width), min(height, width)
    max_pixels = budget / per_pixel
    return int(math.sqrt(max_pixels * longest / shortest))


def memory_budget(device: torch.device) -> float:
    return BUDGET_FRACTION * available_memory(device)


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is an allocation failure (CUDA, or the CPU allocator's)."""
    if isinstance(error, (torch.cuda.OutOfMemoryError, MemoryError)):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and (
        "can't allocate memory" in text or "not enough memory" in text or "out of memory" in text.lower()
    )


def gigabytes(count: float) -> str:
    return f"{count / 1e9:.1f} GB"
