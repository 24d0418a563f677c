"""Render the before/after gallery in docs/: photo, painting, result, with the default settings.

Usage: python docs/make_gallery.py [--size 512] [--out docs/images] [--pairs all]
Reads ../shared/images beside the checkout; runs `styletool stylize` for
each pair (reusing results already rendered in --work) and writes one JPEG
strip per pair plus gallery.jpg with every strip stacked.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
from pathlib import Path

from PIL import Image

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images"
PAIRS = [
    ("tubingen", "starry_night"),
    ("golden_gate", "the_scream"),
    ("chicago", "woman-with-hat-matisse"),
    ("hoovertowernight", "shipwreck"),
]
GRID_PHOTOS = ["tubingen", "golden_gate", "chicago"]
GRID_PAINTINGS = ["starry_night", "the_scream", "woman-with-hat-matisse"]


def render(photo: str, painting: str, size: int, work: Path, extra: list[str]) -> Path:
    out = work / f"{photo}_{painting}_{size}.png"
    if not out.exists():
        command = [
            sys.executable,
            "-m",
            "styletool",
            "--seed",
            "0",
            "stylize",
            str(SHARED / "content" / f"{photo}.jpg"),
            "--style",
            str(SHARED / "style" / f"{painting}.jpg"),
            "-o",
            str(out),
            "--size",
            str(size),
            *extra,
        ]
        print(" ".join(command), file=sys.stderr)
        subprocess.run(command, check=True)
    return out


def strip(paths: list[Path], height: int) -> Image.Image:
    images = []
    for path in paths:
        image = Image.open(path).convert("RGB")
        images.append(image.resize((round(image.width * height / image.height), height), Image.LANCZOS))
    gap = 6
    canvas = Image.new("RGB", (sum(i.width for i in images) + gap * (len(images) - 1), height), "white")
    x = 0
    for image in images:
        canvas.paste(image, (x, 0))
        x += image.width + gap
    return canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/styletool-gallery"))
    parser.add_argument("--grid", action="store_true", help="every photo x painting of a 3x3 grid instead of the pairs")
    parser.add_argument("--height", type=int, default=240, help="height of each picture in the strips")
    args, extra = parser.parse_known_args()
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    pairs = list(itertools.product(GRID_PHOTOS, GRID_PAINTINGS)) if args.grid else PAIRS
    strips = []
    for photo, painting in pairs:
        result = render(photo, painting, args.size, args.work, extra)
        row = strip([SHARED / "content" / f"{photo}.jpg", SHARED / "style" / f"{painting}.jpg", result], args.height)
        row.save(args.out / f"{photo}_{painting}.jpg", quality=85)
        strips.append(row)
    width = max(s.width for s in strips)
    gallery = Image.new("RGB", (width, sum(s.height for s in strips) + 6 * (len(strips) - 1)), "white")
    y = 0
    for row in strips:
        gallery.paste(row, (0, y))
        y += row.height + 6
    gallery.save(args.out / "gallery.jpg", quality=85)


if __name__ == "__main__":
    main()
