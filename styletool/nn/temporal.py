"""Temporal smoothing for video: instance-normalization statistics averaged across neighbouring frames.

A feed-forward network normalizes every frame with that frame's own feature
statistics. Consecutive frames of a video differ a little (noise, something
moving in or out of view), so their statistics differ a little, and the
network, which amplifies them, paints each frame slightly differently: the
output flickers even where the picture stands still. Blending each frame's
statistics with those of the frames before it (an exponential moving
average, strength S: the weight kept from the past) makes consecutive frames
share nearly the same normalization; S = 0 is plain per-frame stylization.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from torch import nn

from styletool.errors import UsageError
from styletool.nn.inference import _FastLayer


def smoothable_layers(prepared: Any) -> list[_FastLayer]:
    """The normalizing layers of every fast network inside a method's prepared state (lists, dataclasses, modules)."""
    found: dict[int, _FastLayer] = {}

    def walk(thing: Any) -> None:
        if isinstance(thing, nn.Module):
            for module in thing.modules():
                if isinstance(module, _FastLayer):
                    found.setdefault(id(module), module)
        elif isinstance(thing, (list, tuple)):
            for item in thing:
                walk(item)
        elif dataclasses.is_dataclass(thing) and not isinstance(thing, type):
            for field in dataclasses.fields(thing):
                walk(getattr(thing, field.name))

    walk(prepared)
    return list(found.values())


@contextlib.contextmanager
def temporal_smoothing(
    prepared: Any, strength: float, *, method: str = "this method"
) -> Iterator[Callable[[], None] | None]:
    """Within the block, the networks in ``prepared`` smooth their statistics over the frames they see, in order.

    The carried statistics start empty (a new video) and are dropped afterwards.
    The block gets a function that forgets them (at a cut to a new shot, whose
    colours should not be blended with the last shot's), or None when
    ``strength`` is 0.
    """
    if not 0 <= strength < 1:
        raise UsageError(f"--temporal-smoothing must be at least 0 and below 1, not {strength}")
    layers = smoothable_layers(prepared) if strength > 0 else []
    if strength > 0 and not layers:
        raise UsageError(f"method '{method}' has no instance-normalized network to smooth; drop --temporal-smoothing")

    def forget() -> None:
        for layer in layers:
            layer.carried = None

    for layer in layers:
        layer.smoothing, layer.carried = strength, None
    try:
        yield forget if layers else None
    finally:
        for layer in layers:
            layer.smoothing, layer.carried = 0.0, None
