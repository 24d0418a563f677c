"""Reading and writing image files as float sRGB tensors, with one-line errors.

Every image is ``[3, H, W]`` float32 sRGB in ``[0, 1]``; transparency travels
separately as ``[1, H, W]``. Any problem with a file the user named becomes an
:class:`~styletool.errors.ImageError`, never a raw Pillow or OS exception.

What Pillow cannot do, and how this module copes:

* Pillow has no 16-bit RGB image mode. It opens 16-bit RGB(A) PNG and TIFF
  files as 8-bit ``RGB``/``RGBA`` by keeping the high byte of each sample. We
  decode such files twice, the second time with the opposite byte order, which
  yields the low bytes, and put the two together (see ``_decode``).
* 16-bit grayscale with alpha PNG files are still read at 8-bit precision:
  Pillow has no unpacker that would give us their low bytes.
* A 16-bit source with a colour profile other than sRGB is colour-converted at
  8-bit precision (littleCMS in Pillow works on 8-bit RGB only) and reports
  ``bits=8``. Profiles describing themselves as sRGB are taken as sRGB as is.
* Without a 16-bit RGB mode Pillow cannot write such files either:
  ``bits=16`` output uses the small PNG and TIFF writers at the end of this
  module, built on ``zlib`` and ``struct``.

Every file written carries the sRGB colour profile (the pixels are sRGB; an
untagged file is only assumed to be), and JPEGs keep full colour resolution
(4:4:4): stylized pictures are all fine colour detail, which 4:2:0 smears.
"""

from __future__ import annotations

import functools
import io
import os
import struct
import sys
import warnings
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F
from PIL import ExifTags, UnidentifiedImageError
from torch import Tensor

from styletool.errors import ImageError, describe
from styletool.io.atomic import write_atomically

try:
    from PIL import ImageCms
except ImportError:  # Pillow built without littleCMS: colour profiles are ignored.
    ImageCms = None

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "READ_FORMATS",
    "WRITE_FORMATS",
    "Image",
    "check_output_path",
    "load_image",
    "output_format",
    "resize_longest",
    "save_image",
]

# Pillow's own default decompression-bomb limit (about 0.25 GB as RGBA).
DEFAULT_MAX_PIXELS = 89_478_485

READ_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF")

# File suffix (lowercase, no dot) -> Pillow format name.
WRITE_FORMATS = {
    "png": "PNG",
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "webp": "WEBP",
    "tif": "TIFF",
    "tiff": "TIFF",
}

_SIXTEEN_BIT_FORMATS = ("PNG", "TIFF")

# Raw modes in which Pillow unpacks 16-bit RGB(A) samples down to their high
# byte. Decoding again with the opposite byte order ("B" <-> "L") makes the
# same unpacker pick the low byte instead. "N" is the machine's own order.
_RGB16_RAWMODES = {f"{layout};16{order}" for layout in ("RGB", "RGBA", "RGBX") for order in "BLN"}
_OTHER_BYTE_ORDER = {"B": "L", "L": "B", "N": "B" if sys.byteorder == "little" else "L"}

_SIXTEEN_BIT_GRAY_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


@dataclass
class Image:
    """A decoded image: sRGB pixels, optional alpha, and the source precision."""

    pixels: Tensor  # float32 [3, H, W], sRGB, in [0, 1]
    alpha: Tensor | None  # float32 [1, H, W] in [0, 1]; None when the source has no transparency
    bits: int  # 8 or 16: precision of the source
    path: Path | None = None

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return self.pixels.shape[-1], self.pixels.shape[-2]


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


def load_image(path: str | os.PathLike, *, size: int | None = None, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    """Read an image file into float sRGB pixels (and alpha, when it has any).

    The first frame of animated files is used; EXIF orientation is applied;
    colour profiles, palettes, grayscale and CMYK are converted to sRGB; 16-bit
    sources keep their precision. With ``size`` the longest side is resized to
    ``size`` pixels. Images with more than ``max_pixels`` pixels are refused
    before they are decoded.
    """
    path = Path(path)
    if path.is_dir():
        raise ImageError("is a directory, not an image file", where=path)
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        raise ImageError("no such file", where=path) from None
    except PermissionError:
        raise ImageError("permission denied", where=path) from None
    except OSError as error:
        raise ImageError(f"cannot open: {describe(error)}", where=path) from None

    with file:
        if os.fstat(file.fileno()).st_size == 0:
            raise ImageError("empty file", where=path)
        values, alpha, bits = _decode(file, path, max_pixels)

    if size is not None:
        # Refuse before resizing: an absurd size would otherwise try to allocate gigabytes and fail obscurely.
        new_height, new_width = longest_side_shape(*values.shape[:2], size)
        if new_height * new_width > max_pixels:
            raise ImageError(
                f"size {size} would make a {new_width}x{new_height} image, more than the "
                f"{max_pixels:,} pixels styletool handles",
                where=path,
            )
    pixels = torch.from_numpy(values).permute(2, 0, 1).contiguous()
    alpha_tensor = None if alpha is None else torch.from_numpy(alpha).permute(2, 0, 1).contiguous()
    if size is not None:
        pixels = resize_longest(pixels, size)
        if alpha_tensor is not None:
            alpha_tensor = resize_longest(alpha_tensor, size)
    return Image(pixels=pixels, alpha=alpha_tensor, bits=bits, path=path)


def _decode(file: IO[bytes], path: Path, max_pixels: int) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Decode the first frame into float32 ``[H, W, 3]`` colour, ``[H, W, 1]`` alpha, and bits."""
    im, stored_rawmodes = _open_and_load(file, path, max_pixels)
    orientation = _exif_orientation(im)
    source_profile = _source_profile(im)
    if (
        im.mode in ("RGB", "RGBA")
        and len(stored_rawmodes) == 1
        and stored_rawmodes <= _RGB16_RAWMODES
        and source_profile is None
    ):
        rawmode = _low_byte_rawmode(stored_rawmodes.pop())
        low, _ = _open_and_load(file, path, max_pixels, rawmode=rawmode)
        values, alpha, bits = _rgb16_arrays(im, low)
    elif im.mode in _SIXTEEN_BIT_GRAY_MODES or im.mode == "F":
        values, alpha, bits = _gray16_arrays(im)
    else:
        values, alpha, bits = _eight_bit_arrays(im, source_profile, path)

    values = _orient(values, orientation)
    alpha = None if alpha is None else _orient(alpha, orientation)
    return values, alpha, bits


def _open_and_load(
    file: IO[bytes], path: Path, max_pixels: int, *, rawmode: str | None = None
) -> tuple[PIL.Image.Image, set[str | None]]:
    """Open and fully decode the first frame, turning every failure into an ImageError.

    Also returns the raw modes the pixel data is stored in, which tell 16-bit
    RGB apart from 8-bit (both open as mode ``RGB``). With ``rawmode`` the
    data is unpacked in that raw mode instead of the file's own (used to fetch
    the low bytes of 16-bit samples).
    """
    file.seek(0)
    # We check the caller's max_pixels ourselves right after reading the header,
    # so Pillow's warning at its own (global) limit is redundant. Its hard error
    # at twice that limit still applies and is reported as too large.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
        # Plugins warn about damaged metadata ("Corrupt EXIF data") and go on;
        # the user gets either the image or one ImageError line, not warnings.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
        try:
            im = PIL.Image.open(file, formats=READ_FORMATS)
        except UnidentifiedImageError:
            supported = ", ".join(READ_FORMATS)
            raise ImageError(f"not an image Pillow can read (supported: {supported})", where=path) from None
        except PIL.Image.DecompressionBombError as error:
            raise ImageError(f"image too large: {error}", where=path) from None
        except Exception as error:  # Pillow raises many types for malformed headers.
            raise ImageError(f"corrupt image header: {error}", where=path) from None

        width, height = im.size
        if width * height > max_pixels:
            raise ImageError(
                f"image too large: {width} x {height} pixels exceeds the limit of {max_pixels};"
                " refusing to decode it (possible decompression bomb)",
                where=path,
            )

        # Pillow clears im.tile while loading, so look at it now.
        stored_rawmodes = {_rawmode(tile.args) for tile in im.tile}
        if rawmode is not None:
            im.tile = [tile._replace(args=_with_rawmode(tile.args, rawmode)) for tile in im.tile]
        try:
            # Full decode here, inside the try, so truncated data is detected now.
            im.load()
        except MemoryError:
            raise ImageError(f"not enough memory to decode {width} x {height} pixels", where=path) from None
        except PIL.Image.DecompressionBombError as error:
            raise ImageError(f"image too large: {error}", where=path) from None
        except Exception as error:  # Decoders raise OSError, SyntaxError, ValueError, ...
            raise ImageError(f"corrupt or truncated image data: {error}", where=path) from None
    return im, stored_rawmodes


def _rawmode(args: object) -> str | None:
    # PNG tiles carry the raw mode as a string, TIFF ones as the first item of a tuple.
    if isinstance(args, str):
        return args
    if isinstance(args, tuple) and args and isinstance(args[0], str):
        return args[0]
    return None


def _with_rawmode(args: object, rawmode: str) -> object:
    if isinstance(args, tuple):
        return (rawmode, *args[1:])
    return rawmode


def _low_byte_rawmode(rawmode: str) -> str:
    return rawmode[:-1] + _OTHER_BYTE_ORDER[rawmode[-1]]


def _exif_orientation(im: PIL.Image.Image) -> int:
    # Orientation is metadata: a broken EXIF block must not make good pixels unreadable.
    try:
        return int(im.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:
        return 1


def _orient(values: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an ``[H, W, C]`` array, as ImageOps.exif_transpose does.

    Done on arrays rather than Pillow images so 8- and 16-bit sources share it.
    """
    if orientation == 2:  # mirrored left-right
        values = values[:, ::-1]
    elif orientation == 3:  # upside down
        values = values[::-1, ::-1]
    elif orientation == 4:  # mirrored top-bottom
        values = values[::-1]
    elif orientation == 5:  # mirrored across the main diagonal
        values = values.transpose(1, 0, 2)
    elif orientation == 6:  # needs a quarter turn clockwise
        values = np.rot90(values, -1)
    elif orientation == 7:  # mirrored across the other diagonal
        values = values[::-1, ::-1].transpose(1, 0, 2)
    elif orientation == 8:  # needs a quarter turn counter-clockwise
        values = np.rot90(values, 1)
    else:  # 1 (upright) or an invalid value
        return values
    return np.ascontiguousarray(values)


def _rgb16_arrays(high: PIL.Image.Image, low: PIL.Image.Image) -> tuple[np.ndarray, np.ndarray | None, int]:
    samples = np.asarray(high).astype(np.uint16) * 256 + np.asarray(low)
    values = samples.astype(np.float32) / 65535
    alpha = values[..., 3:] if high.mode == "RGBA" else _key_alpha(samples, high.info.get("transparency"))
    return values[..., :3], alpha, 16


def _gray16_arrays(im: PIL.Image.Image) -> tuple[np.ndarray, np.ndarray | None, int]:
    # bits=16 here means "more than 8", also for 32-bit integer and float sources.
    if im.mode == "F":
        # Floating-point TIFFs: the usual convention is 0..1 already.
        gray = np.clip(np.asarray(im, dtype=np.float32), 0, 1)
        alpha = None
    else:
        samples = np.clip(np.asarray(im).astype(np.int64), 0, 65535)
        gray = samples.astype(np.float32) / 65535
        alpha = _key_alpha(samples[..., None], im.info.get("transparency"))
    return np.repeat(gray[..., None], 3, axis=2), alpha, 16


def _key_alpha(samples: np.ndarray, key: object) -> np.ndarray | None:
    """Alpha for a colour-key ("tRNS") transparency: 0 where the pixel equals the key."""
    if key is None or isinstance(key, bytes):
        return None
    key_values = np.atleast_1d(np.asarray(key))
    channels = samples.shape[-1]
    if key_values.size != channels:
        return None
    transparent = np.all(samples == key_values.reshape(channels), axis=-1, keepdims=True)
    return np.where(transparent, 0.0, 1.0).astype(np.float32)


def _eight_bit_arrays(
    im: PIL.Image.Image, source_profile: ImageCms.ImageCmsProfile | None, path: Path
) -> tuple[np.ndarray, np.ndarray | None, int]:
    try:
        colour, alpha = _split_alpha(im)
        rgb = _to_srgb(colour, source_profile)
    except ValueError as error:  # Pillow: "conversion from X to Y not supported"
        raise ImageError(f"unsupported colour mode {im.mode}: {error}", where=path) from None
    values = np.asarray(rgb, dtype=np.float32) / 255
    alpha_values = None if alpha is None else np.asarray(alpha, dtype=np.float32)[..., None] / 255
    return values, alpha_values, 8


def _split_alpha(im: PIL.Image.Image) -> tuple[PIL.Image.Image, PIL.Image.Image | None]:
    """Separate transparency (alpha channel, palette or colour key) from colour."""
    if im.mode not in _ALPHA_MODES and "transparency" not in im.info:
        if im.mode in ("P", "1"):
            im = im.convert("RGB" if im.mode == "P" else "L")
        return im, None
    if im.mode in ("L", "LA", "La", "1"):
        with_alpha = im.convert("LA")
        colour_mode = "L"
    else:
        with_alpha = im.convert("RGBA")
        colour_mode = "RGB"
    alpha = with_alpha.getchannel("A")
    return with_alpha.convert(colour_mode), alpha


def _source_profile(im: PIL.Image.Image) -> ImageCms.ImageCmsProfile | None:
    """The embedded colour profile when it needs converting; None if absent, sRGB or unusable."""
    data = im.info.get("icc_profile")
    if not data or ImageCms is None:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(data))
        description = ImageCms.getProfileDescription(profile)
    except Exception:  # A broken profile: convert without it rather than fail.
        return None
    if "srgb" in description.lower():
        return None
    return profile


def _to_srgb(colour: PIL.Image.Image, source_profile: ImageCms.ImageCmsProfile | None) -> PIL.Image.Image:
    """Convert an image in mode L, RGB, CMYK, YCbCr, LAB, ... to sRGB ``RGB``."""
    if source_profile is not None:
        try:
            srgb = ImageCms.createProfile("sRGB")
            return ImageCms.profileToProfile(colour, source_profile, srgb, outputMode="RGB")
        except Exception:
            # A profile that does not fit the image (say, a CMYK profile on an
            # RGB image) is treated like a missing one.
            pass
    if colour.mode == "LAB" and ImageCms is not None:
        # Pillow has no built-in LAB -> RGB conversion; littleCMS does it.
        lab = ImageCms.createProfile("LAB")
        srgb = ImageCms.createProfile("sRGB")
        return ImageCms.profileToProfile(colour, lab, srgb, outputMode="RGB")
    return colour.convert("RGB")


# ---------------------------------------------------------------------------
# Resizing
# ---------------------------------------------------------------------------


def longest_side_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """``(height, width)`` scaled so the longest side is ``size``, the aspect kept, each side at least 1."""
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_longest(pixels: Tensor, size: int) -> Tensor:
    """Resize ``[C, H, W]`` or ``[N, C, H, W]`` so the longest side is ``size``.

    The aspect ratio is kept (each side at least 1 pixel); downscaling is
    antialiased bicubic and the result is clamped to ``[0, 1]``.
    """
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    if pixels.dim() not in (3, 4):
        raise ValueError(f"expected [C, H, W] or [N, C, H, W], got shape {tuple(pixels.shape)}")
    height, width = pixels.shape[-2:]
    new_size = longest_side_shape(height, width, size)
    if new_size == (height, width):
        return pixels
    batch = pixels if pixels.dim() == 4 else pixels.unsqueeze(0)
    resized = F.interpolate(batch, size=new_size, mode="bicubic", antialias=True, align_corners=False)
    # Bicubic overshoots at sharp edges.
    resized = resized.clamp(0, 1)
    return resized if pixels.dim() == 4 else resized[0]


# ---------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------


def output_format(path: str | os.PathLike, format: str | None = None) -> str:
    """The Pillow format name for ``path``: from ``format`` if given, else the suffix."""
    supported = ", ".join(f".{suffix}" for suffix in WRITE_FORMATS)
    if format is not None:
        name = WRITE_FORMATS.get(format.lower().lstrip("."))
        if name is None:
            raise ImageError(f"unknown image format {format!r}; supported: {supported}", where=path)
        return name
    suffix = Path(path).suffix.lower()
    if not suffix:
        raise ImageError(f"no file extension to choose the image format from; use one of {supported}", where=path)
    name = WRITE_FORMATS.get(suffix.lstrip("."))
    if name is None:
        raise ImageError(f"unsupported image extension {suffix}; use one of {supported}", where=path)
    return name


def check_output_path(
    path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = (), format: str | None = None
) -> None:
    """Fail early, before long work, if ``path`` cannot be written as an image.

    ``format`` is the explicit output format, if any, as for :func:`save_image`.
    """
    path = Path(path)
    output_format(path, format)
    check_destination(path, inputs=inputs, error=ImageError)


def check_destination(path: Path, *, inputs: Iterable[str | os.PathLike], error: type[Exception]) -> None:
    """Raise ``error`` (naming ``path``) if a file cannot be written at ``path`` without clobbering one of ``inputs``.

    Shared by images and videos; each checks its own format first.
    """
    if path.is_dir():
        raise error("is a directory", where=path)
    if not path.parent.is_dir():
        raise error(f"folder {path.parent} does not exist", where=path)
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise error(f"folder {path.parent} is not writable", where=path)
    target = path.resolve()
    for source in inputs:
        source = Path(source)
        same = source.resolve() == target
        if not same and path.exists() and source.exists():
            # Hard links and case-insensitive file systems.
            same = os.path.samefile(source, path)
        if same:
            raise error("output would overwrite the input", where=path)


def _check_folder_exists(path: Path) -> None:
    if not path.parent.is_dir():
        raise ImageError(f"folder {path.parent} does not exist", where=path)


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
    """Encode uint16 ``[H, W, 3|4]`` samples as an uncompressed little-endian TIFF, with ``profile`` embedded."""
    height, width, channels = samples.shape
    pixel_data = samples.astype("<u2").tobytes()
    if len(pixel_data) > 0xFFFF_0000:
        raise ValueError("image too large for a classic TIFF file (4 GB)")
    profile = profile or b""
    profile_padding = b"\0" * (len(profile) % 2)  # TIFF wants the next block at an even offset

    short, long, undefined = 3, 4, 7  # TIFF field types
    entry_count = 10 + (channels == 4) + bool(profile)
    ifd_offset = 8
    # After the IFD come the BitsPerSample array, the profile, then the pixels.
    bits_offset = ifd_offset + 2 + 12 * entry_count + 4
    profile_offset = bits_offset + 2 * channels
    data_offset = profile_offset + len(profile) + len(profile_padding)
    entries = [
        (256, long, 1, width),  # ImageWidth
        (257, long, 1, height),  # ImageLength
        (258, short, channels, bits_offset),  # BitsPerSample: 16 per channel, stored below
        (259, short, 1, 1),  # Compression: none
        (262, short, 1, 2),  # PhotometricInterpretation: RGB
        (273, long, 1, data_offset),  # StripOffsets
        (277, short, 1, channels),  # SamplesPerPixel
        (278, long, 1, height),  # RowsPerStrip: one strip
        (279, long, 1, len(pixel_data)),  # StripByteCounts
        (284, short, 1, 1),  # PlanarConfiguration: interleaved
    ]
    if channels == 4:
        entries.append((338, short, 1, 2))  # ExtraSamples: unassociated alpha
    if profile:
        entries.append((34675, undefined, len(profile), profile_offset))  # InterColorProfile (ICC)
    assert len(entries) == entry_count
    # In little-endian files a value that fits in 4 bytes is stored left-aligned
    # in the offset field, which "<I" does for SHORT values too.
    ifd = struct.pack("<H", len(entries))
    ifd += b"".join(struct.pack("<HHII", *entry) for entry in entries)
    ifd += struct.pack("<I", 0)  # no next IFD
    bits_per_sample = struct.pack(f"<{channels}H", *([16] * channels))
    header = b"II" + struct.pack("<HI", 42, ifd_offset)
    return header + ifd + bits_per_sample + profile + profile_padding + pixel_data
