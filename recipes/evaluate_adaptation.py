"""Judge a meta-trained model: adapt it to paintings and photos it never saw, against other starts.

    python recipes/evaluate_adaptation.py [--meta meta] [--paintings mondrian,scene_de_rue,...]
                                          [--photos tubingen,golden_gate] [--starts fresh,average,predicted,meta]
                                          [--steps N] [--batch-size N] [--image-size N] [--lr X] [--only-norm yes|no]
                                          [--gallery docs/images/metastyle_adaptation.jpg] [--json out.json]

For each painting and photo, the starts are adapted exactly as `styletool
stylize PHOTO --method metastyle --style PAINTING` adapts (on the photo
being stylized, with the adaptation defaults unless overridden) and judged:

- fresh: a freshly initialized network of the same shape and loss, every
  parameter adapted, same steps (so about the same time);
- unadapted: the meta-model's average painting (the mean of its rows), as is;
- average: the same row adapted (what the pretrained network alone offers);
- predicted: the row the predictor gives the painting, no steps (--steps 0);
- meta: the predicted row, then adapted (the default).

Each result is measured as recipes/evaluate.py measures shipped models (style
distance through SqueezeNet as a fraction of the photo's, luminance SSIM to
the photo) with the wall time of each adaptation. The paintings and photos
are from ../shared/images, which recipes/metastyle_meta.sh never trains on.
"""

from __future__ import annotations

import argparse
import itertools
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
from styletool_metastyle.predictor import load_meta_model, one_style_network

sys.path.insert(0, str(Path(__file__).parent))
from evaluate import JUDGE_LAYERS, SHARED, SQUEEZENET, judged, painting_file

COLUMN_LABELS = {
    "fresh": "fresh network, adapted",
    "unadapted": "average start (no steps)",
    "average": "average start, adapted",
    "predicted": "predicted (no steps)",
    "meta": "predicted, then adapted",
}
PAINTINGS = [
    "mondrian",
    "en_campo_gris",
    "scene_de_rue",
    "woman_in_peasant_dress",
    "starry_night",
    "the_scream",
    "shipwreck",
    "woman-with-hat-matisse",
]


def fresh_start(meta_path: Path, out: Path) -> Path:
    """A meta-kind model file of the same network shape and loss as ``meta_path``, with default initial weights."""
    meta = load_model(meta_path)
    torch.manual_seed(0)
    conditional = meta.metadata.get("num_styles") is not None
    net = TransformerNet(
        architecture=meta.metadata.get("architecture", "full"),
        num_styles=1 if conditional else None,
        neutral=conditional,
    )
    metadata = {k: v for k, v in meta.metadata.items() if k not in ("format", "styletool_version", "predictor")}
    if conditional:
        metadata["num_styles"] = 1
    save_model(out, net.state_dict(), metadata)
    return out


def average_start(meta_path: Path, out: Path) -> Path:
    """The meta-model without its predictor: adaptation starts from its average painting's row."""
    meta = load_model(meta_path)
    tensors = {k: v for k, v in meta.tensors.items() if not k.startswith("predictor.")}
    metadata = {k: v for k, v in meta.metadata.items() if k not in ("format", "styletool_version", "predictor")}
    save_model(out, tensors, metadata)
    return out


def painted(net: TransformerNet, photo: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        output = net.eval()(photo, 0) if net.conditional else net.eval()(photo)
    return output.float().clamp(0, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--meta", default="meta", help="meta-trained model: a file or a shipped model's name (default: the shipped one)"
    )
    parser.add_argument("--paintings", default=",".join(PAINTINGS))
    parser.add_argument(
        "--photos",
        default="tubingen",
        help="photos of ../shared/images/content, comma-separated: each painting is adapted on each photo and judged on it",
    )
    parser.add_argument("--size", type=int, default=512, help="longest side of the stylized photo")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--image-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--style-weight", type=float)
    parser.add_argument("--tv-weight", type=float)
    parser.add_argument(
        "--only-norm", choices=("yes", "no"), help="adapt only the normalization rows (default: adaptation's default)"
    )
    parser.add_argument(
        "--starts",
        default="fresh,unadapted,average,predicted,meta",
        help="columns to compute: fresh, unadapted (the meta-model's average painting), average (the same, adapted), predicted (--steps 0), meta",
    )
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
            ("style_weight", args.style_weight),
            ("tv_weight", args.tv_weight),
        )
        if v is not None
    }
    if args.only_norm is not None:
        changes["only_norm"] = args.only_norm == "yes"
    adapt_options = replace(MetaStyleAdaptOptions(), **changes)
    judge = runtime.backbone("squeezenet1_1", weights=SQUEEZENET)
    photos = {name: SHARED / "images" / "content" / f"{name}.jpg" for name in args.photos.split(",")}
    records, grid, labels = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        meta = resolve_model(args.meta)
        has_predictor = "predictor" in load_model(meta).metadata
        # (label, model file, adaptation options) per column; the fresh network adapts every parameter
        # (adapting only the norms of a network that has learned nothing would be no contest).
        starts = [("fresh", fresh_start(meta, work / "fresh.safetensors"), replace(adapt_options, only_norm=False))]
        if has_predictor:
            average = average_start(meta, work / "average.safetensors")
            starts += [
                ("unadapted", average, replace(adapt_options, steps=0)),
                ("average", average, adapt_options),
                ("predicted", meta, replace(adapt_options, steps=0)),
            ]
        starts.append(("meta", meta, adapt_options))
        starts = [start for start in starts if start[0] in args.starts.split(",")]
        for name, (photo_name, photo_path) in itertools.product(args.paintings.split(","), photos.items()):
            photo = resize_longest(load_image(photo_path).pixels[None], args.size)
            painting = load_image(painting_file(name)).pixels[None]
            row = [painting, photo]
            photo_distance = style_distance(judge, JUDGE_LAYERS, photo, painting)
            for start, path, options in starts:
                began = time.perf_counter()
                if start == "unadapted":  # the meta-model's own average painting, nothing learned of this one
                    network = one_style_network(load_meta_model(path, method="metastyle")[0])
                else:
                    network = method.adapt(
                        AdaptRequest(
                            options=options,
                            model=path,
                            style=painting,
                            style_name=name,
                            output=work / f"{start}_{name}.safetensors",
                            content_files=[photo_path],
                        )
                    ).model
                seconds = time.perf_counter() - began
                image = painted(network, photo)
                ratio, ssim = judged(judge, image, photo, painting, photo_distance)
                records.append(
                    {
                        "painting": name,
                        "photo": photo_name,
                        "start": start,
                        "seconds": round(seconds, 1),
                        "style_ratio": round(ratio, 3),
                        "ssim": round(ssim, 3),
                    }
                )
                print(json.dumps(records[-1]), file=sys.stderr)
                row.append(image)
            grid.append(row)
            labels.append([name, photo_name, *(COLUMN_LABELS[start] for start, _, _ in starts)])
    summary = {}
    for start, _, _ in starts:
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
        "style_weight": adapt_options.style_weight,
        "tv_weight": adapt_options.tv_weight,
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
