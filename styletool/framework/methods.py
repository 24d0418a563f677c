"""The base class every stylization method plugin implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from styletool.events import ProgressCallback, ignore_progress
from styletool.framework.runtime import Runtime


@dataclass
class StylizeRequest:
    """Everything a method needs to stylize, fixed for a whole run.

    ``styles`` are full-size RGB images in [0, 1] as ``[1, 3, H, W]`` tensors
    on the runtime's device, loaded once per run; ``style_names`` are their
    file stems, in the same order.
    """

    options: Any
    styles: list[torch.Tensor] = field(default_factory=list)
    style_names: list[str] = field(default_factory=list)
    model: Path | None = None
    # Every --model given, in order (``model`` is the first); for methods that combine models.
    models: list[Path] = field(default_factory=list)
    # The photos of the whole run, for methods that learn from them before stylizing (metastyle).
    inputs: list[Path] = field(default_factory=list)
    # --preview: methods that work in steps attach the current picture to every Nth progress event
    # (as ``Progress.preview``); 0 means nobody is watching.
    preview_every: int = 0


@dataclass
class Variants:
    """Several pictures of each photo (one per style, one per blend), which a run saves side by side on one sheet.

    ``labels`` name the pictures, in order (written beneath each); ``columns``
    is the sheet's width in pictures (None: near-square); ``with_photo`` puts
    the photo itself first, labelled "photo".
    """

    labels: list[str]
    columns: int | None = None
    with_photo: bool = False


@dataclass
class TrainRequest:
    """Everything a method needs to train a model, from `styletool train`.

    ``options`` are the method's training options; ``settings`` the
    engine's (:class:`styletool.training.TrainSettings`). ``styles`` and
    ``style_names`` are the paintings, as in :class:`StylizeRequest`.
    ``model`` is an existing model to extend (CIN: ``--add-style``).
    """

    options: Any
    settings: Any
    content_dir: Path | None  # None when ``content_files`` names the photos
    output: Path
    styles: list[torch.Tensor] = field(default_factory=list)
    style_names: list[str] = field(default_factory=list)
    model: Path | None = None
    resume: Path | None = None
    checkpoint_dir: Path | None = None
    tensorboard: Path | None = None
    # Photos named one by one instead of --content-dir (adaptation on the user's own photos).
    content_files: list[Path] | None = None


@dataclass
class AdaptRequest:
    """Everything a method needs to adapt a model to a new painting, from `styletool adapt`.

    ``style`` is the painting (``[1, 3, H, W]`` on the runtime's device).
    Training photos come from ``content_dir`` or, when it is None, from
    ``content_files``.
    """

    options: Any
    model: Path
    style: torch.Tensor
    style_name: str
    output: Path
    content_dir: Path | None = None
    content_files: list[Path] = field(default_factory=list)


class Method:
    """A stylization method. Subclasses set ``Options`` and implement what they can do.

    A method instance is bound to one :class:`Runtime` and never chooses a
    device itself. ``prepare`` runs once per run (style statistics, model
    loading); ``stylize`` runs once per input image, or per batch of photos
    (``can_batch``), or per batch of a video's frames (``start_video``).
    What the run asks of a method, and nothing else, is declared here.
    """

    name: ClassVar[str] = ""
    Options: ClassVar[type | None] = None
    # Longest side of the output when the user gives no --size (None: keep the input's).
    default_size: ClassVar[int | None] = None
    # Whether stylize needs --style images (feed-forward models carry their style).
    needs_style: ClassVar[bool] = True

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def prepare(self, request: StylizeRequest, *, progress: ProgressCallback = ignore_progress) -> Any:
        """Do the per-run work shared by every input; the result goes to :meth:`stylize`.

        Per-run work that takes long (metastyle adapts a model) reports through
        ``progress``; the CLI shows a bar once the first event arrives.
        """
        return None

    def can_batch(self, request: StylizeRequest, prepared: Any) -> bool:
        """Whether :meth:`stylize` takes several same-size photos ``[N, 3, H, W]`` at once and returns ``N`` results."""
        return False

    def variants(self, request: StylizeRequest, prepared: Any) -> Variants | None:
        """The several pictures each photo gives (one per style, one per blend), or None for one picture.

        With variants, :meth:`stylize` gets one photo ``[1, 3, H, W]`` and
        returns ``[len(labels), 3, H, W]``, one picture per label; the run lays
        them out on one sheet per photo, never batches photos, and refuses
        videos (a sheet per frame is not a video).
        """
        return None

    def start_video(self, request: StylizeRequest, prepared: Any) -> Any:
        """Per-video state: called before each video's first frame.

        What it returns is passed to :meth:`stylize` as ``prepared`` for that
        video's frames, which arrive in order, in batches of up to the run's
        batch size; a method that carries something from frame to frame keeps
        it there, fresh for every video. The default carries nothing.
        """
        return prepared

    def stylize(
        self,
        content: torch.Tensor,
        request: StylizeRequest,
        prepared: Any,
        *,
        progress: ProgressCallback = ignore_progress,
    ) -> torch.Tensor:
        """Stylize ``content`` (``[N, 3, H, W]``, RGB in [0, 1]; N is 1 unless :meth:`can_batch`); return the same shape.

        Methods that work in steps report them through ``progress``; a
        :class:`styletool.Progress` event that carries a picture (``image``)
        is saved beside the output while the photo is worked on, and one that
        carries ``preview`` is shown on the --preview page.
        """
        raise NotImplementedError(f"method '{self.name}' cannot stylize")

    def train(self, request: TrainRequest, *, progress: ProgressCallback = ignore_progress) -> Any:
        """Train a model file from ``request``; return a :class:`styletool.training.TrainResult`."""
        raise NotImplementedError(f"method '{self.name}' cannot train")

    def adapt(self, request: AdaptRequest, *, progress: ProgressCallback = ignore_progress) -> Any:
        """Adapt ``request.model`` to ``request.style``; write and return a :class:`styletool.training.TrainResult`."""
        raise NotImplementedError(f"method '{self.name}' cannot adapt")
