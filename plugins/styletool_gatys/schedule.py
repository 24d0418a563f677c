"""The coarse-to-fine schedule: image sizes and iterations per scale (no torch)."""

from __future__ import annotations

import math

from styletool import UsageError

# Below this, VGG's deep layers see a few pixels and the coarse result only
# adds noise to the next scale.
MIN_COARSE_SIDE = 64


def scale_sizes(final: int, *, scales: int, min_size: int | None = None) -> list[int]:
    """Longest sides from coarse to fine, ending at ``final``.

    Without ``min_size`` each scale is sqrt(2) larger than the last; with it
    the ratio is whatever spreads ``scales`` sizes from ``min_size`` to
    ``final``. Coarse scales under 64 px are dropped (never the final one).
    """
    if scales <= 1 or final <= MIN_COARSE_SIDE:
        return [final]
    if min_size is None:
        ratio = math.sqrt(2)
        start = final / ratio ** (scales - 1)
    else:
        start = min(min_size, final)
        ratio = (final / start) ** (1 / (scales - 1))
    sizes = [round(start * ratio**k) for k in range(scales - 1)] + [final]
    kept: list[int] = []
    for size in sizes:
        if size >= MIN_COARSE_SIDE and size not in kept:
            kept.append(size)
    if not kept or kept[-1] != final:
        kept.append(final)
    return kept


def scale_iterations(count: int, *, iterations: int, per_scale: list[int] | None, scales: int) -> list[int]:
    """Iterations for each of ``count`` scales actually run, coarse to fine.

    By default the first scale runs ``iterations`` and each finer one half as
    many as the one before, so most of the work happens where pixels are few.
    """
    if per_scale is not None:
        if len(per_scale) != scales:
            raise UsageError(
                f"option --scale-iterations: {len(per_scale)} values given for --scales {scales}; give one per scale"
            )
        # Scales dropped for being too small are the coarsest ones.
        return list(per_scale[scales - count :])
    return [max(1, round(iterations / 2**k)) for k in range(count)]
