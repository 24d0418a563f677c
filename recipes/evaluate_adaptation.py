"""Judge a meta-trained model: adapt it to paintings it never saw, against a fresh network adapted identically.

    python recipes/evaluate_adaptation.py [--meta meta] [--paintings mondrian,scene_de_rue,...]
                                          [--photo tubingen] [--steps N] [--batch-size N] [--image-size N]
                                          [--gallery docs/images/metastyle_adaptation.jpg] [--json out.json]

For each painting, both starts (the meta-trained model, and a freshly
initialized network of the same architecture with the same loss) are adapted
exactly as `styletool stylize PHOTO --method metastyle --style PAINTING`
adapts: on the photo being stylized, with the adaptation defaults unless
overridden. Same settings, same seed, so the same time. Each result is
measured as recipes/evaluate.py measures shipped models (style distance
through SqueezeNet as a fraction of the photo's, luminance SSIM to the photo)
and the wall time of each adaptation is printed. The paintings and photos are
from ../shared/images, which recipes/metastyle_meta.sh never trains on.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from styletool import (
    AdaptRequest,
    Runtime,
    TransformerNet,
    load_image,
    load_model,
    resize_longest,
    save_image,
    save_model,
)
from styletool.grid import labelled_grid
from styletool.io.shipped import resolve_model
from styletool.perceptual.metrics import style_distance
from styletool_metastyle.options import MetaStyleAdaptOptions

sys.path.insert(0, str(Path(__file__).parent))
from evaluate import JUDGE_LAYERS, SHARED, SQUEEZENET, judged, painting_file

PAINTINGS = ["mondrian", "en_campo_gris", "scene_de_rue", "woman_in_peasant_dress", "starry_night", "the_scream"]


def fresh_start(meta_path: Path, out: Path) -> Path:
    """A meta-kind model file with the same architecture and loss as ``meta_path`` but default initial weights."""
    meta = load_model(meta_path)
    torch.manual_seed(0)
    net = TransformerNet(architecture=meta.metadata.get("architecture", "full"))
    save_model(
        out, net.state_dict(), {k: v for k, v in meta.metadata.items() if k not in ("format", "styletool_version")}
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--meta", default="meta", help="meta-trained model: a file or a shipped model's name (default: the shipped one)"
    )
    parser.add_argument("--paintings", default=",".join(PAINTINGS))
    parser.add_argument(
        "--photo", default="tubingen", help="the photo adapted on and stylized (../shared/images/content)"
    )
    parser.add_argument("--size", type=int, default=512, help="longest side of the stylized photo")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--image-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--only-norm", action="store_true", help="adapt only the instance-norm scales and shifts")
    parser.add_argument("--cell", type=int, default=256)
    parser.add_argument("--gallery", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    runtime = Runtime(device="cpu", seed=0)
    method = runtime.method("metastyle")
    changes = {
        k: v
        for k, v in (
            ("steps", args.steps),
            ("batch_size", args.batch_size),
            ("image_size", args.image_size),
            ("lr", args.lr),
            ("only_norm", args.only_norm),
        )
        if v
    }
    adapt_options = replace(MetaStyleAdaptOptions(), **changes)
    judge = runtime.backbone("squeezenet1_1", weights=SQUEEZENET)
    photo_path = SHARED / "images" / "content" / f"{args.photo}.jpg"
    photo = resize_longest(load_image(photo_path).pixels[None], args.size)
    records, grid, labels = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        meta = resolve_model(args.meta)
        starts = {"fresh": fresh_start(meta, work / "fresh.safetensors"), "meta": meta}
        for name in args.paintings.split(","):
            painting = load_image(painting_file(name)).pixels[None]
            row = [painting, photo]
            photo_distance = style_distance(judge, JUDGE_LAYERS, photo, painting)
            for start, path in starts.items():
                began = time.perf_counter()
                result = method.adapt(
                    AdaptRequest(
                        options=adapt_options,
                        model=path,
                        style=painting,
                        style_name=name,
                        output=work / f"{start}_{name}.safetensors",
                        content_files=[photo_path],
                    )
                )
                seconds = time.perf_counter() - began
                with torch.no_grad():
                    image = result.model.eval()(photo).float().clamp(0, 1)
                ratio, ssim = judged(judge, image, photo, painting, photo_distance)
                records.append(
                    {
                        "painting": name,
                        "start": start,
                        "seconds": round(seconds, 1),
                        "style_ratio": round(ratio, 3),
                        "ssim": round(ssim, 3),
                    }
                )
                print(json.dumps(records[-1]), file=sys.stderr)
                row.append(image)
            grid.append(row)
            labels.append([name, args.photo, "fresh start", "meta-trained start"])
    summary = {}
    for start in ("fresh", "meta"):
        mine = [r for r in records if r["start"] == start]
        summary[start] = {
            key: round(sum(r[key] for r in mine) / len(mine), 3) for key in ("seconds", "style_ratio", "ssim")
        }
    summary["settings"] = {
        "steps": adapt_options.steps,
        "batch_size": adapt_options.batch_size,
        "image_size": adapt_options.image_size,
        "lr": adapt_options.lr,
        "only_norm": adapt_options.only_norm,
    }
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "records": records}, indent=1) + "\n")
    if args.gallery:
        save_image(labelled_grid(grid, labels, cell=args.cell)[0], args.gallery)
        print(f"wrote {args.gallery}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
