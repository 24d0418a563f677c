"""The training photos: every image under a folder as seeded random crops, and the batches of each step."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from fnmatch import fnmatch
from itertools import islice
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image as PILImage
from torch import Tensor

from styletool.framework.distributed import Distributed
from styletool.training.settings import TrainingError

# Crops are taken from the photo resized so its shorter side is image_size
# times a random factor in this range: some zoom variety.
ZOOM_RANGE = (1.0, 1.3)
# Up to this many photos, a run loading in the main process keeps them decoded (a few hundred MB at most).
KEEP_DECODED_UP_TO = 256


class PhotoFolder(torch.utils.data.Dataset):
    """Every image under a folder, recursively, as random-resized square crops.

    Each photo is resized so its shorter side is ``image_size`` times a random
    zoom, then a ``crop_size`` square (default ``image_size``) is cut from it.
    Files whose path relative to the folder matches a pattern of ``exclude``
    (fnmatch) are left out: a held-out set.

    Items are addressed by ``(index, draw)``: ``draw`` numbers the sample
    within the whole run and seeds its crop, so crops do not depend on which
    worker loads them. A file that fails to decode yields ``None`` (the batch
    is collated without it) and is reported, never fatal.
    """

    def __init__(
        self,
        root: str | os.PathLike | None,
        *,
        image_size: int,
        crop_size: int | None = None,
        seed: int = 0,
        files: Sequence[str | os.PathLike] | None = None,
        keep_decoded: bool = False,
        exclude: Sequence[str] = (),
    ):
        self.image_size = image_size
        self.crop_size = crop_size or image_size
        self.seed = seed
        # A few photos drawn many times (adaptation): decode each once, keep the pixels.
        self.keep_decoded = keep_decoded
        self._decoded: dict[int, Tensor] = {}
        self.files: list[Path] = []
        self.unreadable: list[Path] = []
        if files is not None:  # photos named one by one (adapting on the user's own photos)
            self.root: Path | None = None
            candidates = [Path(f) for f in files]
            for path in candidates:
                if not path.is_file():
                    raise TrainingError("no such file" if not path.exists() else "not a file", where=path)
        elif root is None:
            raise TrainingError("no photos: give a folder or the files")
        else:
            self.root = Path(root)
            if not self.root.is_dir():
                raise TrainingError("no such folder" if not self.root.exists() else "not a folder", where=self.root)
            candidates = [
                path
                for path in sorted(self.root.rglob("*"))
                if path.is_file()
                and not any(part.startswith(".") for part in path.relative_to(self.root).parts)
                and not any(fnmatch(path.relative_to(self.root).as_posix(), pattern) for pattern in exclude)
            ]
        for path in candidates:
            try:
                with PILImage.open(path) as image:
                    image.size  # noqa: B018 - parsing the header is the check
                self.files.append(path)
            except Exception:
                self.unreadable.append(path)
        if not self.files:
            where = self.root if self.root is not None else (candidates[0] if candidates else None)
            raise TrainingError(
                f"no readable images {'in the folder' if self.root else 'among the photos'} "
                f"({len(self.unreadable)} unreadable files)",
                where=where,
            )

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, key: tuple[int, int]) -> tuple[int, Tensor | None]:
        index, draw = key
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + draw)
        pixels = self._decoded.get(index)
        if pixels is None:
            pixels = self._decode(self.files[index])
            if pixels is None:
                return index, None
            if self.keep_decoded:
                self._decoded[index] = pixels
        return index, random_resized_crop(pixels.float() / 255, self.image_size, generator, crop=self.crop_size)

    def step_batch(self, step: int, batch_size: int, *, seed: int) -> Tensor | None:
        """This process's photos for training step ``step``, drawn as the engine draws its own batches.

        For a task that needs a second stream of photos (metastyle's query
        photos): a pure function of ``seed`` and ``step``, so resumed and
        multi-process runs see what an uninterrupted single run would. None
        when no photo of the batch could be read.
        """
        dist = Distributed.from_environment()
        batches = StepBatches(
            len(self), batch_size=batch_size, steps=step + 1, seed=seed, rank=dist.rank, world=dist.world
        )
        photos, _ = collate([self[key] for key in batches.batch(step)])
        return photos

    def _decode(self, path: Path) -> Tensor | None:
        try:
            with PILImage.open(path) as image:
                image.draft("RGB", (self.image_size * 2, self.image_size * 2))  # fast JPEG decode at reduced size
                photo = image.convert("RGB")
                pixels = torch.frombuffer(bytearray(photo.tobytes()), dtype=torch.uint8)
                return pixels.view(photo.height, photo.width, 3).permute(2, 0, 1)
        except Exception:
            return None


def random_resized_crop(pixels: Tensor, size: int, generator: torch.Generator, *, crop: int | None = None) -> Tensor:
    """Resize ``[3, H, W]`` so the shorter side is ``size`` x a random zoom, then crop ``crop`` x ``crop`` (default ``size``)."""
    crop = crop or size
    zoom = ZOOM_RANGE[0] + (ZOOM_RANGE[1] - ZOOM_RANGE[0]) * float(torch.rand((), generator=generator))
    short = min(pixels.shape[-2:])
    factor = size * zoom / short
    height = max(size, round(pixels.shape[-2] * factor))
    width = max(size, round(pixels.shape[-1] * factor))
    resized = F.interpolate(pixels[None], size=(height, width), mode="bilinear", antialias=True, align_corners=False)[0]
    top = int(torch.randint(0, height - crop + 1, (), generator=generator))
    left = int(torch.randint(0, width - crop + 1, (), generator=generator))
    return resized[:, top : top + crop, left : left + crop].clamp(0, 1)


class StepBatches(torch.utils.data.Sampler):
    """Batches of ``(index, draw)`` keys for steps ``start .. steps-1``, as a pure function of the seed.

    Samples are drawn epoch by epoch through a seeded permutation of the
    files. With several processes, step ``s`` takes ``batch_size * world``
    consecutive draws and rank ``r`` keeps the ``r``-th slice, so ranks never
    see the same image in one step.
    """

    def __init__(
        self, count: int, *, batch_size: int, steps: int, start: int = 0, seed: int = 0, rank: int = 0, world: int = 1
    ):
        self.count, self.batch_size, self.steps, self.start = count, batch_size, steps, start
        self.seed, self.rank, self.world = seed, rank, world
        self._perms: dict[int, Tensor] = {}

    def _index(self, draw: int) -> int:
        epoch, position = divmod(draw, self.count)
        perm = self._perms.get(epoch)
        if perm is None:
            perm = torch.randperm(self.count, generator=torch.Generator().manual_seed(self.seed + 7919 * epoch))
            self._perms = {epoch: perm}  # keep one epoch: draws only move forward
        return int(perm[position])

    def batch(self, step: int) -> list[tuple[int, int]]:
        first = (step * self.world + self.rank) * self.batch_size
        return [(self._index(draw), draw) for draw in range(first, first + self.batch_size)]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start, self.steps):
            yield self.batch(step)

    def __len__(self) -> int:
        return max(0, self.steps - self.start)


def loader_workers(content_dir: str | os.PathLike | None) -> int:
    """Loader processes for training on ``content_dir``: none for a few photos (decoded once, kept), else 2."""
    if content_dir is None:
        return 0
    count = sum(1 for path in islice(Path(content_dir).rglob("*"), 4 * KEEP_DECODED_UP_TO) if path.is_file())
    return 0 if count <= KEEP_DECODED_UP_TO else 2


def collate(items: list[tuple[int, Tensor | None]]) -> tuple[Tensor | None, list[int]]:
    """Stack the photos that loaded; return them and the indices that failed."""
    good = [photo for _, photo in items if photo is not None]
    failed = [index for index, photo in items if photo is None]
    return (torch.stack(good) if good else None), failed
