"""What a method hands back, checked before anything is written, and a method's own failures told as its plugin's.

A method is a plugin, built in or third-party, and the run trusts none of
them with the user's files: a picture that is not ``[N, 3, H, W]`` floating
point, holds NaN or infinity, or lies far outside [0, 1] (a 0-255 picture,
a tanh network's [-1, 1]) is an error naming the photo and the method, never
a black, white or squashed file. An exception raised inside a method is
reported against the photo it was working on, as that plugin's failure, and
the batch goes on to the next photo.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from styletool.errors import StyletoolError, describe

if TYPE_CHECKING:
    from torch import Tensor

# Pictures are RGB in [0, 1]. Networks overshoot a little before the clamp at saving, which is
# harmless; a picture reaching beyond this margin is on another scale altogether.
RANGE_MARGIN = 0.5


class MethodError(StyletoolError):
    """A method failed, or returned something that is not a picture; ``where`` is the photo it was working on."""


def method_label(method: str, plugin: str | None) -> str:
    """How an error names a method: ``method 'foo' (plugin 'bar')``, the plugin left out when it is the same name."""
    if plugin is None or plugin == method:
        return f"method '{method}'"
    return f"method '{method}' (plugin '{plugin}')"


@contextmanager
def blamed_on(method: str, plugin: str | None, *, stage: str = "") -> Iterator[None]:
    """Turn an exception from inside a method's code into a one-line :class:`MethodError` naming its plugin.

    A :class:`StyletoolError` the method raised on purpose passes as it is.
    The original exception stays the error's cause, so ``--debug`` shows
    its traceback.
    """
    try:
        yield
    except StyletoolError:
        raise
    except Exception as error:
        while_doing = f" while {stage}" if stage else ""
        raise MethodError(
            f"{method_label(method, plugin)} failed{while_doing}: {describe(error, with_type=True)}"
        ) from error


def checked_pictures(
    result: object, content: Tensor, *, count: int, method: str, plugin: str | None, same_size: bool = False
) -> Tensor:
    """``result`` if it is ``count`` finite RGB pictures of ``content`` in about [0, 1]; else a MethodError.

    A photo's picture may come back smaller with the same proportions (gatys
    ``--auto-fit`` shrinks what does not fit in memory); with ``same_size``
    (video frames) it must be the frames' own size.
    """
    import torch

    who = method_label(method, plugin)
    height, width = content.shape[-2:]
    if not isinstance(result, torch.Tensor):
        raise MethodError(f"{who} returned {type(result).__name__}, not a picture tensor; nothing written")
    if not result.is_floating_point():
        raise MethodError(
            f"{who} returned {str(result.dtype).removeprefix('torch.')} pixels; a method returns floating-point "
            "RGB in [0, 1]; nothing written"
        )
    expected = [count, 3, height, width]
    shape = list(result.shape)
    if len(shape) != 4 or shape[:2] != expected[:2] or not _fits(shape[2:], (height, width), exactly=same_size):
        size = "the same size" if same_size else "the same proportions"
        raise MethodError(
            f"{who} returned a picture of shape {shape} for a {width}x{height} photo; "
            f"a method returns {expected} here ({size}); nothing written"
        )
    finite = torch.isfinite(result)
    if not bool(finite.all()):
        share = 1 - float(finite.float().mean())
        raise MethodError(
            f"{who} returned a picture with NaN or infinite values ({share:.0%} of them; its loss may have "
            "diverged: try lower weights or learning rate); nothing written"
        )
    low, high = float(result.min()), float(result.max())
    if low < -RANGE_MARGIN or high > 1 + RANGE_MARGIN:
        raise MethodError(f"{who} returned values from {low:.3g} to {high:.3g}, not RGB in [0, 1]; nothing written")
    return result


def _fits(size: list[int], photo: tuple[int, int], *, exactly: bool) -> bool:
    """Whether a picture of ``size`` (height, width) is the photo's, or (not ``exactly``) a scaled copy of it."""
    height, width = size
    if exactly or (height, width) == tuple(photo):
        return (height, width) == tuple(photo)
    if not 0 < height <= photo[0] or not 0 < width <= photo[1]:
        return False
    # Rounding each side to whole pixels moves the proportions by at most a pixel either way.
    return abs(width * photo[0] / photo[1] - height) <= 1 or abs(height * photo[1] / photo[0] - width) <= 1
