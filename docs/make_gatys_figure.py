"""Render docs/images/gatys_before_after.jpg and gatys_brush_sizes.jpg for docs/gatys.md.

Usage: python docs/make_gatys_figure.py [--work /tmp/gatys-figure] [--out docs/images]

Before/after: for each photo x painting pair, the result of the old
defaults (`--precision fp32` and `--scales 1 --iterations 200 --normalize
none`: one scale, raw losses, fp32) beside today's defaults, at 512 px, seed 0. Brush sizes: tubingen x
starry_night with `--style-scale` 0.5, 1 and 2. Results already rendered
in --work are reused (each before picture takes minutes on a CPU).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SHARED = Path(__file__).resolve().parents[2] / "shared"
PAIRS = [
    ("images/content/tubingen.jpg", "images/style/starry_night.jpg"),
    ("images/content/chicago.jpg", "images/style/the_scream.jpg"),
    ("images/content/golden_gate.jpg", "images/style/woman-with-hat-matisse.jpg"),
    ("images/content/astronaut.jpg", "datasets/paintings/wikiart_00.jpg"),
]
# The old defaults: fp32 (a global option, before the command), one scale, 200 iterations, raw losses.
BEFORE = (["--precision", "fp32"], ["--scales", "1", "--iterations", "200", "--normalize", "none"])
NOW: tuple[list[str], list[str]] = ([], [])
BRUSHES = ["0.5", "1", "2"]
HEIGHT = 300  # of each picture in the figures


def render(photo: str, painting: str, label: str, options: tuple[list[str], list[str]], work: Path) -> Path:
    """Stylize with (global options, method options), unless already rendered."""
    out = work / f"{Path(photo).stem}_x_{Path(painting).stem}_{label}.png"
    if not out.exists():
        global_options, options = options
        command = [sys.executable, "-m", "styletool", "--seed", "0", *global_options, "stylize", str(SHARED / photo)]
        command += ["--style", str(SHARED / painting), "--size", "512", "-o", str(out), *options]
        print(" ".join(command), file=sys.stderr)
        subprocess.run(command, check=True)
    return out


def row(paths: list[Path], captions: list[str]) -> Image.Image:
    """Pictures side by side at one height, each captioned beneath."""
    font = ImageFont.load_default(size=16)
    pictures = [Image.open(path).convert("RGB") for path in paths]
    pictures = [p.resize((round(p.width * HEIGHT / p.height), HEIGHT), Image.LANCZOS) for p in pictures]
    width = sum(p.width for p in pictures) + 8 * (len(pictures) - 1)
    strip = Image.new("RGB", (width, HEIGHT + 26), "white")
    left = 0
    draw = ImageDraw.Draw(strip)
    for picture, caption in zip(pictures, captions):
        strip.paste(picture, (left, 0))
        draw.text((left + picture.width / 2, HEIGHT + 13), caption, fill=(40, 40, 40), font=font, anchor="mm")
        left += picture.width + 8
    return strip


def stack(rows: list[Image.Image]) -> Image.Image:
    sheet = Image.new("RGB", (max(r.width for r in rows), sum(r.height for r in rows) + 8 * (len(rows) - 1)), "white")
    top = 0
    for strip in rows:
        sheet.paste(strip, (0, top))
        top += strip.height + 8
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/gatys-figure"))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "images")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    rows = []
    for photo, painting in PAIRS:
        before = render(photo, painting, "before", BEFORE, args.work)
        after = render(photo, painting, "after", NOW, args.work)
        rows.append(row([SHARED / painting, before, after], [Path(painting).stem, "before", "now"]))
    stack(rows).save(args.out / "gatys_before_after.jpg", quality=88)

    photo, painting = PAIRS[0]
    brushes = [render(photo, painting, f"style-scale-{s}", ([], ["--style-scale", s]), args.work) for s in BRUSHES]
    stack([row(brushes, [f"--style-scale {s}" for s in BRUSHES])]).save(args.out / "gatys_brush_sizes.jpg", quality=88)


if __name__ == "__main__":
    main()
