"""Real-weight training: a johnson network learns a painting and still shows the photo it was not trained on."""

from __future__ import annotations

import shutil

import pytest
import torch

from conftest import IMAGES, shared_file
from styletool import Runtime, StylizeRequest, TrainRequest, TrainSettings, load_image, luminance_ssim, resize_longest
from styletool.options import make_options
from styletool.specs import resolve

HELD_OUT = "golden_gate"


@pytest.mark.slow
def test_johnson_training_moves_an_unseen_photo_toward_the_painting(tmp_path):
    """200 steps at 128 px on the shared photos (less one), VGG-19 loss; judged by SqueezeNet on the held-out photo.

    Settings found by looking (docs/training.md): this short a run needs a low
    style weight and Johnson's relu2_2 content layer, or the photo is lost.
    About 3 minutes on a 2-core CPU.
    """
    squeezenet = shared_file("weights", "squeezenet1_1-imagenet-features.pth")
    held_out = shared_file("images", "content", f"{HELD_OUT}.jpg")
    photos = tmp_path / "photos"
    photos.mkdir()
    for path in (IMAGES / "content").glob("*.jpg"):
        if path.stem != HELD_OUT:
            shutil.copy(path, photos / path.name)

    runtime = Runtime(device="cpu", seed=0)
    method = runtime.method("johnson")
    options = make_options(resolve(runtime.registry.method("johnson").train_options),
                           {"style_weight": 0.3, "content_layers": ["relu2_2"], "style_size": 128})
    painting = load_image(shared_file("images", "style", "starry_night.jpg")).pixels[None]
    settings = TrainSettings(steps=200, batch_size=4, image_size=128, lr=1e-3, checkpoint_every=0, workers=0, log_every=10)
    request = TrainRequest(options=options, settings=settings, content_dir=photos, output=tmp_path / "starry.safetensors",
                           styles=[painting], style_names=["starry_night"])
    losses = []
    method.train(request, progress=lambda event: losses.append(sum(event.losses.values())))
    assert sum(losses[-3:]) < 0.1 * sum(losses[:3]), losses

    photo = resize_longest(load_image(held_out).pixels[None], 256)
    stylize = StylizeRequest(options=None, model=request.output)
    result = method.stylize(photo, stylize, method.prepare(stylize))

    judge = runtime.backbone("squeezenet1_1", weights=squeezenet)
    layers = ["relu1", "fire3", "fire5", "fire7", "fire9"]
    gram = runtime.loss("gram", layers=layers)
    with torch.no_grad():
        target = gram.target(judge(resize_longest(painting, 256), layers))
        photo_distance = float(gram(judge(photo, layers), target))
        result_distance = float(gram(judge(result, layers), target))
    # Measured: 0.67 of the photo's distance, SSIM 0.37.
    assert result_distance < 0.85 * photo_distance, (result_distance, photo_distance)
    assert luminance_ssim(result, photo) >= 0.3
