"""Reading image files into float sRGB tensors (8- and 16-bit, any colour mode, EXIF orientation)."""

from __future__ import annotations

import io
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

import numpy as np
import PIL.Image
import torch
from PIL import ExifTags, UnidentifiedImageError
from torch import Tensor

from styletool.errors import ImageError, describe
from styletool.io.images.resize import longest_side_shape, resize_longest

try:
    from PIL import ImageCms
except ImportError:  # Pillow built without littleCMS: colour profiles are ignored.
    ImageCms = None  # type: ignore[assignment]


# Pillow's own default decompression-bomb limit (about 0.25 GB as RGBA).
DEFAULT_MAX_PIXELS = 89_478_485

READ_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF")

# The shorter side a painting needs to carry a style: below it there are no brush strokes or texture
# to learn from (a 1x1 "painting" is one colour), and the backbones' deepest layers need 16 px anyway.
MIN_PAINTING_SIDE = 16


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
        new_height, new_width = longest_side_shape(values.shape[0], values.shape[1], size)
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


def load_painting(path: str | os.PathLike) -> Image:
    """Read a painting whose style is to be used; one too small to carry a style is an error naming it."""
    image = load_image(path)
    check_painting_size(*image.size, where=path)
    return image


def check_painting_size(width: int, height: int, *, where: str | os.PathLike | None) -> None:
    """Refuse a painting whose shorter side is below :data:`MIN_PAINTING_SIDE` pixels."""
    if min(width, height) < MIN_PAINTING_SIDE:
        raise ImageError(
            f"painting of {width}x{height} pixels is too small to carry a style; "
            f"its shorter side needs at least {MIN_PAINTING_SIDE} pixels",
            where=where,
        )


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
        rawmode = _low_byte_rawmode(cast(str, stored_rawmodes.pop()))  # one of _RGB16_RAWMODES
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


def _with_rawmode(args: object, rawmode: str) -> tuple[object, ...] | str:
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
        gray: np.ndarray = np.clip(np.asarray(im, dtype=np.float32), 0, 1)
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
            return cast(PIL.Image.Image, ImageCms.profileToProfile(colour, source_profile, srgb, outputMode="RGB"))
        except Exception:
            # A profile that does not fit the image (say, a CMYK profile on an
            # RGB image) is treated like a missing one.
            pass
    if colour.mode == "LAB" and ImageCms is not None:
        # Pillow has no built-in LAB -> RGB conversion; littleCMS does it.
        lab = ImageCms.createProfile("LAB")
        srgb = ImageCms.createProfile("sRGB")
        return cast(PIL.Image.Image, ImageCms.profileToProfile(colour, lab, srgb, outputMode="RGB"))
    return colour.convert("RGB")
