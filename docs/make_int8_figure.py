"""Render docs/images/int8_vs_fp32.jpg and print how far --int8 is from the fp32 result.

    python docs/make_int8_figure.py --model starry.safetensors

Each photo from ../shared/images named below is stylized at 512 px through
the real CLI twice, plainly and with --int8. The figure shows, per photo,
the photo, the fp32 result, the --int8 result and their difference
amplified 16x (black: identical); the printed figures are each pair's PSNR
and mean absolute difference.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONTENT = HERE.parent.parent / "shared" / "images" / "content"
PHOTOS = ("chicago", "tubingen", "hoovertowernight")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="a johnson model file")
    parser.add_argument("--out", type=Path, default=HERE / "images" / "int8_vs_fp32.jpg")
    args = parser.parse_args()

    from styletool import load_image, resize_longest, save_image
    from styletool.grid import labelled_grid
    from styletool.perceptual.metrics import psnr

    rows, labels = [], []
    with tempfile.TemporaryDirectory() as folder:
        for name in PHOTOS:
            results = {}
            for label, flags in (("fp32", []), ("int8", ["--int8"])):
                out = Path(folder) / f"{name}_{label}.png"
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "styletool",
                        "-q",
                        "stylize",
                        str(CONTENT / f"{name}.jpg"),
                        "--method",
                        "johnson",
                        "--model",
                        str(args.model),
                        "--size",
                        "512",
                        "-o",
                        str(out),
                        *flags,
                    ],
                    check=True,
                )
                results[label] = load_image(out).pixels[None]
            difference = (results["int8"] - results["fp32"]).abs()
            print(
                f"{name}: PSNR {psnr(results['int8'], results['fp32']):.1f} dB, mean difference {float(difference.mean()) * 255:.2f}/255, "
                f"largest {float(difference.max()) * 255:.0f}/255"
            )
            photo = resize_longest(load_image(CONTENT / f"{name}.jpg").pixels[None], 512)
            rows.append([photo, results["fp32"], results["int8"], (difference * 16).clamp(0, 1)])
            labels.append([name, "fp32", "--int8", f"difference x16 ({psnr:.0f} dB)"])
    save_image(labelled_grid(rows, labels, cell=320)[0], args.out, quality=85)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
