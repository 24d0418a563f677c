"""Tests for styletool.io.images: reading, writing, resizing and output-path checks."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ImageCms, ImageOps, JpegImagePlugin

from styletool.errors import ImageError
from styletool.io.images import (
    DEFAULT_MAX_PIXELS,
    WRITE_FORMATS,
    Image,
    check_output_path,
    load_image,
    output_format,
    resize_longest,
    save_image,
)

SHARED_IMAGES = Path(__file__).resolve().parents[1].parent / "shared" / "images"

RNG = np.random.default_rng(1234)


# ---------------------------------------------------------------------------
# Helpers that build test files
# ---------------------------------------------------------------------------


def gradient(width: int = 24, height: int = 16) -> np.ndarray:
    """A smooth uint8 [H, W, 3] image that survives lossy compression well."""
    y, x = np.mgrid[0:height, 0:width]
    red = x * 255 // max(width - 1, 1)
    green = y * 255 // max(height - 1, 1)
    blue = np.full_like(x, 128)
    return np.stack([red, green, blue], axis=2).astype(np.uint8)


def as_hwc(tensor: torch.Tensor) -> np.ndarray:
    return tensor.permute(1, 2, 0).numpy()


def assert_valid(image: Image) -> None:
    assert image.pixels.dtype == torch.float32
    assert image.pixels.dim() == 3 and image.pixels.shape[0] == 3
    assert 0.0 <= image.pixels.min().item() and image.pixels.max().item() <= 1.0
    if image.alpha is not None:
        assert image.alpha.dtype == torch.float32
        assert image.alpha.shape == (1, *image.pixels.shape[1:])


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def paeth(left: int, up: int, up_left: int) -> int:
    estimate = left + up - up_left
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
    return (left, up, up_left)[distances.index(min(distances))]


def filter_row(kind: int, row: bytes, previous: bytes, bpp: int) -> bytes:
    """PNG row filter `kind` (0 none, 1 sub, 2 up, 3 average, 4 paeth)."""
    out = bytearray()
    for i, value in enumerate(row):
        left = row[i - bpp] if i >= bpp else 0
        up = previous[i]
        up_left = previous[i - bpp] if i >= bpp else 0
        predictor = [0, left, up, (left + up) // 2, paeth(left, up, up_left)][kind]
        out.append((value - predictor) % 256)
    return bytes(out)


# Adam7 interlacing: (first column, first row, column step, row step) per pass.
ADAM7_PASSES = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png16(samples: np.ndarray, *, filters: tuple[int, ...] = (0,), interlace: bool = False) -> bytes:
    """A 16-bit RGB or RGBA PNG, made by hand (Pillow cannot write one).

    Rows cycle through `filters` so Pillow's unfiltering is exercised too.
    """
    height, width, channels = samples.shape
    colour_type = {3: 2, 4: 6}[channels]
    bpp = 2 * channels
    passes = ADAM7_PASSES if interlace else [(0, 0, 1, 1)]
    data = bytearray()
    for x0, y0, dx, dy in passes:
        sub_image = samples[y0::dy, x0::dx]
        if sub_image.size == 0:
            continue  # empty passes are left out
        raw = sub_image.astype(">u2").reshape(sub_image.shape[0], -1).view(np.uint8)
        previous = bytes(raw.shape[1])
        for y in range(raw.shape[0]):
            kind = filters[y % len(filters)]
            row = raw[y].tobytes()
            data += bytes([kind]) + filter_row(kind, row, previous, bpp)
            previous = row
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, int(interlace))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(bytes(data)))
        + png_chunk(b"IEND", b"")
    )


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size; the pixel data is a few junk bytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + png_chunk(b"IEND", b"")
    )


def tiff16(samples: np.ndarray, *, big_endian: bool, deflate: bool) -> bytes:
    """A 16-bit RGB(A) TIFF in either byte order, raw or Deflate-compressed.

    Written independently of styletool's writer so the reader is checked
    against files it did not produce. Deflate files go through libtiff in
    Pillow, raw ones through Pillow's own decoder.
    """
    order = ">" if big_endian else "<"
    height, width, channels = samples.shape
    pixel_data = samples.astype(f"{order}u2").tobytes()
    if deflate:
        pixel_data = zlib.compress(pixel_data)
    entry_count = 11 if channels == 4 else 10
    bits_offset = 8 + 2 + 12 * entry_count + 4
    data_offset = bits_offset + 2 * channels

    def entry(tag: int, kind: int, value: int) -> bytes:
        count = channels if tag == 258 else 1
        if kind == 3 and count == 1:  # SHORT value, left-aligned in the 4-byte field
            return struct.pack(f"{order}HHIHH", tag, kind, count, value, 0)
        return struct.pack(f"{order}HHII", tag, kind, count, value)

    entries = [
        entry(256, 4, width),
        entry(257, 4, height),
        entry(258, 3, bits_offset),
        entry(259, 3, 8 if deflate else 1),
        entry(262, 3, 2),
        entry(273, 4, data_offset),
        entry(277, 3, channels),
        entry(278, 4, height),
        entry(279, 4, len(pixel_data)),
        entry(284, 3, 1),
    ]
    if channels == 4:
        entries.append(entry(338, 3, 2))
    magic = b"MM" if big_endian else b"II"
    return (
        magic
        + struct.pack(f"{order}HI", 42, 8)
        + struct.pack(f"{order}H", len(entries))
        + b"".join(entries)
        + struct.pack(f"{order}I", 0)
        + struct.pack(f"{order}{channels}H", *([16] * channels))
        + pixel_data
    )


def swapped_primaries_profile() -> bytes:
    """The sRGB profile with its red and blue primaries swapped, renamed "test".

    Pure red in this space is blue in sRGB, which makes the conversion visible.
    """
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack(">I", data[128:132])
    tags = {}
    for i in range(count):
        start = 132 + 12 * i
        signature, offset, _ = struct.unpack(">4sII", data[start : start + 12])
        tags[signature] = (start, offset)
    (red_entry, red_offset), (blue_entry, blue_offset) = tags[b"rXYZ"], tags[b"bXYZ"]
    struct.pack_into(">I", data, red_entry + 4, blue_offset)
    struct.pack_into(">I", data, blue_entry + 4, red_offset)
    name = "sRGB".encode("utf-16-be")
    position = data.index(name)
    data[position : position + len(name)] = "test".encode("utf-16-be")
    return bytes(data)


# ---------------------------------------------------------------------------
# Loading: formats and colour
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["png", "jpg", "webp", "bmp", "tif", "gif"])
def test_each_read_format_round_trips(tmp_path, suffix):
    source = PIL.Image.fromarray(gradient())
    if suffix == "gif":
        source = source.quantize(64)  # GIF holds 256 colours at most
    path = tmp_path / f"image.{suffix}"
    source.save(path)
    # Lossy codecs change pixels; what we load must equal what Pillow decodes.
    with PIL.Image.open(path) as im:
        expected = np.asarray(im.convert("RGB"))
    assert np.abs(expected.astype(int) - gradient()).mean() < 8

    image = load_image(path)

    assert_valid(image)
    assert image.size == (24, 16)
    assert image.bits == 8
    assert image.alpha is None
    assert image.path == path
    got = np.round(as_hwc(image.pixels) * 255).astype(int)
    np.testing.assert_array_equal(got, expected)


def test_exif_orientation_6_swaps_width_and_height(tmp_path):
    exif = PIL.Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.jpg"
    PIL.Image.fromarray(gradient(30, 10)).save(path, exif=exif.tobytes())

    image = load_image(path)

    assert image.size == (10, 30)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow_exif_transpose(tmp_path, orientation):
    pixels = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    exif = PIL.Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "oriented.png"
    PIL.Image.fromarray(pixels).save(path, exif=exif.tobytes())

    with PIL.Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    got = np.round(as_hwc(load_image(path).pixels) * 255).astype(np.uint8)

    np.testing.assert_array_equal(got, expected)


def test_palette_with_transparency_gives_alpha(tmp_path):
    im = PIL.Image.new("P", (4, 3))
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    im.paste(1, (2, 0, 4, 3))  # right half: index 1 (blue), left half: index 0 (red)
    path = tmp_path / "palette.png"
    im.save(path, transparency=0)

    image = load_image(path)

    assert_valid(image)
    assert image.alpha is not None
    assert image.alpha[0, :, :2].max() == 0  # red index is transparent
    assert image.alpha[0, :, 2:].min() == 1
    assert image.pixels[:, 0, 3].tolist() == [0.0, 0.0, 1.0]


def test_transparent_gif_gives_alpha(tmp_path):
    im = PIL.Image.new("P", (4, 4))
    im.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    im.paste(1, (0, 0, 2, 4))
    path = tmp_path / "transparent.gif"
    im.save(path, transparency=0)

    image = load_image(path)

    assert image.alpha is not None
    assert image.alpha[0, :, 2:].max() == 0
    assert image.alpha[0, :, :2].min() == 1


def test_grayscale_becomes_three_equal_channels(tmp_path):
    gray = RNG.integers(0, 256, (6, 9), dtype=np.uint8)
    path = tmp_path / "gray.png"
    PIL.Image.fromarray(gray, mode="L").save(path)

    image = load_image(path)

    assert image.pixels.shape == (3, 6, 9)
    assert image.alpha is None
    for channel in image.pixels:
        np.testing.assert_array_equal(np.round(channel.numpy() * 255).astype(np.uint8), gray)


def test_grayscale_with_alpha(tmp_path):
    im = PIL.Image.new("LA", (3, 2), (200, 50))
    path = tmp_path / "gray_alpha.png"
    im.save(path)

    image = load_image(path)

    assert image.alpha is not None
    assert torch.allclose(image.alpha, torch.full((1, 2, 3), 50 / 255))
    assert torch.allclose(image.pixels, torch.full((3, 2, 3), 200 / 255))


def test_rgba_png_alpha_is_set_aside(tmp_path):
    pixels = RNG.integers(0, 256, (5, 4, 4), dtype=np.uint8)
    path = tmp_path / "rgba.png"
    PIL.Image.fromarray(pixels, mode="RGBA").save(path)

    image = load_image(path)

    assert image.alpha is not None
    np.testing.assert_array_equal(np.round(image.alpha[0].numpy() * 255).astype(np.uint8), pixels[..., 3])
    np.testing.assert_array_equal(np.round(as_hwc(image.pixels) * 255).astype(np.uint8), pixels[..., :3])


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    colour = (200, 40, 90)
    path = tmp_path / "cmyk.jpg"
    PIL.Image.new("RGB", (16, 16), colour).convert("CMYK").save(path, quality=95)
    with PIL.Image.open(path) as im:
        assert im.mode == "CMYK"

    image = load_image(path)

    mean = image.pixels.mean(dim=(1, 2)) * 255
    assert torch.allclose(mean, torch.tensor(colour, dtype=torch.float32), atol=6)


def test_srgb_icc_profile_loads_unchanged(tmp_path):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "srgb.png"
    PIL.Image.fromarray(gradient()).save(path, icc_profile=srgb)

    image = load_image(path)

    np.testing.assert_array_equal(np.round(as_hwc(image.pixels) * 255).astype(np.uint8), gradient())


def test_non_srgb_icc_profile_is_converted(tmp_path):
    path = tmp_path / "swapped.png"
    PIL.Image.new("RGB", (4, 4), (255, 0, 0)).save(path, icc_profile=swapped_primaries_profile())

    red, green, blue = load_image(path).pixels[:, 0, 0].tolist()

    assert blue > 0.9 and red < 0.2 and green < 0.2


def test_non_srgb_icc_profile_on_16_bit_rgb_falls_back_to_8_bits(tmp_path):
    # littleCMS in Pillow converts 8-bit RGB only: precision is given up for colour.
    path = tmp_path / "swapped16.png"
    samples = np.zeros((2, 2, 3), np.uint16)
    samples[..., 0] = 65535
    data = png16(samples)
    # Insert an iCCP chunk right after IHDR (signature 8 + IHDR chunk 25 bytes).
    iccp = png_chunk(b"iCCP", b"test\0\0" + zlib.compress(swapped_primaries_profile()))
    path.write_bytes(data[:33] + iccp + data[33:])

    image = load_image(path)

    assert image.bits == 8
    assert image.pixels[2, 0, 0] > 0.9


def test_broken_icc_profile_falls_back_to_plain_conversion(tmp_path):
    path = tmp_path / "broken_profile.png"
    PIL.Image.fromarray(gradient()).save(path, icc_profile=b"not a colour profile at all")

    image = load_image(path)

    np.testing.assert_array_equal(np.round(as_hwc(image.pixels) * 255).astype(np.uint8), gradient())


def test_lab_tiff_becomes_srgb(tmp_path):
    srgb, lab = ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB")
    source = PIL.Image.new("RGB", (4, 4), (200, 40, 90))
    path = tmp_path / "lab.tif"
    ImageCms.profileToProfile(source, srgb, lab, outputMode="LAB").save(path)

    mean = load_image(path).pixels.mean(dim=(1, 2)) * 255

    assert torch.allclose(mean, torch.tensor([200.0, 40.0, 90.0]), atol=3)


# ---------------------------------------------------------------------------
# Loading: 16-bit precision
# ---------------------------------------------------------------------------


def test_16_bit_grayscale_png_keeps_full_precision(tmp_path):
    # Odd values are never multiples of 257, so 8-bit decoding would lose them.
    values = (RNG.integers(0, 32768, (5, 6)) * 2 + 1).astype(np.uint16)
    path = tmp_path / "gray16.png"
    PIL.Image.fromarray(values).save(path)

    image = load_image(path)

    assert image.bits == 16
    got = np.round(image.pixels.numpy() * 65535).astype(np.uint16)
    for channel in got:
        np.testing.assert_array_equal(channel, values)


@pytest.mark.parametrize("interlace", [False, True], ids=["progressive", "interlaced"])
@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_rgb_png_keeps_full_precision(tmp_path, channels, interlace):
    samples = (RNG.integers(0, 32768, (11, 9, channels)) * 2 + 1).astype(np.uint16)
    path = tmp_path / "rgb16.png"
    path.write_bytes(png16(samples, filters=(0, 1, 2, 3, 4), interlace=interlace))

    image = load_image(path)

    assert image.bits == 16
    np.testing.assert_array_equal(np.round(as_hwc(image.pixels) * 65535).astype(np.uint16), samples[..., :3])
    if channels == 4:
        assert image.alpha is not None
        np.testing.assert_array_equal(np.round(image.alpha[0].numpy() * 65535).astype(np.uint16), samples[..., 3])
    else:
        assert image.alpha is None


@pytest.mark.parametrize("big_endian", [False, True], ids=["little-endian", "big-endian"])
@pytest.mark.parametrize("deflate", [False, True], ids=["raw", "deflate"])
@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_rgb_tiff_keeps_full_precision(tmp_path, big_endian, deflate, channels):
    samples = (RNG.integers(0, 32768, (4, 7, channels)) * 2 + 1).astype(np.uint16)
    path = tmp_path / "rgb16.tif"
    path.write_bytes(tiff16(samples, big_endian=big_endian, deflate=deflate))

    image = load_image(path)

    assert image.bits == 16
    np.testing.assert_array_equal(np.round(as_hwc(image.pixels) * 65535).astype(np.uint16), samples[..., :3])
    assert (image.alpha is not None) == (channels == 4)


def test_16_bit_rgb_with_exif_orientation(tmp_path):
    samples = (RNG.integers(0, 32768, (3, 5, 3)) * 2 + 1).astype(np.uint16)
    data = png16(samples)
    exif = PIL.Image.Exif()
    exif[0x0112] = 8
    path = tmp_path / "rotated16.png"
    path.write_bytes(data[:33] + png_chunk(b"eXIf", exif.tobytes()) + data[33:])

    image = load_image(path)

    assert image.size == (3, 5)
    expected = np.rot90(samples, 1)  # orientation 8: rotate 90 degrees counter-clockwise
    np.testing.assert_array_equal(np.round(as_hwc(image.pixels) * 65535).astype(np.uint16), expected)


# ---------------------------------------------------------------------------
# Loading: frames, sizes and errors
# ---------------------------------------------------------------------------


def test_animated_gif_loads_first_frame(tmp_path):
    frames = [PIL.Image.new("RGB", (8, 6), colour) for colour in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    path = tmp_path / "animated.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with PIL.Image.open(path) as im:
        assert im.n_frames == 3

    image = load_image(path)

    assert image.size == (8, 6)
    assert image.pixels[:, 0, 0].tolist() == [1.0, 0.0, 0.0]


@pytest.mark.parametrize("suffix", ["jpg", "png"])
def test_truncated_file_is_an_image_error(tmp_path, suffix):
    path = tmp_path / f"truncated.{suffix}"
    PIL.Image.fromarray(RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(ImageError) as caught:
        load_image(path)

    assert caught.value.where == str(path)
    assert "truncated" in caught.value.problem


def test_text_file_named_jpg_is_an_image_error(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture\n")

    with pytest.raises(ImageError, match="not an image Pillow can read") as caught:
        load_image(path)

    assert str(caught.value).startswith(f"{path}: ")


def test_unsupported_image_format_is_an_image_error(tmp_path):
    path = tmp_path / "icon.ico"
    PIL.Image.new("RGB", (16, 16)).save(path)

    with pytest.raises(ImageError, match="not an image Pillow can read"):
        load_image(path)


def test_empty_file_is_an_image_error(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")

    with pytest.raises(ImageError, match="empty file"):
        load_image(path)


def test_missing_file_is_an_image_error(tmp_path):
    path = tmp_path / "missing.png"

    with pytest.raises(ImageError, match="no such file") as caught:
        load_image(path)

    assert str(caught.value) == f"{path}: no such file"


def test_directory_is_an_image_error(tmp_path):
    with pytest.raises(ImageError, match="directory"):
        load_image(tmp_path)


def test_image_over_max_pixels_is_refused(tmp_path):
    path = tmp_path / "small.png"
    PIL.Image.new("RGB", (20, 20)).save(path)

    with pytest.raises(ImageError, match=r"image too large: 20 x 20 pixels exceeds the limit of 100"):
        load_image(path, max_pixels=100)
    assert load_image(path, max_pixels=400).size == (20, 20)


@pytest.mark.parametrize("side", [10_000, 20_000], ids=["over-our-limit", "over-pillow-hard-limit"])
def test_oversized_header_is_refused_before_decoding(tmp_path, side):
    # 10000^2 is above DEFAULT_MAX_PIXELS; 20000^2 is even above the limit at
    # which Pillow itself refuses to open. Neither is decoded (the data is junk).
    assert side * side > DEFAULT_MAX_PIXELS
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(side, side))

    with pytest.raises(ImageError, match="image too large"):
        load_image(path)


def test_one_pixel_image_loads(tmp_path):
    path = tmp_path / "dot.png"
    PIL.Image.new("RGB", (1, 1), (10, 20, 30)).save(path)

    image = load_image(path)

    assert image.size == (1, 1)
    assert torch.allclose(image.pixels[:, 0, 0] * 255, torch.tensor([10.0, 20.0, 30.0]))


@pytest.mark.parametrize(("width", "height", "expected"), [(40, 20, (16, 8)), (20, 40, (8, 16)), (5, 3, (16, 10))])
def test_size_resizes_longest_side(tmp_path, width, height, expected):
    path = tmp_path / "resize.png"
    PIL.Image.new("RGBA", (width, height), (10, 20, 30, 40)).save(path)

    image = load_image(path, size=16)

    assert image.size == expected
    assert image.alpha is not None and image.alpha.shape == (1, expected[1], expected[0])


def test_shared_content_image_loads():
    content = SHARED_IMAGES / "content"
    if not content.is_dir() or not any(content.glob("*.jpg")):
        pytest.skip(f"shared test images not found under {content}")
    path = sorted(content.glob("*.jpg"))[0]

    image = load_image(path, size=64)

    assert_valid(image)
    assert max(image.size) == 64
    assert image.path == path


# ---------------------------------------------------------------------------
# Resizing
# ---------------------------------------------------------------------------


def test_resize_longest_keeps_aspect_and_clamps():
    pixels = torch.zeros(3, 30, 90)
    pixels[:, :, 45:] = 1  # a hard edge makes bicubic overshoot
    resized = resize_longest(pixels, 37)

    assert resized.shape == (3, 12, 37)
    assert resized.min() >= 0 and resized.max() <= 1


def test_resize_longest_batched_and_thin():
    batch = torch.rand(2, 3, 1000, 2)
    resized = resize_longest(batch, 10)

    assert resized.shape == (2, 3, 10, 1)  # never below one pixel


def test_resize_longest_same_size_is_a_no_op():
    pixels = torch.rand(3, 8, 5)
    assert resize_longest(pixels, 8) is pixels


# ---------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("suffix", "tolerance"), [("png", 0), ("jpg", 10), ("webp", 16), ("tiff", 0), ("tif", 0)])
def test_save_round_trip(tmp_path, suffix, tolerance):
    pixels = torch.from_numpy(gradient()).permute(2, 0, 1).float() / 255
    path = tmp_path / f"out.{suffix}"

    written = save_image(pixels, path)

    assert written == path
    with PIL.Image.open(path) as im:
        assert im.format == WRITE_FORMATS[suffix]
    error = (load_image(path).pixels - pixels).abs() * 255
    assert error.max().item() <= tolerance + 0.5
    assert error.mean().item() <= 3  # lossy codecs: close on average


def test_save_accepts_batch_other_dtypes_and_clamps(tmp_path):
    pixels = torch.full((1, 3, 4, 5), 2.0, dtype=torch.float64)
    pixels[0, 1] = -1.0
    path = save_image(pixels, tmp_path / "clamped.png")

    image = load_image(path)

    assert image.pixels[:, 0, 0].tolist() == [1.0, 0.0, 1.0]


def test_save_png_with_alpha_keeps_alpha(tmp_path):
    pixels = torch.rand(3, 6, 7)
    alpha = torch.rand(1, 6, 7)
    path = save_image(pixels, tmp_path / "alpha.png", alpha=alpha)

    image = load_image(path)

    assert image.alpha is not None
    assert (image.alpha - alpha).abs().max() <= 0.5 / 255 + 1e-6
    assert (image.pixels - pixels).abs().max() <= 0.5 / 255 + 1e-6


def test_save_jpeg_drops_alpha(tmp_path):
    path = save_image(torch.rand(3, 8, 8), tmp_path / "no_alpha.jpg", alpha=torch.rand(1, 8, 8))

    assert load_image(path).alpha is None


@pytest.mark.parametrize("suffix", ["tif", "png"])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_save_16_bit_keeps_precision(tmp_path, suffix, with_alpha):
    samples = (RNG.integers(0, 32768, (4, 3, 5)) * 2 + 1).astype(np.float32)
    pixels = torch.from_numpy(samples[:3] / 65535)
    alpha = torch.from_numpy(samples[3:4] / 65535) if with_alpha else None
    path = save_image(pixels, tmp_path / f"deep.{suffix}", alpha=alpha, bits=16)

    image = load_image(path)

    assert image.bits == 16
    np.testing.assert_array_equal(np.round(image.pixels.numpy() * 65535), samples[:3])
    if with_alpha:
        np.testing.assert_array_equal(np.round(image.alpha.numpy() * 65535), samples[3:4])
    else:
        assert image.alpha is None


@pytest.mark.parametrize(
    ("suffix", "bits"), [("png", 8), ("jpg", 8), ("webp", 8), ("tif", 8), ("png", 16), ("tif", 16)]
)
def test_every_written_file_says_its_pixels_are_srgb(tmp_path, suffix, bits):
    path = save_image(torch.rand(3, 6, 8), tmp_path / f"out.{suffix}", bits=bits)

    with PIL.Image.open(path) as im:
        assert im.size == (8, 6)
        profile = im.info.get("icc_profile")
        assert profile, f"{suffix}/{bits}-bit has no colour profile"
        description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile)))
    assert "srgb" in description.lower()


def test_jpeg_keeps_full_colour_resolution(tmp_path):
    # One-pixel red and blue stripes: 4:2:0 would average each pair of columns into purple.
    stripes = torch.zeros(3, 16, 16)
    stripes[0, :, 0::2] = 1
    stripes[2, :, 1::2] = 1
    path = save_image(stripes, tmp_path / "stripes.jpg")

    with PIL.Image.open(path) as im:
        assert JpegImagePlugin.get_sampling(im) == 0  # 4:4:4
    back = load_image(path).pixels
    assert (back - stripes).abs().mean() < 0.05


def test_save_16_bit_jpeg_is_refused(tmp_path):
    with pytest.raises(ImageError, match="16-bit output is supported for PNG and TIFF only"):
        save_image(torch.rand(3, 4, 4), tmp_path / "deep.jpg", bits=16)


def test_save_explicit_format_overrides_suffix(tmp_path):
    path = save_image(torch.rand(3, 4, 4), tmp_path / "picture.out", format="png")

    with PIL.Image.open(path) as im:
        assert im.format == "PNG"


def test_save_unknown_suffix_is_an_image_error(tmp_path):
    with pytest.raises(ImageError, match=r"unsupported image extension \.xyz; use one of .*\.png"):
        save_image(torch.rand(3, 4, 4), tmp_path / "out.xyz")
    assert list(tmp_path.iterdir()) == []


def test_saved_file_gets_normal_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = save_image(torch.rand(3, 4, 4), tmp_path / "mode.png")

    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def failing_save(self, fp, *args, **kwargs):
    """Stands in for PIL.Image.Image.save: writes part of a file, then fails."""
    fp.write(b"\x89PNG partial data")
    raise OSError("disk full (simulated)")


def test_failed_write_leaves_no_file_and_no_temp_file(tmp_path, monkeypatch):
    monkeypatch.setattr(PIL.Image.Image, "save", failing_save)
    path = tmp_path / "out.png"

    with pytest.raises(ImageError, match="cannot write image") as caught:
        save_image(torch.rand(3, 4, 4), path)

    assert caught.value.where == str(path)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "out.png"
    path.write_bytes(b"old content")
    monkeypatch.setattr(PIL.Image.Image, "save", failing_save)

    with pytest.raises(ImageError):
        save_image(torch.rand(3, 4, 4), path)

    assert path.read_bytes() == b"old content"
    assert list(tmp_path.iterdir()) == [path]


def test_interrupted_write_cleans_up_and_reraises(tmp_path, monkeypatch):
    def interrupted_save(self, fp, *args, **kwargs):
        fp.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(PIL.Image.Image, "save", interrupted_save)

    with pytest.raises(KeyboardInterrupt):
        save_image(torch.rand(3, 4, 4), tmp_path / "out.png")
    assert list(tmp_path.iterdir()) == []


def test_save_into_missing_folder_is_an_image_error(tmp_path):
    path = tmp_path / "no" / "such" / "out.png"

    with pytest.raises(ImageError, match="folder .* does not exist"):
        save_image(torch.rand(3, 4, 4), path)


def test_save_nan_is_written_as_zero(tmp_path):
    pixels = torch.full((3, 2, 2), float("nan"))
    path = save_image(pixels, tmp_path / "nan.png")

    assert load_image(path).pixels.max() == 0


# ---------------------------------------------------------------------------
# Output formats and paths
# ---------------------------------------------------------------------------


def test_output_format():
    assert output_format("a/b.PNG") == "PNG"
    assert output_format("b.jpeg") == "JPEG"
    assert output_format("b.jpg") == "JPEG"
    assert output_format("b.tif") == "TIFF"
    assert output_format("b.anything", "webp") == "WEBP"
    assert output_format("b.png", ".JPG") == "JPEG"
    with pytest.raises(ImageError, match="no file extension") as caught:
        output_format("noext")
    assert caught.value.where == "noext"
    with pytest.raises(ImageError, match="unsupported image extension .bmp"):
        output_format("b.bmp")
    with pytest.raises(ImageError, match="unknown image format 'gif'"):
        output_format("b.png", "gif")


def test_check_output_path_accepts_a_new_file(tmp_path):
    check_output_path(tmp_path / "new.png", inputs=[tmp_path / "content.jpg"])


def test_check_output_path_missing_folder(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "out.png")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_check_output_path_unwritable_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ImageError, match="not writable"):
            check_output_path(folder / "out.png")
    finally:
        folder.chmod(0o700)


def test_check_output_path_unwritable_folder_as_reported_by_the_os(tmp_path, monkeypatch):
    # Root may write anywhere, so the test above cannot run there; fake the answer.
    monkeypatch.setattr(os, "access", lambda path, mode: False)

    with pytest.raises(ImageError, match="not writable"):
        check_output_path(tmp_path / "out.png")


def test_check_output_path_unsupported_suffix(tmp_path):
    with pytest.raises(ImageError, match="unsupported image extension"):
        check_output_path(tmp_path / "out.gif")
    check_output_path(tmp_path / "out.gif", format="png")


def test_check_output_path_is_a_directory(tmp_path):
    folder = tmp_path / "folder.png"
    folder.mkdir()

    with pytest.raises(ImageError, match="is a directory"):
        check_output_path(folder)


def test_check_output_path_refuses_to_overwrite_an_input(tmp_path, monkeypatch):
    source = tmp_path / "content.png"
    source.write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)

    with pytest.raises(ImageError, match="output would overwrite the input"):
        check_output_path("content.png", inputs=[tmp_path / "style.png", source])
    with pytest.raises(ImageError, match="output would overwrite the input"):
        check_output_path(tmp_path / "sub" / ".." / "content.png", inputs=["content.png"])


def test_check_output_path_sees_through_symlinks(tmp_path):
    source = tmp_path / "content.png"
    source.write_bytes(b"x")
    link = tmp_path / "link.png"
    try:
        link.symlink_to(source)
    except OSError:
        pytest.skip("symlinks not available")

    with pytest.raises(ImageError, match="output would overwrite the input"):
        check_output_path(link, inputs=[source])


# ---------------------------------------------------------------------------
# Property: arbitrary bytes never escape as anything but ImageError
# ---------------------------------------------------------------------------


def _valid_file(format_name: str) -> bytes:
    buffer = io.BytesIO()
    PIL.Image.fromarray(gradient(12, 9)).save(buffer, format=format_name)
    return buffer.getvalue()


_VALID_FILES = [
    ("png", _valid_file("PNG")),
    ("jpg", _valid_file("JPEG")),
    ("png", png16(RNG.integers(0, 65536, (5, 6, 4)).astype(np.uint16), filters=(4,))),
    ("tif", tiff16(RNG.integers(0, 65536, (5, 6, 3)).astype(np.uint16), big_endian=True, deflate=True)),
]


@st.composite
def damaged_files(draw) -> tuple[str, bytes]:
    """Random bytes, or a valid file with a few bytes changed and maybe cut short."""
    suffix, valid = draw(st.sampled_from(_VALID_FILES))
    if draw(st.booleans()):
        return suffix, draw(st.binary(max_size=512))
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    cut = draw(st.integers(1, len(data)))
    return suffix, bytes(data[:cut])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damaged_files())
def test_arbitrary_bytes_load_or_raise_image_error(tmp_path, sample):
    suffix, data = sample
    path = tmp_path / f"fuzz.{suffix}"
    path.write_bytes(data)

    try:
        image = load_image(path)
    except ImageError as error:
        assert error.where == str(path)
        assert "\n" not in str(error)
    else:
        assert_valid(image)
