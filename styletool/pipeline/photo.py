"""Stylizing from Python: any installed method on one photo, as `styletool stylize` does it.

    import styletool

    picture = styletool.stylize("photo.jpg", method="cin", options={"style_name": "starry_night"})
    styletool.save_image(picture, "out.png")

The steps are the command's: the method's options checked as on the command
line, the photo read and sized (``size``, else the method's default size;
smaller photos are not enlarged), the paintings read, the method's per-run
work (``prepare``), then the photo stylized with the runtime reseeded, so the
same seed gives the same picture as the command.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from styletool.errors import StyletoolError, UsageError
from styletool.events import ProgressCallback, ignore_progress

if TYPE_CHECKING:
    from torch import Tensor

    from styletool.framework.runtime import Runtime
    from styletool.io.images import Image

PathLike = str | os.PathLike


def stylize(
    photo: Tensor | PathLike,
    *,
    method: str = "gatys",
    style: Sequence[Tensor | PathLike] = (),
    model: PathLike | Sequence[PathLike] | None = None,
    options: Mapping[str, Any] | None = None,
    size: int | None = None,
    runtime: Runtime | None = None,
    progress: ProgressCallback = ignore_progress,
) -> Tensor:
    """``photo`` stylized by ``method``: ``[3, H, W]`` RGB in [0, 1], on the CPU.

    A method asked for several pictures of the photo (cin ``all_styles``,
    metastyle ``interpolate_steps``) gives the labelled sheet the command
    writes.

    ``photo`` and each ``style`` painting are files or ``[3, H, W]`` tensors in
    [0, 1]; ``model`` is a model file or a shipped model's name (several, for
    methods that blend models); ``options`` are the method's options by their
    Python names (``{"iterations": 300}``), checked as the command line checks
    them. ``runtime`` chooses device, precision and seed (default: the best
    device, unseeded). ``progress`` receives the method's progress events.
    Errors are :class:`styletool.StyletoolError` with one-line messages.
    """
    from styletool.framework.methods import StylizeRequest
    from styletool.framework.runtime import Runtime
    from styletool.io.shipped import resolve_model
    from styletool.pipeline.results import blamed_on, checked_pictures

    runtime = runtime or Runtime()
    spec = runtime.registry.method(method)
    if "stylize" not in spec.capabilities:
        raise UsageError(f"method '{method}' cannot stylize")
    method_options = checked_options(spec, options)
    stylizer = runtime.method(method)
    if stylizer.needs_style and not style:
        raise UsageError(f"method '{method}' needs at least one style painting")
    models = [] if model is None else [model] if isinstance(model, (str, os.PathLike)) else list(model)
    models = [resolve_model(Path(m)) for m in models]
    paintings = [_pixels(painting, runtime) for painting in style]
    names = [Path(p).stem if isinstance(p, (str, os.PathLike)) else f"style{i}" for i, p in enumerate(style)]
    content = _photo(photo, size=size, default_size=stylizer.default_size)
    request = StylizeRequest(
        options=method_options,
        styles=paintings,
        style_names=names,
        model=models[0] if models else None,
        models=models,
        inputs=[Path(photo)] if isinstance(photo, (str, os.PathLike)) else [],
    )
    with blamed_on(method, spec.plugin, stage="preparing"):
        prepared = stylizer.prepare(request, progress=progress)
    runtime.reseed()  # as the command does before each photo: the seed alone decides the picture
    content = runtime.to_device(content[None])
    where = request.inputs[0] if request.inputs else None
    try:
        with blamed_on(method, spec.plugin):
            result = stylizer.stylize(content, request, prepared, progress=progress)
            variants = stylizer.variants(request, prepared)
        count = 1 if variants is None else len(variants.labels)
        result = checked_pictures(result, content, count=count, method=method, plugin=spec.plugin)
    except StyletoolError as error:
        error.where = error.where or (None if where is None else str(where))
        raise
    if variants is not None:  # several pictures of the photo: the sheet the command writes
        from styletool.pipeline.job import variant_sheet

        result = variant_sheet(content, result, variants)
    return result[0].float().clamp(0, 1).cpu()


def checked_options(spec, options: Mapping[str, Any] | Any | None) -> Any:
    """A method's options: its options dataclass as given, or made from a mapping of Python names and checked."""
    from styletool.framework.options import make_options
    from styletool.framework.specs import resolve

    if spec.options is None:
        if options:
            raise UsageError(f"method '{spec.name}' has no options")
        return None
    if options is None or isinstance(options, Mapping):
        return make_options(resolve(spec.options), dict(options or {}))
    return options


def load_photo(path: PathLike, *, size: int | None, default_size: int | None) -> Image:
    """A photo at ``size``, or shrunk to a method's default size (never enlarged), as `stylize` reads inputs."""
    from styletool.io.images import load_image, resize_longest

    image = load_image(path, size=size)
    if size is None and default_size is not None and max(image.size) > default_size:
        image.pixels = resize_longest(image.pixels, default_size)
        if image.alpha is not None:
            image.alpha = resize_longest(image.alpha, default_size)
    return image


def _photo(photo: Tensor | PathLike, *, size: int | None, default_size: int | None) -> Tensor:
    if isinstance(photo, (str, os.PathLike)):
        return load_photo(photo, size=size, default_size=default_size).pixels
    from styletool.io.images import resize_longest

    pixels = _checked(photo, "photo")
    target = size if size is not None else default_size if max(pixels.shape[-2:]) > (default_size or 0) else None
    return pixels if target is None else resize_longest(pixels, target)


def _pixels(painting: Tensor | PathLike, runtime: Runtime) -> Tensor:
    from styletool.io.images import check_painting_size, load_painting

    if isinstance(painting, (str, os.PathLike)):
        return runtime.to_device(load_painting(painting).pixels[None])
    pixels = _checked(painting, "style")
    check_painting_size(pixels.shape[-1], pixels.shape[-2], where="style")
    return runtime.to_device(pixels[None])


def _checked(pixels: Tensor, what: str) -> Tensor:
    if pixels.dim() != 3 or pixels.shape[0] != 3:
        raise UsageError(f"{what} must be a [3, H, W] RGB tensor in [0, 1], got shape {tuple(pixels.shape)}")
    return pixels.float()
