"""Writing images atomically, tagged sRGB; 16-bit TIFF through tifffile, 16-bit PNG by a small writer of our own.

Pillow has no 16-bit RGB mode, so it cannot write either 16-bit format.
tifffile writes TIFF with the colour profile embedded. For PNG no
well-kept library does the job: pypng is pure Python (seconds per large
picture) and cannot embed a colour profile, and OpenCV is a large dependency
that cannot either; a 16-bit PNG is a header, the profile and zlib-compressed
rows, which the few lines of :func:`_png16_bytes` write.
"""

from __future__ import annotations

import functools
import io
import os
import struct
import zlib
from pathlib import Path
from typing import IO

import numpy as np
import PIL.Image
import torch
from torch import Tensor

from styletool.errors import ImageError, describe
from styletool.io.atomic import write_atomically
from styletool.io.images.paths import _check_folder_exists, output_format

try:
    from PIL import ImageCms
except ImportError:  # Pillow built without littleCMS: colour profiles are ignored.
    ImageCms = None  # type: ignore[assignment]


_SIXTEEN_BIT_FORMATS = ("PNG", "TIFF")


def save_image(
    pixels: Tensor,
    path: str | os.PathLike,
    *,
    alpha: Tensor | None = None,
    format: str | None = None,
    bits: int = 8,
    quality: int = 95,
) -> Path:
    """Write sRGB ``pixels`` (``[3, H, W]`` or ``[1, 3, H, W]``, in ``[0, 1]``) to ``path``.

    The format comes from ``format`` or the suffix. ``alpha`` (``[1, H, W]``) is
    stored for PNG, WebP and TIFF; JPEG cannot hold it, so it is dropped there.
    ``bits=16`` is supported for PNG and TIFF. ``quality`` applies to JPEG and
    WebP. The file is replaced atomically: a failed write leaves ``path`` as it
    was. Returns the path written.
    """
    path = Path(path)
    image_format = output_format(path, format)
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    if bits == 16 and image_format not in _SIXTEEN_BIT_FORMATS:
        raise ImageError(f"16-bit output is supported for PNG and TIFF only, not {image_format}", where=path)
    _check_folder_exists(path)

    channels = _as_hwc(pixels, 3, "pixels")
    if alpha is not None and image_format != "JPEG":
        alpha_channel = _as_hwc(alpha, 1, "alpha")
        if alpha_channel.shape[:2] != channels.shape[:2]:
            raise ValueError(f"alpha is {alpha_channel.shape[:2]} but pixels are {channels.shape[:2]}")
        channels = np.concatenate([channels, alpha_channel], axis=2)

    profile = srgb_profile()
    if bits == 16:
        samples = np.round(channels * 65535).astype(np.uint16)
        writer = _png16_bytes if image_format == "PNG" else _tiff16_bytes
        data = writer(samples, profile)

        def write(file: IO[bytes]) -> None:
            file.write(data)

    else:
        samples = np.round(channels * 255).astype(np.uint8)
        im = PIL.Image.fromarray(samples, mode="RGBA" if samples.shape[2] == 4 else "RGB")
        options: dict = {} if profile is None else {"icc_profile": profile}
        if image_format in ("JPEG", "WEBP"):
            options["quality"] = quality
        if image_format == "JPEG":
            options["subsampling"] = 0  # 4:4:4

        def write(file: IO[bytes]) -> None:
            im.save(file, format=image_format, **options)

    try:
        write_atomically(path, write)
    except Exception as error:
        raise ImageError(f"cannot write image: {describe(error)}", where=path) from error
    return path


@functools.cache
def srgb_profile() -> bytes | None:
    """The ICC profile embedded in every image written: sRGB (None if Pillow was built without littleCMS)."""
    if ImageCms is None:
        return None
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _as_hwc(values: Tensor, channels: int, name: str) -> np.ndarray:
    """``[C, H, W]`` or ``[1, C, H, W]`` tensor -> float32 ``[H, W, C]`` array clamped to [0, 1]."""
    if values.dim() == 4 and values.shape[0] == 1:
        values = values[0]
    if values.dim() != 3 or values.shape[0] != channels:
        raise ValueError(f"{name} must be [{channels}, H, W] or [1, {channels}, H, W], got {tuple(values.shape)}")
    # NaN (say, from a diverged optimisation) would cast to arbitrary bytes; write it as 0.
    values = values.detach().to("cpu", torch.float32).nan_to_num(0.0).clamp(0, 1)
    return values.permute(1, 2, 0).numpy()


def _png16_bytes(samples: np.ndarray, profile: bytes | None) -> bytes:
    """Encode uint16 ``[H, W, 3|4]`` samples as a 16-bit RGB(A) PNG, with ``profile`` as its iCCP chunk."""
    height, width, channels = samples.shape
    colour_type = 6 if channels == 4 else 2  # RGBA / RGB
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    # PNG stores samples big-endian; each row starts with its filter type (0: none).
    rows = samples.astype(">u2").reshape(height, width * channels).view(np.uint8)
    filtered = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            # iCCP: profile name, NUL, compression method 0 (zlib), compressed profile.
            _png_chunk(b"iCCP", b"sRGB\0\0" + zlib.compress(profile)) if profile else b"",
            _png_chunk(b"IDAT", zlib.compress(filtered.tobytes(), 6)),
            _png_chunk(b"IEND", b""),
        ]
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _tiff16_bytes(samples: np.ndarray, profile: bytes | None) -> bytes:
    """Encode uint16 ``[H, W, 3|4]`` samples as a 16-bit RGB(A) TIFF (alpha unassociated), with ``profile`` embedded."""
    import tifffile

    buffer = io.BytesIO()
    alpha = ["unassalpha"] if samples.shape[2] == 4 else None
    tifffile.imwrite(buffer, samples, photometric="rgb", extrasamples=alpha, iccprofile=profile)
    return buffer.getvalue()
