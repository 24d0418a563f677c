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
  ``bits=16`` TIFF goes through tifffile, and PNG through a small writer of
  our own (``write.py`` says why no library does it).

Every file written carries the sRGB colour profile (the pixels are sRGB; an
untagged file is only assumed to be), and JPEGs keep full colour resolution
(4:4:4): stylized pictures are all fine colour detail, which 4:2:0 smears.
"""

from styletool.io.images.paths import WRITE_FORMATS, check_destination, check_output_path, output_format
from styletool.io.images.read import (
    DEFAULT_MAX_PIXELS,
    MIN_PAINTING_SIDE,
    READ_FORMATS,
    Image,
    check_painting_size,
    load_image,
    load_painting,
)
from styletool.io.images.resize import longest_side_shape, resize_longest
from styletool.io.images.write import save_image, srgb_profile

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MIN_PAINTING_SIDE",
    "READ_FORMATS",
    "WRITE_FORMATS",
    "Image",
    "check_destination",
    "check_painting_size",
    "check_output_path",
    "load_image",
    "load_painting",
    "longest_side_shape",
    "output_format",
    "resize_longest",
    "save_image",
    "srgb_profile",
]
