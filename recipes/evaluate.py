"""Judge feed-forward models on photos outside their training data: a measure per style and a gallery.

    python recipes/evaluate.py MODEL [MODEL ...] [--photos tubingen,chicago,...] [--size 512]
                               [--gallery docs/images/shipped_gallery.jpg] [--json out.json]

MODEL is a file or a shipped model's name; a cin model contributes every
style it holds. Each result is judged as tests/test_shipped.py judges the
shipped models: the style distance to the painting through SqueezeNet
(another network than the VGG-19 the models train with), as a fraction of
the photo's own distance (lower: closer to the painting), and the luminance
SSIM to the photo (higher: the photo's structure kept). The photos are
../shared/images/content, which no shipped model trains on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from styletool import Runtime, load_image, luminance_ssim, resize_longest, save_image
from styletool.grid import labelled_grid
from styletool.io.modelfile import read_metadata
from styletool.io.shipped import resolve_model
from styletool.perceptual.metrics import style_distance

SHARED = Path(__file__).resolve().parents[2] / "shared"
PHOTOS = ["tubingen", "chicago", "golden_gate", "hoovertowernight"]
SQUEEZENET = SHARED / "weights" / "squeezenet1_1-imagenet-features.pth"
JUDGE_LAYERS = ["relu1", "fire3", "fire5", "fire7", "fire9"]


def painting_file(name: str) -> Path:
    for folder in (SHARED / "images" / "style", SHARED / "datasets" / "paintings"):
        path = folder / f"{name}.jpg"
        if path.is_file():
            return path
    raise SystemExit(f"no painting named {name} under {SHARED}")


def judged(judge, result, photo, painting, photo_distance: float | None = None) -> tuple[float, float]:
    """(style distance as a fraction of the photo's own, luminance SSIM to the photo) of one result."""
    if photo_distance is None:
        photo_distance = style_distance(judge, JUDGE_LAYERS, photo, painting)
    return style_distance(judge, JUDGE_LAYERS, result, painting) / photo_distance, luminance_ssim(result, photo)


def stylizations(runtime: Runtime, model: Path):
    """(label, style name, stylize function) for every style of ``model``."""
    metadata = read_metadata(model)
    method = runtime.method(metadata["method"])
    options_cls = method.Options
    styles = metadata.get("styles", [])
    from styletool import StylizeRequest

    if metadata["method"] == "cin":
        for name in styles:
            request = StylizeRequest(options=options_cls(style_name=name), model=model, models=[model])
            yield name, name, request, method
    else:
        request = StylizeRequest(options=options_cls(), model=model, models=[model])
        yield f"{model.stem}", styles[0], request, method


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--photos", default=",".join(PHOTOS))
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--cell", type=int, default=256, help="gallery cell size in pixels")
    parser.add_argument("--gallery", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    runtime = Runtime(device="cpu", seed=0)
    judge = runtime.backbone("squeezenet1_1", weights=SQUEEZENET)
    photos = {
        name: resize_longest(load_image(SHARED / "images" / "content" / f"{name}.jpg").pixels[None], args.size)
        for name in args.photos.split(",")
    }
    rows, header, records = [], [], []
    for value in args.models:
        model = resolve_model(value)
        for label, style, request, method in stylizations(runtime, model):
            painting = load_image(painting_file(style)).pixels[None]
            prepared = method.prepare(request)
            column = []
            for name, photo in photos.items():
                with torch.no_grad():
                    result = method.stylize(photo, request, prepared)
                ratio, ssim = judged(judge, result, photo, painting)
                records.append(
                    {
                        "model": str(value),
                        "style": style,
                        "photo": name,
                        "style_ratio": round(ratio, 3),
                        "ssim": round(ssim, 3),
                    }
                )
                print(json.dumps(records[-1]), file=sys.stderr)
                column.append(result)
            header.append((label, painting))
            rows.append(column)
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
    if args.json:
        args.json.write_text(json.dumps({"mean": mean, "records": records}, indent=1) + "\n")
    if args.gallery:
        # Paintings across the top, photos down the left, results in between.
        grid = [[None, *[painting for _, painting in header]]]
        labels = [["", *[label for label, _ in header]]]
        for i, (name, photo) in enumerate(photos.items()):
            grid.append([photo, *[column[i] for column in rows]])
            labels.append([name, *["" for _ in rows]])
        save_image(labelled_grid(grid, labels, cell=args.cell)[0], args.gallery)
        print(f"wrote {args.gallery}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
