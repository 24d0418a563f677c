"""The coarse-to-fine schedule: image sizes and iterations per scale (no torch)."""

from __future__ import annotations

import math

from styletool import UsageError

# Below this, VGG's deep layers see a few pixels and the coarse result only
# adds noise to the next scale.
MIN_COARSE_SIDE = 64
# The default coarsest scale: at 128 px relu5_1 sees the picture in 8x8
# cells, so the first scale lays down painting-sized strokes and shapes.
DEFAULT_MIN_SIDE = 128
# Each finer scale runs this share of the previous one's iterations: pixels
# double from scale to scale, the strokes and shapes are laid down at the
# coarse scales, and each finer one starts warm (docs/gatys.md measures it).
ITERATION_DECAY = 0.6
# ... except the final scale, which runs at least this share of --iterations:
# only there does the painting's finest texture fit, and the decay alone
# leaves it 19 of 150 iterations at 512 px, too few to lay it down
# (tubingen x starry_night, style distance at 512 px: 0.22 with 19, 0.14
# with 60; docs/gatys.md).
FINAL_SCALE_SHARE = 0.4


def scale_sizes(final: int, *, scales: int | None, min_size: int | None = None) -> list[int]:
    """Longest sides from coarse to fine, ending at ``final``.

    Without ``scales``, sqrt(2) steps down from ``final`` as long as they stay
    at or above ``min_size`` (default 128 px): 128, 181, 256, 362, 512 for
    512 px. With ``scales`` and without ``min_size`` each scale is sqrt(2)
    larger than the last; with both the ratio is whatever spreads ``scales``
    sizes from ``min_size`` to ``final``. Coarse scales under 64 px are
    dropped (never the final one).
    """
    if scales is None:
        smallest = max(MIN_COARSE_SIDE, min_size or DEFAULT_MIN_SIDE)
        sizes = [final]
        while (coarser := round(final / math.sqrt(2) ** len(sizes))) >= smallest:
            sizes.append(coarser)
        return sizes[::-1]
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


def scale_iterations(count: int, *, iterations: int, per_scale: list[int] | None, scales: int | None) -> list[int]:
    """Iterations for each of ``count`` scales actually run, coarse to fine.

    By default the first scale runs ``iterations`` and each finer one 0.6 times
    as many as the one before, so most of the steps happen where pixels are
    few; the final scale runs at least 0.4 times ``iterations`` (150, 90, 54,
    32, 60 at 512 px).
    """
    if per_scale is not None:
        if scales is None:
            raise UsageError("option --scale-iterations: give --scales too (one value per scale)")
        if len(per_scale) != scales:
            raise UsageError(
                f"option --scale-iterations: {len(per_scale)} values given for --scales {scales}; give one per scale"
            )
        # Scales dropped for being too small are the coarsest ones.
        return list(per_scale[scales - count :])
    counts = [max(1, round(iterations * ITERATION_DECAY**k)) for k in range(count)]
    counts[-1] = max(counts[-1], round(iterations * FINAL_SCALE_SHARE))
    return counts
