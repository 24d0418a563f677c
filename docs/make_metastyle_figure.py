"""Render docs/images/metastyle_adaptation.jpg: 50 adaptation steps from a meta-trained start vs a fresh one.

The same scaled-down experiment as tests/test_metastyle_claim.py (meta-train
200 outer steps at 64 px on the shared photos and paintings, less the held-out
ones; adapt 50 Adam steps to the held-out painting), rendered on the held-out
photos. About 5 minutes on a 2-core CPU:

    python docs/make_metastyle_figure.py [--out docs/images/metastyle_adaptation.jpg]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import torch

from styletool import (
    AdaptRequest,
    Runtime,
    TrainRequest,
    TrainSettings,
    TransformerNet,
    contact_sheet,
    load_image,
    load_model,
    resize_longest,
    save_image,
    save_model,
)
from styletool.options import make_options
from styletool.specs import resolve

IMAGES = Path(__file__).resolve().parents[2] / "shared" / "images"
HELD_OUT_PHOTOS = ["golden_gate", "tubingen"]
HELD_OUT_STYLE = "starry_night"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "images" / "metastyle_adaptation.jpg")
    parser.add_argument("--size", type=int, default=256, help="longest side of the rendered photos")
    args = parser.parse_args()

    runtime = Runtime(device="auto", seed=0)
    method = runtime.method("metastyle")
    spec = runtime.registry.method("metastyle")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        photos = work / "photos"
        photos.mkdir()
        for path in (IMAGES / "content").glob("*.jpg"):
            if path.stem not in HELD_OUT_PHOTOS:
                shutil.copy(path, photos / path.name)
        paintings = [p for p in sorted((IMAGES / "style").glob("*.jpg")) if p.stem != HELD_OUT_STYLE]
        options = make_options(resolve(spec.train_options), {"style_size": 128, "meta_batch": 2})
        settings = TrainSettings(steps=200, batch_size=4, image_size=64, checkpoint_every=0, workers=0)
        method.train(TrainRequest(options=options, settings=settings, content_dir=photos, output=work / "meta.safetensors",
                                  styles=[runtime.to_device(load_image(p).pixels[None]) for p in paintings],
                                  style_names=[p.stem for p in paintings]))
        meta = load_model(work / "meta.safetensors")
        torch.manual_seed(0)
        save_model(work / "default.safetensors", TransformerNet(architecture=meta.metadata["architecture"]).state_dict(),
                   {k: v for k, v in meta.metadata.items() if k not in ("format", "styletool_version")})
        painting = runtime.to_device(load_image(IMAGES / "style" / f"{HELD_OUT_STYLE}.jpg").pixels[None])
        networks = {}
        for start in ("default", "meta"):
            adapt_options = make_options(resolve(spec.adapt_options), {"steps": 50, "image_size": 64, "batch_size": 4})
            result = method.adapt(AdaptRequest(options=adapt_options, model=work / f"{start}.safetensors", style=painting,
                                               style_name=HELD_OUT_STYLE, output=work / f"{start}_adapted.safetensors",
                                               content_dir=photos))
            networks[start] = result.model.eval()
        panels = []
        for name in HELD_OUT_PHOTOS:
            photo = runtime.to_device(resize_longest(load_image(IMAGES / "content" / f"{name}.jpg").pixels[None], args.size))
            with torch.no_grad():
                results = [networks[start](photo).clamp(0, 1) for start in ("default", "meta")]
            height, width = photo.shape[-2:]
            thumb = torch.nn.functional.interpolate(painting, size=(height, width), mode="bilinear", antialias=True)
            panels += [photo, thumb, *results]
        save_image(contact_sheet([p.cpu() for p in panels], columns=4), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
