"""Judge feed-forward models on photos outside their training data: a measure per style, a table and a gallery.

    python recipes/evaluate.py MODEL [MODEL ...] [--photos held-out|content|NAME,NAME,...] [--size 512]
                               [--strength S] [--markdown] [--json out.json]
                               [--gallery docs/images/shipped_gallery.jpg] [--gallery-photos tubingen,...]
                               [--strength-row STYLE]

MODEL is a file or a shipped model's name; a cin model contributes every
style it holds. Each result is judged as tests/test_shipped.py judges the
shipped models: the style distance to the painting through SqueezeNet
(another network than the VGG-19 the models train with), as a fraction of
the photo's own distance (lower: closer to the painting), and the luminance
SSIM to the photo (higher: the photo's structure kept).

The held-out photos (the default) are the nine of ../shared/images/content,
which no recipe trains on, and HELD_OUT_PHOTOS, ten of the BSDS500 "val"
photos that the recipes leave out with `--exclude 'val_*'`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from styletool import Runtime, StylizeRequest, load_image, luminance_ssim, resize_longest, save_image
from styletool.grid import labelled_grid
from styletool.io.modelfile import read_metadata
from styletool.io.shipped import resolve_model
from styletool.perceptual.metrics import style_distance

SHARED = Path(__file__).resolve().parents[2] / "shared"
CONTENT_PHOTOS = [
    "tubingen",
    "chicago",
    "golden_gate",
    "hoovertowernight",
    "astronaut",
    "rocket",
    "newyork",
    "cornell",
    "modern",
]
# Every tenth of the 100 BSDS500 "val" photos (sorted by name); recipes exclude all of val_*.
HELD_OUT_FOLDER = SHARED / "datasets" / "photos"
HELD_OUT_PHOTOS = [path.stem for path in sorted(HELD_OUT_FOLDER.glob("val_*.jpg"))[::10]]
GALLERY_PHOTOS = ["tubingen", "chicago", "golden_gate", "hoovertowernight"]
SQUEEZENET = SHARED / "weights" / "squeezenet1_1-imagenet-features.pth"
JUDGE_LAYERS = ["relu1", "fire3", "fire5", "fire7", "fire9"]
STRENGTHS = [0.0, 0.25, 0.5, 0.75, 1.0]


def painting_file(name: str) -> Path:
    for folder in (SHARED / "images" / "style", SHARED / "datasets" / "styles", SHARED / "datasets" / "paintings"):
        path = folder / f"{name}.jpg"
        if path.is_file():
            return path
    raise SystemExit(f"no painting named {name} under {SHARED}")


def photo_file(name: str) -> Path:
    for path in (SHARED / "images" / "content" / f"{name}.jpg", HELD_OUT_FOLDER / f"{name}.jpg"):
        if path.is_file():
            return path
    raise SystemExit(f"no photo named {name} under {SHARED}")


def photo_names(value: str) -> list[str]:
    if value == "held-out":
        return CONTENT_PHOTOS + HELD_OUT_PHOTOS
    if value == "content":
        return list(CONTENT_PHOTOS)
    return value.split(",")


def judged(judge, result, photo, painting, photo_distance: float | None = None) -> tuple[float, float]:
    """(style distance as a fraction of the photo's own, luminance SSIM to the photo) of one result."""
    if photo_distance is None:
        photo_distance = style_distance(judge, JUDGE_LAYERS, photo, painting)
    return style_distance(judge, JUDGE_LAYERS, result, painting) / photo_distance, luminance_ssim(result, photo)


def stylizations(runtime: Runtime, model: Path, strength: float = 1.0):
    """(label, style name, request, method) for every style of ``model``."""
    metadata = read_metadata(model)
    method = runtime.method(metadata["method"])
    options_cls = method.Options
    styles = metadata.get("styles", [])
    if metadata["method"] == "cin":
        for name in styles:
            options = options_cls(style_name=name, strength=strength)
            yield name, name, StylizeRequest(options=options, model=model, models=[model]), method
    else:
        request = StylizeRequest(options=options_cls(strength=strength), model=model, models=[model])
        yield f"{model.stem}", styles[0], request, method


def stylized(method, request, photo: torch.Tensor) -> torch.Tensor:
    prepared = method.prepare(request)
    with torch.no_grad():
        return method.stylize(photo, request, prepared)


def markdown_table(records: list[dict], styles: list[str]) -> str:
    lines = [
        "| style | style distance (photo = 1) | worst photo | luminance SSIM | worst photo |",
        "| --- | --- | --- | --- | --- |",
    ]
    for style in styles:
        mine = [r for r in records if r["style"] == style]
        ratio = sum(r["style_ratio"] for r in mine) / len(mine)
        ssim = sum(r["ssim"] for r in mine) / len(mine)
        worst_ratio = max(r["style_ratio"] for r in mine)
        worst_ssim = min(r["ssim"] for r in mine)
        lines.append(f"| {style} | {ratio:.2f} | {worst_ratio:.2f} | {ssim:.2f} | {worst_ssim:.2f} |")
    ratio = sum(r["style_ratio"] for r in records) / len(records)
    ssim = sum(r["ssim"] for r in records) / len(records)
    lines.append(f"| all | {ratio:.2f} | | {ssim:.2f} | |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--photos", default="held-out", help="held-out (default), content, or NAME,NAME,...")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--strength", type=float, default=1.0)
    parser.add_argument("--cell", type=int, default=256, help="gallery cell size in pixels")
    parser.add_argument("--gallery", type=Path)
    parser.add_argument("--gallery-photos", default=",".join(GALLERY_PHOTOS))
    parser.add_argument("--strength-row", help="a style whose strengths 0..1 the gallery shows on its first photo")
    parser.add_argument("--markdown", action="store_true", help="print the table per style as markdown")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    runtime = Runtime(device="cpu", seed=0)
    judge = runtime.backbone("squeezenet1_1", weights=SQUEEZENET)
    names = photo_names(args.photos)
    photos = {name: resize_longest(load_image(photo_file(name)).pixels[None], args.size) for name in names}
    gallery_names = args.gallery_photos.split(",")
    columns, records, styles, strength_row = [], [], [], None
    for value in args.models:
        model = resolve_model(value)
        for label, style, request, method in stylizations(runtime, model, args.strength):
            painting = load_image(painting_file(style)).pixels[None]
            prepared = method.prepare(request)
            pictures = {}
            for name, photo in photos.items():
                with torch.no_grad():
                    result = method.stylize(photo, request, prepared)
                ratio, ssim = judged(judge, result, photo, painting)
                records.append({"model": str(value), "style": style, "photo": name, "style_ratio": ratio, "ssim": ssim})
                print(
                    json.dumps({**records[-1], "style_ratio": round(ratio, 3), "ssim": round(ssim, 3)}), file=sys.stderr
                )
                if name in gallery_names:
                    pictures[name] = result
            styles.append(style)
            columns.append((label, painting, pictures))
            if args.strength_row == style:
                first = photos[gallery_names[0]]
                strength_row = [stylized(method, _with_strength(request, s), first) for s in STRENGTHS]
    mean = {key: sum(r[key] for r in records) / len(records) for key in ("style_ratio", "ssim")}
    print(
        json.dumps(
            {
                "mean_style_ratio": round(mean["style_ratio"], 3),
                "mean_ssim": round(mean["ssim"], 3),
                "results": len(records),
            }
        )
    )
    if args.markdown:
        print(markdown_table(records, styles))
    if args.json:
        args.json.write_text(json.dumps({"mean": mean, "records": records}, indent=1) + "\n")
    if args.gallery:
        # Paintings across the top, photos down the left, results in between; then the strength row.
        grid = [[None, *[painting for _, painting, _ in columns]]]
        labels = [["", *[label for label, _, _ in columns]]]
        for name in gallery_names:
            grid.append([photos[name], *[pictures[name] for _, _, pictures in columns]])
            labels.append([name, *["" for _ in columns]])
        if strength_row is not None:
            grid.append([photos[gallery_names[0]], *strength_row])
            labels.append([f"{args.strength_row}:", *[f"strength {s:g}" for s in STRENGTHS]])
        # Rows padded to the widest (the strength row is wider than a one-style gallery).
        width = max(len(row) for row in grid)
        grid = [row + [None] * (width - len(row)) for row in grid]
        labels = [row + [""] * (width - len(row)) for row in labels]
        save_image(labelled_grid(grid, labels, cell=args.cell)[0], args.gallery)
        print(f"wrote {args.gallery}", file=sys.stderr)
    return 0


def _with_strength(request: StylizeRequest, strength: float) -> StylizeRequest:
    from dataclasses import replace

    return replace(request, options=replace(request.options, strength=strength))


if __name__ == "__main__":
    sys.exit(main())
