"""The image files styletool reads, by suffix: how the images in a folder are found.

No torch or Pillow here: commands expand folders and name outputs before
any library loads. What each suffix's format can hold is io/images' business.
"""

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})
