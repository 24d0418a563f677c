"""The front door of stylizing: a method prepared once, then called per picture.

    import styletool

    stylizer = styletool.Stylizer.load("cin", options={"style_name": "starry_night"})
    for path in ["a.jpg", "b.jpg"]:
        styletool.save_image(stylizer(path), f"{path}.png")

:meth:`Stylizer.load` settles everything about a run once, in one place:
the method (one that can stylize), its options (checked as the command line
checks them), its models (the method's shipped default when none is given),
the paintings (read and on the device), the method's per-run work
(``prepare``) and whether each photo gives several pictures (variants,
laid out on one labelled sheet). Calling the stylizer then reads and sizes
a photo as the command does, reseeds the runtime (the seed alone decides the
picture), runs the method, blames a failure on its plugin and checks what
comes back before anyone writes it. :func:`stylize` (``styletool.stylize``),
the batch job behind `styletool stylize` (photos in same-size batches, and
videos through :meth:`Stylizer.video`) and `styletool grid` all go through it.

Importing this module does not import torch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from styletool.errors import StyletoolError, UsageError
from styletool.events import ProgressCallback, ignore_progress
from styletool.pipeline.results import blamed_on, checked_pictures

if TYPE_CHECKING:
    from torch import Tensor

    from styletool.framework.methods import Method, StylizeRequest, Variants
    from styletool.framework.runtime import Runtime
    from styletool.framework.specs import MethodSpec
    from styletool.io.images import Image

PathLike = str | os.PathLike


class Stylizer:
    """One method, prepared for a run: call it on a photo, or on a batch of photos, as many times as needed.

    Made by :meth:`load`. ``request`` is what the method was prepared with;
    ``variants`` is set when each photo gives several pictures (they come
    back as one labelled sheet); ``can_batch`` says whether :meth:`stylize`
    takes several same-size photos at once.
    """

    def __init__(
        self, spec: MethodSpec, method: Method, request: StylizeRequest, prepared: Any, variants: Variants | None
    ):
        self.spec, self.method, self.request, self.prepared, self.variants = spec, method, request, prepared, variants
        self.runtime = method.runtime
        with self._blamed():
            self.can_batch = variants is None and method.can_batch(request, prepared)

    @classmethod
    def load(
        cls,
        method: str = "gatys",
        *,
        styles: Sequence[Tensor | PathLike] = (),
        models: Sequence[PathLike] = (),
        options: Mapping[str, Any] | Any = None,
        runtime: Runtime | None = None,
        photos: Sequence[PathLike] = (),
        preview_every: int = 0,
        progress: ProgressCallback = ignore_progress,
    ) -> Stylizer:
        """Resolve and prepare ``method`` for a run.

        ``styles`` are paintings: files or ``[3, H, W]`` tensors in [0, 1].
        ``models`` are model files or shipped models' names (none: the
        method's shipped default model, if it has one). ``options`` are the
        method's options object, or a mapping of their Python names
        (``{"iterations": 300}``) checked as the command line checks them.
        ``runtime`` chooses device, precision and seed (default: the best
        device, unseeded). ``photos`` are the run's photo files, for methods
        that learn from them while preparing (metastyle adapting to a
        painting). ``progress`` hears the preparation; ``preview_every`` asks
        methods that work in steps for a picture every that many steps.
        """
        from styletool.framework.methods import StylizeRequest
        from styletool.framework.runtime import Runtime
        from styletool.io.shipped import model_for

        runtime = runtime or Runtime()
        spec = runtime.registry.method_that_can(method, "stylize")
        checked = spec.make_options(options)
        files = model_for(method, [Path(model) for model in models], runtime.registry)
        instance = runtime.method(method)
        if instance.needs_style and not styles:
            raise UsageError(f"method '{method}' needs at least one style painting: --style PAINTING")
        request = StylizeRequest(
            options=checked,
            styles=[_painting(painting, runtime) for painting in styles],
            style_names=[_name(painting, index) for index, painting in enumerate(styles)],
            model=files[0] if files else None,
            models=files,
            inputs=[Path(photo) for photo in photos],
            preview_every=preview_every,
        )
        with blamed_on(method, spec.plugin, stage="preparing"):
            prepared = instance.prepare(request, progress=progress)
        with blamed_on(method, spec.plugin):
            variants = instance.variants(request, prepared)
        return cls(spec, instance, request, prepared, variants)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def options(self) -> Any:
        return self.request.options

    def __call__(self, photo: Tensor | PathLike, *, size: int | None = None, progress=ignore_progress) -> Tensor:
        """``photo`` stylized: ``[3, H, W]`` RGB in [0, 1] on the CPU (with variants, their labelled sheet).

        ``photo`` is a file or a ``[3, H, W]`` tensor in [0, 1]. ``size`` is
        the longest side of the result; by default the method's default
        size, and smaller photos are not enlarged.
        """
        where = os.fspath(photo) if isinstance(photo, (str, os.PathLike)) else None
        try:
            if isinstance(photo, (str, os.PathLike)):
                pixels = self.read_photo(photo, size=size).pixels
            else:
                pixels = self._sized(_checked(photo, "photo"), size)
            result = self.stylize(pixels[None], progress=progress)
        except StyletoolError as error:
            error.where = error.where or where
            raise
        return result[0].float().clamp(0, 1).cpu()

    def read_photo(self, path: PathLike, *, size: int | None = None) -> Image:
        """A photo as this method stylizes it: at ``size``, else shrunk to the method's default size (never enlarged)."""
        return load_photo(path, size=size, default_size=self.method.default_size)

    def stylize(self, photos: Tensor, *, progress: ProgressCallback = ignore_progress) -> Tensor:
        """Same-size photos ``[N, 3, H, W]`` (N up to ``batch_size``) to their checked pictures, on the device.

        The runtime is reseeded first, so each picture depends only on its
        photo and the seed. With variants (N is 1) the result is their
        labelled sheet, ``[1, 3, H', W']``.
        """
        self.runtime.reseed()
        content = self.runtime.to_device(photos)
        with self._blamed():
            result = self.method.stylize(content, self.request, self.prepared, progress=progress)
        count = content.shape[0] if self.variants is None else len(self.variants.labels)
        result = checked_pictures(result, content, count=count, method=self.name, plugin=self.spec.plugin)
        if self.variants is not None:
            result = variant_sheet(content, result, self.variants)
        return result

    def video(self) -> Callable[[Tensor], Tensor]:
        """A function for one video's frames: batches ``[N, 3, H, W]``, in order, to pictures of the same size.

        The method's per-video state (``start_video``) is fresh for each
        call; a method making several pictures per photo cannot make a video.
        """
        if self.variants is not None:
            raise UsageError(
                f"with these options method '{self.name}' makes several pictures of each photo, on one sheet: "
                "it cannot stylize video"
            )
        with self._blamed("starting a video"):
            state = self.method.start_video(self.request, self.prepared)

        def frames(batch: Tensor) -> Tensor:
            # The video's own bar shows progress; a method's events for one batch would only flicker it.
            with self._blamed():
                pictures = self.method.stylize(batch, self.request, state, progress=ignore_progress)
            count = batch.shape[0]
            return checked_pictures(
                pictures, batch, count=count, method=self.name, plugin=self.spec.plugin, same_size=True
            )

        return frames

    def _sized(self, pixels: Tensor, size: int | None) -> Tensor:
        from styletool.io.images import resize_longest

        default = self.method.default_size
        target = size if size is not None else default if default and max(pixels.shape[-2:]) > default else None
        return pixels if target is None else resize_longest(pixels, target)

    def _blamed(self, stage: str = ""):
        """Exceptions from inside the method's code, reported as its plugin's (one line, not a traceback)."""
        return blamed_on(self.name, self.spec.plugin, stage=stage)


def stylize(
    photo: Tensor | PathLike,
    *,
    method: str = "gatys",
    style: Sequence[Tensor | PathLike] = (),
    model: PathLike | Sequence[PathLike] | None = None,
    options: Mapping[str, Any] | Any = None,
    size: int | None = None,
    runtime: Runtime | None = None,
    progress: ProgressCallback = ignore_progress,
) -> Tensor:
    """``photo`` stylized by ``method``: ``[3, H, W]`` RGB in [0, 1], on the CPU, as `styletool stylize` paints it.

    One call prepares the method and stylizes one photo; for many photos,
    prepare once with :meth:`Stylizer.load` and call the stylizer. ``model``
    is one model file or shipped model's name, or several (methods that
    blend models); the other arguments are :meth:`Stylizer.load`'s and
    :meth:`Stylizer.__call__`'s. A method asked for several pictures of the
    photo (cin ``all_styles``, metastyle ``interpolate_steps``) gives the
    labelled sheet the command writes. Errors are
    :class:`styletool.StyletoolError` with one-line messages.
    """
    models = [] if model is None else [model] if isinstance(model, (str, os.PathLike)) else list(model)
    photos = [photo] if isinstance(photo, (str, os.PathLike)) else []
    stylizer = Stylizer.load(
        method, styles=style, models=models, options=options, runtime=runtime, photos=photos, progress=progress
    )
    return stylizer(photo, size=size, progress=progress)


def load_photo(path: PathLike, *, size: int | None, default_size: int | None) -> Image:
    """A photo at ``size``, or shrunk to a method's default size (never enlarged), as `stylize` reads inputs."""
    from styletool.io.images import load_image, resize_longest

    image = load_image(path, size=size)
    if size is None and default_size is not None and max(image.size) > default_size:
        image.pixels = resize_longest(image.pixels, default_size)
        if image.alpha is not None:
            image.alpha = resize_longest(image.alpha, default_size)
    return image


def variant_sheet(photo: Tensor, pictures: Tensor, variants: Variants) -> Tensor:
    """One photo's variants (``[V, 3, H, W]``) on a labelled sheet, the photo first if asked."""
    from styletool.grid import labelled_sheet

    images = [picture[None].float() for picture in pictures]
    labels = list(variants.labels)
    if len(images) != len(labels):
        raise StyletoolError(f"the method made {len(images)} pictures for {len(labels)} labelled variants")
    if variants.with_photo:
        images, labels = [photo[:1].float(), *images], ["photo", *labels]
    return labelled_sheet(images, labels, columns=variants.columns).to(photo.device)


def _painting(painting: Tensor | PathLike, runtime: Runtime) -> Tensor:
    from styletool.io.images import check_painting_size, load_painting

    if isinstance(painting, (str, os.PathLike)):
        return runtime.to_device(load_painting(painting).pixels[None])
    pixels = _checked(painting, "style")
    check_painting_size(pixels.shape[-1], pixels.shape[-2], where="style")
    return runtime.to_device(pixels[None])


def _name(painting: Tensor | PathLike, index: int) -> str:
    return Path(painting).stem if isinstance(painting, (str, os.PathLike)) else f"style{index}"


def _checked(pixels: Tensor, what: str) -> Tensor:
    if pixels.dim() != 3 or pixels.shape[0] != 3:
        raise UsageError(f"{what} must be a [3, H, W] RGB tensor in [0, 1], got shape {tuple(pixels.shape)}")
    return pixels.float()
