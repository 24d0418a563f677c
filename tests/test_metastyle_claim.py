"""The MetaStyle claim, scaled down: a meta-trained start adapts to an unseen painting faster than a fresh network."""

from __future__ import annotations

import shutil

import pytest
import torch

from styletool import (
    AdaptRequest,
    PerceptualLoss,
    Runtime,
    TrainRequest,
    TrainSettings,
    TransformerNet,
    load_image,
    load_model,
    resize_longest,
    save_model,
)
from styletool.framework.options import make_options
from styletool.framework.specs import resolve

from conftest import IMAGES, shared_file

HELD_OUT_PHOTOS = ["golden_gate", "tubingen"]
HELD_OUT_STYLES = ["starry_night", "the_scream"]
SIZE = 64


@pytest.mark.slow
def test_meta_trained_start_adapts_better_in_50_steps_than_the_default_start(tmp_path):
    """Meta-train 200 outer steps at 64 px on 7 photos x 6 paintings (VGG-19 loss, second order); then adapt
    both the meta-trained and a freshly initialized network to each of two held-out paintings for 50 Adam
    steps and compare the loss on two held-out photos. About 5 minutes on a 2-core CPU.

    The effect is real but the margin is noisy at this scale: with one held-out painting the ratio of the
    held-out losses (meta / default) ranged from 0.57 to 0.93 over seeds and machines; averaged over two
    paintings, 0.89 (seed 1). The test asks for a clear win, meta below 0.97 of default, which a start that
    meta-training did not improve would fail (docs/metastyle.md).
    """
    for name in HELD_OUT_STYLES:
        shared_file("images", "style", f"{name}.jpg")
    photos = tmp_path / "photos"
    photos.mkdir()
    for path in (IMAGES / "content").glob("*.jpg"):
        if path.stem not in HELD_OUT_PHOTOS:
            shutil.copy(path, photos / path.name)
    paintings = [p for p in sorted((IMAGES / "style").glob("*.jpg")) if p.stem not in HELD_OUT_STYLES]

    runtime = Runtime(device="cpu", seed=0)
    method = runtime.method("metastyle")
    spec = runtime.registry.method("metastyle")
    loss_options = {"style_size": 128}
    options = make_options(resolve(spec.train_options), {**loss_options, "meta_batch": 2})
    settings = TrainSettings(
        steps=200, batch_size=4, image_size=SIZE, lr=1e-3, lr_schedule="constant", checkpoint_every=0, workers=0
    )
    meta_curve = []
    method.train(
        TrainRequest(
            options=options,
            settings=settings,
            content_dir=photos,
            output=tmp_path / "meta.safetensors",
            styles=[load_image(p).pixels[None] for p in paintings],
            style_names=[p.stem for p in paintings],
        ),
        progress=lambda event: meta_curve.append(sum(event.losses.values())),
    )
    assert sum(meta_curve[-10:]) < 0.2 * sum(meta_curve[:10]), meta_curve[::20]

    # The baseline: the same model file, holding a network at its default initialization.
    meta = load_model(tmp_path / "meta.safetensors", method="metastyle")
    torch.manual_seed(0)
    architecture = meta.metadata["architecture"]
    save_model(
        tmp_path / "default.safetensors",
        TransformerNet(architecture=architecture).state_dict(),
        {k: v for k, v in meta.metadata.items() if k not in ("format", "styletool_version")},
    )

    held_out = [
        resize_longest(load_image(IMAGES / "content" / f"{name}.jpg").pixels[None], 2 * SIZE)
        for name in HELD_OUT_PHOTOS
    ]
    judge = PerceptualLoss.build(runtime, make_options(resolve(spec.train_options), loss_options).perceptual_weights())
    held_out_loss = {"meta": {}, "default": {}}
    for style in HELD_OUT_STYLES:
        painting = load_image(IMAGES / "style" / f"{style}.jpg").pixels[None]
        target = judge.style_target(painting, size=128)
        for start in ("meta", "default"):
            adapt_options = make_options(
                resolve(spec.adapt_options), {"steps": 50, "image_size": SIZE, "batch_size": 4}
            )
            result = method.adapt(
                AdaptRequest(
                    options=adapt_options,
                    model=tmp_path / f"{start}.safetensors",
                    style=painting,
                    style_name=style,
                    output=tmp_path / f"{start}_{style}.safetensors",
                    content_dir=photos,
                )
            )
            net = result.model.eval()
            with torch.no_grad():
                held_out_loss[start][style] = sum(
                    float(sum(judge(net(p).clamp(0, 1), p, target).values())) for p in held_out
                ) / len(held_out)
    print("held-out loss per painting:", held_out_loss)
    mean = {start: sum(losses.values()) / len(losses) for start, losses in held_out_loss.items()}
    print("mean held-out loss:", mean, "ratio", mean["meta"] / mean["default"])
    assert mean["meta"] < 0.97 * mean["default"], mean
